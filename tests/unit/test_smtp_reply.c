/*
 * test_smtp_reply.c: unit tests for relay/smtp_reply.c: single- and
 * multi-line replies (every split, "250", "250-" then "250 "), reply
 * codes in and out of range, mismatched codes, the line count and
 * line length limits, NUL and control characters, the joined text and
 * its truncation, enhanced status codes (valid, invalid, class
 * mismatch, repeated on later lines), feeding a finished reply,
 * smtp_reply_class, the verdicts per stage, and the EHLO capabilities
 * (smtp_ehlo_cap, smtp_ehlo_feed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <bsd/string.h>
#include <stdio.h>
#include <string.h>

#include "smtp_reply.h"

static enum smtp_reply_status feed(struct smtp_reply *r, const char *line)
{
	return smtp_reply_feed(r, line, strlen(line));
}

/* Feeds the '\n'-separated lines of s (no trailing '\n'); every line
 * but the last must give SR_MORE. Returns the last status. */
static enum smtp_reply_status feed_all(struct smtp_reply *r, const char *s)
{
	smtp_reply_init(r);
	for (;;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		enum smtp_reply_status st = smtp_reply_feed(r, s, len);
		assert_int_equal(st, r->status);
		if (nl == NULL || st != SR_MORE)
			return st;
		s = nl + 1;
	}
}

/* Expects s to be one complete reply with code, esc and text. */
static void reply_ok(const char *s, int code, const char *esc, const char *text)
{
	struct smtp_reply r;
	enum smtp_reply_status st = feed_all(&r, s);
	if (st != SR_DONE)
		print_error("'%s': status %d err %d\n", s, st, r.err);
	assert_int_equal(st, SR_DONE);
	assert_int_equal(r.err, SRE_NONE);
	assert_int_equal(r.code, code);
	assert_string_equal(r.esc, esc);
	assert_string_equal(r.text, text);
	assert_int_equal(r.textlen, strlen(text));
	assert_false(r.truncated);
	assert_int_not_equal(smtp_reply_class(r.code), 0);
}

/* Expects s to end in SR_GARBAGE for err. */
static void reply_bad(const char *s, enum smtp_reply_err err)
{
	struct smtp_reply r;
	enum smtp_reply_status st = feed_all(&r, s);
	if (st != SR_GARBAGE || r.err != err)
		print_error("'%s': status %d err %d, want err %d\n", s, st, r.err, err);
	assert_int_equal(st, SR_GARBAGE);
	assert_int_equal(r.err, err);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.esc, "");
	assert_int_equal(strlen(r.text), r.textlen);
}

static void test_single_line(void **state)
{
	(void)state;
	reply_ok("250 OK", 250, "", "OK");
	reply_ok("220 mx.example.com ESMTP ready", 220, "", "mx.example.com ESMTP ready");
	reply_ok("354 End data with <CR><LF>.<CR><LF>", 354, "", "End data with <CR><LF>.<CR><LF>");
	reply_ok("421 4.3.2 Service shutting down", 421, "4.3.2", "4.3.2 Service shutting down");
	reply_ok("550 5.1.1 <bob@example.com>: user unknown", 550, "5.1.1",
	    "5.1.1 <bob@example.com>: user unknown");
	/* spaces in the text stay as they are */
	reply_ok("250  two  spaces ", 250, "", " two  spaces ");
	reply_ok("250 -", 250, "", "-");
	reply_ok("250 250 250", 250, "", "250 250");
}

static void test_bare_code(void **state)
{
	(void)state;
	reply_ok("250", 250, "", "");
	reply_ok("250 ", 250, "", "");
	reply_ok("250-\n250 ", 250, "", "");
	reply_ok("250-\n250", 250, "", "");
	reply_ok("250-\n250-\n250-\n250", 250, "", "");
	reply_ok("220", 220, "", "");
	reply_ok("554 ", 554, "", "");
}

static void test_bare_code_separators(void **state)
{
	(void)state;
	/* "250-" is a line that says more follow */
	struct smtp_reply r;
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250-"), SR_MORE);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 1);
	assert_int_equal(feed(&r, "250 "), SR_DONE);
	assert_int_equal(r.nlines, 2);
	assert_string_equal(r.text, "");
	/* empty lines add no spaces between the others */
	reply_ok("250-a\n250-\n250- \n250 b", 250, "", "a   b");
	reply_ok("250-a\n250-\n250-\n250 b", 250, "", "a b");
	reply_ok("250-\n250 b", 250, "", "b");
	reply_ok("250-a\n250", 250, "", "a");
}

/* The lines of a multi-line reply: MORE after each but the last, which
 * gives DONE, for every reply length up to 12 lines. */
