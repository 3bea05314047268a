/*
 * test_dns_proto.c: unit tests for resolver/dns_proto.c (the D_QUERY
 * and D_ANSWER payloads: round trips for every type, the limits, and
 * malformed payloads a client must reject) and resolver/dns_conf.c
 * (resolv.conf nameservers and trust-anchor files).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "proto.h"

static struct dns_rr rr, out;

static void test_query_roundtrip(void **state)
{
	(void)state;
	struct ipc_buf b;
	uint16_t qt;
	char name[DNS_NAME_BUF];
	ipcb_init(&b);
	dns_query_encode(&b, DNS_T_MX, "example.test");
	assert_false(b.err);
	assert_int_equal(dns_query_decode(b.data, b.len, &qt, name), DNS_Q_OK);
	assert_int_equal(qt, DNS_T_MX);
	assert_string_equal(name, "example.test");
	ipcb_free(&b);

	ipcb_init(&b);
	dns_query_encode(&b, 6, "example.test");
	assert_int_equal(dns_query_decode(b.data, b.len, &qt, name), DNS_Q_BADTYPE);
	ipcb_free(&b);
	ipcb_init(&b);
	dns_query_encode(&b, DNS_T_A, "bad name");
	assert_int_equal(dns_query_decode(b.data, b.len, &qt, name), DNS_Q_BADNAME);
	ipcb_free(&b);
	/* a string longer than any name is malformed, not truncated */
	char longname[400];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ipcb_init(&b);
	dns_query_encode(&b, DNS_T_A, longname);
	assert_int_equal(dns_query_decode(b.data, b.len, &qt, name), DNS_Q_MALFORMED);
	assert_string_equal(name, "");
	ipcb_free(&b);
	/* short, left-over bytes, a NUL inside */
	assert_int_equal(dns_query_decode((const uint8_t *)"\0", 1, &qt, name), DNS_Q_MALFORMED);
	assert_int_equal(dns_query_decode((const uint8_t *)"\0\1\0\0\0\1ax", 8, &qt, name),
	    DNS_Q_MALFORMED);
	assert_int_equal(dns_query_decode((const uint8_t *)"\0\1\0\0\0\3a\0b", 9, &qt, name),
	    DNS_Q_MALFORMED);
	assert_int_equal(dns_query_decode((const uint8_t *)"\0\1\0\0\0\5ab", 8, &qt, name),
	    DNS_Q_MALFORMED);
	assert_int_equal(dns_query_decode((const uint8_t *)"\0\1\0\0\0\1a", 7, &qt, name), DNS_Q_OK);
}

/* Encodes rr as a one-record answer, decodes it into out. */
static void roundtrip(uint16_t type)
{
	struct ipc_buf b;
	struct dns_answer a;
	ipcb_init(&b);
	dns_answer_head(&b, DNS_OK, true, 300);
	dns_answer_add(&b, &rr);
	dns_answer_finish(&b, 1);
	assert_false(b.err);
	assert_true(dns_answer_open(&a, type, b.data, b.len));
	assert_int_equal(a.status, DNS_OK);
	assert_true(a.secure);
	assert_int_equal(a.ttl, 300);
	assert_int_equal(a.n, 1);
	assert_int_equal(dns_answer_next(&a, &out), 1);
	assert_int_equal(out.type, type);
	assert_int_equal(dns_answer_next(&a, &out), 0);
	ipcb_free(&b);
}

