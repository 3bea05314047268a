/*
 * test_sendmail_parse.c: unit tests for ctl/sendmail_parse.c and the
 * message filter in ctl/sendmail_parse.h: LF, CRLF and bare CR line
 * ends; the "." line with and without dot_ends (LF, CRLF, at the end
 * of input, after a bare CR, split across calls); the 998-octet line
 * limit, NUL and 8-bit flags, the output bound and the same result
 * however the input is split; header fields (folding, the name limit,
 * obsolete WSP before ':') and where the header section ends; RFC 5322
 * address lists (display names, quoted strings, nested comments,
 * groups, routes, folding, empty elements, the errors and limits);
 * completing and checking addresses and the -f sender; the GECOS name
 * and the From: field (quoting, RFC 2047 encoded words of whole UTF-8
 * characters, overflow).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sendmail_parse.h"

/* ---- the filter ---- */

struct fres {
	char *out;           /* NUL-terminated */
	size_t len;
	size_t consumed;     /* of the input, when done */
	bool done, nul, long_line, eightbit;
	uint64_t size;
};

/* Feeds in[0..len) in chunks of at most step octets (0: whole), then
 * finishes unless done. Checks the output bound of every call. */
static struct fres filter(const char *in, size_t len, bool dot_ends, size_t step)
{
	struct sm_filter f;
	struct fres r = { 0 };
	size_t cap = SM_FILTER_OUT_MAX(len) + 8, pos = 0;
	r.out = calloc(1, cap);
	uint8_t *tmp = malloc(SM_FILTER_OUT_MAX(len ? len : 1));
	assert_non_null(r.out);
	assert_non_null(tmp);
	sm_filter_init(&f, dot_ends);
	while (pos < len && !f.done) {
		size_t n = step && len - pos > step ? step : len - pos, outlen = 12345;
		size_t used = sm_filter_run(&f, (const uint8_t *)in + pos, n, tmp, &outlen);
		assert_true(used <= n);
		assert_true(outlen <= SM_FILTER_OUT_MAX(n));
		if (!f.done)
			assert_int_equal(used, n);
		memcpy(r.out + r.len, tmp, outlen);
		r.len += outlen;
		pos += used;
	}
	if (!f.done) {
		size_t outlen = 12345;
		sm_filter_finish(&f, tmp, &outlen);
		assert_true(outlen <= 4);
		memcpy(r.out + r.len, tmp, outlen);
		r.len += outlen;
	}
	/* once done, nothing more is taken */
	if (f.done) {
		size_t outlen = 12345;
		assert_int_equal(sm_filter_run(&f, (const uint8_t *)"x\n", 2, tmp, &outlen), 0);
		assert_int_equal(outlen, 0);
	}
	r.consumed = pos;
	r.done = f.done;
	r.nul = f.nul;
	r.long_line = f.long_line;
	r.eightbit = f.eightbit;
	r.size = f.size;
	assert_int_equal(r.size, r.len);
	free(tmp);
	return r;
}

/* The same result whole, in every chunk size up to 7, and byte by byte. */
static struct fres filter_all(const char *in, size_t len, bool dot_ends)
{
	struct fres whole = filter(in, len, dot_ends, 0);
	for (size_t step = 1; step <= 7; step++) {
		struct fres c = filter(in, len, dot_ends, step);
		assert_int_equal(c.len, whole.len);
		assert_memory_equal(c.out, whole.out, whole.len);
		assert_int_equal(c.done, whole.done);
		assert_int_equal(c.consumed, whole.consumed);
		assert_int_equal(c.nul, whole.nul);
		assert_int_equal(c.long_line, whole.long_line);
		assert_int_equal(c.eightbit, whole.eightbit);
		free(c.out);
	}
	return whole;
}

