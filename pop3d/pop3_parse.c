/*
 * pop3_parse.c: POP3 command lines and the AUTH argument. Pure
 * functions over untrusted bytes, used by pop3d's login process
 * (postern-pop3) and mail sessions (postern-vmail); see pop3_parse.h.
 */
#include "pop3_parse.h"

#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum pop3_cmd cmd;
} commands[] = {
	{ "USER", P3_USER }, { "PASS", P3_PASS }, { "QUIT", P3_QUIT }, { "STAT", P3_STAT },
	{ "LIST", P3_LIST }, { "RETR", P3_RETR }, { "DELE", P3_DELE }, { "NOOP", P3_NOOP },
	{ "RSET", P3_RSET }, { "TOP", P3_TOP }, { "UIDL", P3_UIDL }, { "CAPA", P3_CAPA },
	{ "APOP", P3_APOP }, { "AUTH", P3_AUTH }, { "STLS", P3_STLS },
};

const char *pop3_cmd_name(enum pop3_cmd c)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].cmd == c)
			return commands[i].name;
	return "?";
}

/* A decimal number of 1..10 digits within [min, UINT32_MAX]. */
static bool parse_num(const char *s, size_t len, uint32_t min, uint32_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Splits "a b" into at most max words on single or repeated spaces. */
static size_t split(const char *s, size_t len, const char **w, size_t *wl, size_t max)
{
	size_t n = 0, i = 0;
	while (i < len) {
		while (i < len && s[i] == ' ')
			i++;
		if (i == len)
			break;
		if (n == max)
			return max + 1;
		w[n] = s + i;
		while (i < len && s[i] != ' ')
			i++;
		wl[n] = (size_t)(s + i - w[n]);
		n++;
	}
	return n;
}

enum pop3_parse_err pop3_parse(const char *line, size_t len, struct pop3_command *out)
{
	size_t kw = 0;
	memset(out, 0, sizeof(*out));
	if (len > POP3_LINE_MAX)
		return P3E_SYNTAX;
	while (kw < len && line[kw] != ' ')
		kw++;
	size_t ci;
	for (ci = 0; ci < sizeof(commands) / sizeof(commands[0]); ci++)
		if (strlen(commands[ci].name) == kw && strncasecmp(commands[ci].name, line, kw) == 0)
			break;
	if (ci == sizeof(commands) / sizeof(commands[0]))
		return P3E_UNKNOWN;
	out->cmd = commands[ci].cmd;
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\0')
			return P3E_SYNTAX;
	const char *rest = kw < len ? line + kw + 1 : line + len;
	size_t restlen = kw < len ? len - kw - 1 : 0;
	const char *w[3];
	size_t wl[3];
	size_t n;
	switch (out->cmd) {
	case P3_USER:
	case P3_PASS:
	case P3_APOP:
	case P3_AUTH:
		/* RFC 1939 7: a password may hold spaces; take the rest as is */
		if (restlen == 0)
			return out->cmd == P3_AUTH ? P3E_OK : P3E_SYNTAX;
		out->arg = rest;
		out->arglen = restlen;
		return P3E_OK;
	case P3_QUIT:
	case P3_STAT:
	case P3_NOOP:
	case P3_RSET:
	case P3_CAPA:
	case P3_STLS:
		return split(rest, restlen, w, wl, 0) == 0 ? P3E_OK : P3E_SYNTAX;
	case P3_LIST:
	case P3_UIDL:
		n = split(rest, restlen, w, wl, 1);
		if (n == 0)
			return P3E_OK;
		if (n > 1 || !parse_num(w[0], wl[0], 1, &out->msg))
			return P3E_SYNTAX;
		out->has_msg = true;
		return P3E_OK;
	case P3_RETR:
	case P3_DELE:
		n = split(rest, restlen, w, wl, 1);
		if (n != 1 || !parse_num(w[0], wl[0], 1, &out->msg))
			return P3E_SYNTAX;
		out->has_msg = true;
		return P3E_OK;
	case P3_TOP:
		n = split(rest, restlen, w, wl, 2);
		if (n != 2 || !parse_num(w[0], wl[0], 1, &out->msg) ||
		    !parse_num(w[1], wl[1], 0, &out->lines))
			return P3E_SYNTAX;
		out->has_msg = true;
		return P3E_OK;
	}
	return P3E_UNKNOWN;
}


static bool mech_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

bool pop3_parse_auth(const char *arg, size_t len, struct pop3_auth *out)
{
	const char *w[3];
	size_t wl[3];
	memset(out, 0, sizeof(*out));
	if (len > POP3_LINE_MAX)
		return false;
	size_t n = split(arg, len, w, wl, 2);
	if (n == 0 || n > 2 || wl[0] > POP3_MECH_MAX)
		return false;
	for (size_t i = 0; i < wl[0]; i++)
		if (!mech_char(w[0][i]))
			return false;
	if (n == 2)
		for (size_t i = 0; i < wl[1]; i++)
			if ((unsigned char)w[1][i] <= ' ' || (unsigned char)w[1][i] > '~')
				return false;
	out->mech = wl[0] == 5 && strncasecmp(w[0], "PLAIN", 5) == 0 ? P3M_PLAIN : P3M_OTHER;
	out->mech_name = w[0];
	out->mech_len = wl[0];
	if (n == 2) {
		out->ir = w[1];
		out->irlen = wl[1];
	}
	return true;
}
