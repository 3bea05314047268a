/*
 * smtp_reply.h: pure parsers for the SMTP client side: a strict,
 * streaming reply parser (RFC 5321 4.2, 4.5.3.1.5; RFC 3463 enhanced
 * status codes), reply classes and what a reply means at each stage
 * of a session, and the EHLO capabilities (RFC 5321 4.1.1.1). No I/O,
 * no globals, no allocation; all bounded. postern-relay (chrooted,
 * unprivileged) feeds them lines read from remote, possibly hostile,
 * SMTP servers.
 */
#ifndef POSTERN_SMTP_REPLY_H
#define POSTERN_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_REPLY_LINE_MAX 510   /* octets of one reply line, CRLF excluded (RFC 5321 4.5.3.1.5) */
#define SMTP_REPLY_LINES_MAX 100  /* lines of one reply; more is garbage */
#define SMTP_REPLY_TEXT_MAX 1024  /* the joined text, its NUL included */
#define SMTP_ESC_BUF 16           /* "5.999.999" and its NUL fit */
#define SMTP_REPLY_TRUNC "..."    /* ends a text that did not fit */

enum smtp_reply_status {
	SR_MORE,     /* line accepted; the reply goes on */
	SR_DONE,     /* line accepted; the reply is complete */
	SR_GARBAGE,  /* not a reply: treat as a temporary failure and drop the connection */
};

enum smtp_reply_err {
	SRE_NONE = 0,
	SRE_TOO_LONG,   /* a line over SMTP_REPLY_LINE_MAX octets */
	SRE_TOO_MANY,   /* more than SMTP_REPLY_LINES_MAX lines */
	SRE_CODE,       /* no valid reply code (3 digits: 2-5, 0-5, 0-9) */
	SRE_SEPARATOR,  /* neither '-', ' ' nor the end after the code */
	SRE_CTRL,       /* NUL, DEL or a control character other than HTAB */
	SRE_MISMATCH,   /* a line's code differs from the first line's */
	SRE_FINISHED,   /* fed again after SR_DONE or SR_GARBAGE (a caller bug) */
};

/*
 * One reply. Set up with smtp_reply_init before each reply, then feed
 * it lines until SR_DONE or SR_GARBAGE. code and esc come from the
 * first line (0 and "" before it, and again after SR_GARBAGE); act on
 * them only once status is SR_DONE. text always holds what was
 * read so far, NUL-terminated, for a log line or a DSN's
 * Diagnostic-Code: each line's text (what follows the code and its
 * separator) joined with single spaces, empty lines skipped; later
 * lines that start with the first line's enhanced code (and a space)
 * lose it, as it would only repeat; HTAB becomes a space and bytes of
 * 0x80 and above become '?' (plain US-ASCII). When the text does not
 * fit it is cut and ends in SMTP_REPLY_TRUNC, and truncated is set.
 */
struct smtp_reply {
	enum smtp_reply_status status;
	enum smtp_reply_err err;      /* why, when status is SR_GARBAGE */
	int code;                     /* 200-559 (smtp_reply_class is not 0) */
	size_t nlines;                /* lines accepted */
	char esc[SMTP_ESC_BUF];       /* the first line's enhanced status code, "" if none */
	char text[SMTP_REPLY_TEXT_MAX];
	size_t textlen;               /* strlen(text) */
	bool truncated;
};

void smtp_reply_init(struct smtp_reply *r);
/* One line, without its CRLF (len octets; NUL is not an end, it is an
 * error). Returns the new status, also kept in r->status. */
enum smtp_reply_status smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len);
/* A short description of err for the log ("reply code mismatch"). */
const char *smtp_reply_errstr(enum smtp_reply_err err);

/* Whether text[0..len) starts with an enhanced status code (RFC 3463:
 * class "2"/"4"/"5", subject and detail 1-3 digits each) followed by a
 * space or the end. If so and esc is not NULL, copies it there
 * NUL-terminated. Returns its length, or 0. smtp_reply_feed takes the
 * first line's code only if its class matches the reply's. */
size_t smtp_esc_parse(const char *text, size_t len, char esc[SMTP_ESC_BUF]);

/* The enhanced status code of a delivery result's detail (len
 * octets): after a reply code ("550 5.1.1 text", "421-4.7.0 text"), in
 * which case *is_reply is set, or at its start, as postern writes its
 * own reasons ("5.1.10 domain accepts no mail"). Copied to esc (NULL:
 * not copied); returns its length, 0 if there is none. */
size_t smtp_detail_esc(const char *detail, size_t len, char esc[SMTP_ESC_BUF], bool *is_reply);
/* 2, 3, 4 or 5 for a valid reply code, 0 for anything else. */
int smtp_reply_class(int code);

/* What the client has just sent (or, for GREETING, connected). */
enum smtp_stage {
	SMTP_ST_GREETING,
	SMTP_ST_EHLO,       /* also HELO */
	SMTP_ST_STARTTLS,
	SMTP_ST_AUTH,       /* AUTH and each SASL response */
	SMTP_ST_MAIL,
	SMTP_ST_RCPT,
	SMTP_ST_DATA,       /* the DATA command */
	SMTP_ST_DOT,        /* the message and its final "." */
	SMTP_ST_RSET,
	SMTP_ST_NOOP,
	SMTP_ST_QUIT,
};

enum smtp_verdict {
	SV_OK,          /* positive completion */
	SV_CONTINUE,    /* positive intermediate the stage expects (3xx after DATA or AUTH) */
	SV_TEMP,        /* 4xx */
	SV_PERM,        /* 5xx */
	SV_UNEXPECTED,  /* a valid code the stage does not allow, an invalid code or an
	                   unknown stage: a protocol error, to be treated like SV_TEMP */
};

enum smtp_verdict smtp_reply_verdict(enum smtp_stage stage, int code);
/* Whether the reply ends the stage: everything but SV_CONTINUE. */
bool smtp_reply_final(enum smtp_stage stage, int code);

/* ---- EHLO capabilities ---- */

struct smtp_ehlo {
	bool pipelining;           /* RFC 2920 */
	bool starttls;             /* RFC 3207 */
	bool eightbitmime;         /* RFC 6152 */
	bool smtputf8;             /* RFC 6531 */
	bool enhancedstatuscodes;  /* RFC 2034 */
	bool has_size;             /* SIZE, with a valid number or none (RFC 1870) */
	uint64_t size;             /* its limit; 0: not given, invalid, or no fixed limit */
	bool auth;                 /* AUTH (RFC 4954), also the old "AUTH=" form */
	bool auth_plain;
	bool auth_login;
};

/* One capability line's text (an ehlo-line: what follows "250-" or
 * "250 ", never the first line of the reply). Keywords and mechanisms
 * in any case; unknown or malformed keywords are ignored; a line
 * repeated adds to what was seen (SIZE: the last one counts). */
void smtp_ehlo_cap(struct smtp_ehlo *e, const char *text, size_t len);
/* smtp_reply_feed for the reply to EHLO, also filling *e: cleared when
 * the reply starts, then each line after the first of a 250 reply goes
 * to smtp_ehlo_cap. *e is all zero unless the reply is a 250 (cleared
 * again on SR_GARBAGE). */
enum smtp_reply_status smtp_ehlo_feed(struct smtp_reply *r, struct smtp_ehlo *e,
    const char *line, size_t len);

#endif
