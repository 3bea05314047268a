/*
 * test_util.c: unit tests for common/util.c: parse_uint, parse_size,
 * parse_duration_ms (syntax, units, limits, overflow), queue ids
 * (qid_new ordering, qid_format / qid_parse round trip), valid_username,
 * and the small helpers write_all, ms_tv and rfc5322_date.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static void test_parse_uint_ok(void **state)
{
	(void)state;
	uint64_t v = 99;
	assert_true(parse_uint("0", 0, 10, &v));
	assert_int_equal(v, 0);
	assert_true(parse_uint("123", 0, 1000, &v));
	assert_int_equal(v, 123);
	assert_true(parse_uint("007", 0, 10, &v));
	assert_int_equal(v, 7);
	assert_true(parse_uint("18446744073709551615", 0, UINT64_MAX, &v));
	assert_int_equal(v, UINT64_MAX);
	/* bounds are inclusive */
	assert_true(parse_uint("5", 5, 5, &v));
	assert_int_equal(v, 5);
}

static void test_parse_uint_bad(void **state)
{
	(void)state;
	uint64_t v = 42;
	const char *bad[] = { "", "-1", "+1", " 1", "1 ", "1a", "0x10", "1.0",
		"18446744073709551616", "99999999999999999999", "1,000", "\t1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(parse_uint(bad[i], 0, UINT64_MAX, &v));
		assert_int_equal(v, 42); /* untouched on failure */
	}
	assert_false(parse_uint(NULL, 0, 10, &v));
	assert_false(parse_uint("4", 5, 10, &v));
	assert_false(parse_uint("11", 5, 10, &v));
	assert_int_equal(v, 42);
}

