/*
 * test_maildir.c: unit tests for common/maildir.c: Maildir file names
 * (maildir_name_parse: unique part, ",W=" size, time fields, ":2,"
 * flags, rejected names), adding a flag (maildir_add_flag: sorted,
 * idempotent, ":2," added, small buffers), POP3 unique ids
 * (maildir_uid: as-is or hashed) and the file-to-wire transform
 * (wire_init/wire_encode/wire_finish/wire_size: CRLF, dot-stuffing,
 * last line end, chunking, TOP's line budget, counting only).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"

/* ---- names ---- */

static void test_name_full(void **state)
{
	(void)state;
	const char *name = "1700000000.M123456P99Q1.host,S=259,W=270:2,S";
	struct maildir_name mn;
	assert_true(maildir_name_parse(name, &mn));
	assert_int_equal(mn.unique_len, strchr(name, ':') - name);
	assert_int_equal(mn.unique_len, strlen("1700000000.M123456P99Q1.host,S=259,W=270"));
	assert_true(mn.has_vsize);
	assert_int_equal(mn.vsize, 270);
	assert_int_equal(mn.sec, 1700000000);
	assert_int_equal(mn.usec, 123456);
	assert_non_null(mn.flags);
	assert_string_equal(mn.flags, "S");
	/* the flags point into the name */
	assert_ptr_equal(mn.flags, name + mn.unique_len + 3);

	name = "1700000001.M7P1.mx.example.test,S=1024,W=1050:2,FRS";
	assert_true(maildir_name_parse(name, &mn));
	assert_true(mn.has_vsize);
	assert_int_equal(mn.vsize, 1050);
	assert_int_equal(mn.sec, 1700000001);
	assert_int_equal(mn.usec, 7);
	assert_string_equal(mn.flags, "FRS");

	/* ":2," with no flags yet */
	assert_true(maildir_name_parse("1700000000.M1P1.h,W=5:2,", &mn));
	assert_non_null(mn.flags);
	assert_string_equal(mn.flags, "");
	assert_int_equal(mn.unique_len, strlen("1700000000.M1P1.h,W=5"));
}

static void test_name_vsize(void **state)
{
	(void)state;
	struct maildir_name mn;
	/* no W= */
	assert_true(maildir_name_parse("1700000000.M123456P99Q1.host,S=259:2,S", &mn));
	assert_false(mn.has_vsize);
	assert_int_equal(mn.vsize, 0);
	assert_string_equal(mn.flags, "S");
	/* W= in any field, followed by another field */
	assert_true(maildir_name_parse("1.M2P3.host,W=17,S=12", &mn));
	assert_true(mn.has_vsize);
	assert_int_equal(mn.vsize, 17);
	assert_true(maildir_name_parse("h,W=0", &mn));
	assert_true(mn.has_vsize);
	assert_int_equal(mn.vsize, 0);
	assert_true(maildir_name_parse("h,W=18446744073:2,", &mn));
	assert_true(mn.has_vsize);
	assert_int_equal(mn.vsize, 18446744073ull);
	/* malformed W= */
	const char *bad[] = { "h,W=12x", "h,W=12x:2,S", "h,W=", "h,W=:2,S", "h,W=,S=1",
		"h,W=-1", "h,W= 1", "h,w=12", "hW=12", "h,W12", "h,W=1.5",
		"h,W=99999999999999999999" /* 20 digits */ };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!maildir_name_parse(bad[i], &mn))
			print_error("'%s' rejected\n", bad[i]);
		assert_true(maildir_name_parse(bad[i], &mn));
		if (mn.has_vsize)
			print_error("'%s': vsize %llu\n", bad[i], (unsigned long long)mn.vsize);
		assert_false(mn.has_vsize);
	}
	/* W= after the colon is in the flags, not the unique part */
	assert_true(maildir_name_parse("h:2,W=5", &mn));
	assert_false(mn.has_vsize);
}

