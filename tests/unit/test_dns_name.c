/*
 * test_dns_name.c: unit tests for resolver/dns_name.c: which query
 * names are valid (labels, lengths, characters, trailing dot), the
 * record types served, and reverse-lookup names for IPv4 and IPv6.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dns.h"

static bool valid(const char *s) { return dns_name_valid(s, strlen(s)); }

static void test_valid_names(void **state)
{
	(void)state;
	assert_true(valid("example.test"));
	assert_true(valid("example.test."));
	assert_true(valid("a"));
	assert_true(valid("A-b.C0.example"));
	assert_true(valid("_25._tcp.mx1.example.test"));
	assert_true(valid("_dmarc.example.org"));
	assert_true(valid("default._domainkey.example.org"));
	assert_true(valid("2.0.0.127.in-addr.arpa"));
	assert_true(valid("xn--bcher-kva.example"));
	assert_true(valid("r3---sn-4g5e6nzz.example"));    /* '-' inside is fine */
	char label63[64];
	memset(label63, 'a', 63);
	label63[63] = '\0';
	assert_true(valid(label63));
	/* 253 characters, and 254 with the trailing dot */
	char longest[300];
	snprintf(longest, sizeof(longest), "%s.%s.%s.%.61s", label63, label63, label63, label63);
	assert_int_equal(strlen(longest), 253);
	assert_true(valid(longest));
	char dotted[300];
	snprintf(dotted, sizeof(dotted), "%s.", longest);
	assert_true(valid(dotted));
}

static void test_invalid_names(void **state)
{
	(void)state;
	const char *bad[] = {
		"", ".", "..", "a..b", ".a", "a.b..", "-a.example", "a-.example", "a.-b",
		"a b.example", "a\tb", "a/b", "a\\b", "a;b", "a*b", "*.example", "a@b",
		"\xc3\xa4.example", "a\x01.example", "a\x7f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (valid(bad[i]))
			print_error("'%s' accepted\n", bad[i]);
		assert_false(valid(bad[i]));
	}
	char label64[65];
	memset(label64, 'a', 64);
	label64[64] = '\0';
	assert_false(valid(label64));
	char toolong[300];
	char label63[64];
	memset(label63, 'a', 63);
	label63[63] = '\0';
	snprintf(toolong, sizeof(toolong), "%s.%s.%s.%.62s", label63, label63, label63, label63);
	assert_int_equal(strlen(toolong), 254);
	assert_false(valid(toolong));
	/* the length counts: a NUL inside is not the end */
	assert_false(dns_name_valid("a\0b", 3));
	assert_true(dns_name_valid("ab.example garbage", 10));
}

static void test_types(void **state)
{
	(void)state;
	assert_int_equal(dns_type_parse("mx"), DNS_T_MX);
	assert_int_equal(dns_type_parse("MX"), DNS_T_MX);
	assert_int_equal(dns_type_parse("a"), DNS_T_A);
	assert_int_equal(dns_type_parse("Aaaa"), DNS_T_AAAA);
	assert_int_equal(dns_type_parse("ptr"), DNS_T_PTR);
	assert_int_equal(dns_type_parse("txt"), DNS_T_TXT);
	assert_int_equal(dns_type_parse("tlsa"), DNS_T_TLSA);
	assert_int_equal(dns_type_parse("soa"), 0);
	assert_int_equal(dns_type_parse("any"), 0);
	assert_int_equal(dns_type_parse(""), 0);
	assert_string_equal(dns_type_name(DNS_T_TLSA), "TLSA");
	assert_string_equal(dns_type_name(15), "MX");
	assert_null(dns_type_name(6));
	assert_null(dns_type_name(255));
	assert_null(dns_type_name(0));
}

static void test_ptr_names(void **state)
{
	(void)state;
	char out[DNS_NAME_BUF];
	assert_true(dns_ptr_name("127.0.0.2", out, sizeof(out)));
	assert_string_equal(out, "2.0.0.127.in-addr.arpa");
	assert_true(dns_ptr_name("192.0.2.255", out, sizeof(out)));
	assert_string_equal(out, "255.2.0.192.in-addr.arpa");
	assert_true(dns_ptr_name("2001:db8::1", out, sizeof(out)));
	assert_string_equal(out,
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_true(dns_name_valid(out, strlen(out)));
	assert_true(dns_ptr_name("::ffff:127.0.0.1", out, sizeof(out)));
	assert_int_equal(strlen(out), 72);
	assert_false(dns_ptr_name("example.test", out, sizeof(out)));
	assert_false(dns_ptr_name("127.0.0", out, sizeof(out)));
	assert_false(dns_ptr_name("127.0.0.256", out, sizeof(out)));
	assert_false(dns_ptr_name("", out, sizeof(out)));
	/* too small a buffer is refused, never overrun */
	char small[20];
	assert_false(dns_ptr_name("255.255.255.255", small, sizeof(small)));
	assert_false(dns_ptr_name("::1", small, sizeof(small)));
	assert_false(dns_ptr_name("::1", out, 72));
	assert_true(dns_ptr_name("::1", out, 73));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_names),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_ptr_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