static void expect(const char *in, bool dot_ends, const char *out, bool done, size_t consumed)
{
	struct fres r = filter_all(in, strlen(in), dot_ends);
	if (strcmp(r.out, out) != 0)
		print_error("in '%s': got '%s'\n", in, r.out);
	assert_string_equal(r.out, out);
	assert_int_equal(r.done, done);
	if (done)
		assert_int_equal(r.consumed, consumed);
	free(r.out);
}

static void test_filter_line_ends(void **state)
{
	(void)state;
	expect("", false, "", false, 0);
	expect("a\nb\n", false, "a\r\nb\r\n", false, 0);
	expect("a\r\nb\r\n", false, "a\r\nb\r\n", false, 0);
	expect("a\rb\r", false, "a\r\nb\r\n", false, 0);        /* bare CR */
	expect("a\r\rb", false, "a\r\n\r\nb\r\n", false, 0);
	expect("a\r\r\nb", false, "a\r\n\r\nb\r\n", false, 0);
	expect("no end", false, "no end\r\n", false, 0);
	expect("\n\n", false, "\r\n\r\n", false, 0);
	expect("\r", false, "\r\n", false, 0);
	expect("x\n\r\n", false, "x\r\n\r\n", false, 0);
}

static void test_filter_dot(void **state)
{
	(void)state;
	/* without dot_ends a "." is a line like any other */
	expect("a\n.\nb\n", false, "a\r\n.\r\nb\r\n", false, 0);
	expect(".", false, ".\r\n", false, 0);
	/* with it, the line ends the message, through its LF */
	expect("a\n.\nb\n", true, "a\r\n", true, 4);
	expect("a\r\n.\r\nb\r\n", true, "a\r\n", true, 6);
	expect(".\n", true, "", true, 2);
	expect("a\n.", true, "a\r\n", true, 3);                 /* at the end of input */
	expect("a\n.\r", true, "a\r\n", true, 4);
	/* lines that only start with a dot are kept, never unstuffed */
	expect("..\n.x\n. \n", true, "..\r\n.x\r\n. \r\n", false, 0);
	expect("a.\n", true, "a.\r\n", false, 0);
	/* a bare CR makes a line break but no line start */
	expect("a\r.\rb\n", true, "a\r\n.\r\nb\r\n", false, 0);
	expect("a\r.\nb\n", true, "a\r\n.\r\nb\r\n", false, 0);
	/* "." and a bare CR: no end either */
	expect(".\rx\n", true, ".\r\nx\r\n", false, 0);
	expect(".\r\r\n", true, ".\r\n\r\n", false, 0);
	expect("x\n.\r.\n", true, "x\r\n.\r\n.\r\n", false, 0);
}

static void test_filter_flags(void **state)
{
	(void)state;
	char line[1200];
	memset(line, 'x', sizeof(line));
	struct fres r = filter_all(line, 998, false);
	assert_false(r.long_line);
	assert_int_equal(r.len, 1000);
	free(r.out);
	line[998] = '\n';
	r = filter_all(line, 999, false);
	assert_false(r.long_line);
	free(r.out);
	r = filter_all(line, 999, true);
	assert_false(r.long_line);
	free(r.out);
	r = filter_all(line, 1100, false);   /* 998, LF, then 101 */
	assert_false(r.long_line);
	free(r.out);
	memset(line, 'x', sizeof(line));
	r = filter_all(line, 999, false);
	assert_true(r.long_line);
	free(r.out);
	/* CRLF does not count; a bare CR ends the line */
	memset(line, 'x', sizeof(line));
	memcpy(line + 998, "\r\n", 2);
	r = filter_all(line, 1000, false);
	assert_false(r.long_line);
	free(r.out);
	line[500] = '\r';
	line[999] = 'y';
	r = filter_all(line, 1100, false);
	assert_false(r.long_line);
	free(r.out);
	/* the held "." counts */
	line[0] = '.';
	memset(line + 1, 'x', 998);
	r = filter_all(line, 999, true);
	assert_true(r.long_line);
	free(r.out);

	r = filter_all("a\0b\n", 4, false);
	assert_true(r.nul);
	assert_false(r.eightbit);
	assert_int_equal(r.len, 5);
	free(r.out);
	r = filter_all("caf\xc3\xa9\n", 6, true);
	assert_true(r.eightbit);
	assert_false(r.nul);
	free(r.out);
	r = filter_all("plain\n", 6, true);
	assert_false(r.eightbit || r.nul || r.long_line);
	free(r.out);
}

