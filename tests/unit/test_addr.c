/*
 * test_addr.c: unit tests for common/addr.c: RFC 5321 paths and
 * mailboxes (addr_parse_path, addr_parse_mailbox, addr_format): the
 * null path, <Postmaster>, dot-strings and quoted local parts, domains
 * and address literals ([1.2.3.4], [IPv6:...]), source routes, the
 * length limits (local 64, domain 255, path 256) and 8-bit octets,
 * which are allowed only with ADDR_ALLOW_UTF8.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* Parses a whole C string as a path. */
static enum addr_err path(const char *s, int flags, struct mailaddr *a, size_t *used)
{
	*used = 12345;
	return addr_parse_path(s, strlen(s), flags, a, used);
}

/* Expects s to parse as a path of exactly strlen(s) bytes. */
static void path_ok(const char *s, int flags, const char *local, const char *domain)
{
	struct mailaddr a;
	size_t used;
	enum addr_err e = path(s, flags, &a, &used);
	if (e != ADDR_OK)
		print_error("path '%s': %s\n", s, addr_strerror(e));
	assert_int_equal(e, ADDR_OK);
	assert_int_equal(used, strlen(s));
	assert_false(a.null);
	assert_string_equal(a.local, local);
	assert_string_equal(a.domain, domain);
}

static void path_bad(const char *s, int flags, enum addr_err want)
{
	struct mailaddr a;
	size_t used;
	enum addr_err e = path(s, flags, &a, &used);
	if (e != want)
		print_error("path '%s': got %d (%s), want %d\n", s, e, addr_strerror(e), want);
	assert_int_equal(e, want);
	assert_int_equal(used, 12345); /* untouched on error */
}

static void test_simple(void **state)
{
	(void)state;
	path_ok("<user@example.com>", 0, "user", "example.com");
	path_ok("<a@b>", 0, "a", "b");
	path_ok("<first.last@sub.example.co.uk>", 0, "first.last", "sub.example.co.uk");
	path_ok("<x-y@a-b.example>", 0, "x-y", "a-b.example");
	path_ok("<!#$%&'*+-/=?^_`{|}~@example.com>", 0, "!#$%&'*+-/=?^_`{|}~", "example.com");
	path_ok("<user+detail@example.com>", 0, "user+detail", "example.com");
	path_ok("<user@123.example>", 0, "user", "123.example");
	path_ok("<user@0>", 0, "user", "0");
	/* domain lower-cased, local part kept as sent */
	path_ok("<John.Doe@EXAMPLE.Com>", 0, "John.Doe", "example.com");
}

static void test_used_and_trailer(void **state)
{
	(void)state;
	struct mailaddr a;
	size_t used = 0;
	const char *s = "<user@example.com> SIZE=1000 BODY=8BITMIME";
	assert_int_equal(addr_parse_path(s, strlen(s), 0, &a, &used), ADDR_OK);
	assert_int_equal(used, strlen("<user@example.com>"));
	assert_string_equal(a.local, "user");

	/* len bounds the parse: a '>' beyond it does not count */
	s = "<user@example.com>";
	assert_int_equal(addr_parse_path(s, strlen(s) - 1, 0, &a, &used), ADDR_SYNTAX);
	/* and a shorter len that still holds the whole path is fine */
	s = "<a@b>xxxx";
	assert_int_equal(addr_parse_path(s, 5, 0, &a, &used), ADDR_OK);
	assert_int_equal(used, 5);
}

