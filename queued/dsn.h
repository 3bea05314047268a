/*
 * dsn.h: delivery status notifications (RFC 3464, RFC 3462
 * multipart/report): the bounce and the delay warning that queued's
 * queue manager (postern-queue, chrooted to the spool root) sends to a
 * message's envelope sender. Pure: text in, text out; everything that
 * came from the network (addresses, remote replies, the original
 * headers) is cleaned so it cannot add header fields or MIME parts.
 */
#ifndef POSTERN_DSN_H
#define POSTERN_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DSN_RCPT_MAX 200              /* recipients listed; the rest are counted */
#define DSN_HEADERS_MAX (64 * 1024)   /* original header section returned */
#define DSN_DIAG_MAX 900              /* a diagnostic's text, after cleaning */

enum dsn_action { DSN_FAILED, DSN_DELAYED };

struct dsn_rcpt {
	const char *addr;        /* the envelope recipient, as given */
	enum dsn_action action;
	const char *status;      /* RFC 3463 code: "5.1.1", "4.4.1" */
	const char *remote_mta;  /* the host that answered, or NULL */
	const char *diagnostic;  /* its reply, or our reason; NULL for none */
	bool smtp_diagnostic;    /* diagnostic is an SMTP reply ("smtp;"), else "x-postern;" */
};

struct dsn_info {
	const char *hostname;    /* Reporting-MTA, and the From: domain */
	const char *sender;      /* the envelope sender: the DSN goes there */
	const char *qid;         /* the original's queue id */
	time_t arrival;          /* when the original was accepted */
	time_t now;
	time_t retry_until;      /* delay warnings: when postern gives up */
	uint64_t random[2];      /* for the MIME boundary and Message-ID */
};

/* Builds the whole message (header and body, CRLF line ends, every line
 * at most 998 octets). headers is the original's header section (CRLF
 * or LF ends; cut at DSN_HEADERS_MAX on a line boundary), hlen 0 for
 * none. n recipients are reported (the first DSN_RCPT_MAX listed). All
 * must have one action: a message is a bounce or a delay warning.
 * Returns malloc'd text (caller frees) and its length in *outlen; NULL
 * if out of memory or given nothing to report. */
char *dsn_build(const struct dsn_info *info, const struct dsn_rcpt *rcpts, size_t n,
    const char *headers, size_t hlen, size_t *outlen);

#endif