static void test_name_new(void **state)
{
	(void)state;
	struct maildir_name mn;
	const char *name = "1700000000.M123456P99Q1.host,S=259,W=270";
	assert_true(maildir_name_parse(name, &mn));
	assert_int_equal(mn.unique_len, strlen(name));
	assert_null(mn.flags);
	assert_true(mn.has_vsize);
	assert_int_equal(mn.vsize, 270);
	assert_int_equal(mn.sec, 1700000000);
	assert_int_equal(mn.usec, 123456);

	/* an info part that is not ":2," */
	assert_true(maildir_name_parse("abc:1,S", &mn));
	assert_int_equal(mn.unique_len, 3);
	assert_null(mn.flags);
	assert_true(maildir_name_parse("abc:2", &mn));
	assert_int_equal(mn.unique_len, 3);
	assert_null(mn.flags);

	/* names without the time fields */
	assert_true(maildir_name_parse("host", &mn));
	assert_int_equal(mn.unique_len, 4);
	assert_int_equal(mn.sec, 0);
	assert_int_equal(mn.usec, 0);
	assert_true(maildir_name_parse("1700000000.12345_6.host", &mn));
	assert_int_equal(mn.sec, 1700000000);
	assert_int_equal(mn.usec, 0);
	/* bytes over 0x7f are allowed (maildir_uid hashes them) */
	assert_true(maildir_name_parse("caf\xc3\xa9", &mn));
	assert_int_equal(mn.unique_len, 5);
}

static void test_name_rejected(void **state)
{
	(void)state;
	struct maildir_name mn;
	const char *bad[] = { "", ".", "..", ".hidden", ".1700000000.M1P1.h", "a/b", "/",
		"new/1.M1P1.h", "a\x01", "\x1f" "a", "a\tb", "a\nb", "a\rb", "a\x7f" "b",
		":2,S", ":" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (maildir_name_parse(bad[i], &mn))
			print_error("'%s' accepted\n", bad[i]);
		assert_false(maildir_name_parse(bad[i], &mn));
	}
	char name[300];
	memset(name, 'a', sizeof(name));
	name[255] = '\0';
	assert_true(maildir_name_parse(name, &mn));
	assert_int_equal(mn.unique_len, 255);
	name[255] = 'a';
	name[256] = '\0';
	assert_false(maildir_name_parse(name, &mn));
	name[299] = '\0';
	assert_false(maildir_name_parse(name, &mn));
}

/* ---- flags ---- */

static void add_ok(const char *name, char c, const char *want)
{
	char out[300];
	memset(out, 'z', sizeof(out));
	bool ok = maildir_add_flag(name, c, out, sizeof(out));
	if (!ok || strcmp(out, want) != 0)
		print_error("'%s' + %c: got %d '%s', want '%s'\n", name, c, ok, ok ? out : "", want);
	assert_true(ok);
	assert_string_equal(out, want);
	/* exactly big enough works, one byte less does not, and nothing past outlen is written */
	size_t need = strlen(want) + 1;
	memset(out, 'z', sizeof(out));
	assert_true(maildir_add_flag(name, c, out, need));
	assert_string_equal(out, want);
	assert_int_equal(out[need], 'z');
	memset(out, 'z', sizeof(out));
	assert_false(maildir_add_flag(name, c, out, need - 1));
	assert_int_equal(out[need - 1], 'z');
	assert_false(maildir_add_flag(name, c, out, 1));
}

