/*
 * test_queue_list.c: posternctl's queue filters and formatters
 * (ctl/queue_list.c): which messages a filter takes, JSON strings from
 * untrusted bytes, the text listing, and qshape's age buckets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/string.h>
#include <cmocka.h>

#include "queue_list.h"

#define NOW 1800000000000ULL
#define MIN 60000ULL

static struct qrcpt rcpts[3];
static struct qmsg msg;

static void setup_msg(void)
{
	memset(rcpts, 0, sizeof(rcpts));
	memset(&msg, 0, sizeof(msg));
	msg.qid = 0x1A2B3C4D5E6F7081ULL;
	msg.arrival_ms = NOW - 30 * MIN;
	msg.size = 1234;
	strlcpy(msg.sender, "Alice@Example.test", sizeof(msg.sender));
	msg.nrcpt = 3;
	msg.rcpts = rcpts;
	strlcpy(rcpts[0].addr, "bob@remote.test", sizeof(rcpts[0].addr));
	rcpts[0].remote = 1;
	rcpts[0].state = RS_DEFERRED;
	strlcpy(rcpts[0].last_error, "451 4.7.1 later\x1b[2J", sizeof(rcpts[0].last_error));
	strlcpy(rcpts[1].addr, "carol@done.test", sizeof(rcpts[1].addr));
	rcpts[1].remote = 1;
	rcpts[1].state = RS_DELIVERED;
	strlcpy(rcpts[2].addr, "dave@example.test", sizeof(rcpts[2].addr));
	strlcpy(rcpts[2].mailbox, "dave", sizeof(rcpts[2].mailbox));
	rcpts[2].state = RS_HELD;
}

static bool match(struct qfilter f)
{
	return qfilter_match(&f, &msg, NOW);
}

static void test_filters(void **state)
{
	(void)state;
	setup_msg();
	struct qfilter any = { .state = -1 };
	assert_true(match(any));
	assert_true(match((struct qfilter){ .sender = "alice@example.TEST", .state = -1 }));
	assert_true(match((struct qfilter){ .sender = "@example.test", .state = -1 }));
	assert_false(match((struct qfilter){ .sender = "@remote.test", .state = -1 }));
	assert_false(match((struct qfilter){ .sender = "<>", .state = -1 }));
	assert_true(match((struct qfilter){ .domain = "REMOTE.test", .state = -1 }));
	/* delivered recipients no longer count for --domain */
	assert_false(match((struct qfilter){ .domain = "done.test", .state = -1 }));
	assert_true(match((struct qfilter){ .older_ms = 30 * MIN, .state = -1 }));
	assert_false(match((struct qfilter){ .older_ms = 31 * MIN, .state = -1 }));
	assert_true(match((struct qfilter){ .newer_ms = 31 * MIN, .state = -1 }));
	assert_false(match((struct qfilter){ .newer_ms = 30 * MIN, .state = -1 }));
	assert_true(match((struct qfilter){ .state = RS_HELD }));
	assert_false(match((struct qfilter){ .state = RS_BOUNCED }));
	/* every set field must hold */
	assert_false(match((struct qfilter){ .sender = "@example.test", .state = RS_BOUNCED }));
	msg.sender[0] = '\0';
	assert_true(match((struct qfilter){ .sender = "<>", .state = -1 }));
	assert_false(match((struct qfilter){ .sender = "@example.test", .state = -1 }));
	int st;
	assert_true(qfilter_state("held", &st) && st == RS_HELD);
	assert_false(qfilter_state("frozen", &st));
}

