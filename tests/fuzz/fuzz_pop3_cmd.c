/*
 * fuzz_pop3_cmd.c: libFuzzer target for pop3d/pop3_parse.c: the input
 * as one command line (pop3_parse). Checks that accepted lines hold no
 * NUL and fit the limit, that the keyword really is the command's name,
 * that USER/PASS arguments lie inside the line, that message numbers
 * are at least 1 and present exactly where the command needs them, that
 * unknown keywords really are unknown, that a canonical line built
 * from the result parses back to the same command (with leading zeros
 * up to 10 digits), and that the result matches a plain second
 * reading of the line (reference()).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pop3_parse.h"

static const char *const names[] = { "USER", "PASS", "QUIT", "STAT", "LIST", "RETR", "DELE",
	"NOOP", "RSET", "TOP", "UIDL", "CAPA", "APOP", "AUTH", "STLS" };

/* Whether the first word of line (up to a space) is, case aside, name. */
static bool keyword_is(const char *line, size_t len, const char *name)
{
	size_t kw = 0, nl = strlen(name);
	while (kw < len && line[kw] != ' ')
		kw++;
	if (kw != nl)
		return false;
	for (size_t i = 0; i < nl; i++) {
		char c = line[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		if (c != name[i])
			return false;
	}
	return true;
}

static void check_ok(const char *line, size_t len, const struct pop3_command *c)
{
	if (len > POP3_LINE_MAX || memchr(line, '\0', len) != NULL)
		abort();
	if (!keyword_is(line, len, pop3_cmd_name(c->cmd)))
		abort();
	if (c->arg != NULL && (c->arg < line || c->arg + c->arglen > line + len))
		abort();
	if (c->arg == NULL && c->arglen != 0)
		abort();
	if (c->has_msg && c->msg < 1)
		abort();
	if (!c->has_msg && (c->msg != 0 || c->lines != 0))
		abort();
	if (c->cmd != P3_TOP && c->lines != 0)
		abort();
	switch (c->cmd) {
	case P3_USER: case P3_PASS: case P3_APOP:
		if (c->arg == NULL || c->arglen == 0 || c->has_msg)
			abort();
		/* the rest of the line after the keyword and one space */
		if (c->arg != line + strlen(pop3_cmd_name(c->cmd)) + 1 || c->arg + c->arglen != line + len)
			abort();
		break;
	case P3_AUTH:
		if (c->has_msg || (c->arg != NULL && c->arg + c->arglen != line + len))
			abort();
		break;
	case P3_RETR: case P3_DELE: case P3_TOP:
		if (!c->has_msg || c->arg != NULL)
			abort();
		break;
	case P3_LIST: case P3_UIDL:
		if (c->arg != NULL)
			abort();
		break;
	case P3_QUIT: case P3_STAT: case P3_NOOP: case P3_RSET: case P3_CAPA: case P3_STLS:
		if (c->has_msg || c->arg != NULL)
			abort();
		/* nothing but spaces after the keyword */
		for (size_t i = strlen(pop3_cmd_name(c->cmd)); i < len; i++)
			if (line[i] != ' ')
				abort();
		break;
	default:
		abort();
	}

	/* a canonical line from the result parses back to the same */
	char canon[POP3_LINE_MAX + 64];
	int n;
	if (c->cmd == P3_TOP)
		n = snprintf(canon, sizeof(canon), "top %u %u", c->msg, c->lines);
	else if (c->has_msg)
		n = snprintf(canon, sizeof(canon), "%s %u", pop3_cmd_name(c->cmd), c->msg);
	else if (c->arg != NULL)
		n = snprintf(canon, sizeof(canon), "%s %.*s", pop3_cmd_name(c->cmd),
		    (int)c->arglen, c->arg);
	else
		n = snprintf(canon, sizeof(canon), "%s", pop3_cmd_name(c->cmd));
	if (n < 0 || (size_t)n >= sizeof(canon))
		abort();
	struct pop3_command d;
	if ((size_t)n <= POP3_LINE_MAX) {
		if (pop3_parse(canon, (size_t)n, &d) != P3E_OK)
			abort();
		if (d.cmd != c->cmd || d.has_msg != c->has_msg || d.msg != c->msg ||
		    d.lines != c->lines || d.arglen != c->arglen ||
		    (c->arg != NULL && memcmp(d.arg, c->arg, c->arglen) != 0))
			abort();
	}
	/* the same number with leading zeros: up to 10 digits in all */
	if (c->has_msg && c->cmd != P3_TOP) {
		for (int width = 1; width <= 12; width++) {
			n = snprintf(canon, sizeof(canon), "%s %0*u", pop3_cmd_name(c->cmd), width, c->msg);
			size_t digits = (size_t)n - strlen(pop3_cmd_name(c->cmd)) - 1;
			enum pop3_parse_err e = pop3_parse(canon, (size_t)n, &d);
			if (e != (digits <= 10 ? P3E_OK : P3E_SYNTAX) || (e == P3E_OK && d.msg != c->msg))
				abort();
		}
	}
}

/* ---- a second, plain reading of RFC 1939 to compare with ---- */

/* A number word: 1..10 decimal digits, at least min, at most UINT32_MAX. */
static bool ref_num(const char *s, size_t len, uint32_t min, uint32_t *out)
{
	if (len < 1 || len > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static enum pop3_parse_err reference(const char *line, size_t len, struct pop3_command *r)
{
	memset(r, 0, sizeof(*r));
	if (len > POP3_LINE_MAX)
		return P3E_SYNTAX;
	size_t ci;
	for (ci = 0; ci < sizeof(names) / sizeof(names[0]); ci++)
		if (keyword_is(line, len, names[ci]))
			break;
	if (ci == sizeof(names) / sizeof(names[0]))
		return P3E_UNKNOWN;
	r->cmd = (enum pop3_cmd)ci; /* names[] is in enum order */
	if (memchr(line, '\0', len) != NULL)
		return P3E_SYNTAX;
	size_t kl = strlen(names[ci]);
	const char *rest = line + kl + (kl < len);
	size_t restlen = len - kl - (kl < len);
	/* words separated by spaces */
	const char *w[4];
	size_t wl[4], n = 0;
	for (size_t i = 0; i < restlen;) {
		if (rest[i] == ' ') {
			i++;
			continue;
		}
		size_t j = i;
		while (j < restlen && rest[j] != ' ')
			j++;
		if (n < 4) {
			w[n] = rest + i;
			wl[n] = j - i;
		}
		n++;
		i = j;
	}
	switch (r->cmd) {
	case P3_USER: case P3_PASS: case P3_APOP: case P3_AUTH:
		if (restlen == 0)
			return r->cmd == P3_AUTH ? P3E_OK : P3E_SYNTAX;
		r->arg = rest;
		r->arglen = restlen;
		return P3E_OK;
	case P3_LIST: case P3_UIDL:
		if (n == 0)
			return P3E_OK;
		/* fall through */
	case P3_RETR: case P3_DELE:
		if (n != 1 || !ref_num(w[0], wl[0], 1, &r->msg)) {
			r->msg = 0;
			return P3E_SYNTAX;
		}
		r->has_msg = true;
		return P3E_OK;
	case P3_TOP:
		if (n != 2 || !ref_num(w[0], wl[0], 1, &r->msg) || !ref_num(w[1], wl[1], 0, &r->lines)) {
			r->msg = r->lines = 0;
			return P3E_SYNTAX;
		}
		r->has_msg = true;
		return P3E_OK;
	default:
		return n == 0 ? P3E_OK : P3E_SYNTAX;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	if (size > POP3_LINE_MAX * 2)
		return 0;
	struct pop3_command c;
	enum pop3_parse_err e = pop3_parse(line, size, &c);
	switch (e) {
	case P3E_OK:
		check_ok(line, size, &c);
		break;
	case P3E_UNKNOWN:
		if (size > POP3_LINE_MAX)
			abort();
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (keyword_is(line, size, names[i]))
				abort();
		break;
	case P3E_SYNTAX:
		/* the keyword is known, or the line is too long */
		if (size <= POP3_LINE_MAX && !keyword_is(line, size, pop3_cmd_name(c.cmd)))
			abort();
		break;
	default:
		abort();
	}
	struct pop3_command r;
	if (reference(line, size, &r) != e)
		abort();
	if (e == P3E_OK && (r.cmd != c.cmd || r.arg != c.arg || r.arglen != c.arglen ||
	    r.has_msg != c.has_msg || r.msg != c.msg || r.lines != c.lines))
		abort();
	/* the same bytes with a NUL in them never parse */
	if (size > 0 && size <= POP3_LINE_MAX) {
		char *copy = malloc(size);
		if (copy == NULL)
			abort();
		memcpy(copy, line, size);
		copy[size - 1] = '\0';
		if (pop3_parse(copy, size, &c) == P3E_OK)
			abort();
		free(copy);
	}
	return 0;
}