static void test_add_flag(void **state)
{
	(void)state;
	add_ok("u:2,", 'S', "u:2,S");
	add_ok("1700000000.M1P2.h,S=3,W=4:2,", 'S', "1700000000.M1P2.h,S=3,W=4:2,S");
	add_ok("u:2,FR", 'S', "u:2,FRS");
	add_ok("u:2,T", 'S', "u:2,ST");
	add_ok("u:2,DFRT", 'S', "u:2,DFRST");
	add_ok("u:2,P", 'F', "u:2,FP");
	add_ok("u:2,S", 'T', "u:2,ST");
	/* already there: unchanged */
	add_ok("u:2,S", 'S', "u:2,S");
	add_ok("u:2,FRS", 'S', "u:2,FRS");
	add_ok("u:2,FRST", 'R', "u:2,FRST");
	/* no ":2," yet (a name from new/) */
	add_ok("u", 'S', "u:2,S");
	add_ok("1700000000.M1P2.h,S=3,W=4", 'S', "1700000000.M1P2.h,S=3,W=4:2,S");

	char out[64];
	assert_false(maildir_add_flag("", 'S', out, sizeof(out)));
	assert_false(maildir_add_flag(".u:2,", 'S', out, sizeof(out)));
	assert_false(maildir_add_flag("a/b:2,", 'S', out, sizeof(out)));
	assert_false(maildir_add_flag("u:2,", 'S', out, 0));
}

/* ---- unique ids ---- */

static void uid_of(const char *name, char out[MAILDIR_UID_MAX + 1])
{
	memset(out, 'z', MAILDIR_UID_MAX + 1);
	maildir_uid(name, strlen(name), out);
}

static void assert_hashed(const char *uid)
{
	assert_int_equal(strlen(uid), 33);
	assert_int_equal(uid[0], 'h');
	for (size_t i = 1; i < 33; i++)
		assert_true((uid[i] >= '0' && uid[i] <= '9') || (uid[i] >= 'a' && uid[i] <= 'f'));
}

static void test_uid(void **state)
{
	(void)state;
	char uid[MAILDIR_UID_MAX + 1], uid2[MAILDIR_UID_MAX + 1];
	/* short and printable: as-is */
	uid_of("1700000000.M123456P99Q1.host,S=259,W=270", uid);
	assert_string_equal(uid, "1700000000.M123456P99Q1.host,S=259,W=270");
	uid_of("!", uid);
	assert_string_equal(uid, "!");
	uid_of("a~b", uid);
	assert_string_equal(uid, "a~b");
	/* only unique_len bytes */
	memset(uid, 'z', sizeof(uid));
	maildir_uid("abc:2,S", 3, uid);
	assert_string_equal(uid, "abc");

	char name[80];
	memset(name, 'a', sizeof(name));
	name[70] = '\0';
	uid_of(name, uid);
	assert_string_equal(uid, name);
	/* 71 chars: "h" and the first 16 bytes of SHA-256, in lowercase hex */
	name[70] = 'a';
	name[71] = '\0';
	uid_of(name, uid);
	assert_string_equal(uid, "heefa4cfbea79400c2f4239e1f702e02e");
	assert_hashed(uid);
	name[71] = 'a';
	name[72] = '\0';
	uid_of(name, uid2);
	assert_hashed(uid2);
	assert_string_not_equal(uid, uid2);

	uid_of("a b", uid);
	assert_string_equal(uid, "hc8687a08aa5d6ed2044328fa6a697ab8");
	const char *hashed[] = { "a b", "a  b", " ", "a\x7f", "a\xc3\xa9", "\x80", "a\tb" };
	for (size_t i = 0; i < sizeof(hashed) / sizeof(hashed[0]); i++) {
		uid_of(hashed[i], uid);
		assert_hashed(uid);
		/* stable */
		uid_of(hashed[i], uid2);
		assert_string_equal(uid, uid2);
		/* distinct */
		for (size_t j = 0; j < i; j++) {
			uid_of(hashed[j], uid2);
			assert_string_not_equal(uid, uid2);
		}
	}
	/* an empty unique part cannot be a uid either */
	memset(uid, 'z', sizeof(uid));
	maildir_uid("", 0, uid);
	assert_hashed(uid);
}

/* ---- file to wire ---- */

