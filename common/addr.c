/*
 * addr.c: RFC 5321 Mailbox / Path grammar (section 4.1.2) with the size
 * limits of section 4.5.3.1. Pure; fed untrusted input by smtpd.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* atext of RFC 5322 3.2.3, plus UTF-8 octets when allowed (RFC 6531). */
static bool is_atext(unsigned char c, bool utf8)
{
	if (is_alpha(c) || is_digit(c))
		return true;
	if (c >= 0x80)
		return utf8;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

const char *addr_strerror(enum addr_err e)
{
	switch (e) {
	case ADDR_OK: return "ok";
	case ADDR_SYNTAX: return "syntax error in address";
	case ADDR_PATH_TOO_LONG: return "path too long";
	case ADDR_LOCAL_TOO_LONG: return "local part too long";
	case ADDR_DOMAIN_TOO_LONG: return "domain too long";
	case ADDR_8BIT: return "non-ASCII address without SMTPUTF8";
	case ADDR_NULL_NOT_ALLOWED: return "null address not allowed here";
	}
	return "bad address";
}

/* Local-part = Dot-string / Quoted-string. Returns bytes used or 0. */
static size_t parse_local(const char *s, size_t len, bool utf8, enum addr_err *err)
{
	size_t i = 0;
	*err = ADDR_SYNTAX;
	if (len == 0)
		return 0;
	if (s[0] == '"') {
		for (i = 1; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '"')
				return i + 1;
			if (c == '\\') {
				if (++i >= len)
					return 0;
				c = (unsigned char)s[i];
				if (c < 32 || c == 127)
					return 0;
				if (c >= 0x80 && !utf8)
					goto bad_char;
				continue;
			}
			if (c < 32 || c == 127)
				return 0;
			if (c >= 0x80 && !utf8)
				goto bad_char;
		}
		return 0;
	}
	bool need_atext = true;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (need_atext)
				return 0;
			need_atext = true;
		} else if (is_atext(c, utf8)) {
			need_atext = false;
		} else if (c >= 0x80) {
			goto bad_char;
		} else {
			break;
		}
	}
	return need_atext ? 0 : i;
bad_char:
	*err = ADDR_8BIT;
	return 0;
}

/* Domain = sub-domain *("." sub-domain), or an address literal. */
static size_t parse_domain(const char *s, size_t len, bool utf8, enum addr_err *err)
{
	size_t i = 0;
	*err = ADDR_SYNTAX;
	if (len == 0)
		return 0;
	if (s[0] == '[') {
		const char *end = memchr(s, ']', len);
		char lit[64];
		if (end == NULL)
			return 0;
		size_t n = (size_t)(end - s) - 1;
		if (n == 0 || n >= sizeof(lit) || memchr(s + 1, '\0', n) != NULL)
			return 0;
		memcpy(lit, s + 1, n);
		lit[n] = '\0';
		unsigned char buf[16];
		if (strncasecmp(lit, "IPv6:", 5) == 0) {
			if (inet_pton(AF_INET6, lit + 5, buf) != 1)
				return 0;
		} else if (inet_pton(AF_INET, lit, buf) != 1) {
			return 0;
		}
		return n + 2;
	}
	size_t label = 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (is_alpha(c) || is_digit(c) || (c >= 0x80 && utf8)) {
			if (++label > 63)
				return 0;
		} else if (c == '-') {
			if (label == 0)
				return 0;
			label++;
		} else if (c >= 0x80) {
			*err = ADDR_8BIT;
			return 0;
		} else {
			break;
		}
	}
	if (label == 0 || s[i - 1] == '-')
		return 0;
	return i;
}

static enum addr_err parse_mailbox(const char *s, size_t len, int flags,
    struct mailaddr *out, size_t *used)
{
	enum addr_err err;
	bool utf8 = (flags & ADDR_ALLOW_UTF8) != 0;
	size_t ln = parse_local(s, len, utf8, &err);
	if (ln == 0)
		return err;
	if (ln > ADDR_LOCAL_MAX)
		return ADDR_LOCAL_TOO_LONG;
	memcpy(out->local, s, ln);
	out->local[ln] = '\0';
	if (ln == len || s[ln] != '@') {
		/* RFC 5321 4.5.1: <Postmaster> without a domain */
		if ((flags & ADDR_ALLOW_POSTMASTER) && strcasecmp(out->local, "postmaster") == 0) {
			out->domain[0] = '\0';
			*used = ln;
			return ADDR_OK;
		}
		return ADDR_SYNTAX;
	}
	size_t dn = parse_domain(s + ln + 1, len - ln - 1, utf8, &err);
	if (dn == 0)
		return err;
	if (dn > ADDR_DOMAIN_MAX)
		return ADDR_DOMAIN_TOO_LONG;
	for (size_t i = 0; i < dn; i++) {
		char c = s[ln + 1 + i];
		out->domain[i] = (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
	}
	out->domain[dn] = '\0';
	*used = ln + 1 + dn;
	return ADDR_OK;
}

enum addr_err addr_parse_path(const char *s, size_t len, int flags,
    struct mailaddr *out, size_t *used)
{
	size_t i = 1, n;
	enum addr_err err;
	memset(out, 0, sizeof(*out));
	if (len < 2 || s[0] != '<')
		return ADDR_SYNTAX;
	if (s[1] == '>') {
		if (!(flags & ADDR_ALLOW_NULL))
			return ADDR_NULL_NOT_ALLOWED;
		out->null = true;
		*used = 2;
		return ADDR_OK;
	}
	/* A-d-l ":" : a source route, obsolete; checked, then skipped.
	 * A-d-l = At-domain *( "," At-domain ), At-domain = "@" Domain */
	if (s[1] == '@') {
		for (;;) {
			if (i >= len || s[i] != '@')
				return ADDR_SYNTAX;
			i++;
			n = parse_domain(s + i, len - i, (flags & ADDR_ALLOW_UTF8) != 0, &err);
			if (n == 0)
				return err;
			i += n;
			if (i < len && s[i] == ',') {
				i++;
				continue;
			}
			if (i < len && s[i] == ':') {
				i++;
				break;
			}
			return ADDR_SYNTAX;
		}
	}
	err = parse_mailbox(s + i, len - i, flags, out, &n);
	if (err != ADDR_OK)
		return err;
	i += n;
	if (i >= len || s[i] != '>')
		return ADDR_SYNTAX;
	if (i + 1 > ADDR_PATH_MAX)
		return ADDR_PATH_TOO_LONG;
	*used = i + 1;
	return ADDR_OK;
}

bool addr_path_fits(const struct mailaddr *a)
{
	return strlen(a->local) + 1 + strlen(a->domain) + 2 <= ADDR_PATH_MAX;
}

enum addr_err addr_parse_mailbox(const char *s, size_t len, int flags,
    struct mailaddr *out)
{
	size_t used;
	memset(out, 0, sizeof(*out));
	enum addr_err err = parse_mailbox(s, len, flags, out, &used);
	if (err == ADDR_OK && used != len)
		return ADDR_SYNTAX;
	return err;
}

bool addr_format(const struct mailaddr *a, char *out, size_t outlen)
{
	int n;
	if (a->null)
		n = snprintf(out, outlen, "%s", "");
	else if (a->domain[0] == '\0')
		n = snprintf(out, outlen, "%s", a->local);
	else
		n = snprintf(out, outlen, "%s@%s", a->local, a->domain);
	return n >= 0 && (size_t)n < outlen;
}
