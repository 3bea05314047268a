/*
 * test_data_filter.c: unit tests for smtpd/data_filter.c, the DATA
 * state machine: the end of data only at CRLF "." CRLF, dot-unstuffing,
 * bare CR and bare LF written as CRLF and never ending the message (the
 * SMTP smuggling forms "\n.\n", "\n.\r\n", "\r.\r", "\r\n.\n" ...), the
 * same output however the input is split (every split point, byte by
 * byte, random chunks), the NUL and long-line flags, the size count and
 * the output bound.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_filter.h"
#include "smtp_parse.h"

struct result {
	uint8_t *out;
	size_t outlen;
	size_t consumed;   /* input bytes taken before done (or all) */
	bool done;
	struct data_filter f;
};

static uint64_t rng = 0x243F6A8885A308D3ULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Feeds in[0..len) in chunks whose sizes come from chunk(i) (0 = rest),
 * stopping when the filter reports done, as smtpd does. */
static void feed(const uint8_t *in, size_t len, size_t (*chunk)(size_t, size_t),
    struct result *r)
{
	size_t pos = 0, k = 0;
	r->out = malloc(DATA_FILTER_OUT_MAX(len) + 1);
	assert_non_null(r->out);
	r->outlen = 0;
	r->done = false;
	data_filter_init(&r->f);
	while (pos < len && !r->done) {
		size_t n = chunk(k++, len - pos);
		if (n == 0 || n > len - pos)
			n = len - pos;
		size_t before = r->outlen, o = 0;
		size_t used = data_filter_run(&r->f, in + pos, n, r->out + before, &o, &r->done);
		assert_true(used <= n);
		assert_true(o <= DATA_FILTER_OUT_MAX(n));
		if (!r->done)
			assert_int_equal(used, n); /* all of it is taken until the end */
		r->outlen += o;
		pos += used;
	}
	r->consumed = pos;
}

static size_t whole(size_t k, size_t left) { (void)k; (void)left; return 0; }
static size_t bytewise(size_t k, size_t left) { (void)k; (void)left; return 1; }
static size_t randomly(size_t k, size_t left)
{
	(void)k;
	return 1 + (size_t)(next_rand() % (left < 7 ? left : 7));
}
static size_t split_at; /* for split(): first chunk size */
static size_t split(size_t k, size_t left) { (void)left; return k == 0 ? split_at : 0; }

static void result_free(struct result *r) { free(r->out); }

/* Runs s through the filter every way it can be cut and checks that all
 * agree, then that the output is want (NULL: don't check), that the
 * message ended or not, and how much input the end took. */
static void check_n(const char *s, size_t len, const char *want, size_t wantlen,
    bool done, size_t consumed)
{
	const uint8_t *in = (const uint8_t *)s;
	struct result w, o;
	feed(in, len, whole, &w);
	if (want != NULL) {
		if (w.outlen != wantlen || memcmp(w.out, want, wantlen) != 0) {
			print_error("input:  ");
			for (size_t i = 0; i < len; i++)
				print_error("%02x ", in[i]);
			print_error("\noutput: ");
			for (size_t i = 0; i < w.outlen; i++)
				print_error("%02x ", w.out[i]);
			print_error("\n");
		}
		assert_int_equal(w.outlen, wantlen);
		assert_memory_equal(w.out, want, wantlen);
	}
	assert_int_equal(w.done, done);
	assert_int_equal(w.consumed, consumed);
	assert_int_equal(w.f.size, w.outlen);

	size_t (*ways[])(size_t, size_t) = { bytewise, randomly, randomly, randomly };
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		feed(in, len, ways[i], &o);
		assert_int_equal(o.outlen, w.outlen);
		assert_memory_equal(o.out, w.out, w.outlen);
		assert_int_equal(o.done, w.done);
		assert_int_equal(o.consumed, w.consumed);
		assert_int_equal(o.f.size, w.f.size);
		assert_int_equal(o.f.nul, w.f.nul);
		assert_int_equal(o.f.long_line, w.f.long_line);
		assert_int_equal(o.f.bare, w.f.bare);
		result_free(&o);
	}
	for (split_at = 1; split_at < len; split_at++) {
		feed(in, len, split, &o);
		assert_int_equal(o.outlen, w.outlen);
		assert_memory_equal(o.out, w.out, w.outlen);
		assert_int_equal(o.done, w.done);
		assert_int_equal(o.consumed, w.consumed);
		assert_int_equal(o.f.bare, w.f.bare);
		result_free(&o);
	}
	result_free(&w);
}

#define CHECK(in, want, done, consumed) \
	check_n(in, sizeof(in) - 1, want, sizeof(want) - 1, done, consumed)