static void test_answer_roundtrip(void **state)
{
	(void)state;
	assert_int_equal(dns_rdata_parse(DNS_T_MX, (const uint8_t *)"\0\x14\2mx\4test\0", 11, &rr), 0);
	roundtrip(DNS_T_MX);
	assert_int_equal(out.pref, 20);
	assert_string_equal(out.name, "mx.test");
	assert_int_equal(dns_rdata_parse(DNS_T_MX, (const uint8_t *)"\0\0\0", 3, &rr), 0);
	roundtrip(DNS_T_MX);
	assert_string_equal(out.name, ".");
	assert_int_equal(dns_rdata_parse(DNS_T_A, (const uint8_t *)"\x7f\0\0\2", 4, &rr), 0);
	roundtrip(DNS_T_A);
	assert_memory_equal(out.addr, "\x7f\0\0\2", 4);
	assert_int_equal(dns_rdata_parse(DNS_T_AAAA,
	    (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16, &rr), 0);
	roundtrip(DNS_T_AAAA);
	assert_int_equal(out.addr[15], 1);
	assert_int_equal(dns_rdata_parse(DNS_T_PTR, (const uint8_t *)"\2mx\4test\0", 9, &rr), 0);
	roundtrip(DNS_T_PTR);
	assert_string_equal(out.name, "mx.test");
	assert_int_equal(dns_rdata_parse(DNS_T_TXT, (const uint8_t *)"\2a\0\1b", 5, &rr), 0);
	roundtrip(DNS_T_TXT);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, "a\0b", 3);
	assert_int_equal(dns_rdata_parse(DNS_T_TLSA, (const uint8_t *)"\3\1\1\xaa\xbb", 5, &rr), 0);
	roundtrip(DNS_T_TLSA);
	assert_int_equal(out.usage, 3);
	assert_int_equal(out.selector, 1);
	assert_int_equal(out.mtype, 1);
	assert_int_equal(out.len, 2);
}

static void test_answer_negative_and_limits(void **state)
{
	(void)state;
	struct ipc_buf b;
	struct dns_answer a;
	ipcb_init(&b);
	dns_answer_head(&b, DNS_NXDOMAIN, false, 60);
	dns_answer_finish(&b, 0);
	assert_int_equal(b.len, 10);
	assert_true(dns_answer_open(&a, DNS_T_MX, b.data, b.len));
	assert_int_equal(a.status, DNS_NXDOMAIN);
	assert_int_equal(a.ttl, 60);
	assert_int_equal(dns_answer_next(&a, &out), 0);
	/* the same answer is nonsense for a type we do not serve */
	assert_false(dns_answer_open(&a, 6, b.data, b.len));
	ipcb_free(&b);

	/* the most records allowed, and one more */
	assert_int_equal(dns_rdata_parse(DNS_T_A, (const uint8_t *)"\1\2\3\4", 4, &rr), 0);
	for (uint32_t n = DNS_MAX_RECORDS; n <= DNS_MAX_RECORDS + 1; n++) {
		ipcb_init(&b);
		dns_answer_head(&b, DNS_OK, false, 1);
		for (uint32_t i = 0; i < n; i++)
			dns_answer_add(&b, &rr);
		dns_answer_finish(&b, n);
		bool ok = dns_answer_open(&a, DNS_T_A, b.data, b.len);
		assert_int_equal(ok, n == DNS_MAX_RECORDS);
		if (ok) {
			uint32_t got = 0;
			int r;
			while ((r = dns_answer_next(&a, &out)) == 1)
				got++;
			assert_int_equal(r, 0);
			assert_int_equal(got, n);
		}
		ipcb_free(&b);
	}
}

