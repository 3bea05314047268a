/*
 * sendmail_parse.h: the pure, bounded parsers of local submission.
 * The sendmail command (ctl/sendmail.c, run by any local user with that
 * user's own privileges) uses all of them; the queue manager's side
 * (queued/submit.c, postern-queue, chrooted to the spool) runs the same
 * message filter over what it receives, since it never trusts the
 * client (the filter itself is common/msgfilter.c). No I/O, no
 * allocation: state in, bytes in, bytes out.
 */
#ifndef POSTERN_SENDMAIL_PARSE_H
#define POSTERN_SENDMAIL_PARSE_H

#include "addr.h"
#include "msgfilter.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_NAME_MAX 76           /* a header field name, with WSP before its ':' */
#define SM_FULLNAME_MAX 128      /* a From: display name, in octets */
#define SM_ADDR_MAX ADDR_PATH_MAX /* an address as "local@domain" */

/* ---- the header section (of the filter's output: CRLF lines) ---- */

/* If p[0..len) starts with a header field (a name of 1 to SM_NAME_MAX
 * octets 33..126 but ':', any SP/HTAB, then ':'), returns its length
 * with its continuation lines (those starting with SP or HTAB) and the
 * final CRLF, and sets *namelen (the name without WSP) and *valoff (the
 * offset just after the ':'); otherwise returns 0. */
size_t sm_field_len(const char *p, size_t len, size_t *namelen, size_t *valoff);
/* Whether a field's name (namelen octets at p) is name, in any case. */
bool sm_field_is(const char *p, size_t namelen, const char *name);

struct sm_headers {
	size_t end;          /* offset just past the header section's last field */
	bool blank;          /* an empty line follows it (else the body starts there, or nothing) */
	bool have_from, have_date, have_msgid;
};
/* The header section of msg[0..len): the fields from the start up to
 * the first line that is not one (the empty line, or a body line when
 * the message has no empty line after its header). */
void sm_headers_scan(const char *msg, size_t len, struct sm_headers *h);

/* ---- addresses ---- */

enum sm_err {
	SM_OK = 0,
	SM_SYNTAX,      /* not an address list */
	SM_TOO_LONG,    /* an address longer than SM_ADDR_MAX */
	SM_TOO_MANY,    /* more than the caller's max */
};
const char *sm_strerror(enum sm_err e);

/* Parses an RFC 5322 address-list (a header field's value, folded or
 * not, or a command-line argument): mailboxes with or without display
 * names, groups, comments, quoted strings, obsolete routes and empty
 * elements. Each address found is appended to out[*n] as written,
 * without comments or white space ("local@domain", or a bare "local"),
 * and *n grows; at most max in all. Not checked beyond its shape: see
 * sm_complete_addr. On error *n is what it was before. */
enum sm_err sm_addrlist(const char *s, size_t len, char out[][SM_ADDR_MAX + 1], size_t max,
    size_t *n);

/* An address from sm_addrlist (or given by hand) as an RFC 5321
 * mailbox: a bare local part gets "@" defdomain; then it must parse
 * with addr_parse_mailbox (ASCII only). */
enum addr_err sm_complete_addr(const char *raw, const char *defdomain, struct mailaddr *out);

/* The -f argument: "" or "<>" is the null sender (out->null); else one
 * address, with or without angle brackets, completed as above. */
enum addr_err sm_parse_sender(const char *arg, const char *defdomain, struct mailaddr *out);

/* ---- the From: field added to a message without one ---- */

/* A display name from a passwd GECOS field: the part before the first
 * ',', each '&' replaced by the login name with its first letter in
 * upper case, control characters dropped, at most SM_FULLNAME_MAX
 * octets (never cut inside a UTF-8 sequence). */
void sm_gecos_name(const char *gecos, const char *login, char *out, size_t outlen);
/* "From: NAME <addr>\r\n", NAME quoted when it needs to be, as RFC 2047
 * encoded words when it is not ASCII (folded between them), left out
 * when empty; control characters are dropped from it. Returns the
 * length, or 0 if it does not fit in outlen (with its NUL). */
size_t sm_format_from(const char *fullname, const char *addr, char *out, size_t outlen);

#endif
