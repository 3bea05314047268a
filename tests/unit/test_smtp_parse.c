/*
 * test_smtp_parse.c: unit tests for smtpd/smtp_parse.c: command lines
 * (smtp_cmd_parse: verbs, case, arguments, NUL), MAIL FROM arguments
 * (smtp_parse_mail: null path, SIZE, BODY, SMTPUTF8, unknown and
 * malformed parameters), RCPT TO arguments (smtp_parse_rcpt:
 * <Postmaster>, SMTPUTF8, no parameters) and EHLO/HELO arguments
 * (smtp_parse_helo).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtp_parse.h"

static enum smtp_perr cmd(const char *line, struct smtp_cmd *c)
{
	return smtp_cmd_parse(line, strlen(line), c);
}

/* Expects line to parse OK as verb with exactly the argument arg. */
static void cmd_ok(const char *line, enum smtp_verb verb, const char *arg)
{
	struct smtp_cmd c;
	enum smtp_perr e = cmd(line, &c);
	if (e != SP_OK)
		print_error("'%s': error %d\n", line, e);
	assert_int_equal(e, SP_OK);
	assert_int_equal(c.verb, verb);
	assert_int_equal(c.arglen, strlen(arg));
	assert_memory_equal(c.arg, arg, c.arglen);
	/* the argument points into the line */
	assert_true(c.arg >= line && c.arg + c.arglen <= line + strlen(line));
}

static void cmd_err(const char *line, enum smtp_perr want)
{
	struct smtp_cmd c;
	enum smtp_perr e = cmd(line, &c);
	if (e != want)
		print_error("'%s': got %d, want %d\n", line, e, want);
	assert_int_equal(e, want);
}

static void test_verbs(void **state)
{
	(void)state;
	cmd_ok("HELO example.com", SMTP_HELO, "example.com");
	cmd_ok("EHLO example.com", SMTP_EHLO, "example.com");
	cmd_ok("ehlo example.com", SMTP_EHLO, "example.com");
	cmd_ok("EhLo [192.0.2.1]", SMTP_EHLO, "[192.0.2.1]");
	cmd_ok("MAIL FROM:<a@b>", SMTP_MAIL, "<a@b>");
	cmd_ok("mail from:<a@b>", SMTP_MAIL, "<a@b>");
	cmd_ok("MAIL From:<>", SMTP_MAIL, "<>");
	cmd_ok("RCPT TO:<a@b>", SMTP_RCPT, "<a@b>");
	cmd_ok("rcpt to:<Postmaster>", SMTP_RCPT, "<Postmaster>");
	cmd_ok("DATA", SMTP_DATA, "");
	cmd_ok("data", SMTP_DATA, "");
	cmd_ok("RSET", SMTP_RSET, "");
	cmd_ok("NOOP", SMTP_NOOP, "");
	cmd_ok("NOOP anything at all", SMTP_NOOP, "anything at all");
	cmd_ok("QUIT", SMTP_QUIT, "");
	cmd_ok("VRFY alice", SMTP_VRFY, "alice");
	cmd_ok("VRFY", SMTP_VRFY, "");
	cmd_ok("EXPN list", SMTP_EXPN, "list");
	cmd_ok("HELP", SMTP_HELP, "");
	cmd_ok("HELP MAIL", SMTP_HELP, "MAIL");
	cmd_ok("STARTTLS", SMTP_STARTTLS, "");
	cmd_ok("AUTH PLAIN AGFsaWNlAHNlY3JldA==", SMTP_AUTH, "PLAIN AGFsaWNlAHNlY3JldA==");
	cmd_ok("BDAT 100 LAST", SMTP_BDAT, "100 LAST");
}

