/*
 * addr.h: RFC 5321 path and mailbox parsing with the RFC's length
 * limits (local part 64, domain 255, path 256 octets). Pure functions
 * over untrusted bytes, used by smtpd (MAIL/RCPT) and queued.
 */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_PATH_MAX 256

struct mailaddr {
	char local[ADDR_LOCAL_MAX + 1];   /* as sent (quoted form kept) */
	char domain[ADDR_DOMAIN_MAX + 1]; /* ASCII letters lower-cased */
	bool null;                        /* the null reverse-path <> */
};

enum addr_err {
	ADDR_OK = 0,
	ADDR_SYNTAX,        /* not a valid path */
	ADDR_PATH_TOO_LONG,
	ADDR_LOCAL_TOO_LONG,
	ADDR_DOMAIN_TOO_LONG,
	ADDR_8BIT,          /* non-ASCII without SMTPUTF8 */
	ADDR_NULL_NOT_ALLOWED,
};

#define ADDR_ALLOW_NULL 0x1       /* MAIL FROM:<> */
#define ADDR_ALLOW_UTF8 0x2       /* SMTPUTF8 was given */
#define ADDR_ALLOW_POSTMASTER 0x4 /* RCPT TO:<Postmaster> */

/* Parses "<path>" at the start of s[0..len). *used receives the number
 * of bytes consumed (through the closing '>'). A source route
 * (<@a,@b:user@dom>) is accepted and discarded as RFC 5321 says. */
enum addr_err addr_parse_path(const char *s, size_t len, int flags,
    struct mailaddr *out, size_t *used);

/* "local@domain" (or "" for the null path) into out; false if it does
 * not fit. */
bool addr_format(const struct mailaddr *a, char *out, size_t outlen);

/* Whether "<local@domain>" fits a reverse- or forward-path
 * (ADDR_PATH_MAX octets, RFC 5321 4.5.3.1.3). */
bool addr_path_fits(const struct mailaddr *a);

/* Parses a bare "local@domain" (no brackets), e.g. from a config or
 * aliases file. */
enum addr_err addr_parse_mailbox(const char *s, size_t len, int flags,
    struct mailaddr *out);

const char *addr_strerror(enum addr_err e);

#endif
