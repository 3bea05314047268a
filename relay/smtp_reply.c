/*
 * smtp_reply.c: SMTP client-side parsers: replies line by line (RFC
 * 5321 4.2), enhanced status codes (RFC 3463), reply verdicts per
 * stage, EHLO capabilities. Pure functions over untrusted bytes from
 * remote SMTP servers; postern-relay calls them, unprivileged in its
 * chroot.
 */
#include "smtp_reply.h"

#include <string.h>
#include <strings.h>

void smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->status = SR_MORE;
}

const char *smtp_reply_errstr(enum smtp_reply_err err)
{
	switch (err) {
	case SRE_NONE: return "no error";
	case SRE_TOO_LONG: return "reply line too long";
	case SRE_TOO_MANY: return "too many reply lines";
	case SRE_CODE: return "bad reply code";
	case SRE_SEPARATOR: return "bad separator after reply code";
	case SRE_CTRL: return "control character in reply";
	case SRE_MISMATCH: return "reply code mismatch";
	case SRE_FINISHED: return "reply already complete";
	}
	return "?";
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The code of line[0..3), or 0 if it is not a valid reply code. */
static int reply_code(const char *line)
{
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || !is_digit(line[2]))
		return 0;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

size_t smtp_detail_esc(const char *detail, size_t len, char esc[SMTP_ESC_BUF], bool *is_reply)
{
	bool reply = len >= 4 && reply_code(detail) != 0 && (detail[3] == ' ' || detail[3] == '-');
	if (is_reply)
		*is_reply = reply;
	return reply ? smtp_esc_parse(detail + 4, len - 4, esc) : smtp_esc_parse(detail, len, esc);
}

int smtp_reply_class(int code)
{
	if (code < 200 || code > 559 || code % 100 > 59)
		return 0;
	return code / 100;
}

/* 1 to 3 digits at s[*i]; advances *i. */
static bool esc_number(const char *s, size_t len, size_t *i)
{
	size_t start = *i;
	while (*i < len && *i - start < 4 && is_digit(s[*i]))
		(*i)++;
	return *i > start && *i - start <= 3;
}

size_t smtp_esc_parse(const char *text, size_t len, char esc[SMTP_ESC_BUF])
{
	size_t i = 0;
	if (len < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.')
		return 0;
	i = 2;
	if (!esc_number(text, len, &i) || i >= len || text[i] != '.')
		return 0;
	i++;
	if (!esc_number(text, len, &i) || (i < len && text[i] != ' '))
		return 0;
	if (esc != NULL) {
		memcpy(esc, text, i); /* i <= 9 < SMTP_ESC_BUF */
		esc[i] = '\0';
	}
	return i;
}

/* Appends n bytes of one line's text to r->text, after a space if
 * there is text already, cutting it (and marking the cut) if it does
 * not fit. */
static void text_add(struct smtp_reply *r, const char *s, size_t n)
{
	const size_t cap = sizeof(r->text) - 1;
	const size_t marklen = sizeof(SMTP_REPLY_TRUNC) - 1;
	if (n == 0 || r->truncated)
		return;
	size_t need = n + (r->textlen > 0);
	bool fits = need <= cap - r->textlen;
	size_t limit = fits ? cap : cap - marklen;
	if (r->textlen > limit)
		r->textlen = limit;
	if (r->textlen > 0 && r->textlen < limit)
		r->text[r->textlen++] = ' ';
	for (size_t i = 0; i < n && r->textlen < limit; i++) {
		unsigned char c = (unsigned char)s[i];
		r->text[r->textlen++] = c == '\t' ? ' ' : c >= 0x80 ? '?' : (char)c;
	}
	if (!fits) {
		memcpy(r->text + r->textlen, SMTP_REPLY_TRUNC, marklen);
		r->textlen += marklen;
		r->truncated = true;
	}
	r->text[r->textlen] = '\0';
}

static enum smtp_reply_status garbage(struct smtp_reply *r, enum smtp_reply_err err)
{
	r->status = SR_GARBAGE;
	r->err = err;
	r->code = 0;
	r->esc[0] = '\0';
	return SR_GARBAGE;
}

enum smtp_reply_status smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len)
{
	if (r->status != SR_MORE)
		return garbage(r, r->status == SR_GARBAGE ? r->err : SRE_FINISHED);
	if (len > SMTP_REPLY_LINE_MAX)
		return garbage(r, SRE_TOO_LONG);
	if (r->nlines >= SMTP_REPLY_LINES_MAX)
		return garbage(r, SRE_TOO_MANY);
	int code = len >= 3 ? reply_code(line) : 0;
	if (code == 0)
		return garbage(r, SRE_CODE);
	if (len > 3 && line[3] != '-' && line[3] != ' ')
		return garbage(r, SRE_SEPARATOR);
	const char *t = line + (len > 3 ? 4 : 3);
	size_t tl = len > 3 ? len - 4 : 0;
	for (size_t i = 0; i < tl; i++) {
		unsigned char c = (unsigned char)t[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return garbage(r, SRE_CTRL);
	}
	if (r->nlines == 0) {
		r->code = code;
		size_t el = smtp_esc_parse(t, tl, r->esc);
		if (el > 0 && r->esc[0] - '0' != code / 100)
			r->esc[0] = '\0'; /* "550 2.0.0": not to be trusted */
	} else if (code != r->code) {
		return garbage(r, SRE_MISMATCH);
	} else if (r->esc[0] != '\0') {
		size_t el = strlen(r->esc);
		if (tl >= el && memcmp(t, r->esc, el) == 0 && (tl == el || t[el] == ' ')) {
			t += tl == el ? el : el + 1;
			tl -= tl == el ? el : el + 1;
		}
	}
	r->nlines++;
	text_add(r, t, tl);
	if (len > 3 && line[3] == '-')
		return SR_MORE;
	r->status = SR_DONE;
	return SR_DONE;
}

enum smtp_verdict smtp_reply_verdict(enum smtp_stage stage, int code)
{
	int cls = smtp_reply_class(code);
	bool intermediate;
	switch (stage) {
	case SMTP_ST_AUTH: case SMTP_ST_DATA:
		intermediate = true;
		break;
	case SMTP_ST_GREETING: case SMTP_ST_EHLO: case SMTP_ST_STARTTLS: case SMTP_ST_MAIL:
	case SMTP_ST_RCPT: case SMTP_ST_DOT: case SMTP_ST_RSET: case SMTP_ST_NOOP:
	case SMTP_ST_QUIT:
		intermediate = false;
		break;
	default:
		return SV_UNEXPECTED;
	}
	switch (cls) {
	case 2:
		/* DATA is never done at once; AUTH may be (235 after an
		 * initial response) */
		return stage == SMTP_ST_DATA ? SV_UNEXPECTED : SV_OK;
	case 3:
		return intermediate ? SV_CONTINUE : SV_UNEXPECTED;
	case 4:
		return SV_TEMP;
	case 5:
		return SV_PERM;
	default:
		return SV_UNEXPECTED;
	}
}

bool smtp_reply_final(enum smtp_stage stage, int code)
{
	return smtp_reply_verdict(stage, code) != SV_CONTINUE;
}

/* ---- EHLO capabilities ---- */

static bool word_is(const char *w, size_t wl, const char *name)
{
	return strlen(name) == wl && strncasecmp(w, name, wl) == 0;
}

/* The next word of s[*i..len) (words are separated by spaces). */
static bool next_word(const char *s, size_t len, size_t *i, const char **w, size_t *wl)
{
	while (*i < len && s[*i] == ' ')
		(*i)++;
	if (*i == len)
		return false;
	size_t start = *i;
	while (*i < len && s[*i] != ' ')
		(*i)++;
	*w = s + start;
	*wl = *i - start;
	return true;
}

/* ehlo-keyword: (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static bool ehlo_keyword(const char *w, size_t wl)
{
	for (size_t i = 0; i < wl; i++) {
		char c = w[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) ||
		    (c == '-' && i > 0)))
			return false;
	}
	return wl > 0;
}

static void auth_mech(struct smtp_ehlo *e, const char *w, size_t wl)
{
	if (word_is(w, wl, "PLAIN"))
		e->auth_plain = true;
	else if (word_is(w, wl, "LOGIN"))
		e->auth_login = true;
}

/* SIZE's parameter: 1-20 digits, at most UINT64_MAX. */
static bool size_value(const char *w, size_t wl, uint64_t *out)
{
	uint64_t v = 0;
	if (wl == 0 || wl > 20)
		return false;
	for (size_t i = 0; i < wl; i++) {
		if (!is_digit(w[i]))
			return false;
		unsigned d = (unsigned)(w[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

void smtp_ehlo_cap(struct smtp_ehlo *e, const char *text, size_t len)
{
	size_t i = 0;
	const char *kw, *w;
	size_t kl, wl;
	if (!next_word(text, len, &i, &kw, &kl))
		return;
	if (kl >= 5 && strncasecmp(kw, "AUTH=", 5) == 0) {
		/* the pre-RFC 4954 form some servers still send */
		e->auth = true;
		auth_mech(e, kw + 5, kl - 5);
		while (next_word(text, len, &i, &w, &wl))
			auth_mech(e, w, wl);
		return;
	}
	if (!ehlo_keyword(kw, kl))
		return;
	if (word_is(kw, kl, "PIPELINING")) {
		e->pipelining = true;
	} else if (word_is(kw, kl, "STARTTLS")) {
		e->starttls = true;
	} else if (word_is(kw, kl, "8BITMIME")) {
		e->eightbitmime = true;
	} else if (word_is(kw, kl, "SMTPUTF8")) {
		e->smtputf8 = true;
	} else if (word_is(kw, kl, "ENHANCEDSTATUSCODES")) {
		e->enhancedstatuscodes = true;
	} else if (word_is(kw, kl, "AUTH")) {
		e->auth = true;
		while (next_word(text, len, &i, &w, &wl))
			auth_mech(e, w, wl);
	} else if (word_is(kw, kl, "SIZE")) {
		uint64_t v = 0;
		bool ok = true;
		if (next_word(text, len, &i, &w, &wl))
			ok = size_value(w, wl, &v) && !next_word(text, len, &i, &w, &wl);
		e->has_size = ok;
		e->size = ok ? v : 0;
	}
}

enum smtp_reply_status smtp_ehlo_feed(struct smtp_reply *r, struct smtp_ehlo *e,
    const char *line, size_t len)
{
	if (r->nlines == 0)
		memset(e, 0, sizeof(*e));
	enum smtp_reply_status st = smtp_reply_feed(r, line, len);
	if (st == SR_GARBAGE) {
		memset(e, 0, sizeof(*e));
		return st;
	}
	/* the line is valid: "250-text", "250 text", "250-", "250 " or "250" */
	if (r->nlines > 1 && r->code == 250 && len > 4)
		smtp_ehlo_cap(e, line + 4, len - 4);
	return st;
}
