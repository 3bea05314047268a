/*
 * fuzz_smtp_cmd.c: libFuzzer target for smtpd/smtp_parse.c: the input
 * as one command line (smtp_cmd_parse), its argument handed to the
 * MAIL / RCPT / HELO parsers as smtpd does, and the raw input to each
 * argument parser too. Checks that arguments stay inside the line and
 * that accepted addresses are within the limits and ASCII unless
 * SMTPUTF8 applies; AUTH arguments (smtp_parse_auth): the mechanism
 * is 1-20 allowed characters and the initial response one word at the
 * end of the argument.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp_parse.h"

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static void check_addr(const struct mailaddr *a, bool utf8)
{
	if (strlen(a->local) > ADDR_LOCAL_MAX || strlen(a->domain) > ADDR_DOMAIN_MAX)
		abort();
	if (!utf8 && (!ascii(a->local) || !ascii(a->domain)))
		abort();
	char out[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2];
	if (!addr_format(a, out, sizeof(out)))
		abort();
}

static void mail(const char *arg, size_t len)
{
	struct mail_params mp;
	enum addr_err ae = ADDR_OK;
	enum smtp_arg_err e = smtp_parse_mail(arg, len, &mp, &ae);
	if (e == SA_OK) {
		check_addr(&mp.addr, mp.smtputf8);
		if (!mp.has_size && mp.size != 0)
			abort();
		if (mp.body != BODY_7BIT && mp.body != BODY_8BITMIME)
			abort();
	} else if (e == SA_ADDR) {
		if (ae == ADDR_OK)
			abort();
	}
}

static void rcpt(const char *arg, size_t len, bool utf8)
{
	struct mailaddr a;
	enum addr_err ae = ADDR_OK;
	enum smtp_arg_err e = smtp_parse_rcpt(arg, len, utf8, &a, &ae);
	if (e == SA_OK) {
		if (a.null)
			abort();
		check_addr(&a, utf8);
	} else if (e == SA_ADDR && ae == ADDR_OK) {
		abort();
	}
}

static void helo(const char *arg, size_t len)
{
	char out[256];
	if (smtp_parse_helo(arg, len, out, sizeof(out))) {
		if (strlen(out) != len || len == 0 || len > 255)
			abort();
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)out[i];
			if (c <= ' ' || c >= 127 || c == '(' || c == ')' || c == '\\' || c == '"')
				abort();
		}
	}
}

static void auth(const char *arg, size_t len)
{
	enum smtp_auth_mech m;
	const char *ir;
	size_t irlen;
	if (!smtp_parse_auth(arg, len, &m, &ir, &irlen)) {
		if (ir != NULL || irlen != 0)
			abort();
		return;
	}
	size_t ml = ir ? (size_t)(ir - arg) - 1 : len;
	if (ml == 0 || ml > SMTP_AUTH_MECH_MAX)
		abort();
	for (size_t i = 0; i < ml; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", arg[i]) ||
		    arg[i] == '\0')
			abort();
	if (ir && (arg[ml] != ' ' || irlen == 0 || ir + irlen != arg + len || memchr(ir, ' ', irlen)))
		abort();
	if ((m == MECH_PLAIN) != (ml == 5 && strncasecmp(arg, "plain", 5) == 0))
		abort();
	if ((m == MECH_LOGIN) != (ml == 5 && strncasecmp(arg, "login", 5) == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	if (size > SMTP_LINE_MAX * 4)
		return 0;
	struct smtp_cmd c;
	enum smtp_perr e = smtp_cmd_parse(line, size, &c);
	if (e == SP_OK) {
		if (c.verb == SMTP_UNKNOWN || c.arg < line || c.arg + c.arglen > line + size)
			abort();
		if (memchr(line, '\0', size) != NULL)
			abort();
		switch (c.verb) {
		case SMTP_MAIL:
			mail(c.arg, c.arglen);
			break;
		case SMTP_RCPT:
			rcpt(c.arg, c.arglen, false);
			rcpt(c.arg, c.arglen, true);
			break;
		case SMTP_HELO: case SMTP_EHLO:
			if (c.arglen == 0)
				abort();
			helo(c.arg, c.arglen);
			break;
		case SMTP_DATA: case SMTP_RSET: case SMTP_QUIT: case SMTP_STARTTLS:
			if (c.arglen != 0)
				abort();
			break;
		case SMTP_AUTH:
			auth(c.arg, c.arglen);
			break;
		default:
			break;
		}
	} else if (e == SP_NUL) {
		if (memchr(line, '\0', size) == NULL)
			abort();
	}
	/* the raw bytes as arguments, too */
	mail(line, size);
	rcpt(line, size, size & 1);
	helo(line, size);
	auth(line, size);
	return 0;
}