static void test_multiline(void **state)
{
	(void)state;
	for (size_t n = 1; n <= 12; n++) {
		struct smtp_reply r;
		char line[64], want[512] = "";
		smtp_reply_init(&r);
		for (size_t i = 0; i < n; i++) {
			int l = snprintf(line, sizeof(line), "250%cline%zu", i + 1 < n ? '-' : ' ', i);
			assert_true(l > 0 && (size_t)l < sizeof(line));
			char part[32];
			snprintf(part, sizeof(part), "%sline%zu", i > 0 ? " " : "", i);
			strlcat(want, part, sizeof(want));
			enum smtp_reply_status st = smtp_reply_feed(&r, line, (size_t)l);
			assert_int_equal(st, i + 1 < n ? SR_MORE : SR_DONE);
			assert_int_equal(r.nlines, i + 1);
			assert_int_equal(r.code, 250);
			assert_string_equal(r.text, want);
		}
	}
	reply_ok("250-mx.example.com\n250-PIPELINING\n250 8BITMIME", 250, "",
	    "mx.example.com PIPELINING 8BITMIME");
}

/* A text split into two lines at every position; and into three. */
static void test_every_split(void **state)
{
	(void)state;
	const char *text = "5.7.1 Message rejected: see https://example.com/why";
	size_t tl = strlen(text);
	char buf[256], want[256];
	for (size_t i = 0; i <= tl; i++) {
		snprintf(buf, sizeof(buf), "554-%.*s\n554 %s", (int)i, text, text + i);
		/* joined with one space when both halves are there */
		snprintf(want, sizeof(want), "%.*s%s%s", (int)i, text, i > 0 && i < tl ? " " : "",
		    text + i);
		/* the first line holds the whole "5.7.1" from i = 5 on */
		reply_ok(buf, 554, i >= 5 ? "5.7.1" : "", want);
		for (size_t j = i; j <= tl; j++) {
			snprintf(buf, sizeof(buf), "554-%.*s\n554-%.*s\n554 %s", (int)i, text,
			    (int)(j - i), text + i, text + j);
			struct smtp_reply r;
			assert_int_equal(feed_all(&r, buf), SR_DONE);
			assert_int_equal(r.nlines, 3);
			assert_int_equal(r.code, 554);
			/* the text without its spaces is the same */
			char a[256], b[256];
			size_t na = 0, nb = 0;
			for (size_t k = 0; k < r.textlen; k++)
				if (r.text[k] != ' ')
					a[na++] = r.text[k];
			for (size_t k = 0; k < tl; k++)
				if (text[k] != ' ')
					b[nb++] = text[k];
			assert_int_equal(na, nb);
			assert_memory_equal(a, b, na);
		}
	}
}

static void test_codes(void **state)
{
	(void)state;
	const int good[] = { 200, 211, 214, 220, 221, 235, 250, 251, 252, 259, 300, 334, 354,
		359, 400, 421, 450, 451, 452, 454, 459, 500, 501, 502, 503, 504, 530, 535, 550,
		551, 552, 553, 554, 555, 559 };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char line[16];
		snprintf(line, sizeof(line), "%d x", good[i]);
		reply_ok(line, good[i], "", "x");
		snprintf(line, sizeof(line), "%d", good[i]);
		reply_ok(line, good[i], "", "");
	}
	const char *bad[] = { "199 x", "100 x", "000 x", "600 x", "650 x", "999 x", "160 x",
		"260 x", "299 x", "360 x", "460 x", "560 x", "599 x", "2x0 x", "x50 x", "25x x",
		"25", "2", "", " 250", " 250 x", "abc", "-250 x", "+25 x", "2 50", "25 0",
		"\26250 x", "\t250 x", "50 x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		reply_bad(bad[i], SRE_CODE);
	struct smtp_reply r;
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, "\0" "50 x", 5), SR_GARBAGE);
	assert_int_equal(r.err, SRE_CODE);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, "25\0 x", 5), SR_GARBAGE);
	assert_int_equal(r.err, SRE_CODE);
	/* only len bytes count */
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, "250 OK", 2), SR_GARBAGE);
	assert_int_equal(r.err, SRE_CODE);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, "250 OK", 3), SR_DONE);
	assert_string_equal(r.text, "");
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, "250-OK", 4), SR_MORE);
	/* an empty line */
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, "", 0), SR_GARBAGE);
	assert_int_equal(r.err, SRE_CODE);
}

static void test_separator(void **state)
{
	(void)state;
	const char *bad[] = { "2500", "2500 x", "250x", "250OK", "250\tOK", "250_OK",
		"250=OK", "250.", "250\r", "250:OK", "250+ x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		reply_bad(bad[i], SRE_SEPARATOR);
	reply_bad("250-a\n250x", SRE_SEPARATOR);
	reply_bad("250-a\n2500", SRE_SEPARATOR);
	struct smtp_reply r;
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, "250\0OK", 6), SR_GARBAGE);
	assert_int_equal(r.err, SRE_SEPARATOR);
}