/* What was written to f (a tmpfile), as a malloc'd string; closes f. */
static char *slurp(FILE *f)
{
	long len = ftell(f);
	char *buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static char *capture(void (*fn)(FILE *, const struct qmsg *))
{
	FILE *f = tmpfile();
	fn(f, &msg);
	return slurp(f);
}

static char *json_of(const char *s)
{
	FILE *f = tmpfile();
	json_string(f, s);
	return slurp(f);
}

static void test_json_strings(void **state)
{
	(void)state;
	char *s = json_of("a\"b\\c\n\x01");
	assert_string_equal(s, "\"a\\\"b\\\\c\\u000a\\u0001\"");
	free(s);
	s = json_of("plain a@b.test\x7f, \"q\" end");
	assert_string_equal(s, "\"plain a@b.test\\u007f, \\\"q\\\" end\"");
	free(s);
	s = json_of("");
	assert_string_equal(s, "\"\"");
	free(s);
	s = json_of("J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\xa8");
	assert_string_equal(s, "\"J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\xa8\"");
	free(s);
	/* invalid UTF-8: a lone continuation, an overlong form, a surrogate, a cut sequence */
	s = json_of("\x80x\xc0\xafy\xed\xa0\x80z\xe2\x82");
	assert_string_equal(s, "\"\\ufffdx\\ufffd\\ufffdy\\ufffd\\ufffd\\ufffdz\\ufffd\\ufffd\"");
	free(s);
}

static void test_text_and_json_listing(void **state)
{
	(void)state;
	setup_msg();
	char *t = capture(qshow_text);
	/* one line; the remote reply's escape sequence cannot reach a terminal */
	assert_non_null(strstr(t, "1A2B3C4D5E6F7081     1234 "));
	assert_non_null(strstr(t, "<Alice@Example.test> bob@remote.test deferred (451 4.7.1 later?[2J); "
	    "carol@done.test delivered; dave@example.test held\n"));
	assert_null(strchr(t, '\x1b'));
	assert_int_equal(strchr(t, '\n') - t + 1, (long)strlen(t));
	free(t);
	char *j = capture(qshow_json);
	assert_non_null(strstr(j, "\"id\":\"1A2B3C4D5E6F7081\",\"size\":1234,"));
	assert_non_null(strstr(j, "\"last_error\":\"451 4.7.1 later\\u001b[2J\""));
	assert_non_null(strstr(j, "\"state\":\"held\",\"attempts\":0,\"next_try\":null"));
	free(j);
	char *m = capture(qshow_mailq);
	/* held, nothing else waiting: not marked '!' (bob is still deferred) */
	assert_non_null(strstr(m, "1A2B3C4D5E6F7081      1234 "));
	assert_null(strstr(m, "carol@done.test"));
	free(m);
	rcpts[0].state = RS_BOUNCED;
	m = capture(qshow_mailq);
	assert_non_null(strstr(m, "1A2B3C4D5E6F7081!"));
	free(m);
}

static void test_shape_buckets(void **state)
{
	(void)state;
	setup_msg();
	struct shape *s = shape_new();
	assert_non_null(s);
	uint64_t ages[] = { 0, 4 * MIN, 5 * MIN, 19 * MIN, 1279 * MIN, 1280 * MIN, 100000 * MIN };
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		msg.arrival_ms = NOW - ages[i];
		shape_add(s, &msg, NOW);
	}
	FILE *f = tmpfile();
	shape_print(f, s, true, 0);
	char *buf = slurp(f);
	/* bob (remote.test) and dave (local) per message; carol is delivered */
	assert_non_null(strstr(buf, "\"total\":14,\"by_age\":[4,2,2,0,0,0,0,0,2,4]"));
	assert_non_null(strstr(buf, "{\"domain\":\"(local)\",\"total\":7,\"by_age\":[2,1,1,0,0,0,0,0,1,2]}"));
	assert_non_null(strstr(buf, "{\"domain\":\"remote.test\",\"total\":7,"));
	free(buf);
	shape_free(s);
}

static void test_shape_many_domains(void **state)
{
	(void)state;
	setup_msg();
	struct shape *s = shape_new();
	rcpts[2].state = RS_DELIVERED;
	for (int i = 0; i < 5000; i++) {
		snprintf(rcpts[0].addr, sizeof(rcpts[0].addr), "x@d%d.test", i % 2500);
		shape_add(s, &msg, NOW);
	}
	FILE *f = tmpfile();
	shape_print(f, s, false, 3);
	char *buf = slurp(f);
	/* header, TOTAL, then the top three */
	int lines = 0;
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 5);
	assert_non_null(strstr(buf, "TOTAL   5000"));
	free(buf);
	shape_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_text_and_json_listing),
		cmocka_unit_test(test_shape_buckets),
		cmocka_unit_test(test_shape_many_domains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