static void test_parse_size(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_true(parse_size("1024", UINT64_MAX, &v));
	assert_int_equal(v, 1024);
	assert_true(parse_size("10k", UINT64_MAX, &v));
	assert_int_equal(v, 10240);
	assert_true(parse_size("10K", UINT64_MAX, &v));
	assert_int_equal(v, 10240);
	assert_true(parse_size("35M", UINT64_MAX, &v));
	assert_int_equal(v, 35ULL * 1024 * 1024);
	assert_true(parse_size("35m", UINT64_MAX, &v));
	assert_int_equal(v, 35ULL * 1024 * 1024);
	assert_true(parse_size("2G", UINT64_MAX, &v));
	assert_int_equal(v, 2ULL << 30);
	assert_true(parse_size("0", UINT64_MAX, &v));
	assert_int_equal(v, 0);
	assert_true(parse_size("0k", UINT64_MAX, &v));
	assert_int_equal(v, 0);

	/* max is inclusive and applies after the unit */
	assert_true(parse_size("1k", 1024, &v));
	assert_int_equal(v, 1024);
	assert_false(parse_size("1k", 1023, &v));
	assert_false(parse_size("1025", 1024, &v));
	assert_true(parse_size("2G", 2ULL << 30, &v));
	assert_false(parse_size("2049M", 2ULL << 30, &v));

	/* overflow of the number or of the multiplication */
	assert_true(parse_size("18446744073709551615", UINT64_MAX, &v));
	assert_int_equal(v, UINT64_MAX);
	assert_false(parse_size("18446744073709551616", UINT64_MAX, &v));
	assert_false(parse_size("17179869184G", UINT64_MAX, &v)); /* 2^64 */
	assert_true(parse_size("17179869183G", UINT64_MAX, &v));
	assert_int_equal(v, 17179869183ULL << 30);
	assert_false(parse_size("18014398509481984k", UINT64_MAX, &v)); /* 2^64 */

	const char *bad[] = { "", "k", "M", "-1", "+1", " 1", "1 ", "1 k", "1KB",
		"1kk", "1.5M", "1T", "1b", "0x10", "1k ", "1s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(parse_size(bad[i], UINT64_MAX, &v));
	assert_false(parse_size(NULL, UINT64_MAX, &v));
}

static void test_parse_duration(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_true(parse_duration_ms("30", UINT64_MAX, &v));
	assert_int_equal(v, 30000);
	assert_true(parse_duration_ms("300s", UINT64_MAX, &v));
	assert_int_equal(v, 300000);
	assert_true(parse_duration_ms("250ms", UINT64_MAX, &v));
	assert_int_equal(v, 250);
	assert_true(parse_duration_ms("5m", UINT64_MAX, &v));
	assert_int_equal(v, 300000);
	assert_true(parse_duration_ms("4h", UINT64_MAX, &v));
	assert_int_equal(v, 4ULL * 3600 * 1000);
	assert_true(parse_duration_ms("5d", UINT64_MAX, &v));
	assert_int_equal(v, 5ULL * 86400 * 1000);
	assert_true(parse_duration_ms("0", UINT64_MAX, &v));
	assert_int_equal(v, 0);
	assert_true(parse_duration_ms("0ms", UINT64_MAX, &v));
	assert_int_equal(v, 0);

	/* max in milliseconds, inclusive */
	assert_true(parse_duration_ms("1h", 3600 * 1000, &v));
	assert_false(parse_duration_ms("61m", 3600 * 1000, &v));
	assert_false(parse_duration_ms("3600001ms", 3600 * 1000, &v));
	assert_true(parse_duration_ms("3600000ms", 3600 * 1000, &v));

	/* overflow */
	assert_false(parse_duration_ms("18446744073709551615s", UINT64_MAX, &v));
	assert_false(parse_duration_ms("213503982334601d", UINT64_MAX, &v));
	assert_true(parse_duration_ms("18446744073709551615ms", UINT64_MAX, &v));
	assert_int_equal(v, UINT64_MAX);

	/* units are lower case only; no spaces, no other units */
	const char *bad[] = { "", "s", "ms", "5M", "5H", "5S", "5D", "5MS", "1w",
		"1y", "5 s", " 5s", "5s ", "-5s", "1.5h", "5sec", "5min", "1hm", "5us" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(parse_duration_ms(bad[i], UINT64_MAX, &v));
	assert_false(parse_duration_ms(NULL, UINT64_MAX, &v));
}

static void test_qid_format_parse(void **state)
{
	(void)state;
	char buf[QID_LEN + 1];
	uint64_t v;

	qid_format(0, buf);
	assert_string_equal(buf, "0000000000000000");
	qid_format(UINT64_MAX, buf);
	assert_string_equal(buf, "FFFFFFFFFFFFFFFF");
	qid_format(0x0123456789ABCDEFULL, buf);
	assert_string_equal(buf, "0123456789ABCDEF");

	assert_true(qid_parse("0123456789ABCDEF", QID_LEN, &v));
	assert_int_equal(v, 0x0123456789ABCDEFULL);
	assert_true(qid_parse("FFFFFFFFFFFFFFFF", QID_LEN, &v));
	assert_int_equal(v, UINT64_MAX);

	/* only the first len bytes count: a longer buffer is fine */
	assert_true(qid_parse("00000000000000FFjunk", QID_LEN, &v));
	assert_int_equal(v, 0xFF);

	uint64_t keep = 77;
	v = keep;
	assert_false(qid_parse("0123456789abcdef", QID_LEN, &v)); /* lower case */
	assert_false(qid_parse("0123456789ABCDEG", QID_LEN, &v));
	assert_false(qid_parse("0123456789ABCDE", QID_LEN - 1, &v));
	assert_false(qid_parse("0123456789ABCDEF0", QID_LEN + 1, &v));
	assert_false(qid_parse("", 0, &v));
	assert_false(qid_parse("0123456 89ABCDEF", QID_LEN, &v));
	assert_false(qid_parse("0123456\0""89ABCDEF", QID_LEN, &v));
	assert_false(qid_parse("../../etc/passwd", QID_LEN, &v));
	assert_int_equal(v, keep);

	/* round trip over a spread of values */
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < 1000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		qid_format(x, buf);
		assert_int_equal(strlen(buf), QID_LEN);
		assert_true(qid_parse(buf, strlen(buf), &v));
		assert_int_equal(v, x);
	}
}

static void test_qid_new(void **state)
{
	(void)state;
	uint64_t before = now_ms();
	uint64_t prev = qid_new();
	/* the top 44 bits are the time in milliseconds */
	assert_true((prev >> 20) >= (before & ((1ULL << 44) - 1)));
	assert_true((prev >> 20) <= ((now_ms() + 1) & ((1ULL << 44) - 1)));
	/* strictly increasing even when called faster than the clock ticks */
	for (int i = 0; i < 100000; i++) {
		uint64_t q = qid_new();
		assert_true(q > prev);
		prev = q;
	}
	char buf[QID_LEN + 1];
	uint64_t back;
	qid_format(prev, buf);
	assert_true(qid_parse(buf, QID_LEN, &back));
	assert_int_equal(back, prev);
}

static void test_valid_username(void **state)
{
	(void)state;
	const char *good[] = { "alice", "a", "0", "a.b", "a_b", "a-b", "bob.smith-2_x",
		"0day", "a.", "a-", "postmaster" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(valid_username(good[i], strlen(good[i])));

	const char *bad[] = { ".a", "-a", ".", "..", "Alice", "ALICE", "a b", "a/b",
		"a+b", "a@b", "a:b", "a\\b", "a\tb", "\xc3\xa9t\xc3\xa9", "a\nb", "_\x7f" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(valid_username(bad[i], strlen(bad[i])));
	assert_false(valid_username("", 0));
	assert_false(valid_username("a\0b", 3));
	/* len bounds what is looked at */
	assert_true(valid_username("ab/", 2));

	char name[80];
	memset(name, 'a', sizeof(name));
	assert_true(valid_username(name, 64));
	assert_false(valid_username(name, 65));
}

static void test_write_all(void **state)
{
	(void)state;
	int p[2];
	char in[3000], out[3000];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7);
	assert_int_equal(pipe(p), 0);
	assert_true(write_all(p[1], in, sizeof(in)));
	close(p[1]);
	size_t got = 0;
	ssize_t n;
	while ((n = read(p[0], out + got, sizeof(out) - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	assert_int_equal(got, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	assert_false(write_all(-1, in, 1));
}

static void test_rfc5322_date(void **state)
{
	(void)state;
	char buf[64];
	rfc5322_date(buf, sizeof(buf), 0);
	assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
	rfc5322_date(buf, sizeof(buf), 1700000000);
	assert_string_equal(buf, "Tue, 14 Nov 2023 22:13:20 +0000");
	/* too small: empty, never truncated garbage */
	rfc5322_date(buf, 10, 0);
	assert_string_equal(buf, "");
}

/* The file is replaced whole, with its mode; a link planted where the
 * temporary file goes is not followed. */
static void test_write_file_replace(void **state)
{
	(void)state;
	char dir[] = "/tmp/postern-wfr-XXXXXX", path[256], tmp[256], other[256], buf[32];
	struct stat st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(tmp, sizeof(tmp), "%s/f.tmp", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	assert_true(write_file_replace(path, "first\n", 6, 0640, (gid_t)-1));
	assert_true(write_file_replace(path, "2\n", 2, 0644, (gid_t)-1));
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 2);
	close(fd);
	assert_memory_equal(buf, "2\n", 2);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_not_equal(access(tmp, F_OK), 0);
	/* a symbolic link at path.tmp: refused, its target untouched */
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(other, tmp), 0);
	assert_false(write_file_replace(path, "3\n", 2, 0644, (gid_t)-1));
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_size, 0);
	unlink(tmp);
	unlink(other);
	unlink(path);
	rmdir(dir);
}

static void test_ms_tv(void **state)
{
	(void)state;
	struct timeval tv = ms_tv(0);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 0);
	tv = ms_tv(1);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 1000);
	tv = ms_tv(300999);
	assert_int_equal(tv.tv_sec, 300);
	assert_int_equal(tv.tv_usec, 999000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uint_ok),
		cmocka_unit_test(test_parse_uint_bad),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_qid_format_parse),
		cmocka_unit_test(test_qid_new),
		cmocka_unit_test(test_valid_username),
		cmocka_unit_test(test_write_all),
		cmocka_unit_test(test_write_file_replace),
		cmocka_unit_test(test_ms_tv),
		cmocka_unit_test(test_rfc5322_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