static void test_mismatch(void **state)
{
	(void)state;
	reply_bad("250-a\n251 b", SRE_MISMATCH);
	reply_bad("250-a\n550 b", SRE_MISMATCH);
	reply_bad("250-a\n250-b\n250-c\n251 d", SRE_MISMATCH);
	reply_bad("250-a\n251-b\n250 c", SRE_MISMATCH);
	reply_bad("550-a\n450 b", SRE_MISMATCH);
	reply_bad("250-\n251", SRE_MISMATCH);
	/* a bad code on a later line is still a bad code */
	reply_bad("250-a\n2x0 b", SRE_CODE);
	reply_bad("250-a\n25", SRE_CODE);
	reply_bad("250-a\n", SRE_CODE);
	/* the text read before the bad line stays for the log */
	struct smtp_reply r;
	assert_int_equal(feed_all(&r, "250-first\n250-second\n251 third"), SR_GARBAGE);
	assert_string_equal(r.text, "first second");
	assert_int_equal(r.nlines, 2);
	assert_int_equal(r.code, 0);
	/* and it sticks */
	assert_int_equal(feed(&r, "250 fine"), SR_GARBAGE);
	assert_int_equal(r.err, SRE_MISMATCH);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.nlines, 2);
}

static void test_line_count(void **state)
{
	(void)state;
	struct smtp_reply r;
	char line[32];
	/* SMTP_REPLY_LINES_MAX lines: fine */
	smtp_reply_init(&r);
	for (size_t i = 1; i <= SMTP_REPLY_LINES_MAX; i++) {
		int l = snprintf(line, sizeof(line), "250%cx", i < SMTP_REPLY_LINES_MAX ? '-' : ' ');
		assert_int_equal(smtp_reply_feed(&r, line, (size_t)l),
		    i < SMTP_REPLY_LINES_MAX ? SR_MORE : SR_DONE);
	}
	assert_int_equal(r.nlines, SMTP_REPLY_LINES_MAX);
	assert_int_equal(r.code, 250);
	/* one more: garbage, whatever the line says */
	const char *last[] = { "250 x", "250-x", "250", "garbage" };
	for (size_t k = 0; k < sizeof(last) / sizeof(last[0]); k++) {
		smtp_reply_init(&r);
		for (size_t i = 1; i <= SMTP_REPLY_LINES_MAX; i++)
			assert_int_equal(feed(&r, "250-x"), SR_MORE);
		assert_int_equal(feed(&r, last[k]), SR_GARBAGE);
		assert_int_equal(r.err, SRE_TOO_MANY);
		assert_int_equal(r.nlines, SMTP_REPLY_LINES_MAX);
		assert_int_equal(r.code, 0);
	}
	/* an endless reply stays garbage */
	smtp_reply_init(&r);
	for (size_t i = 0; i < 10 * SMTP_REPLY_LINES_MAX; i++)
		assert_int_equal(feed(&r, "250-x"), i < SMTP_REPLY_LINES_MAX ? SR_MORE : SR_GARBAGE);
	assert_int_equal(r.err, SRE_TOO_MANY);
}

static void test_ctrl(void **state)
{
	(void)state;
	struct smtp_reply r;
	const char *bad[] = { "250 a\rb", "250 \r", "250 a\nb", "250 \x1b[31m", "250 \x7f",
		"250 a\x01", "250 \x1f", "250 \v", "250 \f", "250- \x08" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		smtp_reply_init(&r);
		assert_int_equal(feed(&r, bad[i]), SR_GARBAGE);
		assert_int_equal(r.err, SRE_CTRL);
	}
	/* NUL anywhere in the text */
	const struct { const char *s; size_t len; } nul[] = {
		{ "250 a\0b", 7 }, { "250 \0", 5 }, { "250 OK\0", 7 }, { "250-\0", 5 },
		{ "250 5.1.1\0", 10 },
	};
	for (size_t i = 0; i < sizeof(nul) / sizeof(nul[0]); i++) {
		smtp_reply_init(&r);
		assert_int_equal(smtp_reply_feed(&r, nul[i].s, nul[i].len), SR_GARBAGE);
		assert_int_equal(r.err, SRE_CTRL);
	}
	/* on a later line too */
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250-ok"), SR_MORE);
	assert_int_equal(smtp_reply_feed(&r, "250 a\0b", 7), SR_GARBAGE);
	assert_int_equal(r.err, SRE_CTRL);
	/* HTAB is allowed and becomes a space; 8-bit bytes become '?' */
	reply_ok("250 a\tb", 250, "", "a b");
	reply_ok("250 \t", 250, "", " ");
	reply_ok("250 caf\xc3\xa9", 250, "", "caf??");
	reply_ok("250 \x80\xff", 250, "", "??");
	reply_ok("250 ~", 250, "", "~");
}

static void test_line_length(void **state)
{
	(void)state;
	char line[SMTP_REPLY_LINE_MAX + 2];
	struct smtp_reply r;
	memcpy(line, "250 ", 4);
	memset(line + 4, 'x', sizeof(line) - 4);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX), SR_DONE);
	assert_int_equal(r.textlen, SMTP_REPLY_LINE_MAX - 4);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX + 1), SR_GARBAGE);
	assert_int_equal(r.err, SRE_TOO_LONG);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX + 2), SR_GARBAGE);
	assert_int_equal(r.err, SRE_TOO_LONG);
	/* on a later line */
	line[3] = '-';
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX), SR_MORE);
	assert_int_equal(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX + 1), SR_GARBAGE);
	assert_int_equal(r.err, SRE_TOO_LONG);
	/* a long line of garbage is too long before it is anything else */
	memset(line, '\0', sizeof(line));
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX + 1), SR_GARBAGE);
	assert_int_equal(r.err, SRE_TOO_LONG);
}

