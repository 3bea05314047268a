/*
 * sasl.h: pure parsers for SASL client responses (RFC 4422) as SMTP AUTH
 * (RFC 4954) and POP3 AUTH (RFC 5034) carry them: base64 decoding with
 * explicit limits, and the PLAIN message (RFC 4616). Used by smtpd's
 * worker and pop3d's login process (unprivileged, chrooted); no I/O.
 */
#ifndef POSTERN_SASL_H
#define POSTERN_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SASL_LINE_MAX 12288      /* RFC 4954 section 4: longest response line */
#define SASL_USER_MAX 255        /* longest authentication identity accepted */
#define SASL_PASS_MAX 512        /* equals AUTH_PASS_MAX */

enum sasl_err {
	SASL_OK,
	SASL_CANCEL,      /* the client sent "*" (RFC 4954 4) */
	SASL_BAD_BASE64,  /* not canonical base64 (RFC 4648), or empty where data is needed */
	SASL_BAD_MESSAGE, /* PLAIN: not authzid NUL authcid NUL passwd, or a NUL/empty part */
	SASL_TOO_LONG,    /* decoded data or a part over its limit */
};

/* Decodes one client response line (without CRLF): "*" gives
 * SASL_CANCEL, "=" an empty result (RFC 4954 4), anything else must be
 * base64 with correct padding and no whitespace. out has room for
 * outmax bytes; more gives SASL_TOO_LONG. out is NUL-terminated when
 * outmax leaves room (callers pass outmax = size - 1).
 * Precisely: a line over SASL_LINE_MAX gives SASL_TOO_LONG; the empty
 * line, and anything that is not canonical RFC 4648 base64 (length a
 * non-zero multiple of 4, only A-Z a-z 0-9 + /, then at most two '='
 * at the end, the spare bits before the padding zero) gives
 * SASL_BAD_BASE64. Only out[0..outmax) is ever written: out[*outlen]
 * is set to NUL when *outlen < outmax (so with outmax = size - 1 the
 * caller may always set out[*outlen] = '\0' itself). On any result
 * other than SASL_OK, *outlen is 0 and out[0] NUL if outmax > 0. */
enum sasl_err sasl_decode(const char *in, size_t inlen, uint8_t *out, size_t outmax,
    size_t *outlen);

/* Splits a decoded PLAIN message into its three parts, each copied
 * NUL-terminated. authzid may be empty; authcid and passwd may not; no
 * part may contain NUL or exceed its limit.
 * Not exactly two NULs, or an empty authcid or passwd, gives
 * SASL_BAD_MESSAGE (checked first); a part over SASL_USER_MAX
 * (authzid, authcid) or SASL_PASS_MAX (passwd) gives SASL_TOO_LONG. On
 * any error all three outputs are empty strings. UTF-8 is not checked
 * here. */
enum sasl_err sasl_plain_split(const uint8_t *msg, size_t len,
    char authzid[SASL_USER_MAX + 1], char authcid[SASL_USER_MAX + 1],
    char passwd[SASL_PASS_MAX + 1]);

/* Encodes len bytes as base64 into out (room for outmax bytes including
 * the NUL); false if it does not fit. For server challenges such as
 * AUTH LOGIN's "Username:". Needs outmax >= 4 * ceil(len / 3) + 1;
 * len 0 gives "". */
bool sasl_encode(const uint8_t *in, size_t len, char *out, size_t outmax);

#endif
