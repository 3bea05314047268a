/*
 * test_pop3_parse.c: unit tests for pop3d/pop3_parse.c: command
 * keywords and their case (pop3_parse), USER/PASS/APOP/AUTH taking the
 * rest of the line, commands that take no argument, LIST/UIDL with an
 * optional message number, RETR/DELE/TOP numbers, number edge cases,
 * unknown keywords, NUL bytes, the length limit, pop3_cmd_name, and
 * the AUTH argument (pop3_parse_auth: mechanism names, the initial
 * response, spaces, bytes that are not allowed, limits).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pop3_parse.h"

static enum pop3_parse_err parse(const char *line, struct pop3_command *c)
{
	return pop3_parse(line, strlen(line), c);
}

static void parse_err(const char *line, enum pop3_parse_err want)
{
	struct pop3_command c;
	enum pop3_parse_err e = parse(line, &c);
	if (e != want)
		print_error("'%s': got %d, want %d\n", line, e, want);
	assert_int_equal(e, want);
}

/* Expects line to parse OK as cmd, with no argument and no number. */
static void plain_ok(const char *line, enum pop3_cmd cmd)
{
	struct pop3_command c;
	enum pop3_parse_err e = parse(line, &c);
	if (e != P3E_OK)
		print_error("'%s': error %d\n", line, e);
	assert_int_equal(e, P3E_OK);
	assert_int_equal(c.cmd, cmd);
	assert_null(c.arg);
	assert_int_equal(c.arglen, 0);
	assert_false(c.has_msg);
	assert_int_equal(c.msg, 0);
	assert_int_equal(c.lines, 0);
}

/* Expects line to parse OK as cmd with exactly the argument arg, which
 * points into the line. */
static void arg_ok(const char *line, enum pop3_cmd cmd, const char *arg)
{
	struct pop3_command c;
	enum pop3_parse_err e = parse(line, &c);
	if (e != P3E_OK)
		print_error("'%s': error %d\n", line, e);
	assert_int_equal(e, P3E_OK);
	assert_int_equal(c.cmd, cmd);
	assert_non_null(c.arg);
	assert_int_equal(c.arglen, strlen(arg));
	assert_memory_equal(c.arg, arg, c.arglen);
	assert_true(c.arg >= line && c.arg + c.arglen <= line + strlen(line));
	assert_false(c.has_msg);
}

/* Expects line to parse OK as cmd with message number msg (and lines). */
static void msg_ok(const char *line, enum pop3_cmd cmd, uint32_t msg, uint32_t lines)
{
	struct pop3_command c;
	enum pop3_parse_err e = parse(line, &c);
	if (e != P3E_OK)
		print_error("'%s': error %d\n", line, e);
	assert_int_equal(e, P3E_OK);
	assert_int_equal(c.cmd, cmd);
	assert_true(c.has_msg);
	assert_int_equal(c.msg, msg);
	assert_int_equal(c.lines, lines);
	assert_null(c.arg);
}

static void test_keywords(void **state)
{
	(void)state;
	plain_ok("QUIT", P3_QUIT);
	plain_ok("STAT", P3_STAT);
	plain_ok("NOOP", P3_NOOP);
	plain_ok("RSET", P3_RSET);
	plain_ok("CAPA", P3_CAPA);
	plain_ok("STLS", P3_STLS);
	plain_ok("LIST", P3_LIST);
	plain_ok("UIDL", P3_UIDL);
	plain_ok("AUTH", P3_AUTH);
	arg_ok("USER alice", P3_USER, "alice");
	arg_ok("PASS secret", P3_PASS, "secret");
	arg_ok("APOP alice c4c9334bac560ecc979e58001b3e22fb", P3_APOP,
	    "alice c4c9334bac560ecc979e58001b3e22fb");
	arg_ok("AUTH PLAIN", P3_AUTH, "PLAIN");
	msg_ok("RETR 1", P3_RETR, 1, 0);
	msg_ok("DELE 2", P3_DELE, 2, 0);
	msg_ok("TOP 3 10", P3_TOP, 3, 10);
	msg_ok("LIST 4", P3_LIST, 4, 0);
	msg_ok("UIDL 5", P3_UIDL, 5, 0);
}