static void test_truncation(void **state)
{
	(void)state;
	const size_t cap = SMTP_REPLY_TEXT_MAX - 1, body = SMTP_REPLY_LINE_MAX - 4;
	char line[SMTP_REPLY_LINE_MAX + 1];
	struct smtp_reply r;
	/* 506 + 1 + 506 + 1 + 9 = 1023: fits exactly */
	memset(line, 'a', sizeof(line));
	memcpy(line, "250-", 4);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, line, 4 + body), SR_MORE);
	assert_int_equal(smtp_reply_feed(&r, line, 4 + body), SR_MORE);
	memcpy(line, "250 ", 4);
	assert_int_equal(smtp_reply_feed(&r, line, 4 + cap - 2 * body - 2), SR_DONE);
	assert_int_equal(r.textlen, cap);
	assert_false(r.truncated);
	assert_int_equal(strlen(r.text), cap);
	assert_int_equal(r.text[body], ' ');
	assert_int_equal(r.text[2 * body + 1], ' ');
	/* one more octet: cut to leave room for the marker */
	memcpy(line, "250-", 4);
	smtp_reply_init(&r);
	smtp_reply_feed(&r, line, 4 + body);
	smtp_reply_feed(&r, line, 4 + body);
	memcpy(line, "250 ", 4);
	assert_int_equal(smtp_reply_feed(&r, line, 4 + cap - 2 * body - 1), SR_DONE);
	assert_true(r.truncated);
	assert_int_equal(r.textlen, cap);
	assert_int_equal(strlen(r.text), cap);
	assert_memory_equal(r.text + cap - 3, SMTP_REPLY_TRUNC, 3);
	assert_int_equal(r.text[cap - 4], 'a');
	assert_int_equal(r.code, 250);

	/* 100 long lines: the text never overflows and keeps the start */
	smtp_reply_init(&r);
	for (size_t i = 0; i < SMTP_REPLY_LINES_MAX; i++) {
		int l = snprintf(line, sizeof(line), "550%c5.1.1 line %03zu ", i + 1 <
		    SMTP_REPLY_LINES_MAX ? '-' : ' ', i);
		memset(line + l, 'z', sizeof(line) - (size_t)l);
		assert_int_equal(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX),
		    i + 1 < SMTP_REPLY_LINES_MAX ? SR_MORE : SR_DONE);
		assert_true(r.textlen <= cap);
		assert_int_equal(strlen(r.text), r.textlen);
	}
	assert_true(r.truncated);
	assert_int_equal(r.textlen, cap);
	assert_string_equal(r.esc, "5.1.1");
	assert_memory_equal(r.text, "5.1.1 line 000 zz", 17);
	/* the second line lost its repeated "5.1.1 " */
	assert_non_null(strstr(r.text, "zz line 001 zz"));
	assert_memory_equal(r.text + cap - 3, SMTP_REPLY_TRUNC, 3);

	/* cut exactly where a separating space would go */
	smtp_reply_init(&r);
	memset(line, 'b', sizeof(line));
	memcpy(line, "250-", 4);
	smtp_reply_feed(&r, line, 4 + body);
	smtp_reply_feed(&r, line, 4 + body);
	memcpy(line, "250-", 4);
	/* 1013 now; a line of 7 fits (1021); one of 2 would make 1024 */
	smtp_reply_feed(&r, line, 4 + 7);
	assert_int_equal(r.textlen, 1021);
	assert_false(r.truncated);
	memcpy(line, "250 ", 4);
	assert_int_equal(smtp_reply_feed(&r, line, 4 + 2), SR_DONE);
	assert_true(r.truncated);
	assert_int_equal(r.textlen, cap);
	assert_memory_equal(r.text + cap - 4, "b...", 4);
}

