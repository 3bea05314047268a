/*
 * fuzz_smtp_reply.c: libFuzzer target for relay/smtp_reply.c and
 * relay/mx.c. The input is split into lines at '\n' and read as a run
 * of SMTP replies (smtp_reply_feed; a new reply after each complete or
 * garbage one, except that a line starting with '!' is fed to the
 * finished one): after every line the status, error, code, enhanced
 * code, line count and joined text must match a plain second reading
 * of RFC 5321 4.2 (ref_feed), the text must be printable ASCII,
 * NUL-terminated and within its buffer, and a complete reply must have
 * a valid code, at most SMTP_REPLY_LINES_MAX lines and an enhanced code
 * of its own class. The same lines go through smtp_ehlo_feed, whose
 * capabilities are compared with a second tokenizer (ref_cap), and
 * each raw line through smtp_esc_parse (against a brute-force reading)
 * and smtp_ehlo_cap. Then each line is an MX record (its first byte,
 * mod 8, the preference; the rest the host): mx_select must account
 * for every record, return hosts that are valid (against ref_name),
 * distinct and in ascending preference, each with the best preference
 * any of its records had, keep the best when there are too many, and
 * do the same again for the same rnd; mx_prune_self and mx_implicit
 * are checked against what the list says.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mx.h"
#include "smtp_reply.h"

#define MAX_LINES 256

/* ---- a second reading of the reply grammar ---- */

struct ref {
	enum smtp_reply_status status;
	enum smtp_reply_err err;
	int code;
	size_t nlines;
	char esc[SMTP_ESC_BUF];
	char full[SMTP_REPLY_LINES_MAX * (SMTP_REPLY_LINE_MAX + 1) + 1]; /* never cut */
	size_t fulllen;
};

/* "d.s.d" with s and d of 1-3 digits, by trying every length. */
static size_t ref_esc(const char *t, size_t len)
{
	static const char digits[] = "0123456789";
	if (len < 2 || strchr("245", t[0]) == NULL || t[0] == '\0' || t[1] != '.')
		return 0;
	for (size_t sl = 1; sl <= 3; sl++) {
		for (size_t dl = 1; dl <= 3; dl++) {
			size_t total = 2 + sl + 1 + dl;
			if (total > len)
				continue;
			bool ok = t[2 + sl] == '.' && (total == len || t[total] == ' ');
			for (size_t k = 0; ok && k < sl; k++)
				ok = t[2 + k] != '\0' && strchr(digits, t[2 + k]) != NULL;
			for (size_t k = 0; ok && k < dl; k++)
				ok = t[3 + sl + k] != '\0' && strchr(digits, t[3 + sl + k]) != NULL;
			if (ok)
				return total;
		}
	}
	return 0;
}

static void ref_init(struct ref *f)
{
	f->status = SR_MORE;
	f->err = SRE_NONE;
	f->code = 0;
	f->nlines = 0;
	f->esc[0] = '\0';
	f->fulllen = 0;
}

static void ref_bad(struct ref *f, enum smtp_reply_err err)
{
	f->status = SR_GARBAGE;
	f->err = err;
	f->code = 0;
	f->esc[0] = '\0';
}