static void test_arguments(void **state)
{
	(void)state;
	/* extra spaces around the argument, and trailing tabs, are dropped */
	cmd_ok("EHLO   example.com  ", SMTP_EHLO, "example.com");
	cmd_ok("EHLO example.com\t", SMTP_EHLO, "example.com");
	cmd_ok("DATA   ", SMTP_DATA, "");
	cmd_ok("QUIT \t", SMTP_QUIT, "");
	cmd_ok("NOOP a  b", SMTP_NOOP, "a  b");
	/* a space after the colon is common and allowed */
	cmd_ok("MAIL FROM: <a@b>", SMTP_MAIL, "<a@b>");
	cmd_ok("RCPT TO:   <a@b> ", SMTP_RCPT, "<a@b>");
	cmd_ok("MAIL  FROM:<a@b>", SMTP_MAIL, "<a@b>");
	cmd_ok("MAIL FROM:<a@b> SIZE=10 BODY=8BITMIME", SMTP_MAIL, "<a@b> SIZE=10 BODY=8BITMIME");
	/* the verb ends at a space: the argument keeps its inner text */
	cmd_ok("RCPT TO:<a b@c>", SMTP_RCPT, "<a b@c>");
}

static void test_cmd_errors(void **state)
{
	(void)state;
	cmd_err("", SP_UNKNOWN_VERB);
	cmd_err(" ", SP_UNKNOWN_VERB);
	cmd_err(" HELO x", SP_UNKNOWN_VERB);
	cmd_err("FOO", SP_UNKNOWN_VERB);
	cmd_err("HELOX x", SP_UNKNOWN_VERB);
	cmd_err("HEL", SP_UNKNOWN_VERB);
	cmd_err("HELO\tx", SP_UNKNOWN_VERB);
	cmd_err("MAILFROM:<a@b>", SP_UNKNOWN_VERB);
	cmd_err("DATA\r", SP_UNKNOWN_VERB);
	cmd_err("GET / HTTP/1.1", SP_UNKNOWN_VERB);
	cmd_err("STARTTLSX", SP_UNKNOWN_VERB);
	cmd_err("\xc3\x89HLO x", SP_UNKNOWN_VERB);

	cmd_err("HELO", SP_SYNTAX);
	cmd_err("EHLO", SP_SYNTAX);
	cmd_err("EHLO    ", SP_SYNTAX);
	cmd_err("DATA x", SP_SYNTAX);
	cmd_err("RSET x", SP_SYNTAX);
	cmd_err("QUIT now", SP_SYNTAX);
	cmd_err("STARTTLS x", SP_SYNTAX);
	cmd_err("MAIL", SP_SYNTAX);
	cmd_err("MAIL FROM:", SP_SYNTAX);
	cmd_err("MAIL FROM: ", SP_SYNTAX);
	cmd_err("MAIL FROM", SP_SYNTAX);
	cmd_err("MAIL TO:<a@b>", SP_SYNTAX);
	cmd_err("MAIL <a@b>", SP_SYNTAX);
	cmd_err("MAIL FRO:<a@b>", SP_SYNTAX);
	cmd_err("RCPT", SP_SYNTAX);
	cmd_err("RCPT TO:", SP_SYNTAX);
	cmd_err("RCPT FROM:<a@b>", SP_SYNTAX);
	cmd_err("RCPT T:<a@b>", SP_SYNTAX);

	/* NUL anywhere, even after a good command */
	struct smtp_cmd c;
	assert_int_equal(smtp_cmd_parse("QUIT\0", 5, &c), SP_NUL);
	assert_int_equal(smtp_cmd_parse("\0QUIT", 5, &c), SP_NUL);
	assert_int_equal(smtp_cmd_parse("MAIL FROM:<a\0@b>", 16, &c), SP_NUL);
	assert_int_equal(smtp_cmd_parse("\0", 1, &c), SP_NUL);
	/* only len bytes are looked at */
	assert_int_equal(smtp_cmd_parse("QUITTER", 4, &c), SP_OK);
	assert_int_equal(c.verb, SMTP_QUIT);
}

static enum smtp_arg_err mail(const char *arg, struct mail_params *mp, enum addr_err *ae)
{
	*ae = ADDR_OK;
	return smtp_parse_mail(arg, strlen(arg), mp, ae);
}