/* the whole input ends the message */
#define ENDS(in, want) CHECK(in, want, true, sizeof(in) - 1)
/* the input does not end the message */
#define OPEN(in, want) CHECK(in, want, false, sizeof(in) - 1)

static void test_end_marker(void **state)
{
	(void)state;
	ENDS("Hello\r\n.\r\n", "Hello\r\n");
	ENDS(".\r\n", "");                   /* an empty message */
	ENDS("\r\n.\r\n", "\r\n");
	ENDS("a\r\nb\r\n.\r\n", "a\r\nb\r\n");
	ENDS("Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n");
	/* the end is where input stops being taken */
	CHECK("a\r\n.\r\nMAIL FROM:<x@y>\r\n", "a\r\n", true, 6);
	CHECK(".\r\n.\r\n", "", true, 3);
	/* no end yet */
	OPEN("Hello\r\n", "Hello\r\n");
	OPEN("Hello\r\n.", "Hello\r\n");
	OPEN("Hello\r\n.\r", "Hello\r\n");
	OPEN("Hello", "Hello");
	OPEN("", "");
	/* a dot that is not alone on its line */
	OPEN("a\r\n. \r\n", "a\r\n \r\n");
	OPEN("a\r\n.x\r\n", "a\r\nx\r\n");
	OPEN("a\r\nx.\r\n", "a\r\nx.\r\n");
	OPEN("a.\r\n", "a.\r\n");
}

static void test_dot_unstuffing(void **state)
{
	(void)state;
	ENDS("..\r\n.\r\n", ".\r\n");
	ENDS("..foo\r\n.\r\n", ".foo\r\n");
	ENDS("a\r\n...\r\n.\r\n", "a\r\n..\r\n");
	ENDS("a\r\n..\r\n.\r\n", "a\r\n.\r\n");
	/* only the first dot of a line, only at a line start */
	ENDS("a.b..c\r\n.\r\n", "a.b..c\r\n");
	ENDS(".a\r\n.\r\n", "a\r\n");
	/* a dot line inside the body survives stuffed, the real end follows */
	ENDS("x\r\n..\r\n\r\n.\r\n", "x\r\n.\r\n\r\n");
}

static void test_smuggling(void **state)
{
	(void)state;
	/* none of these ends the message: bare LF / CR is no line end */
	OPEN("a\n.\nb", "a\r\n.\r\nb");
	OPEN("a\n.\r\nb", "a\r\n.\r\nb");
	OPEN("a\r.\rb", "a\r\n.\r\nb");
	OPEN("a\r.\r\nb", "a\r\n.\r\nb");
	OPEN("a\r\n.\nb", "a\r\n\r\nb");   /* dot dropped: it started a line */
	OPEN("a\r\n.\rb", "a\r\n\r\nb");
	OPEN("a\r\n.\r\rb", "a\r\n\r\n\r\nb");
	OPEN("a\n.\n", "a\r\n.\r\n");
	OPEN("a\n.\r\n", "a\r\n.\r\n");
	OPEN("a\r.\r", "a\r\n.");          /* the last CR waits for its LF */
	OPEN("a\r\n.\n", "a\r\n\r\n");
	OPEN("\n.\r\n", "\r\n.\r\n");
	OPEN("\r.\r\n", "\r\n.\r\n");
	OPEN("a\r\r\n.\r\r\n", "a\r\n\r\n\r\n\r\n");
	OPEN("a\r\n.\n\r\n", "a\r\n\r\n\r\n");

	/* after any of them, the real CRLF.CRLF still ends it */
	ENDS("a\n.\nb\r\n.\r\n", "a\r\n.\r\nb\r\n");
	ENDS("a\n.\r\n.\r\n", "a\r\n.\r\n");      /* ".\r\n" here followed a real CRLF */
	ENDS("a\r.\r\n.\r\n", "a\r\n.\r\n");
	OPEN("a\r\n.\n.\r\n", "a\r\n\r\n.\r\n");  /* "\n." is no line start */
	ENDS("a\r\n.\n.\r\n.\r\n", "a\r\n\r\n.\r\n");
	ENDS("a\r\n.\n\r\n.\r\n", "a\r\n\r\n\r\n");
	ENDS("a\n\r\n.\r\n", "a\r\n\r\n");

	/* and a dot after a bare LF or CR is not unstuffed */
	OPEN("a\n..b", "a\r\n..b");
	OPEN("a\r..b", "a\r\n..b");
}