static void test_answer_malformed(void **state)
{
	(void)state;
	struct dns_answer a;
	/* head: short, bad status, bad secure flag, OK without records,
	 * records without OK */
	assert_false(dns_answer_open(&a, DNS_T_A, (const uint8_t *)"\0\0\0\0\0\0\0\0\0", 9));
	assert_false(dns_answer_open(&a, DNS_T_A, (const uint8_t *)"\4\0\0\0\0\0\0\0\0\0", 10));
	assert_false(dns_answer_open(&a, DNS_T_A, (const uint8_t *)"\1\2\0\0\0\0\0\0\0\0", 10));
	assert_false(dns_answer_open(&a, DNS_T_A, (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0", 10));
	assert_false(dns_answer_open(&a, DNS_T_A, (const uint8_t *)"\1\0\0\0\0\0\0\0\0\1", 10));
	/* a count larger than the records there */
	const uint8_t two_said_one_there[] = { 0, 0, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0, 0, 4, 1, 2, 3, 4 };
	assert_true(dns_answer_open(&a, DNS_T_A, two_said_one_there, sizeof(two_said_one_there)));
	assert_int_equal(dns_answer_next(&a, &out), 1);
	assert_int_equal(dns_answer_next(&a, &out), -1);
	/* bytes left over after the last record */
	const uint8_t extra[] = { 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 4, 1, 2, 3, 4, 0 };
	assert_true(dns_answer_open(&a, DNS_T_A, extra, sizeof(extra)));
	assert_int_equal(dns_answer_next(&a, &out), 1);
	assert_int_equal(dns_answer_next(&a, &out), -1);
	/* an A record of the wrong size */
	const uint8_t a5[] = { 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 5, 1, 2, 3, 4, 5 };
	assert_true(dns_answer_open(&a, DNS_T_A, a5, sizeof(a5)));
	assert_int_equal(dns_answer_next(&a, &out), -1);
	/* an MX whose exchange is not a host name, or has a trailing dot */
	const uint8_t mxbad[] = { 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 10, 0, 0, 0, 3, 'a', ' ', 'b' };
	assert_true(dns_answer_open(&a, DNS_T_MX, mxbad, sizeof(mxbad)));
	assert_int_equal(dns_answer_next(&a, &out), -1);
	const uint8_t mxdot[] = { 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 10, 0, 0, 0, 3, 'a', 'b', '.' };
	assert_true(dns_answer_open(&a, DNS_T_MX, mxdot, sizeof(mxdot)));
	assert_int_equal(dns_answer_next(&a, &out), -1);
	/* a PTR of "." */
	const uint8_t ptrroot[] = { 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, '.' };
	assert_true(dns_answer_open(&a, DNS_T_PTR, ptrroot, sizeof(ptrroot)));
	assert_int_equal(dns_answer_next(&a, &out), -1);
	/* TLSA without data; a TXT string running past the end */
	const uint8_t tlsa0[] = { 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 3, 1, 1, 0, 0, 0, 0 };
	assert_true(dns_answer_open(&a, DNS_T_TLSA, tlsa0, sizeof(tlsa0)));
	assert_int_equal(dns_answer_next(&a, &out), -1);
	const uint8_t txtlong[] = { 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 9, 'a' };
	assert_true(dns_answer_open(&a, DNS_T_TXT, txtlong, sizeof(txtlong)));
	assert_int_equal(dns_answer_next(&a, &out), -1);
}

static void test_resolvconf(void **state)
{
	(void)state;
	char addrs[8][DNS_ADDR_TEXT];
	const char *text =
	    "# generated\n"
	    "search example.org\n"
	    "nameserver 10.255.255.53\n"
	    "  nameserver\t::1  # local\r\n"
	    "nameserver fe80::1%eth0\n"
	    "nameserver not-an-address\n"
	    "nameserverX 192.0.2.9\n"
	    "options edns0\n"
	    "nameserver 192.0.2.1";
	assert_int_equal(dns_resolvconf_parse(text, strlen(text), addrs, 8), 3);
	assert_string_equal(addrs[0], "10.255.255.53");
	assert_string_equal(addrs[1], "::1");
	assert_string_equal(addrs[2], "192.0.2.1");
	assert_int_equal(dns_resolvconf_parse(text, strlen(text), addrs, 1), 1);
	assert_int_equal(dns_resolvconf_parse("", 0, addrs, 8), 0);
	assert_int_equal(dns_resolvconf_parse("search x\n", 9, addrs, 8), 0);
	/* a very long line is skipped whole, and the next one still read */
	char big[2048];
	memset(big, ' ', sizeof(big));
	memcpy(big, "nameserver 192.0.2.7", 20);
	memcpy(big + 1000, "\nnameserver 192.0.2.8\n", 22);
	assert_int_equal(dns_resolvconf_parse(big, 1022, addrs, 8), 1);
	assert_string_equal(addrs[0], "192.0.2.8");
}

static void test_trust_anchor(void **state)
{
	(void)state;
	char ta[DNS_TA_MAX][DNS_TA_LINE_MAX], err[256];
	/* Debian's root.key, and unbound's auto-trust-anchor format */
	const char *debian =
	    ". IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh ; keytag 20326\n"
	    ". IN DNSKEY 257 3 8 AwEAAa96jeuknZlaeSrv ; keytag 38696\n";
	assert_int_equal(dns_trust_anchor_parse(debian, strlen(debian), ta, err, sizeof(err)), 2);
	assert_string_equal(ta[0], ". IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh");
	assert_string_equal(ta[1], ". IN DNSKEY 257 3 8 AwEAAa96jeuknZlaeSrv");
	const char *auto_ta =
	    "; autotrust trust anchor file\n"
	    ";;id: . 1\n"
	    "\n"
	    ".\t172800\tIN\tDNSKEY\t257 3 8 AwEAAa96 ;{id = 38696 (ksk), size = 2048b} ;;state=2 [  VALID  ]\r\n"
	    ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n";
	assert_int_equal(dns_trust_anchor_parse(auto_ta, strlen(auto_ta), ta, err, sizeof(err)), 2);
	assert_string_equal(ta[0], ".\t172800\tIN\tDNSKEY\t257 3 8 AwEAAa96");
	assert_int_equal(strncmp(ta[1], ". IN DS 20326", 13), 0);

	const struct { const char *text, *err; } bad[] = {
		{ "", "no DS or DNSKEY record" },
		{ "; only a comment\n\n", "no DS or DNSKEY record" },
		{ ". IN A 127.0.0.1\n", "line 1: not a DS or DNSKEY record" },
		{ "\n. IN DNSKEY\n", "line 2: not a DS or DNSKEY record" },
		{ ". IN DNSKEY ( 257 3 8\n AwEA )\n", "line 1: parentheses" },
		{ ". IN DNSKEY 257 3 8 \"x\"\n", "line 1: parentheses" },
		{ ". IN DNSKEY 257\x01 3 8 x\n", "line 1: control character" },
		{ ". a b c DNSKEY 257 3 8 x\n", "line 1: not a DS or DNSKEY record" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dns_trust_anchor_parse(bad[i].text, strlen(bad[i].text), ta, err,
		    sizeof(err)), -1);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
			print_error("'%s': error '%s'\n", bad[i].text, err);
		assert_int_equal(strncmp(err, bad[i].err, strlen(bad[i].err)), 0);
	}
	/* too many records; a line too long */
	char many[DNS_TA_MAX * 40 + 100];
	size_t used = 0;
	for (int i = 0; i <= DNS_TA_MAX; i++)
		used += (size_t)snprintf(many + used, sizeof(many) - used, ". IN DS 1 8 2 AB\n");
	assert_int_equal(dns_trust_anchor_parse(many, strlen(many), ta, err, sizeof(err)), -1);
	assert_string_equal(err, "line 17: more than 16 records");
	static char longline[DNS_TA_LINE_MAX + 100];
	memset(longline, 'A', sizeof(longline) - 1);
	memcpy(longline, ". IN DS 1 8 2 ", 14);
	assert_int_equal(dns_trust_anchor_parse(longline, strlen(longline), ta, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "line 1: longer than", 19), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_roundtrip),
		cmocka_unit_test(test_answer_roundtrip),
		cmocka_unit_test(test_answer_negative_and_limits),
		cmocka_unit_test(test_answer_malformed),
		cmocka_unit_test(test_resolvconf),
		cmocka_unit_test(test_trust_anchor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