/* The whole of in[0..len) in one call plus finish; returns the length. */
static size_t encode(const char *in, size_t len, bool stuff, uint64_t max, char *out)
{
	struct wire_state w;
	wire_init(&w, stuff, max);
	size_t o = wire_encode(&w, in, len, out);
	assert_true(o <= 2 * len);
	size_t f = wire_finish(&w, out + o);
	assert_true(f <= 2);
	/* a NULL out counts the same */
	struct wire_state wc;
	wire_init(&wc, stuff, max);
	size_t c = wire_encode(&wc, in, len, NULL);
	assert_int_equal(c, o);
	assert_int_equal(wire_finish(&wc, NULL), f);
	return o + f;
}

static void wire_eq(const char *in, bool stuff, uint64_t max, const char *want)
{
	size_t len = strlen(in);
	char *out = malloc(2 * len + 2);
	assert_non_null(out);
	size_t n = encode(in, len, stuff, max, out);
	if (n != strlen(want) || memcmp(out, want, n) != 0)
		print_error("'%s' (stuff %d, max %llu): got '%.*s', want '%s'\n", in, stuff,
		    (unsigned long long)max, (int)n, out, want);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	if (!stuff && max == UINT64_MAX)
		assert_int_equal(wire_size(in, len), n);
	free(out);
}

static void test_wire_basic(void **state)
{
	(void)state;
	for (int stuff = 0; stuff <= 1; stuff++) {
		wire_eq("", stuff, UINT64_MAX, "");
		wire_eq("a\nb\n", stuff, UINT64_MAX, "a\r\nb\r\n");
		wire_eq("a\r\nb\r\n", stuff, UINT64_MAX, "a\r\nb\r\n");
		wire_eq("a\r\nb\nc\r\n", stuff, UINT64_MAX, "a\r\nb\r\nc\r\n");
		wire_eq("\n\n", stuff, UINT64_MAX, "\r\n\r\n");
		/* a missing last line end is added */
		wire_eq("a", stuff, UINT64_MAX, "a\r\n");
		wire_eq("a\nb", stuff, UINT64_MAX, "a\r\nb\r\n");
		wire_eq("a\r", stuff, UINT64_MAX, "a\r\n");
		/* a bare CR mid-line is kept */
		wire_eq("a\rb\n", stuff, UINT64_MAX, "a\rb\r\n");
		wire_eq("a\r\rb\r\n", stuff, UINT64_MAX, "a\r\rb\r\n");
		/* dots not at a line start are left alone */
		wire_eq("a.\nb.c\n", stuff, UINT64_MAX, "a.\r\nb.c\r\n");
	}
	/* dot-stuffing */
	wire_eq(".x\n", true, UINT64_MAX, "..x\r\n");
	wire_eq(".\n", true, UINT64_MAX, "..\r\n");
	wire_eq(".", true, UINT64_MAX, "..\r\n");
	wire_eq("..\n", true, UINT64_MAX, "...\r\n");
	wire_eq("a\n.\nb\n", true, UINT64_MAX, "a\r\n..\r\nb\r\n");
	wire_eq("a\r\n.\r\n", true, UINT64_MAX, "a\r\n..\r\n");
	wire_eq("a\r.\n", true, UINT64_MAX, "a\r.\r\n");
	wire_eq(".x\n", false, UINT64_MAX, ".x\r\n");
	wire_eq(".\n", false, UINT64_MAX, ".\r\n");
	wire_eq(".", false, UINT64_MAX, ".\r\n");
	wire_eq("a\n.\nb\n", false, UINT64_MAX, "a\r\n.\r\nb\r\n");
}

static void test_wire_size(void **state)
{
	(void)state;
	assert_int_equal(wire_size("", 0), 0);
	assert_int_equal(wire_size("a\nb\n", 4), 6);
	assert_int_equal(wire_size("a\r\nb\r\n", 6), 6);
	assert_int_equal(wire_size(".x\n", 3), 4);
	assert_int_equal(wire_size("a", 1), 3);
	assert_int_equal(wire_size("a\r", 2), 3);
	assert_int_equal(wire_size("a\0b\n", 4), 5);
	const char *msgs[] = { "Subject: hi\n\nbody\n.\n..\nend", "From: a\r\n\r\nx\r\ny",
		"\n", "\r", "no newline at all", ".\n.\n.\n" };
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		size_t len = strlen(msgs[i]);
		char out[128];
		assert_int_equal(wire_size(msgs[i], len), encode(msgs[i], len, false, UINT64_MAX, out));
	}
}

