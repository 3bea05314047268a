/*
 * test_dsn.c: unit tests for queued/dsn.c: the parts and fields of a
 * bounce and of a delay warning, cleaning of addresses and diagnostics
 * (no header injection), the status code check, the original headers
 * (line ends, the size cut), the recipient cap, the MIME boundary kept
 * out of the content, and refusals (no recipients, mixed actions).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"

static const struct dsn_info INFO = {
	.hostname = "mail.example.test",
	.sender = "alice@example.test",
	.qid = "1A2B3C4D5E6F7000",
	.arrival = 1700000000,
	.now = 1700003600,
	.retry_until = 1700432000,
	.random = { 0x1234, 0x5678 },
};

#define HDRS "Received: from x\r\nSubject: hello there\r\nFrom: alice@example.test\r\n"

/* Every line ends in CRLF, holds no bare CR or LF and no NUL, and is at
 * most 998 octets. */
static void check_lines(const char *t, size_t len)
{
	size_t start = 0;
	assert_true(len >= 2 && t[len - 2] == '\r' && t[len - 1] == '\n');
	for (size_t i = 0; i < len; i++) {
		assert_true(t[i] != '\0');
		if (t[i] == '\r') {
			assert_true(i + 1 < len && t[i + 1] == '\n');
			assert_true(i - start <= 998);
			start = i + 2;
			i++;
		} else {
			assert_true(t[i] != '\n');
		}
	}
}