static void test_esc(void **state)
{
	(void)state;
	char esc[SMTP_ESC_BUF];
	const char *good[] = { "2.0.0", "4.7.0", "5.1.1", "5.999.999", "5.001.01", "2.0.000",
		"4.4.2" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t l = strlen(good[i]);
		assert_int_equal(smtp_esc_parse(good[i], l, esc), l);
		assert_string_equal(esc, good[i]);
		char text[64];
		snprintf(text, sizeof(text), "%s more", good[i]);
		assert_int_equal(smtp_esc_parse(text, strlen(text), esc), l);
		assert_string_equal(esc, good[i]);
		assert_int_equal(smtp_esc_parse(text, strlen(text), NULL), l);
	}
	const char *bad[] = { "5.1000.1", "5.1.1000", "6.0.0", "3.0.0", "1.0.0", "0.0.0",
		"2.0.0x", "5.1", "5.1.", "5..1", ".1.1", "5.1.1.1", "5.1.1\tx", "5.1.1-x", "5 1 1",
		"5,1,1", "51.1.1", "5.a.1", "5.1.a", "", "5", "5.", "a.1.1", " 5.1.1", "5.1.1:" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(esc, 'Q', sizeof(esc));
		if (smtp_esc_parse(bad[i], strlen(bad[i]), esc) != 0)
			print_error("'%s' accepted\n", bad[i]);
		assert_int_equal(smtp_esc_parse(bad[i], strlen(bad[i]), esc), 0);
	}
	/* only len bytes */
	assert_int_equal(smtp_esc_parse("5.1.10", 5, esc), 5);
	assert_string_equal(esc, "5.1.1");
	assert_int_equal(smtp_esc_parse("5.1.1", 4, esc), 0);

	/* in replies: first line only, class as the reply code's */
	reply_ok("550 5.1.1 user unknown", 550, "5.1.1", "5.1.1 user unknown");
	reply_ok("550 5.1.1", 550, "5.1.1", "5.1.1");
	reply_ok("550 5.1000.1 x", 550, "", "5.1000.1 x");
	reply_ok("550 6.0.0 x", 550, "", "6.0.0 x");
	reply_ok("250 2.0.0x", 250, "", "2.0.0x");
	reply_ok("550 2.0.0 odd", 550, "", "2.0.0 odd");
	reply_ok("250 5.0.0 odd", 250, "", "5.0.0 odd");
	reply_ok("354 3.0.0 go", 354, "", "3.0.0 go");
	reply_ok("451 4.3.0 try later", 451, "4.3.0", "4.3.0 try later");
	reply_ok("250-hello\n250 2.0.0 ok", 250, "", "hello 2.0.0 ok");
	reply_ok("250-\n250 2.0.0 ok", 250, "", "2.0.0 ok");
	/* repeated on later lines: dropped from the text */
	reply_ok("550-5.1.1 The email account that you tried to reach does not exist.\n"
	    "550-5.1.1 Please try double-checking the address.\n"
	    "550 5.1.1 https://support.example.com/NoSuchUser",
	    550, "5.1.1",
	    "5.1.1 The email account that you tried to reach does not exist. "
	    "Please try double-checking the address. https://support.example.com/NoSuchUser");
	reply_ok("550-5.1.1 a\n550 5.1.1", 550, "5.1.1", "5.1.1 a");
	reply_ok("550-5.1.1 a\n550 5.1.2 b", 550, "5.1.1", "5.1.1 a 5.1.2 b");
	reply_ok("550-5.1.1 a\n550 5.1.10 b", 550, "5.1.1", "5.1.1 a 5.1.10 b");
	reply_ok("550-5.1.1 a\n550 5.1.1x b", 550, "5.1.1", "5.1.1 a 5.1.1x b");
	reply_ok("550-5.1.1 a\n550 5.1.1  b", 550, "5.1.1", "5.1.1 a  b");
}

static void test_detail_esc(void **state)
{
	(void)state;
	char esc[SMTP_ESC_BUF];
	bool reply = false;
#define D(s) s, strlen(s)
	assert_int_equal(smtp_detail_esc(D("550 5.1.1 <bob@x>: user unknown"), esc, &reply), 5);
	assert_string_equal(esc, "5.1.1");
	assert_true(reply);
	assert_int_equal(smtp_detail_esc(D("421-4.7.0 try later"), esc, &reply), 5);
	assert_true(reply);
	assert_int_equal(smtp_detail_esc(D("5.1.10 domain accepts no mail"), esc, &reply), 6);
	assert_string_equal(esc, "5.1.10");
	assert_false(reply);
	assert_int_equal(smtp_detail_esc(D("4.4.1"), esc, &reply), 5);
	/* a reply without an enhanced code, text without one, nothing */
	assert_int_equal(smtp_detail_esc(D("550 User unknown"), esc, &reply), 0);
	assert_true(reply);
	assert_int_equal(smtp_detail_esc(D("queue file missing"), NULL, &reply), 0);
	assert_false(reply);
	assert_int_equal(smtp_detail_esc(D(""), esc, NULL), 0);
	assert_int_equal(smtp_detail_esc(D("550"), esc, &reply), 0);
	assert_false(reply);
	/* no valid reply code: the start is read as an enhanced code */
	assert_int_equal(smtp_detail_esc(D("590 5.1.1 x"), esc, &reply), 0);
	assert_false(reply);
	assert_int_equal(smtp_detail_esc(D("550 5.1234.1 x"), esc, &reply), 0);
	assert_int_equal(smtp_detail_esc(D("550 5.1.1x"), esc, &reply), 0);
	/* len is obeyed: no NUL needed, nothing read past it */
	assert_int_equal(smtp_detail_esc("550 5.1.1 more", 9, esc, &reply), 5);
	assert_int_equal(smtp_detail_esc("550 5.1.1", 8, esc, &reply), 0);
#undef D
}

static void test_finished(void **state)
{
	(void)state;
	struct smtp_reply r;
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250 OK"), SR_DONE);
	assert_int_equal(feed(&r, "250 OK"), SR_GARBAGE);
	assert_int_equal(r.err, SRE_FINISHED);
	assert_int_equal(r.code, 0);
	/* init starts over */
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "221 bye"), SR_DONE);
	assert_int_equal(r.code, 221);
	assert_string_equal(r.text, "bye");
	assert_int_equal(r.nlines, 1);
	/* a fresh reply */
	smtp_reply_init(&r);
	assert_int_equal(r.status, SR_MORE);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.textlen, 0);
	assert_string_equal(r.text, "");
	assert_string_equal(r.esc, "");
}

