/*
 * sendmail_parse.c: the sendmail command's pure parsers (see
 * sendmail_parse.h): header fields of a CRLF message, RFC 5322 address
 * lists (To:, Cc:, Bcc: for -t, and the recipients on the command
 * line), the -f sender, and the From: field made for a message without
 * one. Run by the sendmail command as the invoking user; bounded by the
 * lengths given, no allocation, fuzzed.
 */
#include "sendmail_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- header fields ---- */

static bool is_ftext(unsigned char c)
{
	return c > ' ' && c < 127 && c != ':';
}

size_t sm_field_len(const char *p, size_t len, size_t *namelen, size_t *valoff)
{
	size_t i = 0;
	while (i < len && i <= SM_NAME_MAX && is_ftext((unsigned char)p[i]))
		i++;
	size_t nl = i;
	while (i < len && i <= SM_NAME_MAX && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (nl == 0 || i > SM_NAME_MAX || i >= len || p[i] != ':')
		return 0;
	*namelen = nl;
	*valoff = i + 1;
	/* this line, then every continuation line */
	for (;;) {
		const char *lf = memchr(p + i, '\n', len - i);
		if (lf == NULL)
			return len;
		i = (size_t)(lf - p) + 1;
		if (i >= len || (p[i] != ' ' && p[i] != '\t'))
			return i;
	}
}

bool sm_field_is(const char *p, size_t namelen, const char *name)
{
	return strlen(name) == namelen && strncasecmp(p, name, namelen) == 0;
}

void sm_headers_scan(const char *msg, size_t len, struct sm_headers *h)
{
	size_t pos = 0, nl, vo, fl;
	memset(h, 0, sizeof(*h));
	while (pos < len && (fl = sm_field_len(msg + pos, len - pos, &nl, &vo)) > 0) {
		const char *name = msg + pos;
		if (sm_field_is(name, nl, "From"))
			h->have_from = true;
		else if (sm_field_is(name, nl, "Date"))
			h->have_date = true;
		else if (sm_field_is(name, nl, "Message-ID"))
			h->have_msgid = true;
		pos += fl;
	}
	h->end = pos;
	h->blank = len - pos >= 2 && msg[pos] == '\r' && msg[pos + 1] == '\n';
}

/* ---- address lists (RFC 5322 3.4, with 4.4's obsolete forms) ---- */

enum { TK_END, TK_ATOM, TK_QUOTED, TK_LITERAL, TK_SPECIAL, TK_BAD };

struct tok {
	int type;
	const char *p;
	size_t len;
};

/* atext, '.' (a dot-atom is one token here; "a . b" is three), and
 * UTF-8 octets (RFC 6532; whether they may stay is addr.c's call) */
static bool is_atom_char(unsigned char c)
{
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		return true;
	if ((c >= '0' && c <= '9') || c == '.' || c >= 0x80)
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* The next token at *pos, after white space, line breaks and comments
 * (nested, with quoted pairs). */
static void next_tok(const char *s, size_t len, size_t *pos, struct tok *t)
{
	size_t i = *pos;
	for (;;) {
		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
			i++;
		if (i >= len || s[i] != '(')
			break;
		size_t depth = 1;
		for (i++; i < len && depth > 0; i++) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '(')
				depth++;
			else if (s[i] == ')')
				depth--;
		}
		if (depth > 0) {
			t->type = TK_BAD;
			*pos = len;
			return;
		}
	}
	t->p = s + i;
	t->len = 1;
	if (i >= len) {
		t->type = TK_END;
		t->len = 0;
	} else if (s[i] == '"' || s[i] == '[') {
		char close = s[i] == '"' ? '"' : ']';
		size_t j = i + 1;
		while (j < len && s[j] != close) {
			if (s[j] == '\\')
				j++;
			j++;
		}
		if (j >= len) {
			t->type = TK_BAD;
			*pos = len;
			return;
		}
		t->type = close == '"' ? TK_QUOTED : TK_LITERAL;
		t->len = j + 1 - i;
	} else if (is_atom_char((unsigned char)s[i])) {
		size_t j = i;
		while (j < len && is_atom_char((unsigned char)s[j]))
			j++;
		t->type = TK_ATOM;
		t->len = j - i;
	} else if (strchr("<>@,:;", s[i]) != NULL && s[i] != '\0') {
		t->type = TK_SPECIAL;
	} else {
		t->type = TK_BAD;
		*pos = len;
		return;
	}
	*pos = i + t->len;
}

