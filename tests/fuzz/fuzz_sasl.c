/*
 * fuzz_sasl.c: libFuzzer target for common/sasl.c. The input is taken
 * as a client response line (sasl_decode, compared with a plain
 * character-by-character decoder, reference_decode(), at several
 * output limits, with a guard byte after out that must stay intact),
 * as a PLAIN message (sasl_plain_split, compared with a plain reading
 * of RFC 4616, and the parts must join back to the input), and as
 * bytes to encode (sasl_encode must match a plain encoder, need exactly
 * 4 * ceil(len / 3) + 1 bytes, and decode back to the input).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int ref_value(uint8_t c)
{
	const char *p = c != 0 ? strchr(alphabet, c) : NULL;
	return p != NULL ? (int)(p - alphabet) : -1;
}

/* RFC 4648 read plainly: 4 characters at a time, 24 bits each; only the
 * last group may end in "=" or "==", whose spare bits must be 0. */
static enum sasl_err reference_decode(const uint8_t *in, size_t len, uint8_t *out, size_t outmax,
    size_t *outlen)
{
	*outlen = 0;
	if (len > SASL_LINE_MAX)
		return SASL_TOO_LONG;
	if (len == 1 && in[0] == '*')
		return SASL_CANCEL;
	if (len == 1 && in[0] == '=')
		return SASL_OK;
	if (len == 0 || len % 4 != 0)
		return SASL_BAD_BASE64;
	size_t n = 0;
	for (size_t g = 0; g < len; g += 4) {
		bool last = g + 4 == len;
		uint32_t bits = 0;
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			uint8_t c = in[g + (size_t)k];
			if (c == '=' && last && k >= 2) {
				/* "xx==" or "xxx=": nothing but '=' after */
				pad++;
				bits <<= 6;
				continue;
			}
			if (pad > 0)
				return SASL_BAD_BASE64;
			int v = ref_value(c);
			if (v < 0)
				return SASL_BAD_BASE64;
			bits = bits << 6 | (uint32_t)v;
		}
		if ((pad == 2 && (bits & 0xffff) != 0) || (pad == 1 && (bits & 0xff) != 0))
			return SASL_BAD_BASE64;
		uint8_t b[3] = { (uint8_t)(bits >> 16), (uint8_t)(bits >> 8), (uint8_t)bits };
		for (int k = 0; k < 3 - pad; k++) {
			if (n == outmax)
				goto too_long;
			out[n++] = b[k];
		}
	}
	*outlen = n;
	return SASL_OK;
too_long:
	/* finish checking the syntax: a bad line is bad whatever the room */
	{
		size_t dummy;
		uint8_t *big = malloc(len / 4 * 3 + 1);
		if (big == NULL)
			abort();
		enum sasl_err e = reference_decode(in, len, big, len / 4 * 3, &dummy);
		free(big);
		return e == SASL_OK ? SASL_TOO_LONG : e;
	}
}

static void reference_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t b = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			b |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			b |= in[i + 2];
		out[o++] = alphabet[b >> 18 & 63];
		out[o++] = alphabet[b >> 12 & 63];
		out[o++] = i + 1 < len ? alphabet[b >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[b & 63] : '=';
	}
	out[o] = '\0';
}