static void test_case(void **state)
{
	(void)state;
	plain_ok("stat", P3_STAT);
	plain_ok("StAt", P3_STAT);
	plain_ok("quit", P3_QUIT);
	plain_ok("Noop", P3_NOOP);
	plain_ok("rset", P3_RSET);
	plain_ok("capa", P3_CAPA);
	plain_ok("sTlS", P3_STLS);
	plain_ok("list", P3_LIST);
	plain_ok("uidl", P3_UIDL);
	arg_ok("user alice", P3_USER, "alice");
	arg_ok("pAsS Secret", P3_PASS, "Secret");
	arg_ok("apop a b", P3_APOP, "a b");
	msg_ok("retr 7", P3_RETR, 7, 0);
	msg_ok("dele 7", P3_DELE, 7, 0);
	msg_ok("top 7 1", P3_TOP, 7, 1);
	msg_ok("ToP 7 1", P3_TOP, 7, 1);
}

static void test_user_pass(void **state)
{
	(void)state;
	/* the rest of the line, spaces and all */
	arg_ok("PASS a b c", P3_PASS, "a b c");
	arg_ok("PASS  leading", P3_PASS, " leading");
	arg_ok("PASS trailing ", P3_PASS, "trailing ");
	arg_ok("PASS tab\there", P3_PASS, "tab\there");
	arg_ok("USER alice@example.test", P3_USER, "alice@example.test");
	arg_ok("USER a b", P3_USER, "a b");
	/* no argument */
	parse_err("USER", P3E_SYNTAX);
	parse_err("PASS", P3E_SYNTAX);
	parse_err("USER ", P3E_SYNTAX);
	parse_err("PASS ", P3E_SYNTAX);
	parse_err("APOP", P3E_SYNTAX);
	/* on a syntax error the command is still known (pop3d picks its reply) */
	struct pop3_command c;
	assert_int_equal(parse("PASS", &c), P3E_SYNTAX);
	assert_int_equal(c.cmd, P3_PASS);
	assert_int_equal(parse("USER", &c), P3E_SYNTAX);
	assert_int_equal(c.cmd, P3_USER);

	/* only len bytes are the line */
	const char *line = "PASS secretXXXX";
	assert_int_equal(pop3_parse(line, 11, &c), P3E_OK);
	assert_int_equal(c.arglen, 6);
	assert_memory_equal(c.arg, "secret", 6);
	assert_ptr_equal(c.arg, line + 5);
}