/* The worst case for the output bound: every byte a line end, and a
 * held ".\r" released by the next call. */
static void test_filter_bound(void **state)
{
	(void)state;
	uint8_t out[SM_FILTER_OUT_MAX(4)];
	size_t outlen;
	struct sm_filter f;
	sm_filter_init(&f, false);
	sm_filter_run(&f, (const uint8_t *)"\n\n\n\n", 4, out, &outlen);
	assert_int_equal(outlen, 8);
	sm_filter_init(&f, true);
	sm_filter_run(&f, (const uint8_t *)".\r", 2, out, &outlen);
	assert_int_equal(outlen, 0);
	sm_filter_run(&f, (const uint8_t *)"\r\r\r\r", 4, out, &outlen);
	assert_true(outlen <= SM_FILTER_OUT_MAX(4));
	assert_int_equal(outlen, 9); /* ".", CRLF, then a CRLF per CR but the last, held */
	sm_filter_finish(&f, out, &outlen);
	assert_int_equal(outlen, 2);
	assert_false(f.done);
	/* the most for one byte: a held ".\r" and what follows it */
	sm_filter_init(&f, true);
	sm_filter_run(&f, (const uint8_t *)".\r", 2, out, &outlen);
	sm_filter_run(&f, (const uint8_t *)"x", 1, out, &outlen);
	assert_int_equal(outlen, 4);
	assert_true(outlen <= SM_FILTER_OUT_MAX(1));
	assert_memory_equal(out, ".\r\nx", 4);
}

/* ---- header fields ---- */

static void test_fields(void **state)
{
	(void)state;
	size_t nl, vo;
	const char *m = "Subject: a\r\n b\r\n\tc\r\nTo: x\r\n";
	assert_int_equal(sm_field_len(m, strlen(m), &nl, &vo), 20);
	assert_int_equal(nl, 7);
	assert_int_equal(vo, 8);
	assert_true(sm_field_is(m, nl, "subject"));
	assert_false(sm_field_is(m, nl, "Subjec"));
	m = "Subject \t: x\r\n";
	assert_int_equal(sm_field_len(m, strlen(m), &nl, &vo), strlen(m));
	assert_int_equal(nl, 7);
	assert_int_equal(vo, 10);
	m = "X:";
	assert_int_equal(sm_field_len(m, strlen(m), &nl, &vo), 2);
	assert_int_equal(vo, 2);
	/* no field */
	assert_int_equal(sm_field_len(":x\r\n", 4, &nl, &vo), 0);
	assert_int_equal(sm_field_len(" x: y\r\n", 7, &nl, &vo), 0);
	assert_int_equal(sm_field_len("From me\r\n", 9, &nl, &vo), 0);
	assert_int_equal(sm_field_len("Hello world: x\r\n", 16, &nl, &vo), 0);
	assert_int_equal(sm_field_len("\r\n", 2, &nl, &vo), 0);
	assert_int_equal(sm_field_len("Subject", 7, &nl, &vo), 0);
	assert_int_equal(sm_field_len("", 0, &nl, &vo), 0);
	assert_int_equal(sm_field_len("Caf\xc3\xa9: x\r\n", 10, &nl, &vo), 0);
	/* the name limit, with its WSP */
	char name[SM_NAME_MAX + 8];
	memset(name, 'N', sizeof(name));
	memcpy(name + SM_NAME_MAX, ":\r\n", 3);
	assert_int_equal(sm_field_len(name, SM_NAME_MAX + 3, &nl, &vo), SM_NAME_MAX + 3);
	name[SM_NAME_MAX - 1] = ' ';
	assert_int_equal(sm_field_len(name, SM_NAME_MAX + 3, &nl, &vo), SM_NAME_MAX + 3);
	assert_int_equal(nl, SM_NAME_MAX - 1);
	memset(name, 'N', sizeof(name));
	memcpy(name + SM_NAME_MAX + 1, ":\r\n", 3);
	assert_int_equal(sm_field_len(name, SM_NAME_MAX + 4, &nl, &vo), 0);
}

