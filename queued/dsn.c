/*
 * dsn.c: builds bounces and delay warnings as RFC 3464 delivery status
 * notifications inside an RFC 3462 multipart/report, for queued's queue
 * manager (postern-queue, chrooted to the spool root). Pure: see
 * dsn.h. The text is written with stdio into a memory stream.
 */
#include "dsn.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies in into out (room for max bytes plus NUL), keeping printable
 * ASCII and 8-bit bytes; anything else (CR, LF, NUL, controls) becomes
 * a space, so nothing from outside can end a header line. */
static void clean(const char *in, char *out, size_t max)
{
	size_t n = 0;
	for (; in && *in && n < max; in++) {
		unsigned char c = (unsigned char)*in;
		out[n++] = (c >= 0x20 && c != 0x7f) ? (char)c : ' ';
	}
	out[n] = '\0';
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* RFC 3463: class.subject.detail, 1-3 digits each, class 2, 4 or 5. */
static bool valid_status(const char *s)
{
	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	s += 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (s[d] >= '0' && s[d] <= '9')
			d++;
		if (d == 0 || d > 3)
			return false;
		s += d;
		if (part == 0 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

/* Writes the original header section with CRLF ends, bare CRs dropped,
 * lines cut at 998 octets, at most DSN_HEADERS_MAX octets, ending on a
 * line boundary. */
static void put_headers(FILE *f, const char *h, size_t len)
{
	size_t written = 0, linelen = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(h + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - h) : len;
		size_t room = DSN_HEADERS_MAX - written;
		linelen = 0;
		/* one line, without its CR LF and without stray CRs */
		char line[1000];
		for (size_t j = i; j < end && linelen < 998; j++) {
			if (h[j] == '\r' || h[j] == '\0')
				continue;
			line[linelen++] = h[j];
		}
		if (linelen + 2 > room)
			break;
		if (linelen == 0 && nl == NULL)
			break;
		fwrite(line, 1, linelen, f);
		fputs("\r\n", f);
		written += linelen + 2;
		i = end + 1;
	}
}

static void date_text(char *out, size_t len, time_t t)
{
	rfc5322_date(out, len, t);
}

static void build(FILE *f, const struct dsn_info *info, const struct dsn_rcpt *rcpts, size_t n,
    const char *headers, size_t hlen, const char *boundary)
{
	char host[256], sender[600], qid[64], date[64], arrival[64], until[64];
	bool delayed = rcpts[0].action == DSN_DELAYED;
	clean(info->hostname, host, sizeof(host) - 1);
	clean(info->sender, sender, sizeof(sender) - 1);
	clean(info->qid, qid, sizeof(qid) - 1);
	date_text(date, sizeof(date), info->now);
	date_text(arrival, sizeof(arrival), info->arrival);
	date_text(until, sizeof(until), info->retry_until);

	fprintf(f, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", host);
	fprintf(f, "To: <%s>\r\n", sender);
	fprintf(f, "Subject: %s\r\n", delayed ? "Delayed Mail (still being retried)" :
	    "Undelivered Mail Returned to Sender");
	fprintf(f, "Date: %s\r\n", date);
	fprintf(f, "Message-ID: <%s.dsn.%016llx@%s>\r\n", qid,
	    (unsigned long long)info->random[1], host);
	fputs("Auto-Submitted: auto-replied\r\n", f);
	fputs("MIME-Version: 1.0\r\n", f);
	fprintf(f, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n\r\n", boundary);
	fputs("This is a MIME-encapsulated message.\r\n\r\n", f);

	/* 1: for people */
	fprintf(f, "--%s\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n", boundary);
	fprintf(f, "This is the mail system at host %s.\r\n\r\n", host);
	if (delayed) {
		fputs("Your message could not be delivered yet to the recipients below.\r\n"
		    "It stays in the queue and delivery will be tried again\r\n", f);
		fprintf(f, "until %s.\r\n"
		    "You do not need to send the message again.\r\n\r\n", until);
	} else {
		fputs("Your message could not be delivered to the recipients below.\r\n"
		    "This is a permanent error; the message has been given up on.\r\n"
		    "The headers of your message are attached.\r\n\r\n", f);
	}
	size_t listed = n < DSN_RCPT_MAX ? n : DSN_RCPT_MAX;
	for (size_t i = 0; i < listed; i++) {
		char addr[600], diag[DSN_DIAG_MAX + 1];
		clean(rcpts[i].addr, addr, sizeof(addr) - 1);
		/* "<addr>: diag" within one 998-octet line */
		size_t room = 990 - strlen(addr) - 4; /* addr is at most 599 */
		clean(rcpts[i].diagnostic ? rcpts[i].diagnostic : "no further detail", diag,
		    room < DSN_DIAG_MAX ? room : DSN_DIAG_MAX);
		fprintf(f, "<%s>: %s\r\n", addr, diag);
	}
	if (n > listed)
		fprintf(f, "... and %zu more recipients.\r\n", n - listed);

	/* 2: for programs (RFC 3464 2.2, 2.3) */
	fprintf(f, "\r\n--%s\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n", boundary);
	fprintf(f, "Reporting-MTA: dns; %s\r\n", host);
	fprintf(f, "X-Postern-Queue-ID: %s\r\n", qid);
	fprintf(f, "Arrival-Date: %s\r\n", arrival);
	for (size_t i = 0; i < listed; i++) {
		const struct dsn_rcpt *r = &rcpts[i];
		char addr[600], mta[256], diag[DSN_DIAG_MAX + 1];
		clean(r->addr, addr, sizeof(addr) - 1);
		fprintf(f, "\r\nFinal-Recipient: %s; %s\r\n", is_ascii(addr) ? "rfc822" : "utf-8", addr);
		fprintf(f, "Action: %s\r\n", r->action == DSN_DELAYED ? "delayed" : "failed");
		fprintf(f, "Status: %s\r\n", valid_status(r->status) ? r->status :
		    r->action == DSN_DELAYED ? "4.0.0" : "5.0.0");
		if (r->remote_mta && r->remote_mta[0]) {
			clean(r->remote_mta, mta, sizeof(mta) - 1);
			fprintf(f, "Remote-MTA: dns; %s\r\n", mta);
		}
		if (r->diagnostic && r->diagnostic[0]) {
			clean(r->diagnostic, diag, DSN_DIAG_MAX);
			fprintf(f, "Diagnostic-Code: %s; %s\r\n",
			    r->smtp_diagnostic ? "smtp" : "x-postern", diag);
		}
		if (r->action == DSN_DELAYED)
			fprintf(f, "Will-Retry-Until: %s\r\n", until);
	}

	/* 3: the original's headers (RFC 3462 2: text/rfc822-headers) */
	fprintf(f, "\r\n--%s\r\nContent-Description: Undelivered Message Headers\r\n"
	    "Content-Type: text/rfc822-headers\r\n\r\n", boundary);
	if (headers && hlen)
		put_headers(f, headers, hlen);
	fprintf(f, "\r\n--%s--\r\n", boundary);
}

char *dsn_build(const struct dsn_info *info, const struct dsn_rcpt *rcpts, size_t n,
    const char *headers, size_t hlen, size_t *outlen)
{
	if (n == 0)
		return NULL;
	for (size_t i = 1; i < n; i++)
		if (rcpts[i].action != rcpts[0].action)
			return NULL;
	char boundary[80];
	uint64_t salt = info->random[0];
	for (int tries = 0;; tries++) {
		char *text = NULL;
		size_t len = 0;
		snprintf(boundary, sizeof(boundary), "postern=_%016llx/%s",
		    (unsigned long long)salt, info->qid ? info->qid : "");
		for (char *p = boundary; *p; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= 'a' && *p <= 'z') || *p == '=' || *p == '_' || *p == '/'))
				*p = '_';
		FILE *f = open_memstream(&text, &len);
		if (f == NULL)
			return NULL;
		build(f, info, rcpts, n, headers, hlen, boundary);
		if (fclose(f) != 0) {
			free(text);
			return NULL;
		}
		/* the boundary may occur only as itself (RFC 2046 5.1.1): the
		 * four delimiters, counted; quoted headers could hold it */
		size_t count = 0;
		for (const char *p = text; (p = strstr(p, boundary)) != NULL; p++)
			count++;
		if (count == 5) {
			*outlen = len;
			return text;
		}
		free(text);
		if (tries == 8)
			return NULL;
		salt = salt * 6364136223846793005ULL + 1442695040888963407ULL;
	}
}
