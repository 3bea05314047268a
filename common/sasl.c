/*
 * sasl.c: pure parsers for SASL client responses (RFC 4422) as SMTP AUTH
 * (RFC 4954) and POP3 AUTH (RFC 5034) carry them: strict canonical
 * base64 (RFC 4648) checked here and decoded by OpenSSL, the PLAIN
 * message (RFC 4616), and base64 encoding of server challenges. Used by
 * smtpd's worker and pop3d's login process (unprivileged, chrooted);
 * no I/O, no allocation. Scratch bytes that may hold a password are
 * wiped with explicit_bzero.
 */
#include <limits.h>
#include <string.h>

#include <bsd/string.h>
#include <openssl/evp.h>

#include "sasl.h"

/* The base64 alphabet of RFC 4648 section 4 (no URL-safe variant);
 * returns the 6-bit value or -1. */
static int b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Whether in[0..len) is canonical base64: a non-zero multiple of 4
 * characters from the alphabet, then at most two '=' at the very end,
 * and the bits that padding leaves over all zero (RFC 4648 3.5), so
 * that every decoded value has exactly one encoding. Sets *pad. */
static bool b64_canonical(const uint8_t *in, size_t len, size_t *pad)
{
	if (len == 0 || len % 4 != 0)
		return false;
	size_t p = 0;
	if (in[len - 1] == '=')
		p = in[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - p; i++)
		if (b64_value(in[i]) < 0)
			return false;
	/* the last character before the padding carries spare low bits */
	if (p == 2 && (b64_value(in[len - 3]) & 0x0f) != 0)
		return false;
	if (p == 1 && (b64_value(in[len - 2]) & 0x03) != 0)
		return false;
	*pad = p;
	return true;
}

static enum sasl_err fail(enum sasl_err e, uint8_t *out, size_t outmax, size_t *outlen)
{
	*outlen = 0;
	if (outmax > 0)
		out[0] = '\0';
	return e;
}

enum sasl_err sasl_decode(const char *in, size_t inlen, uint8_t *out, size_t outmax,
    size_t *outlen)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t pad = 0;

	if (inlen > SASL_LINE_MAX)
		return fail(SASL_TOO_LONG, out, outmax, outlen);
	if (inlen == 1 && s[0] == '*')
		return fail(SASL_CANCEL, out, outmax, outlen);
	if (inlen == 1 && s[0] == '=')
		return fail(SASL_OK, out, outmax, outlen);
	if (!b64_canonical(s, inlen, &pad))
		return fail(SASL_BAD_BASE64, out, outmax, outlen);

	size_t groups = inlen / 4;
	size_t n = groups * 3 - pad;
	if (n > outmax)
		return fail(SASL_TOO_LONG, out, outmax, outlen);

	/* All groups but the last decode to exactly 3 bytes each, which fit
	 * in out; the last goes through a scratch buffer because
	 * EVP_DecodeBlock writes 3 bytes for it whatever the padding. The
	 * input is already checked, so OpenSSL cannot refuse it (inlen is
	 * at most SASL_LINE_MAX, well within int). */
	size_t head = (groups - 1) * 3;
	if (head > 0 && EVP_DecodeBlock(out, s, (int)(head / 3 * 4)) != (int)head) {
		explicit_bzero(out, head);
		return fail(SASL_BAD_BASE64, out, outmax, outlen);
	}
	uint8_t last[3];
	if (EVP_DecodeBlock(last, s + inlen - 4, 4) != 3) {
		explicit_bzero(last, sizeof(last));
		explicit_bzero(out, head);
		return fail(SASL_BAD_BASE64, out, outmax, outlen);
	}
	memcpy(out + head, last, 3 - pad);
	explicit_bzero(last, sizeof(last));
	if (n < outmax)
		out[n] = '\0';
	*outlen = n;
	return SASL_OK;
}

enum sasl_err sasl_plain_split(const uint8_t *msg, size_t len,
    char authzid[SASL_USER_MAX + 1], char authcid[SASL_USER_MAX + 1],
    char passwd[SASL_PASS_MAX + 1])
{
	authzid[0] = authcid[0] = passwd[0] = '\0';

	const uint8_t *nul1 = memchr(msg, '\0', len);
	if (nul1 == NULL)
		return SASL_BAD_MESSAGE;
	const uint8_t *rest = nul1 + 1;
	size_t restlen = len - (size_t)(rest - msg);
	const uint8_t *nul2 = memchr(rest, '\0', restlen);
	if (nul2 == NULL)
		return SASL_BAD_MESSAGE;
	const uint8_t *pw = nul2 + 1;
	size_t zlen = (size_t)(nul1 - msg);
	size_t clen = (size_t)(nul2 - rest);
	size_t plen = len - (size_t)(pw - msg);
	if (memchr(pw, '\0', plen) != NULL || clen == 0 || plen == 0)
		return SASL_BAD_MESSAGE;
	if (zlen > SASL_USER_MAX || clen > SASL_USER_MAX || plen > SASL_PASS_MAX)
		return SASL_TOO_LONG;

	memcpy(authzid, msg, zlen);
	authzid[zlen] = '\0';
	memcpy(authcid, rest, clen);
	authcid[clen] = '\0';
	memcpy(passwd, pw, plen);
	passwd[plen] = '\0';
	return SASL_OK;
}

bool sasl_encode(const uint8_t *in, size_t len, char *out, size_t outmax)
{
	size_t groups = len / 3 + (len % 3 != 0);
	/* 4 characters per group and the NUL; EVP_EncodeBlock counts in int */
	if (outmax == 0 || groups > (outmax - 1) / 4 || groups > INT_MAX / 4)
		return false;
	if (EVP_EncodeBlock((unsigned char *)out, in, (int)len) != (int)(groups * 4)) {
		out[0] = '\0';
		return false;
	}
	return true;
}