static void scan(const char *m, size_t end, bool blank, bool from, bool date, bool msgid)
{
	struct sm_headers h;
	sm_headers_scan(m, strlen(m), &h);
	assert_int_equal(h.end, end);
	assert_int_equal(h.blank, blank);
	assert_int_equal(h.have_from, from);
	assert_int_equal(h.have_date, date);
	assert_int_equal(h.have_msgid, msgid);
}

static void test_headers(void **state)
{
	(void)state;
	scan("", 0, false, false, false, false);
	scan("\r\nbody\r\n", 0, true, false, false, false);
	scan("Subject: x\r\n\r\nbody\r\n", 12, true, false, false, false);
	scan("FROM: a\r\ndate: b\r\nMessage-Id: <c>\r\n\r\n", 35, true, true, true, true);
	scan("Subject: x\r\n", 12, false, false, false, false);
	scan("Subject: x\r\nbody line\r\n", 12, false, false, false, false);
	scan("Subject: x\r\n folded\r\nFrom: y\r\n\r\n", 30, true, true, false, false);
	scan(" starts folded\r\nFrom: y\r\n", 0, false, false, false, false);
	scan("Resent-From: a\r\nX-Date: b\r\nMessage-IDs: c\r\n\r\n", 43, true, false, false, false);
	scan("Subject: x\r\n\r\nFrom: not a header\r\n", 12, true, false, false, false);
}

/* ---- address lists ---- */

/* Parses s and expects the addresses given, NULL-terminated. */
static void list_ok(const char *s, ...)
{
	char out[16][SM_ADDR_MAX + 1];
	size_t n = 0;
	va_list ap;
	enum sm_err e = sm_addrlist(s, strlen(s), out, 16, &n);
	if (e != SM_OK)
		print_error("'%s': %s\n", s, sm_strerror(e));
	assert_int_equal(e, SM_OK);
	va_start(ap, s);
	size_t i = 0;
	for (const char *want; (want = va_arg(ap, const char *)) != NULL; i++) {
		assert_true(i < n);
		if (strcmp(out[i], want) != 0)
			print_error("'%s': address %zu is '%s', not '%s'\n", s, i, out[i], want);
		assert_string_equal(out[i], want);
	}
	va_end(ap);
	assert_int_equal(n, i);
}

static void list_bad(const char *s, enum sm_err want)
{
	char out[4][SM_ADDR_MAX + 1];
	size_t n = 1;
	memcpy(out[0], "kept", 5);
	enum sm_err e = sm_addrlist(s, strlen(s), out, 4, &n);
	if (e != want)
		print_error("'%s': %s\n", s, sm_strerror(e));
	assert_int_equal(e, want);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "kept");
}

