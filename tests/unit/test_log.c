/*
 * test_log.c: every log line is one line: control characters from peers
 * are replaced, and a line too long for the buffer is marked as cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"

static void test_control_characters(void **state)
{
	(void)state;
	char line[64];
	int n = snprintf(line, sizeof(line), "helo=%s", "evil\nQID: to=<x>, status=sent\r\x1b[2J\x7f");
	log_clean(line, sizeof(line), n);
	assert_string_equal(line, "helo=evil?QID: to=<x>, status=sent??[2J?");
	/* UTF-8 is left alone */
	n = snprintf(line, sizeof(line), "from=<j\xc3\xbcrgen@example.test>");
	log_clean(line, sizeof(line), n);
	assert_string_equal(line, "from=<j\xc3\xbcrgen@example.test>");
}

static void test_cut_lines_say_so(void **state)
{
	(void)state;
	char line[16];
	/* as vlog does: the buffer holds what fitted, wanted says how much was meant */
	memcpy(line, "0123456789abcde", 16);
	log_clean(line, sizeof(line), 20);
	assert_string_equal(line, "0123456789ab...");
	memcpy(line, "0123456789abcde", 16);
	log_clean(line, sizeof(line), 15);
	assert_string_equal(line, "0123456789abcde");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_cut_lines_say_so),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