static void ref_feed(struct ref *f, const char *line, size_t len)
{
	if (f->status == SR_DONE) {
		ref_bad(f, SRE_FINISHED);
		return;
	}
	if (f->status == SR_GARBAGE)
		return;
	if (len > 510) {
		ref_bad(f, SRE_TOO_LONG);
		return;
	}
	if (f->nlines == 100) {
		ref_bad(f, SRE_TOO_MANY);
		return;
	}
	if (len < 3 || line[0] == '\0' || line[1] == '\0' || line[2] == '\0' ||
	    !strchr("2345", line[0]) || !strchr("012345", line[1]) || !strchr("0123456789", line[2])) {
		ref_bad(f, SRE_CODE);
		return;
	}
	int code = 100 * (line[0] - '0') + 10 * (line[1] - '0') + (line[2] - '0');
	bool more = false;
	const char *t = line + len;
	if (len > 3) {
		if (line[3] == '-')
			more = true;
		else if (line[3] != ' ') {
			ref_bad(f, SRE_SEPARATOR);
			return;
		}
		t = line + 4;
	}
	size_t tl = (size_t)(line + len - t);
	for (size_t i = 0; i < tl; i++)
		if (((unsigned char)t[i] < 32 && t[i] != '\t') || t[i] == 127) {
			ref_bad(f, SRE_CTRL);
			return;
		}
	if (f->nlines == 0) {
		f->code = code;
		size_t el = ref_esc(t, tl);
		if (el > 0 && t[0] == line[0]) {
			memcpy(f->esc, t, el);
			f->esc[el] = '\0';
		}
	} else if (code != f->code) {
		ref_bad(f, SRE_MISMATCH);
		return;
	} else {
		size_t el = strlen(f->esc);
		if (el > 0 && tl >= el && strncmp(t, f->esc, el) == 0 && (tl == el || t[el] == ' ')) {
			t += el + (tl > el);
			tl -= el + (tl > el);
		}
	}
	f->nlines++;
	if (tl > 0) {
		if (f->fulllen > 0)
			f->full[f->fulllen++] = ' ';
		for (size_t i = 0; i < tl; i++) {
			unsigned char c = (unsigned char)t[i];
			f->full[f->fulllen++] = c == '\t' ? ' ' : c > 126 ? '?' : (char)c;
		}
	}
	f->full[f->fulllen] = '\0';
	if (!more)
		f->status = SR_DONE;
}

static void compare(const struct smtp_reply *r, const struct ref *f)
{
	if (r->status != f->status || r->err != f->err || r->code != f->code ||
	    r->nlines != f->nlines || strcmp(r->esc, f->esc) != 0)
		abort();
	/* the text: the whole, or its first 1020 octets and the marker */
	if (memchr(r->text, '\0', sizeof(r->text)) == NULL || strlen(r->text) != r->textlen)
		abort();
	if (f->fulllen <= SMTP_REPLY_TEXT_MAX - 1) {
		if (r->truncated || r->textlen != f->fulllen || memcmp(r->text, f->full, f->fulllen) != 0)
			abort();
	} else {
		size_t keep = SMTP_REPLY_TEXT_MAX - 1 - strlen(SMTP_REPLY_TRUNC);
		if (!r->truncated || r->textlen != SMTP_REPLY_TEXT_MAX - 1 ||
		    memcmp(r->text, f->full, keep) != 0 || strcmp(r->text + keep, SMTP_REPLY_TRUNC) != 0)
			abort();
	}
	for (size_t i = 0; i < r->textlen; i++)
		if (r->text[i] < 32 || r->text[i] > 126)
			abort();
	if (r->nlines > SMTP_REPLY_LINES_MAX)
		abort();
	if (r->status == SR_DONE) {
		int cls = smtp_reply_class(r->code);
		if (cls < 2 || cls > 5 || r->nlines < 1)
			abort();
		size_t el = strlen(r->esc);
		if (el > 0 && (smtp_esc_parse(r->esc, el, NULL) != el || r->esc[0] - '0' != cls))
			abort();
		for (int s = SMTP_ST_GREETING; s <= SMTP_ST_QUIT; s++) {
			enum smtp_verdict v = smtp_reply_verdict((enum smtp_stage)s, r->code);
			if (v > SV_UNEXPECTED || smtp_reply_final((enum smtp_stage)s, r->code) !=
			    (v != SV_CONTINUE))
				abort();
			if ((v == SV_TEMP) != (cls == 4) || (v == SV_PERM) != (cls == 5))
				abort();
		}
	} else if (r->status == SR_GARBAGE) {
		if (r->code != 0 || r->err == SRE_NONE || strcmp(smtp_reply_errstr(r->err), "?") == 0)
			abort();
	}
	if (r->status != SR_GARBAGE && r->err != SRE_NONE)
		abort();
}

/* ---- EHLO, tokenized another way ---- */

