/*
 * test_sasl.c: unit tests for common/sasl.c: base64 client responses
 * ("*" to cancel, "=" for empty, RFC 4648 test vectors, padding,
 * non-canonical spare bits, whitespace and foreign characters, the
 * empty line, the line and output limits, NUL termination and never
 * writing past outmax), the PLAIN message (RFC 4616 examples, NUL
 * count, empty and overlong parts), and encoding with its exact size
 * bound and round trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

static enum sasl_err decode(const char *in, uint8_t *out, size_t outmax, size_t *outlen)
{
	return sasl_decode(in, strlen(in), out, outmax, outlen);
}

/* Expects in to decode to want (a string) with a roomy buffer. */
static void decode_ok(const char *in, const char *want)
{
	uint8_t out[256];
	size_t n = 12345;
	memset(out, 'Z', sizeof(out));
	enum sasl_err e = decode(in, out, sizeof(out) - 1, &n);
	if (e != SASL_OK)
		print_error("'%s': error %d\n", in, e);
	assert_int_equal(e, SASL_OK);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	assert_int_equal(out[n], '\0');
}

static void decode_err(const char *in, enum sasl_err want)
{
	uint8_t out[256];
	size_t n = 12345;
	memset(out, 'Z', sizeof(out));
	enum sasl_err e = decode(in, out, sizeof(out) - 1, &n);
	if (e != want)
		print_error("'%s': got %d, want %d\n", in, e, want);
	assert_int_equal(e, want);
	assert_int_equal(n, 0);
	assert_int_equal(out[0], '\0');
}