static const char sample[] =
	"From: a@example.test\n"
	"Subject: test\r\n"
	"\n"
	".first\n"
	"sec\rond\r\n"
	"..\n"
	"\n"
	".\r\n"
	"last";

/* Feeding in pieces (split at i and j) gives the same bytes as one call. */
static void chunked(const char *in, size_t len, bool stuff, uint64_t max)
{
	char *whole = malloc(2 * len + 2), *part = malloc(2 * len + 2);
	assert_non_null(whole);
	assert_non_null(part);
	size_t n = encode(in, len, stuff, max, whole);
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			struct wire_state w;
			wire_init(&w, stuff, max);
			size_t o = wire_encode(&w, in, i, part);
			assert_true(o <= 2 * i);
			size_t o2 = wire_encode(&w, in + i, j - i, part + o);
			assert_true(o2 <= 2 * (j - i));
			o += o2;
			o2 = wire_encode(&w, in + j, len - j, part + o);
			assert_true(o2 <= 2 * (len - j));
			o += o2;
			o += wire_finish(&w, part + o);
			if (o != n || memcmp(part, whole, n) != 0)
				print_error("split %zu/%zu (stuff %d, max %llu): got '%.*s'\n", i, j,
				    stuff, (unsigned long long)max, (int)o, part);
			assert_int_equal(o, n);
			assert_memory_equal(part, whole, n);
		}
	}
	/* byte by byte */
	struct wire_state w;
	wire_init(&w, stuff, max);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		size_t k = wire_encode(&w, in + i, 1, part + o);
		assert_true(k <= 2);
		o += k;
	}
	o += wire_finish(&w, part + o);
	assert_int_equal(o, n);
	assert_memory_equal(part, whole, n);
	/* and a second finish adds nothing */
	assert_int_equal(wire_finish(&w, part), 0);
	free(whole);
	free(part);
}

static void test_wire_chunked(void **state)
{
	(void)state;
	const char *more[] = { "a\r\nb", "\r\n\r\n", "x\r", ".\r\r\n.", "H: v\n\n\n\n" };
	for (int stuff = 0; stuff <= 1; stuff++) {
		const uint64_t maxes[] = { UINT64_MAX, 0, 1, 2, 3, 100 };
		for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
			chunked(sample, sizeof(sample) - 1, stuff, maxes[m]);
			for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
				chunked(more[i], strlen(more[i]), stuff, maxes[m]);
		}
	}
	/* the sample itself, spelled out */
	char out[256];
	size_t n = encode(sample, sizeof(sample) - 1, true, UINT64_MAX, out);
	const char *want =
		"From: a@example.test\r\n"
		"Subject: test\r\n"
		"\r\n"
		"..first\r\n"
		"sec\rond\r\n"
		"...\r\n"
		"\r\n"
		"..\r\n"
		"last\r\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	assert_int_equal(wire_size(sample, sizeof(sample) - 1), n - 3 /* three stuffed dots */);
}

