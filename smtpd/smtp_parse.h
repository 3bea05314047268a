/*
 * smtp_parse.h: pure parsers for the SMTP server side: command lines
 * (verb + argument), MAIL FROM / RCPT TO arguments with their ESMTP
 * parameters, and EHLO/HELO arguments. All bounded, all fuzzed; smtpd
 * feeds them bytes straight from the network.
 */
#ifndef POSTERN_SMTP_PARSE_H
#define POSTERN_SMTP_PARSE_H

#include "addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_LINE_MAX 1000 /* command line, CRLF included (RFC 5321 4.5.3.1.4, raised for ESMTP parameters) */
#define SMTP_TEXT_LINE_MAX 998 /* text line in DATA, CRLF excluded (RFC 5322 2.1.1) */

enum smtp_verb {
	SMTP_UNKNOWN, SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA,
	SMTP_RSET, SMTP_NOOP, SMTP_QUIT, SMTP_VRFY, SMTP_HELP, SMTP_EXPN,
	SMTP_STARTTLS, SMTP_AUTH, SMTP_BDAT,
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;  /* points into the line; after "FROM:" / "TO:" for MAIL/RCPT */
	size_t arglen;
};

enum smtp_perr {
	SP_OK = 0,
	SP_UNKNOWN_VERB,   /* 500 5.5.2 */
	SP_SYNTAX,         /* 501 5.5.4 */
	SP_NUL,            /* 500 5.5.2 NUL in command */
};

/* line excludes the CRLF. */
enum smtp_perr smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *out);

enum smtp_body { BODY_7BIT, BODY_8BITMIME };

struct mail_params {
	struct mailaddr addr;
	uint64_t size;      /* 0 if no SIZE= */
	bool has_size;
	enum smtp_body body;
	bool smtputf8;
};

enum smtp_arg_err {
	SA_OK = 0,
	SA_ADDR,           /* address error: see addr_err */
	SA_PARAM_UNKNOWN,  /* 555 5.5.4 */
	SA_PARAM_SYNTAX,   /* 501 5.5.4 */
};

/* arg is what follows "MAIL FROM:". */
enum smtp_arg_err smtp_parse_mail(const char *arg, size_t len,
    struct mail_params *out, enum addr_err *aerr);
/* arg is what follows "RCPT TO:"; utf8 if the transaction has SMTPUTF8. */
enum smtp_arg_err smtp_parse_rcpt(const char *arg, size_t len, bool utf8,
    struct mailaddr *out, enum addr_err *aerr);
#define SMTP_AUTH_MECH_MAX 20 /* RFC 4422 3.1 */
enum smtp_auth_mech { MECH_OTHER, MECH_PLAIN, MECH_LOGIN };
/* AUTH argument: "MECHANISM [initial-response]". The mechanism (1-20 of
 * A-Z 0-9 - _, any case); *ir points at the initial response inside
 * arg (NULL when there is none). false on a syntax error. */
bool smtp_parse_auth(const char *arg, size_t len, enum smtp_auth_mech *mech,
    const char **ir, size_t *irlen);
/* EHLO/HELO argument: a domain or address literal, or (leniently) any
 * printable ASCII word of at most 255 octets. */
bool smtp_parse_helo(const char *arg, size_t len, char *out, size_t outlen);

#endif