static void test_errstr(void **state)
{
	(void)state;
	const enum smtp_reply_err all[] = { SRE_NONE, SRE_TOO_LONG, SRE_TOO_MANY, SRE_CODE,
		SRE_SEPARATOR, SRE_CTRL, SRE_MISMATCH, SRE_FINISHED };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_string_not_equal(smtp_reply_errstr(all[i]), "?");
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(smtp_reply_errstr(all[i]), smtp_reply_errstr(all[j]));
	}
	assert_string_equal(smtp_reply_errstr((enum smtp_reply_err)99), "?");
}

static void test_class(void **state)
{
	(void)state;
	assert_int_equal(smtp_reply_class(200), 2);
	assert_int_equal(smtp_reply_class(250), 2);
	assert_int_equal(smtp_reply_class(259), 2);
	assert_int_equal(smtp_reply_class(354), 3);
	assert_int_equal(smtp_reply_class(421), 4);
	assert_int_equal(smtp_reply_class(559), 5);
	const int bad[] = { -250, 0, 1, 99, 199, 260, 299, 360, 399, 460, 499, 560, 599, 600,
		1250, 25 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(smtp_reply_class(bad[i]), 0);
	/* every code the parser accepts has a class */
	for (int c = 0; c < 1000; c++) {
		char line[16];
		snprintf(line, sizeof(line), "%03d", c);
		struct smtp_reply r;
		smtp_reply_init(&r);
		enum smtp_reply_status st = feed(&r, line);
		assert_int_equal(st == SR_DONE, smtp_reply_class(c) != 0);
		if (st == SR_DONE)
			assert_int_equal(r.code, c);
	}
}

static void test_verdict(void **state)
{
	(void)state;
	const enum smtp_stage plain[] = { SMTP_ST_GREETING, SMTP_ST_EHLO, SMTP_ST_STARTTLS,
		SMTP_ST_MAIL, SMTP_ST_RCPT, SMTP_ST_DOT, SMTP_ST_RSET, SMTP_ST_NOOP, SMTP_ST_QUIT };
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_int_equal(smtp_reply_verdict(plain[i], 250), SV_OK);
		assert_int_equal(smtp_reply_verdict(plain[i], 220), SV_OK);
		assert_int_equal(smtp_reply_verdict(plain[i], 354), SV_UNEXPECTED);
		assert_int_equal(smtp_reply_verdict(plain[i], 334), SV_UNEXPECTED);
		assert_int_equal(smtp_reply_verdict(plain[i], 421), SV_TEMP);
		assert_int_equal(smtp_reply_verdict(plain[i], 450), SV_TEMP);
		assert_int_equal(smtp_reply_verdict(plain[i], 550), SV_PERM);
		assert_int_equal(smtp_reply_verdict(plain[i], 554), SV_PERM);
		assert_int_equal(smtp_reply_verdict(plain[i], 199), SV_UNEXPECTED);
		assert_int_equal(smtp_reply_verdict(plain[i], 600), SV_UNEXPECTED);
		assert_int_equal(smtp_reply_verdict(plain[i], 0), SV_UNEXPECTED);
		assert_true(smtp_reply_final(plain[i], 250));
		assert_true(smtp_reply_final(plain[i], 354));
		assert_true(smtp_reply_final(plain[i], 550));
	}
	assert_int_equal(smtp_reply_verdict(SMTP_ST_DATA, 354), SV_CONTINUE);
	assert_int_equal(smtp_reply_verdict(SMTP_ST_DATA, 250), SV_UNEXPECTED);
	assert_int_equal(smtp_reply_verdict(SMTP_ST_DATA, 451), SV_TEMP);
	assert_int_equal(smtp_reply_verdict(SMTP_ST_DATA, 554), SV_PERM);
	assert_false(smtp_reply_final(SMTP_ST_DATA, 354));
	assert_true(smtp_reply_final(SMTP_ST_DATA, 250));
	assert_true(smtp_reply_final(SMTP_ST_DATA, 554));
	assert_int_equal(smtp_reply_verdict(SMTP_ST_AUTH, 334), SV_CONTINUE);
	assert_int_equal(smtp_reply_verdict(SMTP_ST_AUTH, 235), SV_OK);
	assert_int_equal(smtp_reply_verdict(SMTP_ST_AUTH, 454), SV_TEMP);
	assert_int_equal(smtp_reply_verdict(SMTP_ST_AUTH, 535), SV_PERM);
	assert_int_equal(smtp_reply_verdict(SMTP_ST_AUTH, 260), SV_UNEXPECTED);
	assert_false(smtp_reply_final(SMTP_ST_AUTH, 334));
	assert_true(smtp_reply_final(SMTP_ST_AUTH, 235));
	assert_true(smtp_reply_final(SMTP_ST_AUTH, 999));
	assert_int_equal(smtp_reply_verdict((enum smtp_stage)99, 250), SV_UNEXPECTED);
	assert_true(smtp_reply_final((enum smtp_stage)99, 354));
}

/* ---- EHLO ---- */

