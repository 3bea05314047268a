/*
 * test_dns_rdata.c: unit tests for resolver/dns_rdata.c: wire-format
 * names (labels, the root, compression pointers, lengths, leftovers)
 * and the rdata of MX (with the null MX), A, AAAA, PTR, TXT and TLSA,
 * including every kind of truncation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dns.h"

static struct dns_rr rr; /* 64 KiB */

#define PARSE(type, bytes) dns_rdata_parse(type, (const uint8_t *)(bytes), sizeof(bytes) - 1, &rr)

static void test_wire_names(void **state)
{
	(void)state;
	char out[DNS_NAME_BUF];
	assert_int_equal(dns_wire_name((const uint8_t *)"\3mx1\7example\4test\0", 18, out), 0);
	assert_string_equal(out, "mx1.example.test");
	assert_int_equal(dns_wire_name((const uint8_t *)"\0", 1, out), 0);
	assert_string_equal(out, ".");
	assert_int_equal(dns_wire_name((const uint8_t *)"\3_25\4_tcp\2mx\0", 13, out), 0);
	assert_string_equal(out, "_25._tcp.mx");
	/* no root label, or ends early */
	assert_int_equal(dns_wire_name((const uint8_t *)"\3mx1", 4, out), -1);
	assert_int_equal(dns_wire_name((const uint8_t *)"\5mx1\0", 5, out), -1);
	assert_int_equal(dns_wire_name((const uint8_t *)"", 0, out), -1);
	/* bytes after the root */
	assert_int_equal(dns_wire_name((const uint8_t *)"\2mx\0\0", 5, out), -1);
	/* compression pointers and the reserved label types */
	assert_int_equal(dns_wire_name((const uint8_t *)"\xc0\x0c", 2, out), -1);
	assert_int_equal(dns_wire_name((const uint8_t *)"\2mx\xc0\x0c", 5, out), -1);
	assert_int_equal(dns_wire_name((const uint8_t *)"\x41x\0", 3, out), -1);
	assert_int_equal(dns_wire_name((const uint8_t *)"\x81x\0", 3, out), -1);
	/* labels outside the host-name rules */
	assert_int_equal(dns_wire_name((const uint8_t *)"\3a.b\0", 5, out), -1);
	assert_int_equal(dns_wire_name((const uint8_t *)"\3a b\0", 5, out), -1);
	assert_int_equal(dns_wire_name((const uint8_t *)"\3ab\n\0", 5, out), -1);
	assert_int_equal(dns_wire_name((const uint8_t *)"\3-ab\0", 5, out), -1);
	assert_int_equal(dns_wire_name((const uint8_t *)"\3a\0b\0", 5, out), -1);
	assert_string_equal(out, "");
}

static void test_wire_name_lengths(void **state)
{
	(void)state;
	uint8_t w[300];
	char out[DNS_NAME_BUF];
	size_t n = 0;
	/* 4 labels of 63, 63, 63, 61: 255 octets on the wire, 253 as text */
	const size_t sizes[] = { 63, 63, 63, 61 };
	for (size_t i = 0; i < 4; i++) {
		w[n++] = (uint8_t)sizes[i];
		memset(w + n, 'a' + (int)i, sizes[i]);
		n += sizes[i];
	}
	w[n++] = 0;
	assert_int_equal(n, 255);
	assert_int_equal(dns_wire_name(w, n, out), 0);
	assert_int_equal(strlen(out), 253);
	/* one more octet is over the limit */
	n = 0;
	const size_t sizes2[] = { 63, 63, 63, 62 };
	for (size_t i = 0; i < 4; i++) {
		w[n++] = (uint8_t)sizes2[i];
		memset(w + n, 'a', sizes2[i]);
		n += sizes2[i];
	}
	w[n++] = 0;
	assert_int_equal(n, 256);
	assert_int_equal(dns_wire_name(w, n, out), -1);
	/* many short labels: 127 x "a." is 254 octets, fine; 128 is not */
	n = 0;
	for (int i = 0; i < 127; i++) {
		w[n++] = 1;
		w[n++] = 'a';
	}
	w[n++] = 0;
	assert_int_equal(dns_wire_name(w, n, out), 0);
	assert_int_equal(strlen(out), 253);
	n = 0;
	for (int i = 0; i < 128; i++) {
		w[n++] = 1;
		w[n++] = 'a';
	}
	w[n++] = 0;
	assert_int_equal(dns_wire_name(w, n, out), -1);
	/* a 64-octet label length is a reserved label type (0x40) */
	w[0] = 64;
	memset(w + 1, 'a', 64);
	w[65] = 0;
	assert_int_equal(dns_wire_name(w, 66, out), -1);
}

