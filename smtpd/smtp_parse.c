/*
 * smtp_parse.c: SMTP server-side parsers (RFC 5321 4.1, RFC 1870 SIZE,
 * RFC 6152 8BITMIME, RFC 6531 SMTPUTF8). Pure functions; smtpd calls
 * them on untrusted network input as postern-smtpd.
 */
#include "smtp_parse.h"
#include "util.h"

#include <bsd/string.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{ "HELO", SMTP_HELO }, { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
	{ "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
	{ "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT }, { "VRFY", SMTP_VRFY },
	{ "HELP", SMTP_HELP }, { "EXPN", SMTP_EXPN }, { "STARTTLS", SMTP_STARTTLS },
	{ "AUTH", SMTP_AUTH }, { "BDAT", SMTP_BDAT },
};

enum smtp_perr smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *out)
{
	size_t vl = 0;
	memset(out, 0, sizeof(*out));
	out->verb = SMTP_UNKNOWN;
	if (memchr(line, '\0', len) != NULL)
		return SP_NUL;
	while (vl < len && line[vl] != ' ')
		vl++;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strlen(verbs[i].name) == vl && strncasecmp(line, verbs[i].name, vl) == 0) {
			out->verb = verbs[i].verb;
			break;
		}
	}
	if (out->verb == SMTP_UNKNOWN)
		return SP_UNKNOWN_VERB;
	const char *a = line + vl;
	size_t al = len - vl;
	if (al > 0) /* skip the single space (and, leniently, more) */
		while (al > 0 && *a == ' ') {
			a++;
			al--;
		}
	while (al > 0 && (a[al - 1] == ' ' || a[al - 1] == '\t'))
		al--;
	if (out->verb == SMTP_MAIL || out->verb == SMTP_RCPT) {
		const char *kw = out->verb == SMTP_MAIL ? "FROM:" : "TO:";
		size_t kl = strlen(kw);
		if (al < kl || strncasecmp(a, kw, kl) != 0)
			return SP_SYNTAX;
		a += kl;
		al -= kl;
		/* RFC 5321 has no space here; many clients send one */
		while (al > 0 && *a == ' ') {
			a++;
			al--;
		}
	}
	out->arg = a;
	out->arglen = al;
	switch (out->verb) {
	case SMTP_DATA: case SMTP_RSET: case SMTP_QUIT: case SMTP_STARTTLS:
		if (al != 0)
			return SP_SYNTAX;
		break;
	case SMTP_HELO: case SMTP_EHLO: case SMTP_MAIL: case SMTP_RCPT:
		if (al == 0)
			return SP_SYNTAX;
		break;
	default:
		break;
	}
	return SP_OK;
}

/* Splits "KEY=VALUE" parameters separated by spaces; calls back each. */
static enum smtp_arg_err parse_params(const char *p, size_t len,
    enum smtp_arg_err (*fn)(const char *k, size_t kl, const char *v, size_t vl, void *arg),
    void *arg)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && p[i] == ' ')
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && p[i] != ' ')
			i++;
		const char *tok = p + start;
		size_t tl = i - start;
		const char *eq = memchr(tok, '=', tl);
		size_t kl = eq ? (size_t)(eq - tok) : tl;
		if (kl == 0)
			return SA_PARAM_SYNTAX;
		for (size_t j = 0; j < kl; j++) {
			char c = tok[j];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || (c == '-' && j > 0)))
				return SA_PARAM_SYNTAX;
		}
		const char *v = eq ? eq + 1 : NULL;
		size_t vl = eq ? tl - kl - 1 : 0;
		for (size_t j = 0; j < vl; j++)
			if ((unsigned char)v[j] < 33 || v[j] == '=' || (unsigned char)v[j] >= 127)
				return SA_PARAM_SYNTAX;
		enum smtp_arg_err e = fn(tok, kl, v, vl, arg);
		if (e != SA_OK)
			return e;
	}
	return SA_OK;
}

static bool kw_eq(const char *k, size_t kl, const char *name)
{
	return strlen(name) == kl && strncasecmp(k, name, kl) == 0;
}

static enum smtp_arg_err mail_param(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
	struct mail_params *mp = arg;
	if (kw_eq(k, kl, "SIZE")) {
		char num[21];
		if (v == NULL || vl == 0 || vl >= sizeof(num) || mp->has_size)
			return SA_PARAM_SYNTAX;
		memcpy(num, v, vl);
		num[vl] = '\0';
		if (!parse_uint(num, 0, UINT64_MAX, &mp->size))
			return SA_PARAM_SYNTAX;
		mp->has_size = true;
		return SA_OK;
	}
	if (kw_eq(k, kl, "BODY")) {
		if (v == NULL)
			return SA_PARAM_SYNTAX;
		if (kw_eq(v, vl, "7BIT"))
			mp->body = BODY_7BIT;
		else if (kw_eq(v, vl, "8BITMIME"))
			mp->body = BODY_8BITMIME;
		else
			return SA_PARAM_SYNTAX;
		return SA_OK;
	}
	if (kw_eq(k, kl, "SMTPUTF8")) {
		if (v != NULL)
			return SA_PARAM_SYNTAX;
		mp->smtputf8 = true;
		return SA_OK;
	}
	return SA_PARAM_UNKNOWN;
}