static size_t count(const char *t, const char *what)
{
	size_t n = 0;
	for (const char *p = t; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

static char *build(const struct dsn_info *info, const struct dsn_rcpt *r, size_t n,
    const char *h, size_t *len)
{
	char *t = dsn_build(info, r, n, h, h ? strlen(h) : 0, len);
	assert_non_null(t);
	assert_int_equal(strlen(t), *len);
	check_lines(t, *len);
	return t;
}

static void test_bounce(void **state)
{
	(void)state;
	struct dsn_rcpt r[] = {
		{ "bob@remote.example", DSN_FAILED, "5.1.1", "mx.remote.example",
		  "550 5.1.1 <bob@remote.example>: no such user", true },
		{ "carol@remote.example", DSN_FAILED, "5.7.1", NULL, "relay refused", false },
	};
	size_t len;
	char *t = build(&INFO, r, 2, HDRS, &len);
	assert_non_null(strstr(t, "From: Mail Delivery System <MAILER-DAEMON@mail.example.test>\r\n"));
	assert_non_null(strstr(t, "\r\nTo: <alice@example.test>\r\n"));
	assert_non_null(strstr(t, "Subject: Undelivered Mail Returned to Sender\r\n"));
	assert_non_null(strstr(t, "Auto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(t, "Content-Type: multipart/report; report-type=delivery-status;"));
	assert_non_null(strstr(t, "Content-Type: message/delivery-status\r\n"));
	assert_non_null(strstr(t, "Content-Type: text/rfc822-headers\r\n"));
	assert_non_null(strstr(t, "Reporting-MTA: dns; mail.example.test\r\n"));
	assert_non_null(strstr(t, "Arrival-Date: "));
	assert_non_null(strstr(t, "\r\n\r\nFinal-Recipient: rfc822; bob@remote.example\r\n"
	    "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.remote.example\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.example>: no such user\r\n"));
	assert_non_null(strstr(t, "Final-Recipient: rfc822; carol@remote.example\r\n"
	    "Action: failed\r\nStatus: 5.7.1\r\nDiagnostic-Code: x-postern; relay refused\r\n"));
	assert_non_null(strstr(t, "\r\n\r\nReceived: from x\r\nSubject: hello there\r\n"));
	assert_null(strstr(t, "Will-Retry-Until"));
	assert_non_null(strstr(t, "<bob@remote.example>: 550 5.1.1"));
	free(t);
}

static void test_delay_warning(void **state)
{
	(void)state;
	struct dsn_rcpt r = { "bob@remote.example", DSN_DELAYED, "4.4.1", "mx.remote.example",
		"connection timed out", false };
	size_t len;
	char *t = build(&INFO, &r, 1, HDRS, &len);
	assert_non_null(strstr(t, "Subject: Delayed Mail (still being retried)\r\n"));
	assert_non_null(strstr(t, "Action: delayed\r\nStatus: 4.4.1\r\n"));
	assert_non_null(strstr(t, "Will-Retry-Until: "));
	assert_non_null(strstr(t, "You do not need to send the message again."));
	free(t);
}

static void test_refusals(void **state)
{
	(void)state;
	struct dsn_rcpt r[] = {
		{ "a@x.example", DSN_FAILED, "5.0.0", NULL, NULL, false },
		{ "b@x.example", DSN_DELAYED, "4.0.0", NULL, NULL, false },
	};
	size_t len;
	assert_null(dsn_build(&INFO, r, 0, NULL, 0, &len));
	assert_null(dsn_build(&INFO, r, 2, NULL, 0, &len));
	/* no headers at all: the part is there, empty */
	char *t = build(&INFO, r, 1, NULL, &len);
	assert_non_null(strstr(t, "Content-Type: text/rfc822-headers\r\n\r\n\r\n--"));
	free(t);
}

static void test_no_injection(void **state)
{
	(void)state;
	struct dsn_rcpt r = { "bob@x.example\r\nBcc: victim@example.org", DSN_FAILED, "5.1.1",
		"mx\r\nX-Evil: 1", "550 no\r\n\r\n--fake-boundary\r\nContent-Type: text/html\nX: y\0", true };
	struct dsn_info info = INFO;
	info.sender = "alice@example.test>\r\nCc: <other@example.org";
	size_t len;
	char *t = build(&info, &r, 1, HDRS, &len);
	assert_null(strstr(t, "\r\nBcc:"));
	assert_null(strstr(t, "\r\nCc:"));
	assert_null(strstr(t, "\r\nX-Evil:"));
	assert_null(strstr(t, "\r\nContent-Type: text/html"));
	assert_null(strstr(t, "\r\n--fake-boundary"));
	assert_int_equal(count(t, "Final-Recipient:"), 1);
	free(t);
}

static void test_status_checked(void **state)
{
	(void)state;
	const char *bad[] = { NULL, "", "5", "5.1", "5.1.", "6.1.1", "5.1000.1", "5.1.1x", "x.1.1",
		"5..1", "3.0.0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dsn_rcpt r = { "b@x.example", DSN_FAILED, bad[i], NULL, NULL, false };
		size_t len;
		char *t = build(&INFO, &r, 1, NULL, &len);
		assert_non_null(strstr(t, "Status: 5.0.0\r\n"));
		free(t);
		r.action = DSN_DELAYED;
		t = build(&INFO, &r, 1, NULL, &len);
		assert_non_null(strstr(t, "Status: 4.0.0\r\n"));
		free(t);
	}
	struct dsn_rcpt ok = { "b@x.example", DSN_FAILED, "5.100.999", NULL, NULL, false };
	size_t len;
	char *t = build(&INFO, &ok, 1, NULL, &len);
	assert_non_null(strstr(t, "Status: 5.100.999\r\n"));
	free(t);
}

static void test_utf8_recipient(void **state)
{
	(void)state;
	struct dsn_rcpt r = { "j\xc3\xb6rg@b\xc3\xbc" "cher.example", DSN_FAILED, "5.1.1", NULL, NULL, false };
	size_t len;
	char *t = build(&INFO, &r, 1, NULL, &len);
	assert_non_null(strstr(t, "Final-Recipient: utf-8; j\xc3\xb6rg@"));
	free(t);
}

static void test_original_headers(void **state)
{
	(void)state;
	struct dsn_rcpt r = { "b@x.example", DSN_FAILED, "5.1.1", NULL, NULL, false };
	size_t len;
	/* LF ends become CRLF, stray CRs go, the last line needs no LF */
	char *t = build(&INFO, &r, 1, "A: 1\nB: 2\r\r\nC: 3", &len);
	assert_non_null(strstr(t, "\r\n\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n--"));
	free(t);
	/* a long line is cut at 998 */
	char *longh = malloc(3000);
	memset(longh, 'x', 2999);
	memcpy(longh, "X-Long: ", 8);
	longh[2999] = '\0';
	t = build(&INFO, &r, 1, longh, &len);
	free(t);
	/* more than DSN_HEADERS_MAX: cut on a line boundary */
	size_t big = DSN_HEADERS_MAX * 2;
	char *h = malloc(big + 1);
	size_t n = 0;
	for (int i = 0; n + 40 < big; i++)
		n += (size_t)snprintf(h + n, big + 1 - n, "X-Header-%06d: some value\r\n", i);
	t = build(&INFO, &r, 1, h, &len);
	const char *part = strstr(t, "text/rfc822-headers\r\n\r\n");
	assert_non_null(part);
	const char *end = strstr(part, "\r\n\r\n--");
	assert_non_null(end);
	size_t got = (size_t)(end - part);
	assert_true(got <= DSN_HEADERS_MAX + 40);
	assert_true(got > DSN_HEADERS_MAX - 100);
	assert_non_null(strstr(t, "X-Header-000000: some value\r\n"));
	free(t);
	free(h);
	free(longh);
}

static void test_many_recipients(void **state)
{
	(void)state;
	size_t n = DSN_RCPT_MAX + 7;
	struct dsn_rcpt *r = calloc(n, sizeof(*r));
	char (*addr)[32] = calloc(n, sizeof(*addr));
	for (size_t i = 0; i < n; i++) {
		snprintf(addr[i], sizeof(addr[i]), "user%zu@x.example", i);
		r[i] = (struct dsn_rcpt){ addr[i], DSN_FAILED, "5.1.1", NULL, "gone", false };
	}
	size_t len;
	char *t = build(&INFO, r, n, NULL, &len);
	assert_int_equal(count(t, "Final-Recipient:"), DSN_RCPT_MAX);
	assert_non_null(strstr(t, "... and 7 more recipients."));
	free(t);
	free(r);
	free(addr);
}

static void test_long_fields_fit_in_lines(void **state)
{
	(void)state;
	char addr[800], diag[2000], host[400];
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	addr[300] = '@';
	memset(diag, 'd', sizeof(diag) - 1);
	diag[sizeof(diag) - 1] = '\0';
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	struct dsn_rcpt r = { addr, DSN_FAILED, "5.1.1", host, diag, true };
	struct dsn_info info = INFO;
	info.sender = addr;
	info.hostname = host;
	size_t len;
	char *t = build(&info, &r, 1, NULL, &len); /* check_lines: every line <= 998 */
	assert_non_null(strstr(t, "Diagnostic-Code: smtp; ddd"));
	free(t);
}

static void test_boundary_not_in_content(void **state)
{
	(void)state;
	struct dsn_rcpt r = { "b@x.example", DSN_FAILED, "5.1.1", NULL, NULL, false };
	size_t len;
	char *t = build(&INFO, &r, 1, NULL, &len);
	const char *b = strstr(t, "boundary=\"");
	assert_non_null(b);
	b += 10;
	char boundary[100];
	size_t bl = (size_t)(strchr(b, '"') - b);
	memcpy(boundary, b, bl);
	boundary[bl] = '\0';
	assert_int_equal(count(t, boundary), 5);
	/* original headers that quote that very boundary: another is chosen */
	char h[300];
	snprintf(h, sizeof(h), "X-Quote: --%s\r\n", boundary);
	char *t2 = build(&INFO, &r, 1, h, &len);
	const char *b2 = strstr(t2, "boundary=\"") + 10;
	size_t bl2 = (size_t)(strchr(b2, '"') - b2);
	assert_false(bl2 == bl && memcmp(b2, boundary, bl) == 0);
	char boundary2[100];
	memcpy(boundary2, b2, bl2);
	boundary2[bl2] = '\0';
	assert_int_equal(count(t2, boundary2), 5);
	free(t);
	free(t2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounce),
		cmocka_unit_test(test_delay_warning),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_no_injection),
		cmocka_unit_test(test_status_checked),
		cmocka_unit_test(test_utf8_recipient),
		cmocka_unit_test(test_original_headers),
		cmocka_unit_test(test_many_recipients),
		cmocka_unit_test(test_long_fields_fit_in_lines),
		cmocka_unit_test(test_boundary_not_in_content),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