static void test_bare_count(void **state)
{
	(void)state;
	struct result r;
	const char *s = "a\nb\rc\r\nd\r\n.\re\n.\r\n";
	feed((const uint8_t *)s, strlen(s), whole, &r);
	assert_false(r.done);
	/* \n, \r, the \r after the dot, the \n after 'e' */
	assert_int_equal(r.f.bare, 4);
	result_free(&r);

	s = "plain\r\ntext\r\n.\r\n";
	feed((const uint8_t *)s, strlen(s), whole, &r);
	assert_true(r.done);
	assert_int_equal(r.f.bare, 0);
	result_free(&r);

	s = "\r\r\r\n\n\n";
	feed((const uint8_t *)s, strlen(s), whole, &r);
	assert_int_equal(r.f.bare, 4);
	assert_int_equal(r.outlen, 10);
	assert_memory_equal(r.out, "\r\n\r\n\r\n\r\n\r\n", 10);
	result_free(&r);
}

static void test_nul(void **state)
{
	(void)state;
	struct result r;
	static const char s[] = "a\0b\r\n.\r\n";
	feed((const uint8_t *)s, sizeof(s) - 1, whole, &r);
	assert_true(r.done);
	assert_true(r.f.nul);
	assert_int_equal(r.outlen, 5);
	assert_memory_equal(r.out, "a\0b\r\n", 5); /* kept; the caller decides */
	result_free(&r);
	check_n(s, sizeof(s) - 1, "a\0b\r\n", 5, true, sizeof(s) - 1);

	static const char t[] = "\0.\r\n";
	feed((const uint8_t *)t, sizeof(t) - 1, whole, &r);
	assert_true(r.f.nul);
	assert_false(r.done);
	result_free(&r);
	/* a NUL right after the dot */
	static const char u[] = "x\r\n.\0\r\n.\r\n";
	check_n(u, sizeof(u) - 1, "x\r\n\0\r\n", 6, true, sizeof(u) - 1);

	feed((const uint8_t *)"abc\r\n.\r\n", 8, whole, &r);
	assert_false(r.f.nul);
	result_free(&r);
}

static void test_long_line(void **state)
{
	(void)state;
	size_t max = SMTP_TEXT_LINE_MAX;
	char *s = malloc(3 * max + 100);
	assert_non_null(s);
	struct result r;

	/* exactly 998 octets: fine */
	memset(s, 'x', max);
	memcpy(s + max, "\r\n.\r\n", 5);
	feed((const uint8_t *)s, max + 5, whole, &r);
	assert_true(r.done);
	assert_false(r.f.long_line);
	assert_int_equal(r.outlen, max + 2);
	result_free(&r);

	/* 999: flagged, but passed through */
	memset(s, 'x', max + 1);
	memcpy(s + max + 1, "\r\n.\r\n", 5);
	feed((const uint8_t *)s, max + 6, whole, &r);
	assert_true(r.done);
	assert_true(r.f.long_line);
	assert_int_equal(r.outlen, max + 3);
	result_free(&r);
	feed((const uint8_t *)s, max + 6, bytewise, &r);
	assert_true(r.f.long_line);
	result_free(&r);

	/* many short lines add up to nothing */
	for (size_t i = 0; i < 3 * max; i += 10)
		memcpy(s + i, "123456789\n", 10);
	feed((const uint8_t *)s, 3 * max - (3 * max) % 10, whole, &r);
	assert_false(r.f.long_line);
	result_free(&r);
	for (size_t i = 0; i < 3 * max; i += 10)
		memcpy(s + i, "12345678\r\n", 10);
	feed((const uint8_t *)s, 3 * max - (3 * max) % 10, whole, &r);
	assert_false(r.f.long_line);
	result_free(&r);

	/* a bare CR or LF starts a new output line for the count as well */
	memset(s, 'x', 2 * max);
	s[max] = '\n';
	feed((const uint8_t *)s, 2 * max, whole, &r);
	assert_false(r.f.long_line);
	result_free(&r);
	s[max] = '\r';
	feed((const uint8_t *)s, 2 * max, whole, &r);
	assert_false(r.f.long_line);
	result_free(&r);
	free(s);
}