static void cap(struct smtp_ehlo *e, const char *text)
{
	smtp_ehlo_cap(e, text, strlen(text));
}

static bool ehlo_zero(const struct smtp_ehlo *e)
{
	struct smtp_ehlo z;
	memset(&z, 0, sizeof(z));
	return memcmp(e, &z, sizeof(z)) == 0;
}

static void test_ehlo_cap(void **state)
{
	(void)state;
	struct smtp_ehlo e;
	memset(&e, 0, sizeof(e));
	cap(&e, "PIPELINING");
	assert_true(e.pipelining);
	cap(&e, "starttls");
	assert_true(e.starttls);
	cap(&e, "8bitMime");
	assert_true(e.eightbitmime);
	cap(&e, "SMTPUTF8");
	assert_true(e.smtputf8);
	cap(&e, "EnhancedStatusCodes");
	assert_true(e.enhancedstatuscodes);
	assert_false(e.auth);
	assert_false(e.has_size);

	/* unknown, lookalike and malformed keywords are ignored */
	const char *ignored[] = { "PIPELININGX", "XPIPELINING", "PIPE LINING", "START-TLS",
		"8BITMIME=yes", "-PIPELINING", "PIPELINING\t", "DSN", "CHUNKING", "X-EXPS GSSAPI",
		"VRFY", "ETRN", "", " ", "SMTP UTF8", "AUTHPLAIN", "SIZE=100", "AUTH_PLAIN",
		"ENHANCEDSTATUSCODE", "STARTTLS\xc3\xa9" };
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		memset(&e, 0, sizeof(e));
		cap(&e, ignored[i]);
		if (!ehlo_zero(&e))
			print_error("'%s' not ignored\n", ignored[i]);
		assert_true(ehlo_zero(&e));
	}
	/* parameters after a flag keyword, and spaces around it, are tolerated */
	memset(&e, 0, sizeof(e));
	cap(&e, "PIPELINING foo");
	assert_true(e.pipelining);
	cap(&e, "  STARTTLS  ");
	assert_true(e.starttls);
}

static void test_ehlo_size(void **state)
{
	(void)state;
	struct smtp_ehlo e;
	const struct { const char *text; bool has; uint64_t size; } t[] = {
		{ "SIZE", true, 0 },
		{ "SIZE ", true, 0 },
		{ "SIZE 0", true, 0 },
		{ "SIZE 35882577", true, 35882577 },
		{ "size 10240000", true, 10240000 },
		{ "SIZE  52428800 ", true, 52428800 },
		{ "SIZE 00000000000000000001", true, 1 },
		{ "SIZE 18446744073709551615", true, UINT64_MAX },
		{ "SIZE 18446744073709551616", false, 0 },
		{ "SIZE 99999999999999999999", false, 0 },
		{ "SIZE 000000000000000000001", false, 0 },
		{ "SIZE abc", false, 0 },
		{ "SIZE -1", false, 0 },
		{ "SIZE +1", false, 0 },
		{ "SIZE 1k", false, 0 },
		{ "SIZE 1 2", false, 0 },
		{ "SIZE 1.5", false, 0 },
		{ "SIZE 0x10", false, 0 },
		{ "SIZES 100", false, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&e, 0, sizeof(e));
		cap(&e, t[i].text);
		if (e.has_size != t[i].has || e.size != t[i].size)
			print_error("'%s': %d %llu\n", t[i].text, e.has_size,
			    (unsigned long long)e.size);
		assert_int_equal(e.has_size, t[i].has);
		assert_true(e.size == t[i].size);
	}
	/* the last SIZE line counts */
	memset(&e, 0, sizeof(e));
	cap(&e, "SIZE 100");
	cap(&e, "SIZE 200");
	assert_true(e.has_size);
	assert_int_equal(e.size, 200);
	cap(&e, "SIZE x");
	assert_false(e.has_size);
	assert_int_equal(e.size, 0);
}

static void test_ehlo_auth(void **state)
{
	(void)state;
	struct smtp_ehlo e;
	const struct { const char *text; bool plain, login; } t[] = {
		{ "AUTH PLAIN LOGIN", true, true },
		{ "AUTH LOGIN PLAIN CRAM-MD5", true, true },
		{ "auth plain", true, false },
		{ "AUTH login", false, true },
		{ "AUTH CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256", false, false },
		{ "AUTH", false, false },
		{ "AUTH PLAINX LOGINX XPLAIN", false, false },
		{ "AUTH  GSSAPI   PLAIN  ", true, false },
		{ "AUTH=LOGIN PLAIN", true, true },
		{ "AUTH=PLAIN", true, false },
		{ "auth=login", false, true },
		{ "AUTH=", false, false },
		{ "AUTH XOAUTH2 PLAIN-CLIENTTOKEN", false, false },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&e, 0, sizeof(e));
		cap(&e, t[i].text);
		assert_true(e.auth);
		assert_int_equal(e.auth_plain, t[i].plain);
		assert_int_equal(e.auth_login, t[i].login);
	}
	/* both forms on two lines add up */
	memset(&e, 0, sizeof(e));
	cap(&e, "AUTH LOGIN");
	cap(&e, "AUTH=PLAIN");
	assert_true(e.auth_plain && e.auth_login);
}