static bool is_special(const struct tok *t, char c)
{
	return t->type == TK_SPECIAL && t->p[0] == c;
}

/* An addr-spec put together from its tokens: words joined by dots
 * (written or not next to the tokens' own), '@', then the domain. */
struct spec {
	char buf[SM_ADDR_MAX + 1];
	size_t len;
	bool at;          /* '@' seen: the domain part */
	bool bad;         /* not an addr-spec (a display name, say) */
	bool too_long;    /* then buf stops growing */
	size_t ntok;      /* tokens in the current part */
	bool literal;     /* the domain is a literal */
	bool last_dot;    /* the last token ended with '.' */
};

static void spec_add(struct spec *sp, const struct tok *t)
{
	if (sp->bad)
		return;
	if (is_special(t, '@')) {
		if (sp->at || sp->ntok == 0)
			sp->bad = true;
		sp->at = true;
		sp->ntok = 0;
	} else if (t->type == TK_ATOM || (t->type == TK_QUOTED && !sp->at) ||
	    (t->type == TK_LITERAL && sp->at && sp->ntok == 0)) {
		/* two words side by side need a dot between them */
		if (sp->ntok > 0 && (sp->literal || (!sp->last_dot && t->p[0] != '.')))
			sp->bad = true;
		if (t->type == TK_LITERAL)
			sp->literal = true;
		sp->ntok++;
	} else {
		sp->bad = true;
	}
	if (sp->bad)
		return;
	sp->last_dot = t->p[t->len - 1] == '.';
	if (sp->too_long || sp->len + t->len > SM_ADDR_MAX) {
		sp->too_long = true;
		return;
	}
	memcpy(sp->buf + sp->len, t->p, t->len);
	sp->len += t->len;
	sp->buf[sp->len] = '\0';
}

static bool spec_complete(const struct spec *sp)
{
	return !sp->bad && sp->len > 0 && sp->ntok > 0 && sp->buf[0] != '@';
}

/* After '<': an optional obsolete route ("@a,@b:"), the addr-spec and
 * '>'. */
static enum sm_err parse_angle(const char *s, size_t len, size_t *pos, struct spec *sp)
{
	struct tok t;
	size_t save = *pos;
	memset(sp, 0, sizeof(*sp));
	next_tok(s, len, pos, &t);
	if (is_special(&t, '@')) {
		/* the route: skipped, as RFC 5321 4.1.2 says */
		for (;;) {
			next_tok(s, len, pos, &t);
			if (is_special(&t, ':'))
				break;
			if (t.type != TK_ATOM && t.type != TK_LITERAL && !is_special(&t, '@') &&
			    !is_special(&t, ','))
				return SM_SYNTAX;
		}
	} else {
		*pos = save;
	}
	for (;;) {
		next_tok(s, len, pos, &t);
		if (is_special(&t, '>'))
			break;
		if (t.type == TK_END || t.type == TK_BAD || (t.type == TK_SPECIAL && !is_special(&t, '@')))
			return SM_SYNTAX;
		spec_add(sp, &t);
	}
	if (sp->too_long)
		return SM_TOO_LONG;
	return spec_complete(sp) && (!sp->at || sp->ntok > 0) ? SM_OK : SM_SYNTAX;
}