static void test_decode_vectors(void **state)
{
	(void)state;
	/* RFC 4648 section 10 */
	decode_ok("Zg==", "f");
	decode_ok("Zm8=", "fo");
	decode_ok("Zm9v", "foo");
	decode_ok("Zm9vYg==", "foob");
	decode_ok("Zm9vYmE=", "fooba");
	decode_ok("Zm9vYmFy", "foobar");
	/* the whole alphabet */
	uint8_t out[64];
	size_t n;
	assert_int_equal(decode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
	    out, sizeof(out), &n), SASL_OK);
	assert_int_equal(n, 48);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(out[1], 0x10);
	assert_int_equal(out[2], 0x83);
	assert_int_equal(out[45], 0xf3);
	assert_int_equal(out[46], 0xdf);
	assert_int_equal(out[47], 0xbf);
	/* AUTH LOGIN's prompts and a PLAIN response (RFC 4954 example) */
	decode_ok("VXNlcm5hbWU6", "Username:");
	decode_ok("UGFzc3dvcmQ6", "Password:");
	assert_int_equal(decode("AHRlc3QAMTIzNA==", out, sizeof(out), &n), SASL_OK);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "\0test\0" "1234", 10);
	/* binary: all-ones and zeros */
	assert_int_equal(decode("////", out, sizeof(out), &n), SASL_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\xff\xff\xff", 3);
	assert_int_equal(decode("AAAA", out, sizeof(out), &n), SASL_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\0\0\0", 3);
}

static void test_decode_special(void **state)
{
	(void)state;
	decode_err("*", SASL_CANCEL);
	/* "=" is the empty response */
	uint8_t out[8];
	size_t n = 99;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(decode("=", out, sizeof(out), &n), SASL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(out[0], '\0');
	/* with no room at all, nothing is written */
	n = 99;
	out[0] = 'Z';
	assert_int_equal(decode("=", out, 0, &n), SASL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(out[0], 'Z');
	/* the empty line needs data */
	decode_err("", SASL_BAD_BASE64);
	/* neither is special inside anything longer */
	decode_err("**", SASL_BAD_BASE64);
	decode_err("*===", SASL_BAD_BASE64);
	decode_err("==", SASL_BAD_BASE64);
	decode_err("====", SASL_BAD_BASE64);
	decode_err(" *", SASL_BAD_BASE64);
	decode_err("= ", SASL_BAD_BASE64);
}

static void test_decode_bad(void **state)
{
	(void)state;
	/* lengths that are no multiple of 4, with or without padding */
	decode_err("Z", SASL_BAD_BASE64);
	decode_err("Zg", SASL_BAD_BASE64);
	decode_err("Zg=", SASL_BAD_BASE64);
	decode_err("Zm9", SASL_BAD_BASE64);
	decode_err("Zm9vY", SASL_BAD_BASE64);
	decode_err("Zg===", SASL_BAD_BASE64);
	decode_err("Zm9vYg=", SASL_BAD_BASE64);
	/* padding in the wrong place or too much of it */
	decode_err("Z===", SASL_BAD_BASE64);
	decode_err("=Zg=", SASL_BAD_BASE64);
	decode_err("Zg=a", SASL_BAD_BASE64);
	decode_err("Z=g=", SASL_BAD_BASE64);
	decode_err("Zg==Zg==", SASL_BAD_BASE64);
	decode_err("Zm8=Zm9v", SASL_BAD_BASE64);
	decode_err("Zg==\r\n", SASL_BAD_BASE64);
	/* non-canonical: spare bits before the padding not zero */
	decode_err("Zh==", SASL_BAD_BASE64);
	decode_err("Zv==", SASL_BAD_BASE64);
	decode_err("Zm9=", SASL_BAD_BASE64);
	decode_err("Zm+=", SASL_BAD_BASE64);
	decode_ok("Zm4=", "fn");
	decode_ok("QQ==", "A");
	decode_err("QR==", SASL_BAD_BASE64);
	/* whitespace anywhere */
	decode_err(" Zm9v", SASL_BAD_BASE64);
	decode_err("Zm9v ", SASL_BAD_BASE64);
	decode_err("Zm 9v", SASL_BAD_BASE64);
	decode_err("Zm9v\r", SASL_BAD_BASE64);
	decode_err("Zm9v\n", SASL_BAD_BASE64);
	decode_err("Zm\t9", SASL_BAD_BASE64);
	decode_err("Zm9vYmFy    ", SASL_BAD_BASE64);
	/* the URL-safe alphabet and other characters */
	decode_err("Zm-_", SASL_BAD_BASE64);
	decode_err("Zm9v!A==", SASL_BAD_BASE64);
	decode_err("Zm9v\x80" "A==", SASL_BAD_BASE64);
	decode_err("Zm.v", SASL_BAD_BASE64);
	/* a NUL inside */
	uint8_t out[16];
	size_t n = 7;
	assert_int_equal(sasl_decode("Zm\0v", 4, out, sizeof(out), &n), SASL_BAD_BASE64);
	assert_int_equal(n, 0);
	assert_int_equal(sasl_decode("Zm9v\0", 5, out, sizeof(out), &n), SASL_BAD_BASE64);
}

static void test_decode_limits(void **state)
{
	(void)state;
	uint8_t out[16];
	size_t n;
	/* output exactly outmax: no NUL, nothing past it */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(decode("Zm9vYmFy", out, 6, &n), SASL_OK);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "foobarZ", 7);
	/* one over is too long, and nothing is written but the NUL */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(decode("Zm9vYmFy", out, 5, &n), SASL_TOO_LONG);
	assert_int_equal(n, 0);
	assert_int_equal(out[0], '\0');
	assert_memory_equal(out + 1, "ZZZZZ", 5);
	/* padding counts: "Zm9vYg==" is 4 bytes, though it decodes as 6 */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(decode("Zm9vYg==", out, 4, &n), SASL_OK);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "foobZZ", 6);
	memset(out, 'Z', sizeof(out));
	assert_int_equal(decode("Zm9vYg==", out, 5, &n), SASL_OK);
	assert_memory_equal(out, "foob\0Z", 6);
	assert_int_equal(decode("Zm9vYg==", out, 3, &n), SASL_TOO_LONG);
	assert_int_equal(decode("Zg==", out, 1, &n), SASL_OK);
	assert_int_equal(decode("Zg==", out, 0, &n), SASL_TOO_LONG);
	/* "*" and bad base64 are reported as such even with no room */
	assert_int_equal(decode("*", out, 0, &n), SASL_CANCEL);
	assert_int_equal(decode("Zg=", out, 0, &n), SASL_BAD_BASE64);

	/* the line limit: SASL_LINE_MAX characters decode, one more not */
	size_t big = SASL_LINE_MAX + 4;
	char *line = malloc(big);
	uint8_t *dec = malloc(big);
	assert_non_null(line);
	assert_non_null(dec);
	memset(line, 'A', big);
	assert_int_equal(sasl_decode(line, SASL_LINE_MAX, dec, big, &n), SASL_OK);
	assert_int_equal(n, SASL_LINE_MAX / 4 * 3);
	assert_int_equal(sasl_decode(line, SASL_LINE_MAX + 4, dec, big, &n), SASL_TOO_LONG);
	assert_int_equal(sasl_decode(line, SASL_LINE_MAX + 1, dec, big, &n), SASL_TOO_LONG);
	assert_int_equal(n, 0);
	free(line);
	free(dec);
}

static void plain(const char *msg, size_t len, enum sasl_err want, const char *z, const char *c,
    const char *p)
{
	char authzid[SASL_USER_MAX + 1], authcid[SASL_USER_MAX + 1], passwd[SASL_PASS_MAX + 1];
	memset(authzid, 'Q', sizeof(authzid));
	memset(authcid, 'Q', sizeof(authcid));
	memset(passwd, 'Q', sizeof(passwd));
	enum sasl_err e = sasl_plain_split((const uint8_t *)msg, len, authzid, authcid, passwd);
	if (e != want)
		print_error("plain message of %zu: got %d, want %d\n", len, e, want);
	assert_int_equal(e, want);
	if (e == SASL_OK) {
		assert_string_equal(authzid, z);
		assert_string_equal(authcid, c);
		assert_string_equal(passwd, p);
	} else {
		assert_string_equal(authzid, "");
		assert_string_equal(authcid, "");
		assert_string_equal(passwd, "");
	}
}

static void test_plain(void **state)
{
	(void)state;
	/* RFC 4616 section 4 examples */
	plain("\0tim\0tanstaaftanstaaf", 21, SASL_OK, "", "tim", "tanstaaftanstaaf");
	plain("Ursel\0Kurt\0xipj3plmq", 20, SASL_OK, "Ursel", "Kurt", "xipj3plmq");
	/* one-character parts, spaces and 8-bit bytes are the caller's */
	plain("\0a\0b", 4, SASL_OK, "", "a", "b");
	plain("z\0u s\0p w\xc3\xa9", 11, SASL_OK, "z", "u s", "p w\xc3\xa9");
	/* the wrong number of NULs */
	plain("", 0, SASL_BAD_MESSAGE, NULL, NULL, NULL);
	plain("tim", 3, SASL_BAD_MESSAGE, NULL, NULL, NULL);
	plain("\0tim", 4, SASL_BAD_MESSAGE, NULL, NULL, NULL);
	plain("tim\0pw", 6, SASL_BAD_MESSAGE, NULL, NULL, NULL);
	plain("\0tim\0pw\0", 8, SASL_BAD_MESSAGE, NULL, NULL, NULL);
	plain("\0tim\0p\0w", 8, SASL_BAD_MESSAGE, NULL, NULL, NULL);
	plain("\0\0\0", 3, SASL_BAD_MESSAGE, NULL, NULL, NULL);
	/* empty authcid or passwd */
	plain("\0\0pw", 4, SASL_BAD_MESSAGE, NULL, NULL, NULL);
	plain("\0tim\0", 5, SASL_BAD_MESSAGE, NULL, NULL, NULL);
	plain("z\0\0", 3, SASL_BAD_MESSAGE, NULL, NULL, NULL);
	plain("\0\0", 2, SASL_BAD_MESSAGE, NULL, NULL, NULL);
}

static void test_plain_limits(void **state)
{
	(void)state;
	char msg[2 * SASL_USER_MAX + SASL_PASS_MAX + 16];
	char u[SASL_USER_MAX + 2], p[SASL_PASS_MAX + 2];
	memset(u, 'u', sizeof(u) - 1);
	u[sizeof(u) - 1] = '\0';
	memset(p, 'p', sizeof(p) - 1);
	p[sizeof(p) - 1] = '\0';
	char u_max[SASL_USER_MAX + 1], p_max[SASL_PASS_MAX + 1];
	memcpy(u_max, u, SASL_USER_MAX);
	u_max[SASL_USER_MAX] = '\0';
	memcpy(p_max, p, SASL_PASS_MAX);
	p_max[SASL_PASS_MAX] = '\0';

	/* builds zl 'u', NUL, cl 'u', NUL, pl 'p' */
#define BUILD(zl, cl, pl) ( \
	memcpy(msg, u, (zl)), msg[(zl)] = '\0', \
	memcpy(msg + (zl) + 1, u, (cl)), msg[(zl) + 1 + (cl)] = '\0', \
	memcpy(msg + (zl) + (cl) + 2, p, (pl)), (size_t)(zl) + (cl) + (pl) + 2)

	size_t len = BUILD(SASL_USER_MAX, SASL_USER_MAX, SASL_PASS_MAX);
	plain(msg, len, SASL_OK, u_max, u_max, p_max);
	len = BUILD(SASL_USER_MAX + 1, 1, 1);
	plain(msg, len, SASL_TOO_LONG, NULL, NULL, NULL);
	len = BUILD(0, SASL_USER_MAX + 1, 1);
	plain(msg, len, SASL_TOO_LONG, NULL, NULL, NULL);
	len = BUILD(0, 1, SASL_PASS_MAX + 1);
	plain(msg, len, SASL_TOO_LONG, NULL, NULL, NULL);
	/* a bad shape wins over a long part */
	len = BUILD(SASL_USER_MAX + 1, 0, 1);
	plain(msg, len, SASL_BAD_MESSAGE, NULL, NULL, NULL);
#undef BUILD
}