static void ref_cap(struct smtp_ehlo *e, const char *text, size_t len)
{
	char buf[SMTP_REPLY_LINE_MAX + 1], *save = NULL;
	if (len > SMTP_REPLY_LINE_MAX || memchr(text, '\0', len) != NULL)
		abort();
	memcpy(buf, text, len);
	buf[len] = '\0';
	char *kw = strtok_r(buf, " ", &save);
	if (kw == NULL)
		return;
	char *p;
	if (strncasecmp(kw, "AUTH=", 5) == 0) {
		e->auth = true;
		p = kw + 5;
	} else {
		for (size_t i = 0; kw[i]; i++)
			if (!(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-",
			    kw[i]) && (kw[i] != '-' || i > 0)))
				return;
		if (!strcasecmp(kw, "PIPELINING"))
			e->pipelining = true;
		else if (!strcasecmp(kw, "STARTTLS"))
			e->starttls = true;
		else if (!strcasecmp(kw, "8BITMIME"))
			e->eightbitmime = true;
		else if (!strcasecmp(kw, "SMTPUTF8"))
			e->smtputf8 = true;
		else if (!strcasecmp(kw, "ENHANCEDSTATUSCODES"))
			e->enhancedstatuscodes = true;
		else if (!strcasecmp(kw, "SIZE")) {
			char *n = strtok_r(NULL, " ", &save);
			bool ok = true;
			unsigned long long v = 0;
			if (n != NULL) {
				ok = strlen(n) <= 20 && strspn(n, "0123456789") == strlen(n);
				if (ok) {
					errno = 0;
					v = strtoull(n, NULL, 10);
					ok = errno == 0;
				}
				if (strtok_r(NULL, " ", &save) != NULL)
					ok = false;
			}
			e->has_size = ok;
			e->size = ok ? v : 0;
			return;
		}
		if (strcasecmp(kw, "AUTH") != 0)
			return;
		e->auth = true;
		p = strtok_r(NULL, " ", &save);
	}
	for (; p != NULL; p = strtok_r(NULL, " ", &save)) {
		if (!strcasecmp(p, "PLAIN"))
			e->auth_plain = true;
		else if (!strcasecmp(p, "LOGIN"))
			e->auth_login = true;
	}
}

static bool ehlo_eq(const struct smtp_ehlo *a, const struct smtp_ehlo *b)
{
	return a->pipelining == b->pipelining && a->starttls == b->starttls &&
	    a->eightbitmime == b->eightbitmime && a->smtputf8 == b->smtputf8 &&
	    a->enhancedstatuscodes == b->enhancedstatuscodes && a->has_size == b->has_size &&
	    a->size == b->size && a->auth == b->auth && a->auth_plain == b->auth_plain &&
	    a->auth_login == b->auth_login;
}

/* ---- MX ---- */

/* LDH labels, another way: cut at dots with memchr. */
static bool ref_name(const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len < 1 || len > 253)
		return false;
	const char *p = s, *end = s + len, *last = s;
	size_t lastlen = 0;
	while (p <= end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t l = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (l < 1 || l > 63 || p[0] == '-' || p[l - 1] == '-')
			return false;
		for (size_t i = 0; i < l; i++)
			if (p[i] == '\0' || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-", p[i]))
				return false;
		last = p;
		lastlen = l;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	for (size_t i = 0; i < lastlen; i++)
		if (last[i] < '0' || last[i] > '9')
			return true;
	return false;
}

static size_t bare(const char *s, size_t len)
{
	return len > 0 && s[len - 1] == '.' ? len - 1 : len;
}

static bool same_host(const char *a, size_t al, const char *b, size_t bl)
{
	al = bare(a, al);
	bl = bare(b, bl);
	return al == bl && strncasecmp(a, b, al) == 0;
}

static uint32_t fz_rnd(void *arg)
{
	uint64_t *x = arg;
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*x >> 32);
}

static uint32_t fz_zero(void *arg)
{
	(void)arg;
	return 0;
}