enum sm_err sm_addrlist(const char *s, size_t len, char out[][SM_ADDR_MAX + 1], size_t max,
    size_t *n)
{
	size_t pos = 0, n0 = *n;
	bool in_group = false;
	enum sm_err err = SM_OK;
	for (;;) {
		struct spec plain, angle;
		bool have_angle = false, any = false;
		struct tok t;
		memset(&plain, 0, sizeof(plain));
		for (;;) {
			next_tok(s, len, &pos, &t);
			if (t.type == TK_BAD) {
				err = SM_SYNTAX;
				goto fail;
			}
			if (t.type == TK_END || is_special(&t, ',') || is_special(&t, ';'))
				break;
			if (have_angle) {
				/* nothing but comments after the angle address */
				err = SM_SYNTAX;
				goto fail;
			}
			if (is_special(&t, ':')) {
				/* a group's display name ends: its members follow */
				if (in_group) {
					err = SM_SYNTAX;
					goto fail;
				}
				in_group = true;
				memset(&plain, 0, sizeof(plain));
				any = false;
				continue;
			}
			if (is_special(&t, '<')) {
				if ((err = parse_angle(s, len, &pos, &angle)) != SM_OK)
					goto fail;
				have_angle = true;
				continue;
			}
			any = true;
			spec_add(&plain, &t);
		}
		const struct spec *use = have_angle ? &angle : any ? &plain : NULL;
		if (use == &plain) {
			if (plain.too_long) {
				err = SM_TOO_LONG;
				goto fail;
			}
			if (!spec_complete(&plain) || (plain.at && plain.ntok == 0)) {
				err = SM_SYNTAX;
				goto fail;
			}
		}
		if (use) {
			if (*n >= max) {
				err = SM_TOO_MANY;
				goto fail;
			}
			memcpy(out[*n], use->buf, use->len + 1);
			(*n)++;
		}
		if (is_special(&t, ';')) {
			if (!in_group) {
				err = SM_SYNTAX;
				goto fail;
			}
			in_group = false;
		}
		if (t.type == TK_END)
			return SM_OK; /* a group without its ';' is let pass */
	}
fail:
	*n = n0;
	return err;
}

const char *sm_strerror(enum sm_err e)
{
	switch (e) {
	case SM_OK: return "ok";
	case SM_SYNTAX: return "syntax error in address list";
	case SM_TOO_LONG: return "address too long";
	case SM_TOO_MANY: return "too many recipients";
	}
	return "bad address list";
}

enum addr_err sm_complete_addr(const char *raw, const char *defdomain, struct mailaddr *out)
{
	char buf[SM_ADDR_MAX + 1];
	bool quoted = false, at = false;
	size_t len = strnlen(raw, SM_ADDR_MAX + 1);
	memset(out, 0, sizeof(*out));
	if (len > SM_ADDR_MAX)
		return ADDR_PATH_TOO_LONG;
	for (size_t i = 0; i < len; i++) {
		if (raw[i] == '\\' && quoted)
			i++;
		else if (raw[i] == '"')
			quoted = !quoted;
		else if (raw[i] == '@' && !quoted)
			at = true;
	}
	int w = at ? snprintf(buf, sizeof(buf), "%s", raw) :
	    snprintf(buf, sizeof(buf), "%s@%s", raw, defdomain);
	if (w < 0 || (size_t)w >= sizeof(buf))
		return ADDR_PATH_TOO_LONG;
	enum addr_err e = addr_parse_mailbox(buf, (size_t)w, 0, out);
	if (e == ADDR_OK && !addr_path_fits(out))
		return ADDR_PATH_TOO_LONG;
	return e;
}

enum addr_err sm_parse_sender(const char *arg, const char *defdomain, struct mailaddr *out)
{
	char inner[SM_ADDR_MAX + 1];
	size_t len = strnlen(arg, SM_ADDR_MAX + 3);
	memset(out, 0, sizeof(*out));
	if (len > SM_ADDR_MAX + 2)
		return ADDR_PATH_TOO_LONG;
	if (len == 0 || (len == 2 && arg[0] == '<' && arg[1] == '>')) {
		out->null = true;
		return ADDR_OK;
	}
	if (arg[0] == '<') {
		if (arg[len - 1] != '>' || len < 3)
			return ADDR_SYNTAX;
		memcpy(inner, arg + 1, len - 2);
		inner[len - 2] = '\0';
		return sm_complete_addr(inner, defdomain, out);
	}
	return sm_complete_addr(arg, defdomain, out);
}

/* ---- From: ---- */

/* Drops a UTF-8 sequence cut short at the end of s[0..len). */
static size_t utf8_trim(const unsigned char *s, size_t len)
{
	size_t k = len;
	while (k > 0 && (s[k - 1] & 0xc0) == 0x80 && len - k < 3)
		k--;
	if (k == 0 || s[k - 1] < 0xc0)
		return len; /* ASCII last, or stray continuation bytes: left as they are */
	unsigned char lead = s[k - 1];
	size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	return len - (k - 1) >= need ? len : k - 1;
}