static void test_no_argument(void **state)
{
	(void)state;
	const char *bad[] = { "QUIT x", "STAT 1", "NOOP x", "RSET 1", "CAPA x", "STLS x",
		"quit now", "STAT  1 ", "NOOP a b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_err(bad[i], P3E_SYNTAX);
	/* trailing spaces are not an argument */
	plain_ok("QUIT ", P3_QUIT);
	plain_ok("STAT   ", P3_STAT);
	plain_ok("NOOP ", P3_NOOP);
}

static void test_list_uidl(void **state)
{
	(void)state;
	plain_ok("LIST", P3_LIST);
	plain_ok("LIST ", P3_LIST);
	plain_ok("UIDL", P3_UIDL);
	plain_ok("UIDL  ", P3_UIDL);
	msg_ok("LIST 1", P3_LIST, 1, 0);
	msg_ok("LIST 42", P3_LIST, 42, 0);
	msg_ok("UIDL 1", P3_UIDL, 1, 0);
	msg_ok("UIDL 4294967295", P3_UIDL, 4294967295u, 0);
	msg_ok("LIST  3 ", P3_LIST, 3, 0);
	parse_err("LIST 0", P3E_SYNTAX);
	parse_err("UIDL 0", P3E_SYNTAX);
	parse_err("LIST 1 2", P3E_SYNTAX);
	parse_err("UIDL 1 2", P3E_SYNTAX);
	parse_err("LIST x", P3E_SYNTAX);
	parse_err("UIDL 4294967296", P3E_SYNTAX);
}

static void test_retr_dele_top(void **state)
{
	(void)state;
	msg_ok("RETR 1", P3_RETR, 1, 0);
	msg_ok("RETR 4294967295", P3_RETR, 4294967295u, 0);
	msg_ok("DELE 99", P3_DELE, 99, 0);
	const char *bad[] = { "RETR", "RETR ", "DELE", "DELE  ", "RETR 1 2", "DELE 1 2",
		"RETR 0", "DELE 0", "RETR x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_err(bad[i], P3E_SYNTAX);

	msg_ok("TOP 1 0", P3_TOP, 1, 0);
	msg_ok("TOP 1 5", P3_TOP, 1, 5);
	msg_ok("TOP  2   3  ", P3_TOP, 2, 3);
	msg_ok("TOP 4294967295 4294967295", P3_TOP, 4294967295u, 4294967295u);
	const char *badtop[] = { "TOP", "TOP 1", "TOP 1 ", "TOP 0 5", "TOP 1 2 3",
		"TOP 1 -1", "TOP 1 x", "TOP x 1", "TOP 1 4294967296", "TOP 4294967296 1" };
	for (size_t i = 0; i < sizeof(badtop) / sizeof(badtop[0]); i++)
		parse_err(badtop[i], P3E_SYNTAX);
}

static void test_numbers(void **state)
{
	(void)state;
	msg_ok("RETR 4294967295", P3_RETR, 4294967295u, 0);
	msg_ok("RETR 0000000001", P3_RETR, 1, 0);
	msg_ok("RETR 007", P3_RETR, 7, 0);
	/* leading and trailing spaces around the number are tolerated */
	msg_ok("RETR  5", P3_RETR, 5, 0);
	msg_ok("RETR 5 ", P3_RETR, 5, 0);
	msg_ok("RETR   5   ", P3_RETR, 5, 0);
	const char *bad[] = { "RETR 0", "RETR 00", "RETR 4294967296", "RETR 9999999999",
		"RETR 18446744073709551617", "RETR 00000000001", "RETR +1", "RETR -1",
		"RETR 1x", "RETR x1", "RETR 0x1", "RETR 1.0", "RETR 1\t", "RETR \t1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_err(bad[i], P3E_SYNTAX);
}

static void test_unknown(void **state)
{
	(void)state;
	const char *bad[] = { "XYZ", "STATS", "", " ", " STAT", "STA", "TOPS 1 1", "USERS alice",
		"RETR1", "STAT\t", "QUIT\r", "XTND XMIT", "\xc3\xa9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_err(bad[i], P3E_UNKNOWN);
	struct pop3_command c;
	assert_int_equal(pop3_parse("", 0, &c), P3E_UNKNOWN);
}

static void test_nul(void **state)
{
	(void)state;
	struct pop3_command c;
	assert_int_equal(pop3_parse("USER a\0b", 8, &c), P3E_SYNTAX);
	assert_int_equal(pop3_parse("PASS \0", 6, &c), P3E_SYNTAX);
	assert_int_equal(pop3_parse("PASS secret\0", 12, &c), P3E_SYNTAX);
	assert_int_equal(pop3_parse("STAT \0", 6, &c), P3E_SYNTAX);
	assert_int_equal(pop3_parse("RETR 1\0", 7, &c), P3E_SYNTAX);
	assert_int_equal(pop3_parse("TOP 1 \0 2", 9, &c), P3E_SYNTAX);
	assert_int_equal(pop3_parse("AUTH \0", 6, &c), P3E_SYNTAX);
	/* a NUL in the keyword makes it no keyword at all; never OK */
	assert_int_not_equal(pop3_parse("STAT\0", 5, &c), P3E_OK);
	assert_int_not_equal(pop3_parse("ST\0T", 4, &c), P3E_OK);
	assert_int_not_equal(pop3_parse("\0", 1, &c), P3E_OK);
}

static void test_length(void **state)
{
	(void)state;
	char line[POP3_LINE_MAX + 2];
	struct pop3_command c;
	memcpy(line, "PASS ", 5);
	memset(line + 5, 'p', sizeof(line) - 5);
	assert_int_equal(pop3_parse(line, POP3_LINE_MAX, &c), P3E_OK);
	assert_int_equal(c.cmd, P3_PASS);
	assert_int_equal(c.arglen, POP3_LINE_MAX - 5);
	assert_int_equal(pop3_parse(line, POP3_LINE_MAX + 1, &c), P3E_SYNTAX);
	assert_int_equal(pop3_parse(line, POP3_LINE_MAX + 2, &c), P3E_SYNTAX);

	memcpy(line, "STAT ", 5);
	memset(line + 5, ' ', sizeof(line) - 5);
	assert_int_equal(pop3_parse(line, POP3_LINE_MAX, &c), P3E_OK);
	assert_int_equal(c.cmd, P3_STAT);
	assert_int_equal(pop3_parse(line, POP3_LINE_MAX + 1, &c), P3E_SYNTAX);
	/* even an unknown keyword over the limit is a syntax error */
	memset(line, 'X', sizeof(line));
	assert_int_equal(pop3_parse(line, POP3_LINE_MAX, &c), P3E_UNKNOWN);
	assert_int_equal(pop3_parse(line, POP3_LINE_MAX + 1, &c), P3E_SYNTAX);
}

static void test_cmd_name(void **state)
{
	(void)state;
	const enum pop3_cmd all[] = { P3_USER, P3_PASS, P3_QUIT, P3_STAT, P3_LIST, P3_RETR,
		P3_DELE, P3_NOOP, P3_RSET, P3_TOP, P3_UIDL, P3_CAPA, P3_APOP, P3_AUTH, P3_STLS };
	const char *names[] = { "USER", "PASS", "QUIT", "STAT", "LIST", "RETR",
		"DELE", "NOOP", "RSET", "TOP", "UIDL", "CAPA", "APOP", "AUTH", "STLS" };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *n = pop3_cmd_name(all[i]);
		assert_string_equal(n, names[i]);
		/* the name parses back to the same command (OK or SYNTAX, never UNKNOWN) */
		struct pop3_command c;
		enum pop3_parse_err e = pop3_parse(n, strlen(n), &c);
		assert_int_not_equal(e, P3E_UNKNOWN);
		assert_int_equal(c.cmd, all[i]);
		char lower[8];
		size_t l = strlen(n);
		for (size_t j = 0; j <= l; j++)
			lower[j] = (char)(n[j] >= 'A' && n[j] <= 'Z' ? n[j] + 32 : n[j]);
		e = pop3_parse(lower, l, &c);
		assert_int_not_equal(e, P3E_UNKNOWN);
		assert_int_equal(c.cmd, all[i]);
	}
	assert_string_equal(pop3_cmd_name((enum pop3_cmd)99), "?");
}

/* Expects arg to parse as mech (PLAIN or OTHER, named name) with the
 * initial response ir (NULL: none), both pointing into arg. */
static void auth_ok(const char *arg, enum pop3_mech mech, const char *name, const char *ir)
{
	struct pop3_auth a;
	size_t len = strlen(arg);
	if (!pop3_parse_auth(arg, len, &a))
		print_error("'%s': refused\n", arg);
	assert_true(pop3_parse_auth(arg, len, &a));
	assert_int_equal(a.mech, mech);
	assert_int_equal(a.mech_len, strlen(name));
	assert_memory_equal(a.mech_name, name, a.mech_len);
	assert_true(a.mech_name >= arg && a.mech_name + a.mech_len <= arg + len);
	if (ir == NULL) {
		assert_null(a.ir);
		assert_int_equal(a.irlen, 0);
	} else {
		assert_non_null(a.ir);
		assert_int_equal(a.irlen, strlen(ir));
		assert_memory_equal(a.ir, ir, a.irlen);
		assert_true(a.ir > a.mech_name && a.ir + a.irlen <= arg + len);
	}
}

static void auth_bad(const char *arg, size_t len)
{
	struct pop3_auth a;
	memset(&a, 0x55, sizeof(a));
	if (pop3_parse_auth(arg, len, &a))
		print_error("'%.*s': accepted\n", (int)len, arg);
	assert_false(pop3_parse_auth(arg, len, &a));
	/* nothing left pointing anywhere */
	assert_null(a.mech_name);
	assert_null(a.ir);
	assert_int_equal(a.mech_len, 0);
	assert_int_equal(a.irlen, 0);
}

static void test_auth_arg(void **state)
{
	(void)state;
	auth_ok("PLAIN", P3M_PLAIN, "PLAIN", NULL);
	auth_ok("plain", P3M_PLAIN, "plain", NULL);
	auth_ok("PlAiN", P3M_PLAIN, "PlAiN", NULL);
	auth_ok("PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=", P3M_PLAIN, "PLAIN",
	    "AGFsaWNlAHdvbmRlcmxhbmQ=");
	/* "=" is an empty response, "*" a cancel: both are sasl_decode's */
	auth_ok("PLAIN =", P3M_PLAIN, "PLAIN", "=");
	auth_ok("PLAIN *", P3M_PLAIN, "PLAIN", "*");
	/* not base64 is still one word here; sasl_decode refuses it */
	auth_ok("PLAIN !!!!", P3M_PLAIN, "PLAIN", "!!!!");
	auth_ok("LOGIN", P3M_OTHER, "LOGIN", NULL);
	auth_ok("CRAM-MD5", P3M_OTHER, "CRAM-MD5", NULL);
	auth_ok("X_OAUTH2 abc", P3M_OTHER, "X_OAUTH2", "abc");
	auth_ok("PLAINX", P3M_OTHER, "PLAINX", NULL);
	auth_ok("PLAI", P3M_OTHER, "PLAI", NULL);
	auth_ok("SCRAM-SHA-256-PLUS", P3M_OTHER, "SCRAM-SHA-256-PLUS", NULL);
	auth_ok("ABCDEFGHIJKLMNOPQRST", P3M_OTHER, "ABCDEFGHIJKLMNOPQRST", NULL); /* 20 */
	/* spaces around and between the words */
	auth_ok(" PLAIN", P3M_PLAIN, "PLAIN", NULL);
	auth_ok("PLAIN ", P3M_PLAIN, "PLAIN", NULL);
	auth_ok("PLAIN   dGVzdA==  ", P3M_PLAIN, "PLAIN", "dGVzdA==");

	auth_bad("", 0);
	auth_bad(" ", 1);
	auth_bad("   ", 3);
	auth_bad("ABCDEFGHIJKLMNOPQRSTU", 21); /* 21 characters */
	auth_bad("PLAIN a b", 9);
	auth_bad("PLAIN a =", 9);
	auth_bad("PL@IN", 5);
	auth_bad("PLAIN.", 6);
	auth_bad("PLAIN\tabc", 9);
	auth_bad("\tPLAIN", 6);
	auth_bad("PLAIN ab\tc", 10);
	auth_bad("PLAIN ab\x7f", 9);
	auth_bad("PLAIN \xc3\xa9", 8);
	auth_bad("PL\xc3\x81IN", 6);
	auth_bad("PLAIN a\rb", 9);
	auth_bad("PLAIN a\0b", 9);
	auth_bad("PLA\0N", 5);
	/* only len bytes count */
	struct pop3_auth a;
	assert_true(pop3_parse_auth("PLAIN abc def", 9, &a));
	assert_int_equal(a.mech, P3M_PLAIN);
	assert_int_equal(a.irlen, 3);
	assert_memory_equal(a.ir, "abc", 3);
	assert_true(pop3_parse_auth("PLAINFOO", 5, &a));
	assert_int_equal(a.mech, P3M_PLAIN);

	/* the argument of a whole AUTH line, as pop3_parse hands it over */
	struct pop3_command c;
	const char *line = "auth plain AGFsaWNlAHdvbmRlcmxhbmQ=";
	assert_int_equal(pop3_parse(line, strlen(line), &c), P3E_OK);
	assert_int_equal(c.cmd, P3_AUTH);
	assert_true(pop3_parse_auth(c.arg, c.arglen, &a));
	assert_int_equal(a.mech, P3M_PLAIN);
	assert_ptr_equal(a.ir, line + 11);
	assert_int_equal(a.irlen, strlen(line) - 11);
}

static void test_auth_arg_length(void **state)
{
	(void)state;
	char arg[POP3_LINE_MAX + 2];
	struct pop3_auth a;
	memcpy(arg, "PLAIN ", 6);
	memset(arg + 6, 'A', sizeof(arg) - 6);
	assert_true(pop3_parse_auth(arg, POP3_LINE_MAX, &a));
	assert_int_equal(a.irlen, POP3_LINE_MAX - 6);
	assert_false(pop3_parse_auth(arg, POP3_LINE_MAX + 1, &a));
	memset(arg, 'A', sizeof(arg));
	for (size_t n = 1; n <= POP3_MECH_MAX + 2; n++) {
		bool ok = pop3_parse_auth(arg, n, &a);
		assert_int_equal(ok, n <= POP3_MECH_MAX);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_user_pass),
		cmocka_unit_test(test_no_argument),
		cmocka_unit_test(test_list_uidl),
		cmocka_unit_test(test_retr_dele_top),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_cmd_name),
		cmocka_unit_test(test_auth_arg),
		cmocka_unit_test(test_auth_arg_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