static void test_encode(void **state)
{
	(void)state;
	char out[64];
	static const struct {
		const char *in, *b64;
	} v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
		{ "Username:", "VXNlcm5hbWU6" }, { "Password:", "UGFzc3dvcmQ6" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t il = strlen(v[i].in), ol = strlen(v[i].b64);
		memset(out, 'Z', sizeof(out));
		assert_true(sasl_encode((const uint8_t *)v[i].in, il, out, sizeof(out)));
		assert_string_equal(out, v[i].b64);
		/* the exact room needed, and one less */
		memset(out, 'Z', sizeof(out));
		assert_true(sasl_encode((const uint8_t *)v[i].in, il, out, ol + 1));
		assert_string_equal(out, v[i].b64);
		assert_false(sasl_encode((const uint8_t *)v[i].in, il, out, ol));
	}
	assert_false(sasl_encode((const uint8_t *)"", 0, out, 0));
	/* binary, with high bits and NULs */
	uint8_t bin[3] = { 0xff, 0x00, 0xfe };
	assert_true(sasl_encode(bin, 3, out, sizeof(out)));
	assert_string_equal(out, "/wD+");
}

/* Every length 0..200 of varied bytes: encode, decode, same bytes. */
static void test_round_trip(void **state)
{
	(void)state;
	uint8_t in[200], dec[201];
	char enc[4 * 67 + 1];
	uint32_t seed = 7;
	for (size_t len = 0; len <= sizeof(in); len++) {
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (uint8_t)(seed >> 16);
		}
		assert_true(sasl_encode(in, len, enc, sizeof(enc)));
		size_t el = strlen(enc), n;
		assert_int_equal(el, (len + 2) / 3 * 4);
		if (len == 0) {
			/* "" is no response: the empty one is "=" */
			assert_int_equal(sasl_decode(enc, el, dec, sizeof(dec) - 1, &n), SASL_BAD_BASE64);
			continue;
		}
		assert_int_equal(sasl_decode(enc, el, dec, sizeof(dec) - 1, &n), SASL_OK);
		assert_int_equal(n, len);
		assert_memory_equal(dec, in, len);
		/* exactly the room */
		assert_int_equal(sasl_decode(enc, el, dec, len, &n), SASL_OK);
		assert_int_equal(sasl_decode(enc, el, dec, len - 1, &n), SASL_TOO_LONG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_decode_special),
		cmocka_unit_test(test_decode_bad),
		cmocka_unit_test(test_decode_limits),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_limits),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