/* Copies s into out without control characters and without leading
 * or trailing spaces, at most max octets, never cutting a UTF-8
 * sequence. */
static size_t clean_name(const char *s, char *out, size_t max)
{
	size_t n = 0;
	for (; *s && n < max; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 32 || c == 127)
			continue;
		if (c == ' ' && n == 0)
			continue;
		out[n++] = (char)c;
	}
	if (*s)
		n = utf8_trim((const unsigned char *)out, n);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return n;
}

void sm_gecos_name(const char *gecos, const char *login, char *out, size_t outlen)
{
	char raw[SM_FULLNAME_MAX * 2 + 1];
	size_t n = 0;
	if (outlen == 0)
		return;
	for (const char *p = gecos; *p && *p != ',' && n < sizeof(raw) - 1; p++) {
		if (*p != '&') {
			raw[n++] = *p;
			continue;
		}
		for (const char *l = login; *l && n < sizeof(raw) - 1; l++) {
			char c = *l;
			if (l == login && c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			raw[n++] = c;
		}
	}
	raw[n] = '\0';
	char clean[SM_FULLNAME_MAX + 1];
	size_t max = outlen - 1 < SM_FULLNAME_MAX ? outlen - 1 : SM_FULLNAME_MAX;
	size_t cl = clean_name(raw, clean, max);
	memcpy(out, clean, cl + 1);
}

struct wbuf {
	char *p;
	size_t len, cap;
	bool err;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
	if (w->err || w->cap - w->len <= n) {
		w->err = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static void puts_(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_base64(struct wbuf *w, const unsigned char *s, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		char q[4] = { b64[(v >> 18) & 63], b64[(v >> 12) & 63],
			i + 1 < n ? b64[(v >> 6) & 63] : '=', i + 2 < n ? b64[v & 63] : '=' };
		put(w, q, 4);
	}
}

#define EW_CHUNK 45 /* octets per encoded word: 60 base64 characters */

size_t sm_format_from(const char *fullname, const char *addr, char *out, size_t outlen)
{
	char name[SM_FULLNAME_MAX + 1];
	size_t n = clean_name(fullname, name, SM_FULLNAME_MAX);
	struct wbuf w = { out, 0, outlen, outlen == 0 };
	bool ascii = true, plain = true;
	if (outlen)
		out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x80)
			ascii = false;
		else if (c != ' ' && !is_atom_char(c))
			plain = false;
		else if (c == '.')
			plain = false; /* '.' is no atext: only obsolete phrases have it bare */
	}
	puts_(&w, "From: ");
	if (n > 0 && !ascii) {
		/* RFC 2047 encoded words, each of whole characters */
		size_t i = 0;
		while (i < n) {
			size_t k = n - i > EW_CHUNK ? EW_CHUNK : n - i;
			/* back to a character's start: at most 3 octets (for
			 * bytes that are no UTF-8, the cut is where it falls) */
			size_t least = k > 3 ? k - 3 : 1;
			if (i + k < n)
				while (k > least && ((unsigned char)name[i + k] & 0xc0) == 0x80)
					k--;
			if (i > 0)
				puts_(&w, "\r\n ");
			puts_(&w, "=?UTF-8?B?");
			put_base64(&w, (const unsigned char *)name + i, k);
			puts_(&w, "?=");
			i += k;
		}
		puts_(&w, " ");
	} else if (n > 0 && plain) {
		put(&w, name, n);
		puts_(&w, " ");
	} else if (n > 0) {
		puts_(&w, "\"");
		for (size_t i = 0; i < n; i++) {
			if (name[i] == '"' || name[i] == '\\')
				puts_(&w, "\\");
			put(&w, name + i, 1);
		}
		puts_(&w, "\" ");
	}
	puts_(&w, "<");
	puts_(&w, addr);
	puts_(&w, ">\r\n");
	if (w.err) {
		if (outlen)
			out[0] = '\0';
		return 0;
	}
	return w.len;
}