static void check_mx(const struct mx_rr *rr, size_t n, uint64_t seed, bool zero)
{
	struct mx_list l, again;
	uint64_t s1 = seed, s2 = seed;
	enum mx_status st = mx_select(rr, n, zero ? fz_zero : fz_rnd, &s1, &l);
	if (mx_select(rr, n, zero ? fz_zero : fz_rnd, &s2, &again) != st ||
	    memcmp(&l, &again, sizeof(l)) != 0)
		abort();
	if (l.n > MX_MAX || l.n + l.nulls + l.invalid + l.duplicates + l.dropped != n)
		abort();
	size_t nulls = 0, valid = 0;
	for (size_t i = 0; i < n; i++) {
		if (rr[i].len == 0 || (rr[i].len == 1 && rr[i].host[0] == '.'))
			nulls++;
		else if (ref_name(rr[i].host, rr[i].len))
			valid++;
		if (mx_name_valid(rr[i].host, rr[i].len) != ref_name(rr[i].host, rr[i].len))
			abort();
	}
	if (l.nulls != nulls || l.invalid != n - nulls - valid)
		abort();
	if (l.null_mixed != (nulls > 0 && nulls < n) || l.self_pruned)
		abort();
	if ((st == MX_OK) != (l.n > 0) || (st == MX_NULL) != (n > 0 && nulls == n) ||
	    (st == MX_NONE) != (l.n == 0 && !(n > 0 && nulls == n)) || st == MX_SELF)
		abort();
	/* the distinct valid hosts, each with its best preference */
	size_t distinct = 0;
	uint16_t worst_kept = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *h = l.host[i].name;
		size_t hl = strnlen(h, sizeof(l.host[i].name));
		if (hl == sizeof(l.host[i].name) || !ref_name(h, hl) || h[hl - 1] == '.')
			abort();
		if (i > 0 && l.host[i - 1].pref > l.host[i].pref)
			abort();
		for (size_t j = 0; j < i; j++)
			if (same_host(h, hl, l.host[j].name, strlen(l.host[j].name)))
				abort();
		bool seen = false;
		uint16_t best = UINT16_MAX;
		for (size_t k = 0; k < n; k++)
			if (ref_name(rr[k].host, rr[k].len) && same_host(h, hl, rr[k].host, rr[k].len)) {
				seen = true;
				if (rr[k].pref < best)
					best = rr[k].pref;
			}
		if (!seen || best != l.host[i].pref)
			abort();
		worst_kept = l.host[i].pref;
	}
	for (size_t k = 0; k < n; k++) {
		if (!ref_name(rr[k].host, rr[k].len))
			continue;
		size_t j;
		for (j = 0; j < k; j++)
			if (ref_name(rr[j].host, rr[j].len) &&
			    same_host(rr[k].host, rr[k].len, rr[j].host, rr[j].len))
				break;
		if (j < k)
			continue; /* counted at its first record */
		distinct++;
		bool kept = false;
		for (size_t i = 0; i < l.n; i++)
			kept |= same_host(rr[k].host, rr[k].len, l.host[i].name, strlen(l.host[i].name));
		if (!kept) {
			/* only dropped for want of room, and never better than one kept */
			if (l.n < MX_MAX)
				abort();
			for (size_t m = 0; m < n; m++)
				if (same_host(rr[k].host, rr[k].len, rr[m].host, rr[m].len) &&
				    ref_name(rr[m].host, rr[m].len) && rr[m].pref < worst_kept)
					abort();
		}
	}
	if (l.n != (distinct < MX_MAX ? distinct : MX_MAX))
		abort();

	/* pruning with each record's host as the local name */
	for (size_t k = 0; k < n && k < 8; k++) {
		struct mx_list p;
		memcpy(&p, &l, sizeof(p));
		enum mx_status ps = mx_prune_self(&p, rr[k].host, rr[k].len);
		bool found = false;
		uint16_t mine = 0;
		for (size_t i = 0; i < l.n; i++)
			if (same_host(l.host[i].name, strlen(l.host[i].name), rr[k].host, rr[k].len) &&
			    (!found || l.host[i].pref < mine)) {
				found = true;
				mine = l.host[i].pref;
			}
		if (l.n == 0) {
			if (ps != MX_NONE || p.n != 0)
				abort();
			continue;
		}
		if (!found) {
			if (ps != MX_OK || memcmp(&p, &l, sizeof(p)) != 0)
				abort();
			continue;
		}
		size_t want = 0;
		for (size_t i = 0; i < l.n; i++)
			if (l.host[i].pref < mine) {
				if (want >= p.n || memcmp(&p.host[want], &l.host[i], sizeof(p.host[0])) != 0)
					abort();
				want++;
			}
		if (p.n != want || !p.self_pruned || (ps == MX_SELF) != (want == 0) ||
		    (ps != MX_SELF && ps != MX_OK))
			abort();
	}
}