static void test_wire_top(void **state)
{
	(void)state;
	const char *msg = "H1: a\nH2: b\n\nl1\nl2\nl3\n";
	const char *head = "H1: a\r\nH2: b\r\n\r\n";
	wire_eq(msg, false, 0, head);
	wire_eq(msg, false, 1, "H1: a\r\nH2: b\r\n\r\nl1\r\n");
	wire_eq(msg, false, 2, "H1: a\r\nH2: b\r\n\r\nl1\r\nl2\r\n");
	wire_eq(msg, false, 3, "H1: a\r\nH2: b\r\n\r\nl1\r\nl2\r\nl3\r\n");
	wire_eq(msg, false, 4, "H1: a\r\nH2: b\r\n\r\nl1\r\nl2\r\nl3\r\n");
	wire_eq(msg, false, 1000, "H1: a\r\nH2: b\r\n\r\nl1\r\nl2\r\nl3\r\n");
	/* CRLF files and a blank line of just CRLF */
	wire_eq("H: a\r\n\r\nl1\r\nl2\r\n", true, 1, "H: a\r\n\r\nl1\r\n");
	wire_eq("H: a\r\n\r\nl1\r\nl2\r\n", true, 0, "H: a\r\n\r\n");
	/* stuffing in the lines sent */
	wire_eq("H: a\n\n.l1\n.l2\n", true, 1, "H: a\r\n\r\n..l1\r\n");
	/* blank lines in the body count as lines */
	wire_eq("H: a\n\n\n\nx\n", false, 2, "H: a\r\n\r\n\r\n\r\n");
	/* a last body line without LF gets one; with n = 0 nothing is sent */
	wire_eq("H: a\n\nl1", false, 5, "H: a\r\n\r\nl1\r\n");
	wire_eq("H: a\n\nl1", false, 1, "H: a\r\n\r\nl1\r\n");
	wire_eq("H: a\n\nl1", false, 0, "H: a\r\n\r\n");
	/* a header-only message with no blank line: the whole header */
	wire_eq("H1: a\nH2: b\n", false, 0, "H1: a\r\nH2: b\r\n");
	wire_eq("H1: a\nH2: b", false, 0, "H1: a\r\nH2: b\r\n");
	wire_eq("H1: a\nH2: b\n", true, 3, "H1: a\r\nH2: b\r\n");
	/* an empty header: the blank line comes first */
	wire_eq("\nl1\nl2\n", false, 1, "\r\nl1\r\n");
	wire_eq("\nl1\nl2\n", false, 0, "\r\n");

	/* once the budget is spent, done is set and nothing more comes out */
	struct wire_state w;
	char out[64];
	wire_init(&w, true, 1);
	size_t o = wire_encode(&w, msg, strlen(msg), out);
	assert_true(w.done);
	assert_int_equal(o, strlen(head) + 4);
	assert_int_equal(wire_encode(&w, "more\n", 5, out), 0);
	assert_int_equal(wire_finish(&w, out), 0);
	/* without a budget, done is never set */
	wire_init(&w, true, UINT64_MAX);
	wire_encode(&w, msg, strlen(msg), out);
	assert_false(w.done);
}

static void test_wire_count_only(void **state)
{
	(void)state;
	/* NULL out counts and returns what the real output would be */
	struct wire_state w;
	wire_init(&w, true, UINT64_MAX);
	assert_int_equal(wire_encode(&w, ".a\nb", 4, NULL), 6);
	assert_int_equal(wire_finish(&w, NULL), 2);
	wire_init(&w, false, UINT64_MAX);
	assert_int_equal(wire_encode(&w, ".a\nb", 4, NULL), 5);
	assert_int_equal(wire_finish(&w, NULL), 2);
	wire_init(&w, false, 0);
	assert_int_equal(wire_encode(&w, "H: v\n\nbody\n", 11, NULL), 8);
	assert_int_equal(wire_finish(&w, NULL), 0);
	/* the sample, every mode */
	for (int stuff = 0; stuff <= 1; stuff++) {
		for (uint64_t max = 0; max < 8; max++) {
			char out[256];
			/* encode() compares the counts with the real output */
			(void)encode(sample, sizeof(sample) - 1, stuff, max, out);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_full),
		cmocka_unit_test(test_name_vsize),
		cmocka_unit_test(test_name_new),
		cmocka_unit_test(test_name_rejected),
		cmocka_unit_test(test_add_flag),
		cmocka_unit_test(test_uid),
		cmocka_unit_test(test_wire_basic),
		cmocka_unit_test(test_wire_size),
		cmocka_unit_test(test_wire_chunked),
		cmocka_unit_test(test_wire_top),
		cmocka_unit_test(test_wire_count_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
