/*
 * test_hdr_scan.c: unit tests for smtpd/hdr_scan.c, the header-section
 * scanner: Date: and Message-ID: in any case and with WSP before the
 * colon, look-alike names, continuation lines, where the section ends
 * (blank line, bare LF, a message starting blank, body lines without a
 * colon, lines starting with ':' or CR, 8-bit and control bytes, the
 * name length limit), sections that do not end, the holdback of an
 * undecided line start, and the same result however the message is
 * split (whole, every split point, every pair of split points for
 * short messages, byte by byte), with a caller that holds back as the
 * contract says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdr_scan.h"

struct result {
	bool done;
	size_t end;        /* absolute offset of the section end, when done */
	size_t held;       /* bytes held back at the end, when not done */
	bool have_date;
	bool have_msgid;
};

/* Feeds msg in chunks whose ends are the ascending offsets cuts[0..n)
 * (then the rest), as smtpd would: held bytes go first in the next
 * call. Checks the holdback bound and the return range on the way. */
static struct result feed(const uint8_t *msg, size_t len, const size_t *cuts, size_t ncuts)
{
	struct hdr_scan h;
	struct result r = { 0 };
	uint8_t *buf = malloc(len + HDR_SCAN_HOLD_MAX + 1);
	assert_non_null(buf);
	size_t held = 0, pos = 0;
	hdr_scan_init(&h);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t to = k < ncuts ? cuts[k] : len;
		assert_true(to >= pos && to <= len);
		memcpy(buf + held, msg + pos, to - pos);
		size_t n = held + (to - pos);
		size_t base = pos - held;
		pos = to;
		size_t ret = hdr_scan_run(&h, buf, n);
		assert_true(ret <= n);
		if (h.done) {
			r.done = true;
			r.end = base + ret;
			/* once done, nothing more is header */
			assert_int_equal(hdr_scan_run(&h, buf, n), 0);
			break;
		}
		held = n - ret;
		assert_true(held <= HDR_SCAN_HOLD_MAX);
		memmove(buf, buf + ret, held);
	}
	if (!r.done)
		r.held = held;
	r.have_date = h.have_date;
	r.have_msgid = h.have_msgid;
	free(buf);
	return r;
}

static void same(const struct result *a, const struct result *b, const char *how, size_t at)
{
	if (a->done != b->done || a->end != b->end || a->held != b->held ||
	    a->have_date != b->have_date || a->have_msgid != b->have_msgid)
		print_error("%s %zu: done %d/%d end %zu/%zu held %zu/%zu date %d/%d msgid %d/%d\n",
		    how, at, a->done, b->done, a->end, b->end, a->held, b->held,
		    a->have_date, b->have_date, a->have_msgid, b->have_msgid);
	assert_int_equal(a->done, b->done);
	assert_int_equal(a->end, b->end);
	assert_int_equal(a->held, b->held);
	assert_int_equal(a->have_date, b->have_date);
	assert_int_equal(a->have_msgid, b->have_msgid);
}

/* Scans msg whole, at every split point, at every pair of split points
 * (short messages), byte by byte; all must agree; returns the result. */
static struct result scan_all(const uint8_t *msg, size_t len)
{
	struct result whole = feed(msg, len, NULL, 0);
	for (size_t a = 0; a <= len; a++) {
		struct result r = feed(msg, len, &a, 1);
		same(&whole, &r, "split at", a);
	}
	if (len <= 200) {
		for (size_t a = 0; a <= len; a++)
			for (size_t b = a; b <= len; b++) {
				size_t cuts[2] = { a, b };
				struct result r = feed(msg, len, cuts, 2);
				same(&whole, &r, "split pair from", a);
			}
	}
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (size_t a = 0; a < len; a++)
		cuts[a] = a + 1;
	struct result bytes = feed(msg, len, cuts, len);
	same(&whole, &bytes, "byte by byte, length", len);
	/* every byte twice, with an empty call in between */
	size_t *cuts2 = malloc((2 * len + 1) * sizeof(*cuts2));
	assert_non_null(cuts2);
	for (size_t a = 0; a < len; a++) {
		cuts2[2 * a] = a + 1;
		cuts2[2 * a + 1] = a + 1;
	}
	struct result empties = feed(msg, len, cuts2, 2 * len);
	same(&whole, &empties, "with empty calls, length", len);
	free(cuts);
	free(cuts2);
	return whole;
}