static void test_null_path(void **state)
{
	(void)state;
	struct mailaddr a;
	size_t used = 0;
	assert_int_equal(path("<>", ADDR_ALLOW_NULL, &a, &used), ADDR_OK);
	assert_true(a.null);
	assert_int_equal(used, 2);
	assert_string_equal(a.local, "");
	assert_string_equal(a.domain, "");
	assert_int_equal(path("<> SIZE=10", ADDR_ALLOW_NULL, &a, &used), ADDR_OK);
	assert_int_equal(used, 2);
	path_bad("<>", 0, ADDR_NULL_NOT_ALLOWED);
	path_bad("<>", ADDR_ALLOW_POSTMASTER | ADDR_ALLOW_UTF8, ADDR_NULL_NOT_ALLOWED);
	path_bad("< >", ADDR_ALLOW_NULL, ADDR_SYNTAX);
	path_bad("<", ADDR_ALLOW_NULL, ADDR_SYNTAX);
	path_bad("", ADDR_ALLOW_NULL, ADDR_SYNTAX);
	path_bad(">", ADDR_ALLOW_NULL, ADDR_SYNTAX);
	path_bad("<@>", ADDR_ALLOW_NULL, ADDR_SYNTAX);
}

static void test_postmaster(void **state)
{
	(void)state;
	path_ok("<Postmaster>", ADDR_ALLOW_POSTMASTER, "Postmaster", "");
	path_ok("<postmaster>", ADDR_ALLOW_POSTMASTER, "postmaster", "");
	path_ok("<POSTMASTER>", ADDR_ALLOW_POSTMASTER, "POSTMASTER", "");
	path_ok("<postmaster@example.com>", 0, "postmaster", "example.com");
	path_bad("<Postmaster>", 0, ADDR_SYNTAX);
	path_bad("<Postmaster>", ADDR_ALLOW_NULL, ADDR_SYNTAX);
	path_bad("<postmastr>", ADDR_ALLOW_POSTMASTER, ADDR_SYNTAX);
	path_bad("<postmasters>", ADDR_ALLOW_POSTMASTER, ADDR_SYNTAX);
	path_bad("<\"postmaster\">", ADDR_ALLOW_POSTMASTER, ADDR_SYNTAX);
	path_bad("<postmaster@>", ADDR_ALLOW_POSTMASTER, ADDR_SYNTAX);
	path_bad("<user>", ADDR_ALLOW_POSTMASTER, ADDR_SYNTAX);

	struct mailaddr a;
	assert_int_equal(addr_parse_mailbox("postmaster", 10, ADDR_ALLOW_POSTMASTER, &a), ADDR_OK);
	assert_string_equal(a.domain, "");
	assert_int_equal(addr_parse_mailbox("postmaster", 10, 0, &a), ADDR_SYNTAX);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	const char *bad[] = {
		"user@example.com",      /* no brackets */
		"<user@example.com",     /* no closing bracket */
		" <user@example.com>",
		"< user@example.com>",
		"<user@example.com >",
		"<user @example.com>",
		"<user@ example.com>",
		"<user>",                /* no domain */
		"<@example.com>",        /* no local part */
		"<user@>",
		"<user@@example.com>",
		"<us@er@example.com>",
		"<.user@example.com>",
		"<user.@example.com>",
		"<us..er@example.com>",
		"<user@.example.com>",
		"<user@example.com.>",
		"<user@example..com>",
		"<user@-example.com>",
		"<user@example-.com>",
		"<user@exa-.mple.com>",
		"<user@exa_mple.com>",
		"<user@exa mple.com>",
		"<us(er)@example.com>",
		"<us,er@example.com>",
		"<us;er@example.com>",
		"<us[er@example.com>",
		"<us\\er@example.com>",
		"<user@example.com\x01>",
		"<user\r@example.com>",
		"<<user@example.com>>",
		"<\"unterminated@example.com>",
		"<\"\x01\"@example.com>",
		"<\"a\x7f\"@example.com>",
		"<\"a\\\"@example.com>",   /* quote escaped: unterminated */
		"<\"a\\\x01\"@example.com>",
		"<\"a\"b@example.com>",
		"<a\"b\"@example.com>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		path_bad(bad[i], ADDR_ALLOW_NULL | ADDR_ALLOW_POSTMASTER | ADDR_ALLOW_UTF8, ADDR_SYNTAX);

	/* embedded NUL bytes never pass */
	struct mailaddr a;
	size_t used;
	assert_int_equal(addr_parse_path("<us\0er@example.com>", 19, 0, &a, &used), ADDR_SYNTAX);
	assert_int_equal(addr_parse_path("<user@exa\0mple.com>", 19, 0, &a, &used), ADDR_SYNTAX);
	assert_int_equal(addr_parse_path("<\"a\0b\"@example.com>", 19, 0, &a, &used), ADDR_SYNTAX);
}

static void test_quoted(void **state)
{
	(void)state;
	path_ok("<\"john doe\"@example.com>", 0, "\"john doe\"", "example.com");
	path_ok("<\"a@b\"@example.com>", 0, "\"a@b\"", "example.com");
	path_ok("<\"a>b\"@example.com>", 0, "\"a>b\"", "example.com");
	path_ok("<\"a\\\"b\"@example.com>", 0, "\"a\\\"b\"", "example.com");
	path_ok("<\"a\\\\b\"@example.com>", 0, "\"a\\\\b\"", "example.com");
	path_ok("<\"\"@example.com>", 0, "\"\"", "example.com");
	path_ok("<\".a..b.\"@example.com>", 0, "\".a..b.\"", "example.com");
	path_ok("<\"(),:;<>[]\"@example.com>", 0, "\"(),:;<>[]\"", "example.com");
}

static void test_literals(void **state)
{
	(void)state;
	path_ok("<user@[192.0.2.1]>", 0, "user", "[192.0.2.1]");
	path_ok("<user@[0.0.0.0]>", 0, "user", "[0.0.0.0]");
	path_ok("<user@[255.255.255.255]>", 0, "user", "[255.255.255.255]");
	path_ok("<user@[IPv6:::1]>", 0, "user", "[ipv6:::1]");
	path_ok("<user@[IPv6:2001:db8::1]>", 0, "user", "[ipv6:2001:db8::1]");
	path_ok("<user@[ipv6:2001:DB8:0:0:0:0:0:1]>", 0, "user", "[ipv6:2001:db8:0:0:0:0:0:1]");
	path_ok("<user@[IPv6:::ffff:192.0.2.1]>", 0, "user", "[ipv6:::ffff:192.0.2.1]");
	path_ok("<user@[IPv6:ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]>", 0, "user",
	    "[ipv6:ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]");

	const char *bad[] = {
		"<user@[]>",
		"<user@[192.0.2]>",
		"<user@[192.0.2.1.5]>",
		"<user@[256.0.0.1]>",
		"<user@[192.0.2.1>",
		"<user@192.0.2.1]>",
		"<user@[ 192.0.2.1]>",
		"<user@[192.0.2.1 ]>",
		"<user@[::1]>",          /* IPv6 needs its tag */
		"<user@[IPv6:]>",
		"<user@[IPv6:192.0.2.1]>",
		"<user@[IPv6:1::2::3]>",
		"<user@[IPv6:12345::1]>",
		"<user@[IPv4:192.0.2.1]>",
		"<user@[example.com]>",
		"<user@[192.0.2.1]x>",
		"<user@[192.0.2.1].com>",
		"<user@x[192.0.2.1]>",
		"<user@[IPv6:0000000000000000000000000000000000000000000000000000000000000::1]>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		path_bad(bad[i], ADDR_ALLOW_UTF8, ADDR_SYNTAX);

	/* a NUL inside the brackets must not cut the literal short */
	struct mailaddr a;
	size_t used;
	assert_int_equal(addr_parse_path("<u@[192.0.2.1\0]>", 16, 0, &a, &used), ADDR_SYNTAX);
	assert_int_equal(addr_parse_path("<u@[IPv6:::1\0x]>", 16, 0, &a, &used), ADDR_SYNTAX);
	assert_int_equal(addr_parse_mailbox("u@[192.0.2.1\0]", 14, 0, &a), ADDR_SYNTAX);
}

static void test_source_route(void **state)
{
	(void)state;
	path_ok("<@a.example:user@c.example>", 0, "user", "c.example");
	path_ok("<@a.example,@b.example:user@c.example>", 0, "user", "c.example");
	path_ok("<@[192.0.2.1]:user@c.example>", 0, "user", "c.example");
	path_ok("<@A.EXAMPLE:User@C.Example>", 0, "User", "c.example");

	const char *bad[] = {
		"<@:user@c.example>",
		"<@a.example user@c.example>",
		"<@a.example>:user@c.example",
		"<@a.example,user@c.example>",
		"<@a.example,:user@c.example>",
		"<@a.example,,@b.example:user@c.example>",
		"<@a..example:user@c.example>",
		"<@-a.example:user@c.example>",
		"<@a example:user@c.example>",
		"<@a.example;@b.example:user@c.example>",
		"<@a.example,b.example:user@c.example>",
		"<@a.example:>",
		"<@a.example:@c.example>",
		"<@a.example::user@c.example>",
		"<@a.example:user@c.example:x>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		path_bad(bad[i], ADDR_ALLOW_NULL | ADDR_ALLOW_POSTMASTER, ADDR_SYNTAX);
}

static void fill(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

static void test_limits(void **state)
{
	(void)state;
	char s[2048], local[128], want[128];
	struct mailaddr a;
	size_t used;

	/* local part: 64 ok, 65 too long (dot-string and quoted) */
	fill(local, 'l', 64);
	snprintf(s, sizeof(s), "<%s@example.com>", local);
	path_ok(s, 0, local, "example.com");
	fill(local, 'l', 65);
	snprintf(s, sizeof(s), "<%s@example.com>", local);
	path_bad(s, 0, ADDR_LOCAL_TOO_LONG);
	fill(local + 1, 'q', 62);
	local[0] = '"';
	local[63] = '"';
	local[64] = '\0';
	snprintf(s, sizeof(s), "<%s@example.com>", local);
	path_ok(s, 0, local, "example.com");
	fill(local + 1, 'q', 63);
	local[0] = '"';
	local[64] = '"';
	local[65] = '\0';
	snprintf(s, sizeof(s), "<%s@example.com>", local);
	path_bad(s, 0, ADDR_LOCAL_TOO_LONG);

	/* a label: 63 ok, 64 not */
	char label[80];
	fill(label, 'd', 63);
	snprintf(s, sizeof(s), "<u@%s.example>", label);
	snprintf(want, sizeof(want), "%s.example", label);
	path_ok(s, 0, "u", want);
	fill(label, 'd', 64);
	snprintf(s, sizeof(s), "<u@%s.example>", label);
	path_bad(s, 0, ADDR_SYNTAX);
	/* hyphens count toward the label too */
	memset(label, '-', 70);
	label[0] = 'a';
	label[70] = 'b';
	label[71] = '\0';
	snprintf(s, sizeof(s), "<u@%s.example>", label);
	path_bad(s, 0, ADDR_SYNTAX);

	/* a domain: 255 ok (as a bare mailbox), 256 too long */
	char dom[400];
	fill(label, 'd', 63);
	snprintf(dom, sizeof(dom), "%s.%s.%s.%s", label, label, label, label);
	assert_int_equal(strlen(dom), 255);
	snprintf(s, sizeof(s), "u@%s", dom);
	assert_int_equal(addr_parse_mailbox(s, strlen(s), 0, &a), ADDR_OK);
	assert_string_equal(a.domain, dom);
	snprintf(dom, sizeof(dom), "a.%s.%s.%s.%.62s", label, label, label, label);
	assert_int_equal(strlen(dom), 256);
	snprintf(s, sizeof(s), "u@%s", dom);
	assert_int_equal(addr_parse_mailbox(s, strlen(s), 0, &a), ADDR_DOMAIN_TOO_LONG);
	snprintf(s, sizeof(s), "<u@%s>", dom);
	path_bad(s, 0, ADDR_DOMAIN_TOO_LONG);

	/* the whole path, brackets included: 256 ok, 257 too long */
	fill(local, 'l', 60);
	char d2[300];
	fill(label, 'd', 63);
	snprintf(d2, sizeof(d2), "%s.%s.%.61s", label, label, label); /* 189 */
	snprintf(s, sizeof(s), "<%s@%s>", local, d2);
	assert_int_equal(strlen(s), 252);
	path_ok(s, 0, local, d2);
	snprintf(d2, sizeof(d2), "%s.%s.%.63s.a", label, label, label); /* 193 */
	snprintf(s, sizeof(s), "<%s@%s>", local, d2);
	assert_int_equal(strlen(s), 256);
	path_ok(s, 0, local, d2);
	snprintf(d2, sizeof(d2), "%s.%s.%.63s.ab", label, label, label); /* 194 */
	snprintf(s, sizeof(s), "<%s@%s>", local, d2);
	assert_int_equal(strlen(s), 257);
	path_bad(s, 0, ADDR_PATH_TOO_LONG);

	/* a source route counts toward the path */
	snprintf(s, sizeof(s), "<@%s.%s.%s.%s:u@example.com>", label, label, label, label);
	assert_true(strlen(s) > 256);
	path_bad(s, 0, ADDR_PATH_TOO_LONG);

	/* very long input with no '>' at all: an error, no overread */
	size_t n = 100000;
	char *huge = malloc(n);
	assert_non_null(huge);
	memset(huge, 'a', n);
	huge[0] = '<';
	assert_int_not_equal(addr_parse_path(huge, n, ADDR_ALLOW_UTF8, &a, &used), ADDR_OK);
	huge[1] = '"';
	assert_int_not_equal(addr_parse_path(huge, n, ADDR_ALLOW_UTF8, &a, &used), ADDR_OK);
	huge[1] = '@';
	assert_int_not_equal(addr_parse_path(huge, n, ADDR_ALLOW_UTF8, &a, &used), ADDR_OK);
	for (size_t i = 0; i < n; i++)
		huge[i] = i % 10 == 0 ? '.' : 'a';
	huge[0] = '<';
	huge[10] = '@';
	huge[n - 1] = '>';
	assert_int_equal(addr_parse_path(huge, n, 0, &a, &used), ADDR_DOMAIN_TOO_LONG);
	free(huge);
}

static void test_utf8(void **state)
{
	(void)state;
	/* "jörg@bücher.example" */
	path_bad("<j\xc3\xb6rg@example.com>", 0, ADDR_8BIT);
	path_bad("<user@b\xc3\xbc" "cher.example>", 0, ADDR_8BIT);
	path_bad("<\"j\xc3\xb6rg\"@example.com>", 0, ADDR_8BIT);
	path_bad("<\"j\\\xc3\xb6rg\"@example.com>", 0, ADDR_8BIT);
	path_bad("<j\xc3\xb6rg@example.com>", ADDR_ALLOW_NULL | ADDR_ALLOW_POSTMASTER, ADDR_8BIT);
	path_ok("<j\xc3\xb6rg@example.com>", ADDR_ALLOW_UTF8, "j\xc3\xb6rg", "example.com");
	path_ok("<user@b\xc3\xbc" "cher.example>", ADDR_ALLOW_UTF8, "user", "b\xc3\xbc" "cher.example");
	path_ok("<\"j\xc3\xb6 rg\"@example.com>", ADDR_ALLOW_UTF8, "\"j\xc3\xb6 rg\"", "example.com");
	/* upper-case non-ASCII is left alone; ASCII letters are folded */
	path_ok("<u@\xc3\x9c" "BER.example>", ADDR_ALLOW_UTF8, "u", "\xc3\x9c" "ber.example");

	struct mailaddr a;
	assert_int_equal(addr_parse_mailbox("\xe7\x94\xa8@example.com", 15, 0, &a), ADDR_8BIT);
	assert_int_equal(addr_parse_mailbox("\xe7\x94\xa8@example.com", 15, ADDR_ALLOW_UTF8, &a), ADDR_OK);
}

static void test_mailbox(void **state)
{
	(void)state;
	struct mailaddr a;
	assert_int_equal(addr_parse_mailbox("user@example.com", 16, 0, &a), ADDR_OK);
	assert_string_equal(a.local, "user");
	assert_string_equal(a.domain, "example.com");
	assert_false(a.null);
	assert_int_equal(addr_parse_mailbox("User@Example.COM", 16, 0, &a), ADDR_OK);
	assert_string_equal(a.local, "User");
	assert_string_equal(a.domain, "example.com");
	assert_int_equal(addr_parse_mailbox("\"a b\"@[192.0.2.1]", 17, 0, &a), ADDR_OK);
	assert_string_equal(a.local, "\"a b\"");
	assert_string_equal(a.domain, "[192.0.2.1]");

	const char *bad[] = { "", "user", "<user@example.com>", "user@example.com ",
		" user@example.com", "user@example.com>", "user@", "@example.com",
		"user@example.com,other@example.com", "user@example.com\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(addr_parse_mailbox(bad[i], strlen(bad[i]), ADDR_ALLOW_NULL, &a),
		    ADDR_SYNTAX);
	/* only len bytes are looked at */
	assert_int_equal(addr_parse_mailbox("user@example.comXX", 16, 0, &a), ADDR_OK);
	assert_string_equal(a.domain, "example.com");
}

static void test_format(void **state)
{
	(void)state;
	struct mailaddr a;
	size_t used;
	char out[300];

	assert_int_equal(path("<John@Example.com>", 0, &a, &used), ADDR_OK);
	assert_true(addr_format(&a, out, sizeof(out)));
	assert_string_equal(out, "John@example.com");
	/* exact fit, and one byte short */
	assert_true(addr_format(&a, out, 17));
	assert_string_equal(out, "John@example.com");
	assert_false(addr_format(&a, out, 16));
	assert_false(addr_format(&a, out, 1));

	assert_int_equal(path("<>", ADDR_ALLOW_NULL, &a, &used), ADDR_OK);
	memset(out, 'x', sizeof(out));
	assert_true(addr_format(&a, out, sizeof(out)));
	assert_string_equal(out, "");

	assert_int_equal(path("<Postmaster>", ADDR_ALLOW_POSTMASTER, &a, &used), ADDR_OK);
	assert_true(addr_format(&a, out, sizeof(out)));
	assert_string_equal(out, "Postmaster");

	assert_int_equal(path("<\"a b\"@[IPv6:::1]>", 0, &a, &used), ADDR_OK);
	assert_true(addr_format(&a, out, sizeof(out)));
	assert_string_equal(out, "\"a b\"@[ipv6:::1]");

	/* formatting a parsed path and parsing it back as a mailbox agrees */
	const char *paths[] = { "<a.b@c.d>", "<\"x y\"@example.com>", "<u@[192.0.2.9]>",
		"<@r.example:u@example.com>", "<U@EXAMPLE.COM>" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct mailaddr b;
		assert_int_equal(path(paths[i], 0, &a, &used), ADDR_OK);
		assert_true(addr_format(&a, out, sizeof(out)));
		assert_int_equal(addr_parse_mailbox(out, strlen(out), 0, &b), ADDR_OK);
		assert_string_equal(a.local, b.local);
		assert_string_equal(a.domain, b.domain);
	}
}

static void test_strerror(void **state)
{
	(void)state;
	for (int e = ADDR_OK; e <= ADDR_NULL_NOT_ALLOWED; e++) {
		const char *s = addr_strerror((enum addr_err)e);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
		for (int f = ADDR_OK; f < e; f++)
			assert_string_not_equal(s, addr_strerror((enum addr_err)f));
	}
	assert_string_equal(addr_strerror(ADDR_OK), "ok");
}

/* "<local@domain>" against the 256-octet path limit */
static void test_path_fits(void **state)
{
	(void)state;
	struct mailaddr a;
	memset(&a, 0, sizeof(a));
	memset(a.local, 'l', 64);
	memset(a.domain, 'd', 253 - 64 - 1);      /* 64 + 1 + 188 + 2 = 255 */
	assert_true(addr_path_fits(&a));
	a.domain[188] = 'd';                      /* 256 */
	assert_true(addr_path_fits(&a));
	a.domain[189] = 'd';                      /* 257 */
	assert_false(addr_path_fits(&a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_used_and_trailer),
		cmocka_unit_test(test_null_path),
		cmocka_unit_test(test_postmaster),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_source_route),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_mailbox),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_path_fits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