/* SMTPUTF8 must be known before the address is parsed. */
static bool has_smtputf8_param(const char *p, size_t len)
{
	for (size_t i = 0; i + 8 <= len; i++)
		if ((i == 0 || p[i - 1] == ' ') && strncasecmp(p + i, "SMTPUTF8", 8) == 0 &&
		    (i + 8 == len || p[i + 8] == ' '))
			return true;
	return false;
}

enum smtp_arg_err smtp_parse_mail(const char *arg, size_t len,
    struct mail_params *out, enum addr_err *aerr)
{
	size_t used;
	memset(out, 0, sizeof(*out));
	int flags = ADDR_ALLOW_NULL;
	const char *close = memchr(arg, '>', len);
	size_t plen = close ? (size_t)(close - arg) + 1 : len;
	if (has_smtputf8_param(arg + plen, len - plen))
		flags |= ADDR_ALLOW_UTF8;
	*aerr = addr_parse_path(arg, len, flags, &out->addr, &used);
	if (*aerr != ADDR_OK)
		return SA_ADDR;
	if (used < len && arg[used] != ' ') {
		*aerr = ADDR_SYNTAX;
		return SA_ADDR;
	}
	enum smtp_arg_err e = parse_params(arg + used, len - used, mail_param, out);
	if (e == SA_OK && (flags & ADDR_ALLOW_UTF8) && !out->smtputf8) {
		/* the "SMTPUTF8" seen above was inside the path (after a quoted
		 * '>'), not a parameter: the address must do without it */
		*aerr = addr_parse_path(arg, len, flags & ~ADDR_ALLOW_UTF8, &out->addr, &used);
		if (*aerr != ADDR_OK)
			return SA_ADDR;
	}
	return e;
}

static enum smtp_arg_err rcpt_param(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
	(void)k; (void)kl; (void)v; (void)vl; (void)arg;
	return SA_PARAM_UNKNOWN;
}

enum smtp_arg_err smtp_parse_rcpt(const char *arg, size_t len, bool utf8,
    struct mailaddr *out, enum addr_err *aerr)
{
	size_t used;
	int flags = ADDR_ALLOW_POSTMASTER | (utf8 ? ADDR_ALLOW_UTF8 : 0);
	*aerr = addr_parse_path(arg, len, flags, out, &used);
	if (*aerr != ADDR_OK)
		return SA_ADDR;
	if (used < len && arg[used] != ' ') {
		*aerr = ADDR_SYNTAX;
		return SA_ADDR;
	}
	return parse_params(arg + used, len - used, rcpt_param, NULL);
}

bool smtp_parse_helo(const char *arg, size_t len, char *out, size_t outlen)
{
	if (len == 0 || len > 255 || len >= outlen)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)arg[i];
		/* one word of printable ASCII; no comment or quoting characters
		 * that would break the Received: header */
		if (c <= ' ' || c >= 127 || c == '(' || c == ')' || c == '\\' || c == '"')
			return false;
	}
	memcpy(out, arg, len);
	out[len] = '\0';
	return true;
}

bool smtp_parse_auth(const char *arg, size_t len, enum smtp_auth_mech *mech,
    const char **ir, size_t *irlen)
{
	size_t ml = 0;
	*mech = MECH_OTHER;
	*ir = NULL;
	*irlen = 0;
	while (ml < len && arg[ml] != ' ')
		ml++;
	if (ml == 0 || ml > SMTP_AUTH_MECH_MAX)
		return false;
	for (size_t i = 0; i < ml; i++) {
		char c = arg[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return false;
	}
	if (ml == 5 && strncasecmp(arg, "PLAIN", 5) == 0)
		*mech = MECH_PLAIN;
	else if (ml == 5 && strncasecmp(arg, "LOGIN", 5) == 0)
		*mech = MECH_LOGIN;
	if (ml == len)
		return true;
	/* exactly one space, then the response: one word */
	const char *r = arg + ml + 1;
	size_t rl = len - ml - 1;
	if (rl == 0 || memchr(r, ' ', rl) != NULL)
		return false;
	*ir = r;
	*irlen = rl;
	return true;
}