static void test_size_and_bound(void **state)
{
	(void)state;
	struct data_filter f;
	uint8_t out[DATA_FILTER_OUT_MAX(64)];
	size_t outlen;
	bool done;

	/* size counts output octets across calls, not the end marker */
	data_filter_init(&f);
	assert_int_equal(data_filter_run(&f, (const uint8_t *)"abc\r\n", 5, out, &outlen, &done), 5);
	assert_int_equal(outlen, 5);
	assert_int_equal(f.size, 5);
	assert_int_equal(data_filter_run(&f, (const uint8_t *)"..d\r\n.", 6, out, &outlen, &done), 6);
	assert_int_equal(outlen, 4);
	assert_int_equal(f.size, 9);
	assert_false(done);
	assert_int_equal(data_filter_run(&f, (const uint8_t *)"\r\nXYZ", 5, out, &outlen, &done), 2);
	assert_true(done);
	assert_int_equal(outlen, 0);
	assert_int_equal(f.size, 9);

	/* a zero-length call does nothing */
	data_filter_init(&f);
	assert_int_equal(data_filter_run(&f, (const uint8_t *)"", 0, out, &outlen, &done), 0);
	assert_int_equal(outlen, 0);
	assert_false(done);

	/* the worst case for output growth: ".\rx" at line starts, 3 out per byte */
	static const char worst[] = "\r\n.\rx\r\n.\rx\r\n.\rx";
	data_filter_init(&f);
	data_filter_run(&f, (const uint8_t *)worst, sizeof(worst) - 1, out, &outlen, &done);
	assert_false(done);
	assert_true(outlen <= DATA_FILTER_OUT_MAX(sizeof(worst) - 1));
	data_filter_init(&f);
	data_filter_run(&f, (const uint8_t *)"x", 1, out, &outlen, &done);
	data_filter_init(&f);
	data_filter_run(&f, (const uint8_t *)"\r\n.\r", 4, out, &outlen, &done);
	assert_int_equal(data_filter_run(&f, (const uint8_t *)"x", 1, out, &outlen, &done), 1);
	assert_int_equal(outlen, 3);
	assert_true(outlen <= DATA_FILTER_OUT_MAX(1));

	/* random input never writes past the bound (the buffer is exact and
	 * a canary follows it) */
	for (int round = 0; round < 2000; round++) {
		uint8_t in[64], buf[DATA_FILTER_OUT_MAX(64) + 1];
		static const uint8_t alphabet[] = { '\r', '\n', '.', 'a', '\0' };
		size_t len = 1 + (size_t)(next_rand() % sizeof(in));
		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[next_rand() % sizeof(alphabet)];
		data_filter_init(&f);
		buf[DATA_FILTER_OUT_MAX(len)] = 0xA5;
		data_filter_run(&f, in, len, buf, &outlen, &done);
		assert_true(outlen <= DATA_FILTER_OUT_MAX(len));
		assert_int_equal(buf[DATA_FILTER_OUT_MAX(len)], 0xA5);
	}
}

static void test_reuse_after_end(void **state)
{
	(void)state;
	struct data_filter f;
	uint8_t out[64];
	size_t outlen;
	bool done;
	data_filter_init(&f);
	f.nul = true;
	f.long_line = true;
	f.bare = 9;
	f.size = 100;
	data_filter_init(&f);
	assert_false(f.nul);
	assert_false(f.long_line);
	assert_int_equal(f.bare, 0);
	assert_int_equal(f.size, 0);
	data_filter_run(&f, (const uint8_t *)"a\r\n.\r\n", 6, out, &outlen, &done);
	assert_true(done);
	/* after the end the machine is at a line start again */
	data_filter_init(&f);
	assert_int_equal(data_filter_run(&f, (const uint8_t *)".\r\n", 3, out, &outlen, &done), 3);
	assert_true(done);
	assert_int_equal(outlen, 0);
}

/* Random messages over a small alphabet: the output is CRLF-clean, the
 * end is found exactly at the first CRLF.CRLF of the input (or ".CRLF"
 * at its start), and every way of splitting gives the same result. */
static void test_random_splits(void **state)
{
	(void)state;
	static const char alphabet[] = "\r\n.a\0";
	char in[48];
	for (int round = 0; round < 3000; round++) {
		size_t len = (size_t)(next_rand() % sizeof(in));
		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[next_rand() % (sizeof(alphabet) - 1)];
		struct result w;
		feed((const uint8_t *)in, len, whole, &w);
		size_t consumed = w.consumed;
		bool done = w.done;
		/* the output is CRLF-clean: every CR is followed by LF and
		 * every LF preceded by CR */
		for (size_t i = 0; i < w.outlen; i++) {
			if (w.out[i] == '\r' && i + 1 < w.outlen)
				assert_int_equal(w.out[i + 1], '\n');
			if (w.out[i] == '\n')
				assert_true(i > 0 && w.out[i - 1] == '\r');
		}
		/* done exactly when the input holds CRLF.CRLF at a real line
		 * start (or ".\r\n" at the very start), at the first such place */
		size_t end = 0;
		bool found = false;
		if (len >= 3 && memcmp(in, ".\r\n", 3) == 0) {
			found = true;
			end = 3;
		} else {
			for (size_t i = 0; i + 5 <= len; i++)
				if (memcmp(in + i, "\r\n.\r\n", 5) == 0) {
					found = true;
					end = i + 5;
					break;
				}
		}
		assert_int_equal(done, found);
		if (found)
			assert_int_equal(consumed, end);
		result_free(&w);
		check_n(in, len, NULL, 0, done, consumed);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end_marker),
		cmocka_unit_test(test_dot_unstuffing),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_bare_count),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_size_and_bound),
		cmocka_unit_test(test_reuse_after_end),
		cmocka_unit_test(test_random_splits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