static void test_addrlist(void **state)
{
	(void)state;
	list_ok("alice@example.test", "alice@example.test", NULL);
	list_ok("  alice@example.test  ", "alice@example.test", NULL);
	list_ok("bob", "bob", NULL);
	list_ok("", NULL);
	list_ok(" \r\n ", NULL);
	list_ok("a@x, b@y,c@z", "a@x", "b@y", "c@z", NULL);
	list_ok("Alice Liddell <alice@example.test>", "alice@example.test", NULL);
	list_ok("<alice@example.test>", "alice@example.test", NULL);
	list_ok("\"Doe, John\" <j@x>, k@y", "j@x", "k@y", NULL);
	list_ok("\"a \\\" quote, and <x@y>\" <j@x>", "j@x", NULL);
	list_ok("j@x (John (the \\) first) Doe), k@y", "j@x", "k@y", NULL);
	list_ok("(c) j (d) @ (e) x (f)", "j@x", NULL);
	list_ok("John . Q . Public@x", "John.Q.Public@x", NULL);
	list_ok("\"john doe\"@x", "\"john doe\"@x", NULL);
	list_ok("\"a@b\"@x", "\"a@b\"@x", NULL);
	list_ok("j@[192.0.2.1]", "j@[192.0.2.1]", NULL);
	list_ok("Friends: a@x, B <b@y>;, c@z", "a@x", "b@y", "c@z", NULL);
	list_ok("undisclosed-recipients:;", NULL);
	list_ok("Group:;, a@x", "a@x", NULL);
	list_ok("Group: a@x", "a@x", NULL);    /* no ';': let pass */
	list_ok("a@x,, ,b@y,", "a@x", "b@y", NULL);
	list_ok("Someone\r\n <a@x>,\r\n\tb@y", "a@x", "b@y", NULL);
	list_ok("<@route.example,@other:a@x>", "a@x", NULL);
	list_ok("Name <@r:a@x>", "a@x", NULL);
	list_ok("a@x <a@x>", "a@x", NULL);      /* an address as a display name */
	list_ok("=?UTF-8?B?Sm9zw6k=?= <j@x>", "j@x", NULL);
	list_ok("Jos\xc3\xa9 <j@x>", "j@x", NULL);
	list_ok("j\xc3\xa9@x", "j\xc3\xa9@x", NULL); /* addr.c refuses it later */

	list_bad("John Doe", SM_SYNTAX);
	list_bad("a@x b@y", SM_SYNTAX);
	list_bad("a@", SM_SYNTAX);
	list_bad("@x", SM_SYNTAX);
	list_bad("a@@x", SM_SYNTAX);
	list_bad("a@x@y", SM_SYNTAX);
	list_bad("a@\"x\"", SM_SYNTAX);
	list_bad("a@[1.2.3.4].x", SM_SYNTAX);
	list_bad("<>", SM_SYNTAX);
	list_bad("<a@x", SM_SYNTAX);
	list_bad("<a@x, b@y>", SM_SYNTAX);
	list_bad("<a@x> junk", SM_SYNTAX);
	list_bad("<a@x> <b@y>", SM_SYNTAX);
	list_bad("a@x>", SM_SYNTAX);
	list_bad("\"open", SM_SYNTAX);
	list_bad("a@x (open", SM_SYNTAX);
	list_bad("a@x)", SM_SYNTAX);
	list_bad("[open", SM_SYNTAX);
	list_bad("a@x;", SM_SYNTAX);
	list_bad("G: H: a@x;", SM_SYNTAX);
	list_bad("a\\b@x", SM_SYNTAX);
	list_bad("a@x\x01", SM_SYNTAX);
	list_bad("ok@x, John Doe", SM_SYNTAX);  /* nothing added on error */
	list_bad("<@r,a@x>", SM_SYNTAX);
	list_bad("a@x, b@y, c@z, d@w", SM_TOO_MANY);

	char big[600];
	memset(big, 'a', sizeof(big));
	memcpy(big + 300, "@x", 3);
	list_bad(big, SM_TOO_LONG);
	big[0] = '<';
	memcpy(big + 300, "@x>", 4);
	list_bad(big, SM_TOO_LONG);
	/* more words after one too long (nothing read before the buffer) */
	memset(big, 'a', sizeof(big));
	memcpy(big + 300, " .b c", 6);
	list_bad(big, SM_TOO_LONG);
	memcpy(big + 300, " b c", 5);
	list_bad(big, SM_TOO_LONG);
	/* exactly SM_ADDR_MAX fits */
	memset(big, 'a', sizeof(big));
	memcpy(big + SM_ADDR_MAX - 2, "@x", 3);
	char out[1][SM_ADDR_MAX + 1];
	size_t n = 0;
	assert_int_equal(sm_addrlist(big, strlen(big), out, 1, &n), SM_OK);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(out[0]), SM_ADDR_MAX);
	/* appends to what is there */
	char two[2][SM_ADDR_MAX + 1];
	n = 0;
	assert_int_equal(sm_addrlist("a@x", 3, two, 2, &n), SM_OK);
	assert_int_equal(sm_addrlist("b@y", 3, two, 2, &n), SM_OK);
	assert_int_equal(n, 2);
	assert_string_equal(two[1], "b@y");
	assert_int_equal(sm_addrlist("c@z", 3, two, 2, &n), SM_TOO_MANY);
	assert_int_equal(n, 2);
	/* only len bytes are read */
	n = 0;
	assert_int_equal(sm_addrlist("a@x, b@y", 3, two, 2, &n), SM_OK);
	assert_int_equal(n, 1);
	assert_string_equal(sm_strerror(SM_TOO_LONG), "address too long");
}