/* Feeds the '\n'-separated lines of s through smtp_ehlo_feed. */
static enum smtp_reply_status ehlo_all(struct smtp_reply *r, struct smtp_ehlo *e, const char *s)
{
	smtp_reply_init(r);
	memset(e, 0x55, sizeof(*e));
	for (;;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		enum smtp_reply_status st = smtp_ehlo_feed(r, e, s, len);
		if (nl == NULL || st != SR_MORE)
			return st;
		s = nl + 1;
	}
}

static void test_ehlo_feed(void **state)
{
	(void)state;
	struct smtp_reply r;
	struct smtp_ehlo e;
	assert_int_equal(ehlo_all(&r, &e,
	    "250-mx.example.com Hello relay.example.org [192.0.2.1]\n"
	    "250-SIZE 52428800\n"
	    "250-8BITMIME\n"
	    "250-PIPELINING\n"
	    "250-AUTH LOGIN PLAIN\n"
	    "250-CHUNKING\n"
	    "250-STARTTLS\n"
	    "250-ENHANCEDSTATUSCODES\n"
	    "250 SMTPUTF8"), SR_DONE);
	assert_int_equal(r.code, 250);
	assert_true(e.pipelining && e.starttls && e.eightbitmime && e.smtputf8 &&
	    e.enhancedstatuscodes && e.has_size && e.auth && e.auth_plain && e.auth_login);
	assert_int_equal(e.size, 52428800);

	/* the first line is the greeting, never a capability */
	assert_int_equal(ehlo_all(&r, &e, "250-STARTTLS\n250 PIPELINING"), SR_DONE);
	assert_false(e.starttls);
	assert_true(e.pipelining);
	assert_int_equal(ehlo_all(&r, &e, "250 STARTTLS"), SR_DONE);
	assert_true(ehlo_zero(&e));
	assert_int_equal(ehlo_all(&r, &e, "250"), SR_DONE);
	assert_true(ehlo_zero(&e));
	/* empty capability lines are nothing */
	assert_int_equal(ehlo_all(&r, &e, "250-host\n250-\n250-  \n250 8BITMIME"), SR_DONE);
	assert_true(e.eightbitmime);
	assert_false(e.pipelining);
	assert_int_equal(ehlo_all(&r, &e, "250-host\n250"), SR_DONE);
	assert_true(ehlo_zero(&e));
	/* not 250: no capabilities */
	assert_int_equal(ehlo_all(&r, &e, "550-no\n550-PIPELINING\n550 STARTTLS"), SR_DONE);
	assert_int_equal(r.code, 550);
	assert_true(ehlo_zero(&e));
	assert_int_equal(ehlo_all(&r, &e, "251-x\n251 STARTTLS"), SR_DONE);
	assert_true(ehlo_zero(&e));
	/* garbage part way: cleared */
	assert_int_equal(ehlo_all(&r, &e, "250-host\n250-STARTTLS\n250-PIPELINING\n251 SIZE"),
	    SR_GARBAGE);
	assert_true(ehlo_zero(&e));
	assert_int_equal(ehlo_all(&r, &e, "250-host\n250-STARTTLS\n250-x\x01y"), SR_GARBAGE);
	assert_true(ehlo_zero(&e));
	assert_int_equal(ehlo_all(&r, &e, "bogus"), SR_GARBAGE);
	assert_true(ehlo_zero(&e));
	/* a reply too long to be believed */
	smtp_reply_init(&r);
	memset(&e, 0, sizeof(e));
	assert_int_equal(smtp_ehlo_feed(&r, &e, "250-host", 8), SR_MORE);
	for (size_t i = 1; i < SMTP_REPLY_LINES_MAX; i++)
		assert_int_equal(smtp_ehlo_feed(&r, &e, "250-STARTTLS", 12), SR_MORE);
	assert_true(e.starttls);
	assert_int_equal(smtp_ehlo_feed(&r, &e, "250 PIPELINING", 14), SR_GARBAGE);
	assert_true(ehlo_zero(&e));
	/* the same struct for a second reply starts from nothing */
	assert_int_equal(ehlo_all(&r, &e, "250-a\n250 STARTTLS"), SR_DONE);
	assert_true(e.starttls);
	assert_int_equal(ehlo_all(&r, &e, "250-a\n250 PIPELINING"), SR_DONE);
	assert_false(e.starttls);
	assert_true(e.pipelining);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line),
		cmocka_unit_test(test_bare_code),
		cmocka_unit_test(test_bare_code_separators),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_separator),
		cmocka_unit_test(test_mismatch),
		cmocka_unit_test(test_line_count),
		cmocka_unit_test(test_ctrl),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_esc),
		cmocka_unit_test(test_detail_esc),
		cmocka_unit_test(test_finished),
		cmocka_unit_test(test_errstr),
		cmocka_unit_test(test_class),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_ehlo_cap),
		cmocka_unit_test(test_ehlo_size),
		cmocka_unit_test(test_ehlo_auth),
		cmocka_unit_test(test_ehlo_feed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