static void check_implicit(const char *s, size_t len)
{
	struct mx_list l;
	enum mx_status st = mx_implicit(s, len, &l);
	if ((st == MX_OK) != ref_name(s, len) || (st != MX_OK && st != MX_NONE))
		abort();
	if (st == MX_OK && (l.n != 1 || l.host[0].pref != 0 || strlen(l.host[0].name) != bare(s, len) ||
	    memcmp(l.host[0].name, s, bare(s, len)) != 0))
		abort();
	if (st != MX_OK && l.n != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *line[MAX_LINES];
	size_t len[MAX_LINES], n = 0;
	for (size_t pos = 0; pos <= size && n < MAX_LINES;) {
		const char *nl = memchr(in + pos, '\n', size - pos);
		size_t l = nl ? (size_t)(nl - (in + pos)) : size - pos;
		line[n] = in + pos;
		len[n++] = l;
		pos += l + 1;
	}

	/* replies, and the same lines as EHLO replies */
	static struct ref f; /* large: not on the stack */
	struct smtp_reply r, re;
	struct smtp_ehlo e, eref;
	smtp_reply_init(&r);
	smtp_reply_init(&re);
	ref_init(&f);
	memset(&eref, 0, sizeof(eref));
	for (size_t i = 0; i < n; i++) {
		if (r.status != SR_MORE && !(len[i] > 0 && line[i][0] == '!')) {
			smtp_reply_init(&r);
			smtp_reply_init(&re);
			ref_init(&f);
			memset(&eref, 0, sizeof(eref));
		}
		enum smtp_reply_status st = smtp_reply_feed(&r, line[i], len[i]);
		ref_feed(&f, line[i], len[i]);
		if (st != r.status)
			abort();
		compare(&r, &f);
		enum smtp_reply_status ste = smtp_ehlo_feed(&re, &e, line[i], len[i]);
		if (ste != st || re.nlines != r.nlines || re.code != r.code || re.textlen != r.textlen ||
		    strcmp(re.text, r.text) != 0)
			abort();
		if (st == SR_GARBAGE) {
			memset(&eref, 0, sizeof(eref));
		} else if (r.nlines > 1 && r.code == 250) {
			ref_cap(&eref, len[i] > 4 ? line[i] + 4 : "", len[i] > 4 ? len[i] - 4 : 0);
		}
		if (!ehlo_eq(&e, &eref))
			abort();
		if (r.code != 250 && st != SR_GARBAGE) {
			struct smtp_ehlo z;
			memset(&z, 0, sizeof(z));
			if (!ehlo_eq(&e, &z))
				abort();
		}

		/* the raw line's first bytes as a number: a class only for a valid code */
		if (len[i] >= 2) {
			int code = (int16_t)(((uint8_t)line[i][0] << 8) | (uint8_t)line[i][1]);
			int cls = smtp_reply_class(code);
			bool valid = code >= 200 && code < 600 && code % 100 < 60;
			if (cls != (valid ? code / 100 : 0))
				abort();
		}
		/* the raw line as an enhanced code and as a capability */
		char esc[SMTP_ESC_BUF];
		size_t el = smtp_esc_parse(line[i], len[i], esc);
		if (el != ref_esc(line[i], len[i]) || (el > 0 && (strlen(esc) != el ||
		    memcmp(esc, line[i], el) != 0)))
			abort();
		/* ... and as a delivery result's detail */
		bool is_reply;
		size_t dl = smtp_detail_esc(line[i], len[i], esc, &is_reply);
		if (dl != (is_reply ? ref_esc(line[i] + 4, len[i] - 4) : el) ||
		    (dl > 0 && strlen(esc) != dl))
			abort();
		struct smtp_ehlo c1, c2;
		memset(&c1, 0, sizeof(c1));
		memset(&c2, 0, sizeof(c2));
		smtp_ehlo_cap(&c1, line[i], len[i]);
		if (len[i] <= SMTP_REPLY_LINE_MAX && memchr(line[i], '\0', len[i]) == NULL) {
			ref_cap(&c2, line[i], len[i]);
			if (!ehlo_eq(&c1, &c2))
				abort();
		}
		check_implicit(line[i], len[i]);
	}

	/* the lines as MX records */
	struct mx_rr rr[MAX_LINES];
	size_t nrr = 0;
	uint64_t seed = 0x243f6a8885a308d3ull;
	for (size_t i = 0; i < n && i < 2 * MX_MAX + 8; i++) {
		uint16_t pref = len[i] > 0 ? (uint16_t)((uint8_t)line[i][0] & 7) : 0;
		rr[nrr].pref = pref;
		rr[nrr].host = len[i] > 0 ? line[i] + 1 : line[i];
		rr[nrr].len = len[i] > 0 ? len[i] - 1 : 0;
		nrr++;
	}
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ull;
	check_mx(rr, nrr, seed, size > 0 && (data[0] & 0x80));
	return 0;
}