/* A domain name of exactly len octets: labels of up to 60. */
static void make_domain(char *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		out[i] = (i % 61 == 60 && i + 1 < len) ? '.' : 'd';
	out[len] = '\0';
}

static void complete_ok(const char *raw, const char *local, const char *domain)
{
	struct mailaddr a;
	enum addr_err e = sm_complete_addr(raw, "Host.Example", &a);
	if (e != ADDR_OK)
		print_error("'%s': %s\n", raw, addr_strerror(e));
	assert_int_equal(e, ADDR_OK);
	assert_string_equal(a.local, local);
	assert_string_equal(a.domain, domain);
}

static void test_complete(void **state)
{
	(void)state;
	struct mailaddr a;
	complete_ok("bob", "bob", "host.example");
	complete_ok("Bob@Example.TEST", "Bob", "example.test");
	complete_ok("\"a@b\"", "\"a@b\"", "host.example");
	complete_ok("\"a\\\"@b\"@x", "\"a\\\"@b\"", "x");
	complete_ok("j@[192.0.2.1]", "j", "[192.0.2.1]");
	assert_int_equal(sm_complete_addr("j\xc3\xa9@x", "h", &a), ADDR_8BIT);
	assert_int_equal(sm_complete_addr("a b", "h", &a), ADDR_SYNTAX);
	assert_int_equal(sm_complete_addr("", "h", &a), ADDR_SYNTAX);
	assert_int_equal(sm_complete_addr("a@", "h", &a), ADDR_SYNTAX);
	char big[300];
	memset(big, 'a', 65);
	big[65] = '\0';
	assert_int_equal(sm_complete_addr(big, "h", &a), ADDR_LOCAL_TOO_LONG);
	/* a path of 256 octets with its brackets is the most */
	char dom[260];
	make_domain(dom, 252);
	snprintf(big, sizeof(big), "x@%s", dom);
	assert_int_equal(sm_complete_addr(big, "h", &a), ADDR_OK);
	make_domain(dom, 253);
	snprintf(big, sizeof(big), "x@%s", dom);
	assert_int_equal(sm_complete_addr(big, "h", &a), ADDR_PATH_TOO_LONG);
	/* also when the domain is the default one */
	make_domain(dom, 200);
	memset(big, 'a', 60);
	big[60] = '\0';
	assert_int_equal(sm_complete_addr(big, dom, &a), ADDR_PATH_TOO_LONG);
}

