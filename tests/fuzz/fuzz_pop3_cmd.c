/*
 * fuzz_pop3_cmd.c: libFuzzer target for pop3d/pop3_parse.c: the input
 * as one command line (pop3_parse). Checks that accepted lines hold no
 * NUL and fit the limit, that the keyword really is the command's name,
 * that USER/PASS arguments lie inside the line, that message numbers
 * are at least 1 and present exactly where the command needs them, that
 * unknown keywords really are unknown, and that a canonical line built
 * from the result parses back to the same command.
 */
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