static void test_mx(void **state)
{
	(void)state;
	assert_int_equal(PARSE(DNS_T_MX, "\0\x0a\3mx1\7example\4test\0"), 0);
	assert_int_equal(rr.type, DNS_T_MX);
	assert_int_equal(rr.pref, 10);
	assert_string_equal(rr.name, "mx1.example.test");
	assert_int_equal(PARSE(DNS_T_MX, "\xff\xfe\2mx\0"), 0);
	assert_int_equal(rr.pref, 65534);
	/* RFC 7505 null MX */
	assert_int_equal(PARSE(DNS_T_MX, "\0\0\0"), 0);
	assert_int_equal(rr.pref, 0);
	assert_string_equal(rr.name, ".");
	/* truncated anywhere, or too long */
	assert_int_equal(PARSE(DNS_T_MX, ""), -1);
	assert_int_equal(PARSE(DNS_T_MX, "\0"), -1);
	assert_int_equal(PARSE(DNS_T_MX, "\0\x0a"), -1);
	assert_int_equal(PARSE(DNS_T_MX, "\0\x0a\3mx"), -1);
	assert_int_equal(PARSE(DNS_T_MX, "\0\x0a\3mx1"), -1);
	assert_int_equal(PARSE(DNS_T_MX, "\0\x0a\2mx\0\0"), -1);
	assert_int_equal(PARSE(DNS_T_MX, "\0\x0a\xc0\x0c"), -1);
}

static void test_addresses(void **state)
{
	(void)state;
	assert_int_equal(PARSE(DNS_T_A, "\x7f\0\0\2"), 0);
	assert_memory_equal(rr.addr, "\x7f\0\0\2", 4);
	assert_int_equal(PARSE(DNS_T_A, "\x7f\0\0"), -1);
	assert_int_equal(PARSE(DNS_T_A, "\x7f\0\0\2\0"), -1);
	assert_int_equal(PARSE(DNS_T_A, ""), -1);
	assert_int_equal(PARSE(DNS_T_AAAA, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1"), 0);
	assert_memory_equal(rr.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1", 16);
	assert_int_equal(PARSE(DNS_T_AAAA, "\x20\x01\x0d\xb8"), -1);
	assert_int_equal(PARSE(DNS_T_AAAA, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1\0"), -1);
}

static void test_ptr(void **state)
{
	(void)state;
	assert_int_equal(PARSE(DNS_T_PTR, "\3mx1\7example\4test\0"), 0);
	assert_string_equal(rr.name, "mx1.example.test");
	assert_int_equal(PARSE(DNS_T_PTR, "\0"), -1);              /* the root is no host */
	assert_int_equal(PARSE(DNS_T_PTR, ""), -1);
	assert_int_equal(PARSE(DNS_T_PTR, "\3mx1\7example"), -1);
	assert_int_equal(PARSE(DNS_T_PTR, "\4evil\x0bhost\r\nRCPT\0"), -1);
}

static void test_txt(void **state)
{
	(void)state;
	assert_int_equal(PARSE(DNS_T_TXT, "\x0bv=spf1 -all"), 0);
	assert_int_equal(rr.len, 11);
	assert_memory_equal(rr.data, "v=spf1 -all", 11);
	/* several character-strings are joined without a separator */
	assert_int_equal(PARSE(DNS_T_TXT, "\5v=DKI\3M1;\0\2 p"), 0);
	assert_int_equal(rr.len, 10);
	assert_memory_equal(rr.data, "v=DKIM1; p", 10);
	/* an empty string is a valid TXT record; NULs and bytes pass as they are */
	assert_int_equal(PARSE(DNS_T_TXT, "\0"), 0);
	assert_int_equal(rr.len, 0);
	assert_int_equal(PARSE(DNS_T_TXT, "\3a\0\xff"), 0);
	assert_int_equal(rr.len, 3);
	assert_memory_equal(rr.data, "a\0\xff", 3);
	/* no strings, or one that runs past the end */
	assert_int_equal(PARSE(DNS_T_TXT, ""), -1);
	assert_int_equal(PARSE(DNS_T_TXT, "\4abc"), -1);
	assert_int_equal(PARSE(DNS_T_TXT, "\3abc\2a"), -1);
	/* the largest: 257 strings of 255 octets */
	static uint8_t big[DNS_RDATA_MAX];
	size_t n = 0;
	while (n + 256 <= sizeof(big)) {
		big[n] = 255;
		memset(big + n + 1, 'x', 255);
		n += 256;
	}
	assert_int_equal(dns_rdata_parse(DNS_T_TXT, big, n, &rr), 0);
	assert_int_equal(rr.len, n / 256 * 255);
}

static void test_tlsa(void **state)
{
	(void)state;
	assert_int_equal(PARSE(DNS_T_TLSA, "\3\1\1\xab\xcd\xef"), 0);
	assert_int_equal(rr.usage, 3);
	assert_int_equal(rr.selector, 1);
	assert_int_equal(rr.mtype, 1);
	assert_int_equal(rr.len, 3);
	assert_memory_equal(rr.data, "\xab\xcd\xef", 3);
	assert_int_equal(PARSE(DNS_T_TLSA, "\3\1\1"), -1);    /* no association data */
	assert_int_equal(PARSE(DNS_T_TLSA, "\3\1"), -1);
	assert_int_equal(PARSE(DNS_T_TLSA, ""), -1);
}

static void test_other_types(void **state)
{
	(void)state;
	assert_int_equal(PARSE(6, "\0"), -1);          /* SOA: not ours */
	assert_int_equal(PARSE(0, "\0"), -1);
	assert_int_equal(dns_rdata_parse(DNS_T_A, NULL, 4, &rr), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_names),
		cmocka_unit_test(test_wire_name_lengths),
		cmocka_unit_test(test_mx),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_ptr),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_tlsa),
		cmocka_unit_test(test_other_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