/* Expects the section of s to end at offset end (-1: not ended, with
 * held bytes held back), with the given flags. */
static void expect(const char *s, long end, size_t held, bool date, bool msgid)
{
	size_t len = strlen(s);
	struct result r = scan_all((const uint8_t *)s, len);
	bool ok = r.have_date == date && r.have_msgid == msgid &&
	    (end < 0 ? !r.done && r.held == held : r.done && r.end == (size_t)end);
	if (!ok)
		print_error("'%s': done %d end %zu held %zu date %d msgid %d\n",
		    s, r.done, r.end, r.held, r.have_date, r.have_msgid);
	assert_true(ok);
}

static void test_basic(void **state)
{
	(void)state;
	expect("Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n",
	    57, 0, true, true);
	expect("From: a@b\r\nTo: c@d\r\nSubject: hi\r\n\r\nDate: in the body\r\n",
	    33, 0, false, false);
	expect("Subject: x\r\nDate: y\r\n\r\n", 21, 0, true, false);
	expect("Message-ID: <x@y>\r\n\r\n", 19, 0, false, true);
	/* the section ends at the blank line's CR, the body follows */
	expect("A: b\r\n\r\n\r\n", 6, 0, false, false);
}

static void test_names(void **state)
{
	(void)state;
	expect("DATE: x\r\n\r\n", 9, 0, true, false);
	expect("date:x\r\n\r\n", 8, 0, true, false);
	expect("dAtE:\r\n\r\n", 7, 0, true, false);
	expect("message-id: <x>\r\n\r\n", 17, 0, false, true);
	expect("MESSAGE-ID:<x>\r\n\r\n", 16, 0, false, true);
	/* obsolete syntax: WSP between the name and the colon */
	expect("Date : x\r\n\r\n", 10, 0, true, false);
	expect("Date\t \t: x\r\nMessage-ID  :<y>\r\n\r\n", 30, 0, true, true);
	/* look-alikes */
	expect("X-Date: x\r\nDates: y\r\nDat: z\r\nResent-Date: w\r\n\r\n", 45, 0, false, false);
	expect("Message-IDs: x\r\nMessage_ID: y\r\nMessage-I: z\r\nIn-Reply-To: <m>\r\n\r\n",
	    63, 0, false, false);
	/* Date: only inside a value or a continuation does not count */
	expect("Subject: Date: x\r\n Date: y\r\n\tMessage-ID: z\r\n\r\n", 44, 0, false, false);
	/* the name with odd but valid characters */
	expect("X-!#$%&'*+-/=?^_`{|}~: x\r\n\r\n", 26, 0, false, false);
}

static void test_continuations(void **state)
{
	(void)state;
	expect("Subject: a\r\n b\r\n\tc\r\nDate: d\r\n\r\nx", 29, 0, true, false);
	/* a continuation without a colon, or looking like a body line */
	expect("Subject: a\r\n this is no header\r\n\r\n", 32, 0, false, false);
	/* a first line that starts with WSP is kept in the section */
	expect(" x\r\nDate: y\r\n\r\n", 13, 0, true, false);
	expect("\tfoo\r\n\r\n", 6, 0, false, false);
	/* a whitespace-only line is a continuation, not the blank line */
	expect("A: b\r\n \r\nDate: c\r\n\r\n", 18, 0, true, false);
}