static void test_sender(void **state)
{
	(void)state;
	struct mailaddr a;
	assert_int_equal(sm_parse_sender("", "h", &a), ADDR_OK);
	assert_true(a.null);
	assert_int_equal(sm_parse_sender("<>", "h", &a), ADDR_OK);
	assert_true(a.null);
	assert_int_equal(sm_parse_sender("<a@X>", "h", &a), ADDR_OK);
	assert_false(a.null);
	assert_string_equal(a.local, "a");
	assert_string_equal(a.domain, "x");
	assert_int_equal(sm_parse_sender("a@x", "h", &a), ADDR_OK);
	assert_int_equal(sm_parse_sender("robot", "h.example", &a), ADDR_OK);
	assert_string_equal(a.domain, "h.example");
	assert_int_equal(sm_parse_sender("<robot>", "h.example", &a), ADDR_OK);
	assert_int_equal(sm_parse_sender("<a@x", "h", &a), ADDR_SYNTAX);
	assert_int_equal(sm_parse_sender("<", "h", &a), ADDR_SYNTAX);
	assert_int_equal(sm_parse_sender("< >", "h", &a), ADDR_SYNTAX);
	assert_int_equal(sm_parse_sender("a@x>", "h", &a), ADDR_SYNTAX);
	assert_int_equal(sm_parse_sender("Name <a@x>", "h", &a), ADDR_SYNTAX);
	char big[400];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sm_parse_sender(big, "h", &a), ADDR_PATH_TOO_LONG);
}

/* ---- From: ---- */

static void test_gecos(void **state)
{
	(void)state;
	char out[SM_FULLNAME_MAX + 1];
	sm_gecos_name("Sam Sender,Room 1,,", "sam", out, sizeof(out));
	assert_string_equal(out, "Sam Sender");
	sm_gecos_name("& Jones", "bob", out, sizeof(out));
	assert_string_equal(out, "Bob Jones");
	sm_gecos_name("Mr. &&", "eve", out, sizeof(out));
	assert_string_equal(out, "Mr. EveEve");
	sm_gecos_name("", "x", out, sizeof(out));
	assert_string_equal(out, "");
	sm_gecos_name(",x", "x", out, sizeof(out));
	assert_string_equal(out, "");
	sm_gecos_name("  A\r\nB\t ", "x", out, sizeof(out));
	assert_string_equal(out, "AB");
	char small[8];
	sm_gecos_name("Abcdefghij", "x", small, sizeof(small));
	assert_string_equal(small, "Abcdefg");
	/* never a cut UTF-8 sequence */
	sm_gecos_name("Abcde\xc3\xa9", "x", small, sizeof(small));
	assert_string_equal(small, "Abcde\xc3\xa9");
	sm_gecos_name("Abcdef\xc3\xa9", "x", small, sizeof(small));
	assert_string_equal(small, "Abcdef");
	sm_gecos_name("Abcde\xe2\x82\xac", "x", small, sizeof(small));
	assert_string_equal(small, "Abcde");
	sm_gecos_name("Abcdef\xe2\x82\xac", "x", small, sizeof(small));
	assert_string_equal(small, "Abcdef");
	sm_gecos_name("Abcd\xe2\x82\xacz", "x", small, sizeof(small));
	assert_string_equal(small, "Abcd\xe2\x82\xac");
	char big[400];
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sm_gecos_name(big, "x", out, sizeof(out));
	assert_int_equal(strlen(out), SM_FULLNAME_MAX);
	sm_gecos_name("&", big, out, sizeof(out));
	assert_int_equal(strlen(out), SM_FULLNAME_MAX);
	assert_int_equal(out[0], 'N');
}

static void from_is(const char *name, const char *want)
{
	char out[1024];
	size_t n = sm_format_from(name, "u@h.example", out, sizeof(out));
	if (strcmp(out, want) != 0)
		print_error("name '%s': got '%s'\n", name, out);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static int b64val(char c)
{
	const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(t, c);
	return p && c ? (int)(p - t) : -1;
}

/* Decodes the encoded words of a From: line back into the name,
 * checking each holds whole UTF-8 characters and the line lengths. */
static void decode_words(const char *line, char *name, size_t cap)
{
	size_t n = 0;
	const char *p = line;
	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		p += 10;
		const char *end = strstr(p, "?=");
		assert_non_null(end);
		size_t start = n;
		for (const char *q = p; q + 4 <= end; q += 4) {
			int v[4];
			for (int k = 0; k < 4; k++)
				v[k] = q[k] == '=' ? 0 : b64val(q[k]);
			for (int k = 0; k < 4; k++)
				assert_true(v[k] >= 0);
			unsigned w = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
			assert_true(n + 3 < cap);
			name[n++] = (char)(w >> 16);
			if (q[2] != '=')
				name[n++] = (char)(w >> 8);
			if (q[3] != '=')
				name[n++] = (char)w;
		}
		/* whole characters: no continuation byte first, none cut at the end */
		assert_true(((unsigned char)name[start] & 0xc0) != 0x80);
		assert_true(end - p <= 60);
		p = end + 2;
	}
	name[n] = '\0';
	for (const char *l = line; *l;) {
		const char *e = strstr(l, "\r\n");
		assert_non_null(e);
		assert_true(e - l <= 78);
		l = e + 2;
	}
}

