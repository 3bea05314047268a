/*
 * mx.c: the hosts to try for a mail domain from its MX records (RFC
 * 5321 5.1, RFC 7505). Pure functions over records that came from the
 * DNS; postern-relay calls them, unprivileged in its chroot.
 */
#include "mx.h"

#include <string.h>
#include <strings.h>

#define UNIFORM_TRIES 64 /* rejection sampling rounds before settling for a tiny bias */

bool mx_name_valid(const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > MX_NAME_MAX)
		return false;
	size_t label = 0;
	bool digits = true; /* the label so far is all digits */
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			digits = true;
			continue;
		}
		if (c >= '0' && c <= '9') {
			/* digits keep digits as it is */
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			digits = false;
		} else if (c == '-' && label > 0) {
			digits = false;
		} else {
			return false;
		}
		if (++label > MX_LABEL_MAX)
			return false;
	}
	/* the last label is not empty (len > 0, and a ".." or a leading '.'
	 * failed above unless it is the end: "a." was stripped, "a.." not) */
	if (label == 0 || s[len - 1] == '-')
		return false;
	/* no top-level domain is all digits: "192.0.2.1" is an address */
	return !digits;
}

/* The length of host name s without its trailing dot. */
static size_t bare_len(const char *s, size_t len)
{
	return len > 0 && s[len - 1] == '.' ? len - 1 : len;
}

static bool is_null(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '.');
}

/* Uniform in [0, k), k >= 1: rejection sampling, bounded. */
static uint32_t uniform(uint32_t (*rnd)(void *), void *arg, uint32_t k)
{
	uint32_t threshold = (uint32_t)(0u - k) % k; /* 2^32 mod k */
	uint32_t r = 0;
	for (int i = 0; i < UNIFORM_TRIES; i++) {
		r = rnd(arg);
		if (r >= threshold)
			break;
	}
	return r % k;
}

static void swap(struct mx_host *a, struct mx_host *b)
{
	struct mx_host t = *a;
	*a = *b;
	*b = t;
}

static void set_host(struct mx_host *h, uint16_t pref, const char *name, size_t len)
{
	h->pref = pref;
	memcpy(h->name, name, len); /* len <= MX_NAME_MAX, checked by mx_name_valid */
	h->name[len] = '\0';
}

enum mx_status mx_select(const struct mx_rr *rr, size_t n, uint32_t (*rnd)(void *),
    void *arg, struct mx_list *out)
{
	size_t seq[MX_MAX]; /* the record each host came from, to keep the first ones */
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const char *h = rr[i].host;
		size_t hl = rr[i].len;
		if (h == NULL || is_null(h, hl)) {
			out->nulls++;
			continue;
		}
		if (!mx_name_valid(h, hl)) {
			out->invalid++;
			continue;
		}
		hl = bare_len(h, hl);
		size_t j;
		for (j = 0; j < out->n; j++)
			if (strlen(out->host[j].name) == hl && strncasecmp(out->host[j].name, h, hl) == 0)
				break;
		if (j < out->n) {
			if (rr[i].pref < out->host[j].pref)
				out->host[j].pref = rr[i].pref;
			out->duplicates++;
			continue;
		}
		if (out->n < MX_MAX) {
			seq[out->n] = i;
			set_host(&out->host[out->n++], rr[i].pref, h, hl);
			continue;
		}
		/* full: this one takes the place of the worst, the last seen
		 * of the worst preference, if it is better */
		size_t w = 0;
		for (j = 1; j < out->n; j++)
			if (out->host[j].pref > out->host[w].pref ||
			    (out->host[j].pref == out->host[w].pref && seq[j] > seq[w]))
				w = j;
		out->dropped++;
		if (rr[i].pref < out->host[w].pref) {
			seq[w] = i;
			set_host(&out->host[w], rr[i].pref, h, hl);
		}
	}
	out->null_mixed = out->nulls > 0 && out->nulls < n;
	if (out->n == 0)
		return out->nulls > 0 && out->nulls == n ? MX_NULL : MX_NONE;

	/* ascending preference, first seen first (insertion sort: n <= 32) */
	for (size_t i = 1; i < out->n; i++)
		for (size_t j = i; j > 0 && (out->host[j].pref < out->host[j - 1].pref ||
		    (out->host[j].pref == out->host[j - 1].pref && seq[j] < seq[j - 1])); j--) {
			swap(&out->host[j], &out->host[j - 1]);
			size_t t = seq[j];
			seq[j] = seq[j - 1];
			seq[j - 1] = t;
		}
	/* Fisher-Yates within each run of one preference */
	for (size_t start = 0; start < out->n;) {
		size_t end = start + 1;
		while (end < out->n && out->host[end].pref == out->host[start].pref)
			end++;
		for (size_t i = end - start - 1; i > 0; i--) {
			size_t j = uniform(rnd, arg, (uint32_t)(i + 1));
			swap(&out->host[start + i], &out->host[start + j]);
		}
		start = end;
	}
	return MX_OK;
}

enum mx_status mx_implicit(const char *domain, size_t len, struct mx_list *out)
{
	memset(out, 0, sizeof(*out));
	if (domain == NULL || !mx_name_valid(domain, len)) {
		out->invalid = 1;
		return MX_NONE;
	}
	set_host(&out->host[0], 0, domain, bare_len(domain, len));
	out->n = 1;
	return MX_OK;
}

enum mx_status mx_prune_self(struct mx_list *l, const char *self, size_t len)
{
	if (l->n > MX_MAX)
		l->n = MX_MAX;
	if (l->n == 0)
		return MX_NONE;
	len = bare_len(self, len);
	bool found = false;
	uint16_t mine = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *h = l->host[i].name;
		size_t hl = strnlen(h, sizeof(l->host[i].name));
		if (hl == len && strncasecmp(h, self, len) == 0 && (!found || l->host[i].pref < mine)) {
			found = true;
			mine = l->host[i].pref;
		}
	}
	if (!found)
		return MX_OK;
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->host[i].pref < mine)
			l->host[k++] = l->host[i];
	l->n = k;
	l->self_pruned = true;
	return k == 0 ? MX_SELF : MX_OK;
}