static void test_ends(void **state)
{
	(void)state;
	/* a message starting with the blank line */
	expect("\r\nDate: x\r\n", 0, 0, false, false);
	expect("\r\n", 0, 0, false, false);
	expect("\r", 0, 0, false, false);
	/* a bare LF as the blank line */
	expect("Subject: x\n\nDate: y\n", 11, 0, false, false);
	expect("\n", 0, 0, false, false);
	expect("Subject: x\r\n\nbody\r\n", 12, 0, false, false);
	/* body lines with no colon */
	expect("Subject: x\r\nHello\r\nDate: y\r\n", 12, 0, false, false);
	expect("Subject: x\r\nHello world: not a header\r\n", 12, 0, false, false);
	expect("Hello\r\n", 0, 0, false, false);
	expect("Date: x\r\nno-colon-at-all\r\n", 9, 0, true, false);
	/* a line starting with ':' */
	expect(":x\r\n", 0, 0, false, false);
	expect("Subject: x\r\n: y\r\nDate: z\r\n", 12, 0, false, false);
	/* a CR first that is no blank line, a control or 8-bit byte */
	expect("Subject: x\r\n\rfoo\r\n", 12, 0, false, false);
	expect("Subject: x\r\n\x01" "Date: y\r\n", 12, 0, false, false);
	expect("Subject: x\r\n\xc3\xa9t\xc3\xa9: y\r\n", 12, 0, false, false);
	expect("Subject: x\r\nDa\xfe" "te: y\r\n", 12, 0, false, false);
	expect("Subject: x\r\nDate\r\n: y\r\n", 12, 0, false, false);
	/* a CR inside a header line is just a byte */
	expect("Subject: a\rb\r\nDate: c\rd\r\n\r\n", 25, 0, true, false);
}

static void test_not_ended(void **state)
{
	(void)state;
	expect("", -1, 0, false, false);
	expect("Subject: x\r\n", -1, 0, false, false);
	expect("Subject: x", -1, 0, false, false);
	expect("Date: x\r\n Message-ID: y", -1, 0, true, false);
	expect("Date: x\r\nMessage-ID: <y>", -1, 0, true, true);
	/* the last bytes are an undecided line start: held back */
	expect("Subject: x\r\nDat", -1, 3, false, false);
	expect("Subject: x\r\nDate \t ", -1, 7, false, false);
	expect("D", -1, 1, false, false);
	/* and a continuation is decided at its first byte */
	expect("Subject: x\r\n ", -1, 0, false, false);
}