static void test_from(void **state)
{
	(void)state;
	from_is("Sam Sender", "From: Sam Sender <u@h.example>\r\n");
	from_is("", "From: <u@h.example>\r\n");
	from_is("   ", "From: <u@h.example>\r\n");
	from_is("O'Neil-Smith", "From: O'Neil-Smith <u@h.example>\r\n");
	from_is("John Q. Public", "From: \"John Q. Public\" <u@h.example>\r\n");
	from_is("Doe, John", "From: \"Doe, John\" <u@h.example>\r\n");
	from_is("say \"hi\" \\o/", "From: \"say \\\"hi\\\" \\\\o/\" <u@h.example>\r\n");
	from_is("a\r\nBcc: evil@x", "From: \"aBcc: evil@x\" <u@h.example>\r\n");
	from_is("Jos\xc3\xa9", "From: =?UTF-8?B?Sm9zw6k=?= <u@h.example>\r\n");

	/* a long name of 2-octet characters: folded between words */
	char name[SM_FULLNAME_MAX + 1], line[1024], back[256];
	for (size_t i = 0; i + 2 <= SM_FULLNAME_MAX; i += 2)
		memcpy(name + i, "\xc3\xa9", 2);
	name[SM_FULLNAME_MAX] = '\0';
	assert_true(sm_format_from(name, "u@h", line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "?=\r\n =?UTF-8?B?"));
	decode_words(line, back, sizeof(back));
	assert_string_equal(back, name);
	/* 3-octet ones, which 45-octet chunks would cut */
	for (size_t i = 0; i + 3 <= SM_FULLNAME_MAX; i += 3)
		memcpy(name + i, "\xe2\x82\xac", 3);
	name[SM_FULLNAME_MAX / 3 * 3] = '\0';
	assert_true(sm_format_from(name, "u@h", line, sizeof(line)) > 0);
	decode_words(line, back, sizeof(back));
	assert_string_equal(back, name);
	/* a longer name is cut at SM_FULLNAME_MAX, on a character boundary */
	char big[400];
	for (size_t i = 0; i + 3 <= sizeof(big) - 1; i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	big[sizeof(big) - 1 - (sizeof(big) - 1) % 3] = '\0';
	assert_true(sm_format_from(big, "u@h", line, sizeof(line)) > 0);
	decode_words(line, back, sizeof(back));
	assert_int_equal(strlen(back), SM_FULLNAME_MAX / 3 * 3);

	/* too small: 0 and an empty string */
	char small[20];
	assert_int_equal(sm_format_from("Sam", "u@h.example", small, sizeof(small)), 0);
	assert_string_equal(small, "");
	assert_int_equal(sm_format_from("Sam", "u@h", small, 0), 0);
	const char *exact = "From: Sam <u@h>\r\n";
	assert_int_equal(sm_format_from("Sam", "u@h", small, strlen(exact) + 1), strlen(exact));
	assert_int_equal(sm_format_from("Sam", "u@h", small, strlen(exact)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_line_ends),
		cmocka_unit_test(test_filter_dot),
		cmocka_unit_test(test_filter_flags),
		cmocka_unit_test(test_filter_bound),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_addrlist),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_sender),
		cmocka_unit_test(test_gecos),
		cmocka_unit_test(test_from),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
