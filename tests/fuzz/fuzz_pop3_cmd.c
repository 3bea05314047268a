/*
 * fuzz_pop3_cmd.c: libFuzzer target for pop3d/pop3_parse.c: the input
 * as one command line (pop3_parse). Checks that accepted lines hold no
 * NUL and fit the limit, that the keyword really is the command's name,
 * that USER/PASS arguments lie inside the line, that message numbers
 * are at least 1 and present exactly where the command needs them, that
 * unknown keywords really are unknown, that a canonical line built
 * from the result parses back to the same command (with leading zeros
 * up to 10 digits), and that the result matches a plain second
 * reading of the line (reference()). The input is also taken as an
 * AUTH argument (pop3_parse_auth, RFC 5034): compared with a plain
 * reading (ref_auth()), the mechanism and initial response must lie
 * inside the input and hold only allowed bytes, PLAIN must be exactly
 * "PLAIN" in any case, and "MECH IR" rebuilt from the result must parse
 * back to the same.
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

/* ---- the AUTH argument ---- */

static bool ref_mech_char(char c)
{
	return c != '\0' && ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z') || c == '-' || c == '_');
}

static enum pop3_mech ref_mech(const char *w, size_t wl)
{
	static const char plain[] = "PLAIN";
	if (wl != 5)
		return P3M_OTHER;
	for (size_t i = 0; i < 5; i++)
		if (toupper((unsigned char)w[i]) != plain[i])
			return P3M_OTHER;
	return P3M_PLAIN;
}

static bool ref_auth(const char *s, size_t len, struct pop3_auth *r)
{
	memset(r, 0, sizeof(*r));
	if (len > POP3_LINE_MAX)
		return false;
	const char *w[2] = { NULL, NULL };
	size_t wl[2] = { 0, 0 }, n = 0;
	for (size_t i = 0; i < len;) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		size_t j = i;
		while (j < len && s[j] != ' ')
			j++;
		if (n < 2) {
			w[n] = s + i;
			wl[n] = j - i;
		}
		n++;
		i = j;
	}
	if (n < 1 || n > 2 || wl[0] > 20)
		return false;
	for (size_t i = 0; i < wl[0]; i++)
		if (!ref_mech_char(w[0][i]))
			return false;
	for (size_t i = 0; i < wl[1]; i++)
		if ((unsigned char)w[1][i] < 0x21 || (unsigned char)w[1][i] > 0x7e)
			return false;
	r->mech = ref_mech(w[0], wl[0]);
	r->mech_name = w[0];
	r->mech_len = wl[0];
	r->ir = w[1];
	r->irlen = wl[1];
	return true;
}

static void check_auth(const char *arg, size_t len)
{
	struct pop3_auth a, r;
	bool ok = pop3_parse_auth(arg, len, &a);
	if (ok != ref_auth(arg, len, &r))
		abort();
	if (!ok) {
		if (a.mech_name != NULL || a.ir != NULL || a.mech_len != 0 || a.irlen != 0)
			abort();
		return;
	}
	if (a.mech != r.mech || a.mech_name != r.mech_name || a.mech_len != r.mech_len ||
	    a.ir != r.ir || a.irlen != r.irlen)
		abort();
	if (a.mech_len < 1 || a.mech_len > POP3_MECH_MAX || a.mech_name < arg ||
	    a.mech_name + a.mech_len > arg + len)
		abort();
	if ((a.ir == NULL) != (a.irlen == 0) ||
	    (a.ir != NULL && (a.ir < a.mech_name + a.mech_len || a.ir + a.irlen > arg + len)))
		abort();
	if (memchr(a.mech_name, ' ', a.mech_len) || (a.ir && memchr(a.ir, ' ', a.irlen)))
		abort();
	/* "MECH IR" parses back to the same, and so does "AUTH MECH IR" */
	char canon[POP3_LINE_MAX + 64];
	int n = snprintf(canon, sizeof(canon), "AUTH %.*s%s%.*s", (int)a.mech_len, a.mech_name,
	    a.ir ? " " : "", (int)a.irlen, a.ir ? a.ir : "");
	if (n < 0 || (size_t)n >= sizeof(canon))
		abort();
	struct pop3_auth b;
	if (!pop3_parse_auth(canon + 5, (size_t)n - 5, &b) || b.mech != a.mech ||
	    b.mech_len != a.mech_len || memcmp(b.mech_name, a.mech_name, a.mech_len) != 0 ||
	    b.irlen != a.irlen || (a.ir && memcmp(b.ir, a.ir, a.irlen) != 0))
		abort();
	struct pop3_command c;
	if ((size_t)n <= POP3_LINE_MAX) {
		if (pop3_parse(canon, (size_t)n, &c) != P3E_OK || c.cmd != P3_AUTH ||
		    c.arglen != (size_t)n - 5 || !pop3_parse_auth(c.arg, c.arglen, &b) ||
		    b.mech != a.mech || b.irlen != a.irlen)
			abort();
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
	/* an AUTH line's argument, and the whole input as one */
	if (e == P3E_OK && c.cmd == P3_AUTH && c.arg != NULL)
		check_auth(c.arg, c.arglen);
	check_auth(line, size);
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