static void test_long_names(void **state)
{
	(void)state;
	char msg[512], name[HDR_SCAN_HOLD_MAX + 2];
	memset(name, 'X', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';

	/* a name of exactly HDR_SCAN_HOLD_MAX is a field */
	snprintf(msg, sizeof(msg), "A: b\r\n%.*s: c\r\nDate: d\r\n\r\n", HDR_SCAN_HOLD_MAX, name);
	expect(msg, (long)strlen(msg) - 2, 0, true, false);
	/* one more ends the section at its start */
	snprintf(msg, sizeof(msg), "A: b\r\n%.*s: c\r\nDate: d\r\n\r\n", HDR_SCAN_HOLD_MAX + 1, name);
	expect(msg, 6, 0, false, false);
	/* the WSP before the colon counts too */
	snprintf(msg, sizeof(msg), "A: b\r\n%.*s : c\r\nDate: d\r\n\r\n", HDR_SCAN_HOLD_MAX - 1, name);
	expect(msg, (long)strlen(msg) - 2, 0, true, false);
	snprintf(msg, sizeof(msg), "A: b\r\n%.*s : c\r\nDate: d\r\n\r\n", HDR_SCAN_HOLD_MAX, name);
	expect(msg, 6, 0, false, false);
	snprintf(msg, sizeof(msg), "A: b\r\n%.*s  : c\r\n", HDR_SCAN_HOLD_MAX - 1, name);
	expect(msg, 6, 0, false, false);
	/* the most that is ever held back */
	snprintf(msg, sizeof(msg), "A: b\r\n%.*s", HDR_SCAN_HOLD_MAX, name);
	expect(msg, -1, HDR_SCAN_HOLD_MAX, false, false);
	snprintf(msg, sizeof(msg), "A: b\r\n%.*s \t", HDR_SCAN_HOLD_MAX - 2, name);
	expect(msg, -1, HDR_SCAN_HOLD_MAX, false, false);
	/* a long body line without a colon, as base64 or a URL would be */
	snprintf(msg, sizeof(msg), "Subject: x\r\n%.*s%.*s\r\n", HDR_SCAN_HOLD_MAX, name,
	    HDR_SCAN_HOLD_MAX, name);
	expect(msg, 12, 0, false, false);
	/* a long header value is no problem */
	char val[400];
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	snprintf(msg, sizeof(msg), "Subject: %s\r\nDate: x\r\n\r\n", val);
	expect(msg, (long)strlen(msg) - 2, 0, true, false);
}

/* The calls themselves: return values with held bytes and after done. */
static void test_calls(void **state)
{
	(void)state;
	struct hdr_scan h;
	hdr_scan_init(&h);
	assert_false(h.done || h.have_date || h.have_msgid);
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"", 0), 0);
	assert_false(h.done);
	/* "Dat" is held back whole */
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"Dat", 3), 0);
	assert_false(h.done);
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"Date", 4), 0);
	assert_false(h.done);
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"Date: x\r\nMess", 13), 9);
	assert_true(h.have_date);
	assert_false(h.done);
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"Message-ID: <", 13), 13);
	assert_true(h.have_msgid);
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"y>\r\nTo", 6), 4);
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"To: z\r\n\r\nbody\r\n", 15), 7);
	assert_true(h.done);
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"Date: q\r\n", 9), 0);
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"", 0), 0);
	assert_true(h.done);

	/* the end found at the start of a held line once more comes in */
	hdr_scan_init(&h);
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"A: b\r\nHello", 11), 6);
	assert_false(h.done);
	assert_int_equal(hdr_scan_run(&h, (const uint8_t *)"Hello world\r\n", 13), 0);
	assert_true(h.done);
	assert_false(h.have_date);
}

/* Random messages built from header-like pieces, random splits. */
static void test_random(void **state)
{
	(void)state;
	static const char *const pieces[] = { "Date", "date", "Message-ID", "X", ":", " ", "\t",
		"\r\n", "\r", "\n", "a", "Subject: s\r\n", " cont\r\n", "\x80", "Da", "te",
		"Message", "-ID", "\r\n\r\n", "body" };
	uint32_t seed = 12345;
	for (int round = 0; round < 300; round++) {
		uint8_t msg[256];
		size_t len = 0;
		for (;;) {
			seed = seed * 1103515245u + 12345u;
			const char *pc = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t pl = strlen(pc);
			if (len + pl > sizeof(msg) || (seed >> 8) % 23 == 0)
				break;
			memcpy(msg + len, pc, pl);
			len += pl;
		}
		struct result whole = scan_all(msg, len);
		for (int k = 0; k < 20; k++) {
			size_t cuts[6];
			for (size_t c = 0; c < 6; c++) {
				seed = seed * 1103515245u + 12345u;
				cuts[c] = len ? (seed >> 16) % (len + 1) : 0;
			}
			for (size_t a = 1; a < 6; a++)
				for (size_t b = a; b > 0 && cuts[b - 1] > cuts[b]; b--) {
					size_t t = cuts[b];
					cuts[b] = cuts[b - 1];
					cuts[b - 1] = t;
				}
			struct result r = feed(msg, len, cuts, 6);
			same(&whole, &r, "random round", (size_t)round);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_continuations),
		cmocka_unit_test(test_ends),
		cmocka_unit_test(test_not_ended),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