static void check_decode(const uint8_t *data, size_t size)
{
	size_t room = size / 4 * 3 + 4;
	uint8_t *out = malloc(room + 1), *ref = malloc(room + 1);
	if (out == NULL || ref == NULL)
		abort();
	size_t full_n = 0;
	enum sasl_err full = reference_decode(data, size, ref, room, &full_n);
	/* several limits around the real length */
	size_t limits[] = { room, full_n + 1, full_n, full_n > 0 ? full_n - 1 : 0, 0 };
	for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
		size_t outmax = limits[k];
		memset(out, 0xa5, room + 1);
		size_t n = 777, rn = 0;
		enum sasl_err e = sasl_decode((const char *)data, size, out, outmax, &n);
		enum sasl_err re = reference_decode(data, size, ref, outmax, &rn);
		if (e != re)
			abort();
		/* never a byte past outmax */
		for (size_t i = outmax; i <= room; i++)
			if (out[i] != 0xa5)
				abort();
		if (e == SASL_OK) {
			if (n != rn || n > outmax || memcmp(out, ref, n) != 0)
				abort();
			if (n < outmax && out[n] != '\0')
				abort();
			if (n != full_n || full != SASL_OK)
				abort();
		} else {
			if (n != 0 || (outmax > 0 && out[0] != '\0'))
				abort();
			if (e == SASL_TOO_LONG && size <= SASL_LINE_MAX && (full != SASL_OK || full_n <= outmax))
				abort();
		}
	}
	/* canonical: what decodes re-encodes to the very same line */
	if (full == SASL_OK && !(size == 1 && data[0] == '=')) {
		char *enc = malloc(size + 1);
		if (enc == NULL)
			abort();
		if (!sasl_encode(ref, full_n, enc, size + 1) || strlen(enc) != size ||
		    memcmp(enc, data, size) != 0)
			abort();
		free(enc);
	}
	free(out);
	free(ref);
}

static void check_plain(const uint8_t *data, size_t size)
{
	char z[SASL_USER_MAX + 1], c[SASL_USER_MAX + 1], p[SASL_PASS_MAX + 1];
	enum sasl_err e = sasl_plain_split(data, size, z, c, p);

	/* the plain reading: split at every NUL */
	size_t nuls = 0, at[3] = { 0 };
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\0') {
			if (nuls < 3)
				at[nuls] = i;
			nuls++;
		}
	enum sasl_err want;
	if (nuls != 2 || at[1] == at[0] + 1 || at[1] + 1 == size)
		want = SASL_BAD_MESSAGE;
	else if (at[0] > SASL_USER_MAX || at[1] - at[0] - 1 > SASL_USER_MAX ||
	    size - at[1] - 1 > SASL_PASS_MAX)
		want = SASL_TOO_LONG;
	else
		want = SASL_OK;
	if (e != want)
		abort();
	if (e != SASL_OK) {
		if (z[0] != '\0' || c[0] != '\0' || p[0] != '\0')
			abort();
		return;
	}
	/* the parts joined with NULs are the input */
	size_t zl = strlen(z), cl = strlen(c), pl = strlen(p);
	if (zl + cl + pl + 2 != size || memcmp(data, z, zl) != 0 || data[zl] != '\0' ||
	    memcmp(data + zl + 1, c, cl) != 0 || data[zl + 1 + cl] != '\0' ||
	    memcmp(data + zl + cl + 2, p, pl) != 0 || cl == 0 || pl == 0)
		abort();
}

static void check_encode(const uint8_t *data, size_t size)
{
	size_t need = (size + 2) / 3 * 4 + 1;
	char *enc = malloc(need + 1), *ref = malloc(need);
	uint8_t *dec = malloc(size + 1);
	if (enc == NULL || ref == NULL || dec == NULL)
		abort();
	reference_encode(data, size, ref);
	memset(enc, 0x5a, need + 1);
	if (!sasl_encode(data, size, enc, need) || strcmp(enc, ref) != 0 || enc[need] != 0x5a)
		abort();
	memset(enc, 0x5a, need + 1);
	if (sasl_encode(data, size, enc, need - 1))
		abort();
	for (size_t i = need - 1; i <= need; i++)
		if (enc[i] != 0x5a)
			abort();
	/* decode(encode(x)) == x; the empty encoding is no response */
	if (size > 0 && size * 4 / 3 + 4 <= SASL_LINE_MAX) {
		size_t n = 0;
		if (sasl_decode(ref, need - 1, dec, size, &n) != SASL_OK || n != size ||
		    memcmp(dec, data, size) != 0)
			abort();
	}
	free(enc);
	free(ref);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SASL_LINE_MAX + 8)
		return 0;
	check_decode(data, size);
	check_plain(data, size);
	check_encode(data, size);
	return 0;
}