static void test_mail_basic(void **state)
{
	(void)state;
	struct mail_params mp;
	enum addr_err ae;

	assert_int_equal(mail("<alice@example.com>", &mp, &ae), SA_OK);
	assert_int_equal(ae, ADDR_OK);
	assert_string_equal(mp.addr.local, "alice");
	assert_string_equal(mp.addr.domain, "example.com");
	assert_false(mp.addr.null);
	assert_false(mp.has_size);
	assert_int_equal(mp.size, 0);
	assert_int_equal(mp.body, BODY_7BIT);
	assert_false(mp.smtputf8);

	assert_int_equal(mail("<>", &mp, &ae), SA_OK);
	assert_true(mp.addr.null);
	assert_int_equal(mail("<> SIZE=0", &mp, &ae), SA_OK);
	assert_true(mp.addr.null);
	assert_true(mp.has_size);

	/* the source route is dropped */
	assert_int_equal(mail("<@relay.example:alice@example.com>", &mp, &ae), SA_OK);
	assert_string_equal(mp.addr.local, "alice");

	/* address errors come back as SA_ADDR with the reason */
	assert_int_equal(mail("alice@example.com", &mp, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_SYNTAX);
	assert_int_equal(mail("<alice>", &mp, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_SYNTAX);
	assert_int_equal(mail("<Postmaster>", &mp, &ae), SA_ADDR);
	assert_int_equal(mail("<alice@example.com>SIZE=1", &mp, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_SYNTAX);
	assert_int_equal(mail("<alice@example.com>>", &mp, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_SYNTAX);
	assert_int_equal(mail("<j\xc3\xb6rg@example.com>", &mp, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_8BIT);
	char local[100];
	memset(local, 'x', 65);
	local[65] = '\0';
	char arg[200];
	snprintf(arg, sizeof(arg), "<%s@example.com>", local);
	assert_int_equal(mail(arg, &mp, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_LOCAL_TOO_LONG);
	assert_int_equal(mail("", &mp, &ae), SA_ADDR);
}

static void test_mail_size(void **state)
{
	(void)state;
	struct mail_params mp;
	enum addr_err ae;

	assert_int_equal(mail("<a@b> SIZE=12345", &mp, &ae), SA_OK);
	assert_true(mp.has_size);
	assert_int_equal(mp.size, 12345);
	assert_int_equal(mail("<a@b> size=1", &mp, &ae), SA_OK);
	assert_int_equal(mp.size, 1);
	assert_int_equal(mail("<a@b> SIZE=0", &mp, &ae), SA_OK);
	assert_true(mp.has_size);
	assert_int_equal(mp.size, 0);
	assert_int_equal(mail("<a@b> SIZE=18446744073709551615", &mp, &ae), SA_OK);
	assert_int_equal(mp.size, UINT64_MAX);
	assert_int_equal(mail("<a@b> SIZE=00000000000000000001", &mp, &ae), SA_OK);
	assert_int_equal(mp.size, 1);

	const char *bad[] = {
		"<a@b> SIZE", "<a@b> SIZE=", "<a@b> SIZE=abc", "<a@b> SIZE=-1",
		"<a@b> SIZE=+1", "<a@b> SIZE=1k", "<a@b> SIZE=1.0", "<a@b> SIZE=0x10",
		"<a@b> SIZE=18446744073709551616", "<a@b> SIZE=100000000000000000000",
		"<a@b> SIZE=1 SIZE=1", "<a@b> SIZE=1 SIZE=2", "<a@b> SIZE==1",
		"<a@b> SIZE=1=2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum smtp_arg_err e = mail(bad[i], &mp, &ae);
		if (e != SA_PARAM_SYNTAX)
			print_error("'%s': %d\n", bad[i], e);
		assert_int_equal(e, SA_PARAM_SYNTAX);
	}
}

static void test_mail_body_utf8(void **state)
{
	(void)state;
	struct mail_params mp;
	enum addr_err ae;

	assert_int_equal(mail("<a@b> BODY=8BITMIME", &mp, &ae), SA_OK);
	assert_int_equal(mp.body, BODY_8BITMIME);
	assert_int_equal(mail("<a@b> body=8bitmime", &mp, &ae), SA_OK);
	assert_int_equal(mp.body, BODY_8BITMIME);
	assert_int_equal(mail("<a@b> BODY=7BIT", &mp, &ae), SA_OK);
	assert_int_equal(mp.body, BODY_7BIT);
	assert_int_equal(mail("<a@b> BODY=BINARYMIME", &mp, &ae), SA_PARAM_SYNTAX);
	assert_int_equal(mail("<a@b> BODY=", &mp, &ae), SA_PARAM_SYNTAX);
	assert_int_equal(mail("<a@b> BODY", &mp, &ae), SA_PARAM_SYNTAX);
	assert_int_equal(mail("<a@b> BODY=8BITMIMEX", &mp, &ae), SA_PARAM_SYNTAX);

	assert_int_equal(mail("<a@b> SMTPUTF8", &mp, &ae), SA_OK);
	assert_true(mp.smtputf8);
	assert_int_equal(mail("<a@b> smtputf8", &mp, &ae), SA_OK);
	assert_true(mp.smtputf8);
	assert_int_equal(mail("<a@b> SMTPUTF8=yes", &mp, &ae), SA_PARAM_SYNTAX);
	assert_int_equal(mail("<a@b> SMTPUTF8=", &mp, &ae), SA_PARAM_SYNTAX);

	/* SMTPUTF8 allows a UTF-8 address, wherever the parameter stands */
	assert_int_equal(mail("<j\xc3\xb6rg@b\xc3\xbc" "cher.example> SMTPUTF8", &mp, &ae), SA_OK);
	assert_true(mp.smtputf8);
	assert_string_equal(mp.addr.local, "j\xc3\xb6rg");
	assert_string_equal(mp.addr.domain, "b\xc3\xbc" "cher.example");
	assert_int_equal(mail("<j\xc3\xb6rg@example.com> SIZE=5 SMTPUTF8 BODY=8BITMIME", &mp, &ae), SA_OK);
	assert_true(mp.smtputf8);
	assert_int_equal(mp.body, BODY_8BITMIME);
	assert_int_equal(mp.size, 5);
	/* words that only look like it do not */
	assert_int_equal(mail("<j\xc3\xb6rg@example.com> XSMTPUTF8", &mp, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_8BIT);
	assert_int_equal(mail("<j\xc3\xb6rg@example.com> SMTPUTF8X", &mp, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_8BIT);
	assert_int_equal(mail("<j\xc3\xb6rg@example.com> SMTPUTF", &mp, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_8BIT);
	/* nor does the word inside the address (a quoted '>' first) */
	assert_int_equal(mail("<\"> SMTPUTF8 \xc3\xb6\"@example.com>", &mp, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_8BIT);
	assert_false(mp.smtputf8);
	/* but a quoted '>' with a real parameter is fine */
	assert_int_equal(mail("<\"> \xc3\xb6\"@example.com> SMTPUTF8", &mp, &ae), SA_OK);
	assert_true(mp.smtputf8);
	assert_string_equal(mp.addr.local, "\"> \xc3\xb6\"");
	/* an ASCII address with a quoted '>' never needed SMTPUTF8 */
	assert_int_equal(mail("<\"> SMTPUTF8 x\"@example.com>", &mp, &ae), SA_OK);
	assert_false(mp.smtputf8);
}

static void test_mail_params(void **state)
{
	(void)state;
	struct mail_params mp;
	enum addr_err ae;

	/* unknown parameters, with or without a value */
	assert_int_equal(mail("<a@b> FOO=bar", &mp, &ae), SA_PARAM_UNKNOWN);
	assert_int_equal(mail("<a@b> FOO", &mp, &ae), SA_PARAM_UNKNOWN);
	assert_int_equal(mail("<a@b> X-FOO=1", &mp, &ae), SA_PARAM_UNKNOWN);
	assert_int_equal(mail("<a@b> SIZE=1 RET=HDRS", &mp, &ae), SA_PARAM_UNKNOWN);
	assert_int_equal(mail("<a@b> AUTH=<>", &mp, &ae), SA_PARAM_UNKNOWN);
	/* the first bad parameter decides */
	assert_int_equal(mail("<a@b> FOO=1 SIZE=x", &mp, &ae), SA_PARAM_UNKNOWN);
	assert_int_equal(mail("<a@b> SIZE=x FOO=1", &mp, &ae), SA_PARAM_SYNTAX);

	/* malformed keywords and values */
	const char *bad[] = {
		"<a@b> =1", "<a@b> -X=1", "<a@b> S_IZE=1", "<a@b> SI.ZE=1",
		"<a@b> FOO=a=b", "<a@b> FOO=\x01", "<a@b> FOO=\x7f", "<a@b> FOO=\xc3\xa9",
		"<a@b> F\xc3\xa9=1", "<a@b> FOO=a\tb", "<a@b> \t",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum smtp_arg_err e = mail(bad[i], &mp, &ae);
		if (e != SA_PARAM_SYNTAX)
			print_error("'%s': %d\n", bad[i], e);
		assert_int_equal(e, SA_PARAM_SYNTAX);
	}

	/* spacing between parameters is lenient; a trailing space is fine */
	assert_int_equal(mail("<a@b>  SIZE=1   BODY=8BITMIME  ", &mp, &ae), SA_OK);
	assert_int_equal(mp.size, 1);
	assert_int_equal(mp.body, BODY_8BITMIME);
	assert_int_equal(mail("<a@b> ", &mp, &ae), SA_OK);
	/* the same parameter twice: SIZE is refused, others are harmless */
	assert_int_equal(mail("<a@b> BODY=7BIT BODY=8BITMIME", &mp, &ae), SA_OK);
	assert_int_equal(mp.body, BODY_8BITMIME);
}

static enum smtp_arg_err rcpt(const char *arg, bool utf8, struct mailaddr *a, enum addr_err *ae)
{
	*ae = ADDR_OK;
	return smtp_parse_rcpt(arg, strlen(arg), utf8, a, ae);
}

static void test_rcpt(void **state)
{
	(void)state;
	struct mailaddr a;
	enum addr_err ae;

	assert_int_equal(rcpt("<bob@Example.COM>", false, &a, &ae), SA_OK);
	assert_string_equal(a.local, "bob");
	assert_string_equal(a.domain, "example.com");
	assert_int_equal(rcpt("<bob@example.com> ", false, &a, &ae), SA_OK);
	assert_int_equal(rcpt("<Postmaster>", false, &a, &ae), SA_OK);
	assert_string_equal(a.local, "Postmaster");
	assert_string_equal(a.domain, "");
	assert_int_equal(rcpt("<postmaster>", false, &a, &ae), SA_OK);
	assert_int_equal(rcpt("<@hop.example:bob@example.com>", false, &a, &ae), SA_OK);
	assert_string_equal(a.local, "bob");

	/* the null path is not a recipient */
	assert_int_equal(rcpt("<>", false, &a, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_NULL_NOT_ALLOWED);
	assert_int_equal(rcpt("bob@example.com", false, &a, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_SYNTAX);
	assert_int_equal(rcpt("<bob>", false, &a, &ae), SA_ADDR);
	assert_int_equal(rcpt("<bob@example.com>x", false, &a, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_SYNTAX);
	assert_int_equal(rcpt("", false, &a, &ae), SA_ADDR);

	/* UTF-8 only within an SMTPUTF8 transaction */
	assert_int_equal(rcpt("<j\xc3\xb6rg@example.com>", false, &a, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_8BIT);
	assert_int_equal(rcpt("<j\xc3\xb6rg@example.com>", true, &a, &ae), SA_OK);
	assert_string_equal(a.local, "j\xc3\xb6rg");
	/* SMTPUTF8 is a MAIL parameter; on RCPT it changes nothing */
	assert_int_equal(rcpt("<j\xc3\xb6rg@example.com> SMTPUTF8", false, &a, &ae), SA_ADDR);
	assert_int_equal(ae, ADDR_8BIT);

	/* no RCPT parameter is supported */
	assert_int_equal(rcpt("<bob@example.com> NOTIFY=NEVER", false, &a, &ae), SA_PARAM_UNKNOWN);
	assert_int_equal(rcpt("<bob@example.com> ORCPT=rfc822;bob@example.com", false, &a, &ae),
	    SA_PARAM_UNKNOWN);
	assert_int_equal(rcpt("<bob@example.com> SMTPUTF8", true, &a, &ae), SA_PARAM_UNKNOWN);
	assert_int_equal(rcpt("<bob@example.com> =x", false, &a, &ae), SA_PARAM_SYNTAX);
}

static void test_helo(void **state)
{
	(void)state;
	char out[300];
	assert_true(smtp_parse_helo("example.com", 11, out, sizeof(out)));
	assert_string_equal(out, "example.com");
	assert_true(smtp_parse_helo("[192.0.2.1]", 11, out, sizeof(out)));
	assert_string_equal(out, "[192.0.2.1]");
	assert_true(smtp_parse_helo("[IPv6:2001:db8::1]", 18, out, sizeof(out)));
	assert_true(smtp_parse_helo("my_host!", 8, out, sizeof(out))); /* lenient */
	assert_string_equal(out, "my_host!");
	/* only len bytes are taken */
	assert_true(smtp_parse_helo("abc def", 3, out, sizeof(out)));
	assert_string_equal(out, "abc");

	char name[300];
	memset(name, 'h', sizeof(name));
	assert_true(smtp_parse_helo(name, 255, out, sizeof(out)));
	assert_int_equal(strlen(out), 255);
	assert_false(smtp_parse_helo(name, 256, out, sizeof(out)));
	/* the output buffer bounds it too */
	assert_true(smtp_parse_helo(name, 9, out, 10));
	assert_false(smtp_parse_helo(name, 10, out, 10));
	assert_false(smtp_parse_helo(name, 1, out, 1));
	assert_false(smtp_parse_helo(name, 1, out, 0));

	const char *bad[] = { "", "a b", "a\tb", "a(b", "a)b", "a\\b", "a\"b",
		"a\x01", "a\x7f", "\xc3\xa9", "a\r", "a\n", "(comment)" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 'z', sizeof(out));
		assert_false(smtp_parse_helo(bad[i], strlen(bad[i]), out, sizeof(out)));
	}
	assert_false(smtp_parse_helo("a\0b", 3, out, sizeof(out)));
}

static void auth_ok(const char *arg, enum smtp_auth_mech want, const char *ir)
{
	enum smtp_auth_mech m;
	const char *r;
	size_t rl;
	if (!smtp_parse_auth(arg, strlen(arg), &m, &r, &rl))
		print_error("'%s' refused\n", arg);
	assert_true(smtp_parse_auth(arg, strlen(arg), &m, &r, &rl));
	assert_int_equal(m, want);
	if (ir == NULL) {
		assert_null(r);
		assert_int_equal(rl, 0);
	} else {
		assert_non_null(r);
		assert_int_equal(rl, strlen(ir));
		assert_memory_equal(r, ir, rl);
		assert_true(r > arg && r + rl == arg + strlen(arg));
	}
}

static void auth_bad(const char *arg)
{
	enum smtp_auth_mech m;
	const char *r;
	size_t rl;
	if (smtp_parse_auth(arg, strlen(arg), &m, &r, &rl))
		print_error("'%s' accepted\n", arg);
	assert_false(smtp_parse_auth(arg, strlen(arg), &m, &r, &rl));
}

static void test_auth(void **state)
{
	(void)state;
	auth_ok("PLAIN", MECH_PLAIN, NULL);
	auth_ok("plain", MECH_PLAIN, NULL);
	auth_ok("LOGIN", MECH_LOGIN, NULL);
	auth_ok("Login dXNlcg==", MECH_LOGIN, "dXNlcg==");
	auth_ok("PLAIN AGFsaWNlAHNlY3JldA==", MECH_PLAIN, "AGFsaWNlAHNlY3JldA==");
	auth_ok("PLAIN =", MECH_PLAIN, "=");
	auth_ok("CRAM-MD5", MECH_OTHER, NULL);
	auth_ok("SCRAM-SHA-256 biwsbj0", MECH_OTHER, "biwsbj0");
	auth_ok("X_12345678901234567", MECH_OTHER, NULL);
	auth_ok("ABCDEFGHIJKLMNOPQRST", MECH_OTHER, NULL);   /* 20: the longest */
	auth_bad("ABCDEFGHIJKLMNOPQRSTU");                   /* 21 */
	auth_bad("");
	auth_bad(" PLAIN");
	auth_bad("PLAIN ");
	auth_bad("PLAIN  AGFs");
	auth_bad("PLAIN AGFs extra");
	auth_bad("PLA.IN");
	auth_bad("PLAINX\x01");
	auth_bad("PLAIN\tAGFs");
	auth_ok("PLAINX", MECH_OTHER, NULL);                 /* not PLAIN */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_cmd_errors),
		cmocka_unit_test(test_mail_basic),
		cmocka_unit_test(test_mail_size),
		cmocka_unit_test(test_mail_body_utf8),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_auth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
