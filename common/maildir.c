/*
 * maildir.c: Maildir file names, POP3 unique ids and the file-to-wire
 * transform (see maildir.h). Pure functions over untrusted names and
 * bytes, run by the local delivery agent and pop3d's mail sessions as
 * postern-vmail.
 */
#include "maildir.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

/* ---- Maildir names ---- */

static bool leading_num(const char *s, size_t len, uint64_t *out, size_t *used)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < len && i < 19 && s[i] >= '0' && s[i] <= '9')
		v = v * 10 + (uint64_t)(s[i++] - '0');
	*out = v;
	*used = i;
	return i > 0;
}

bool maildir_name_parse(const char *name, struct maildir_name *out)
{
	size_t len = strnlen(name, 256);
	memset(out, 0, sizeof(*out));
	if (len == 0 || len > 255 || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == '/' || name[i] == 0x7f)
			return false;
	const char *colon = memchr(name, ':', len);
	out->unique_len = colon ? (size_t)(colon - name) : len;
	if (out->unique_len == 0)
		return false;
	if (colon && len - out->unique_len >= 3 && colon[1] == '2' && colon[2] == ',')
		out->flags = colon + 3;
	/* ",W=n" among the comma-separated fields of the unique part */
	for (size_t i = 0; i + 3 <= out->unique_len; i++) {
		if (name[i] == ',' && name[i + 1] == 'W' && name[i + 2] == '=') {
			size_t used;
			uint64_t v;
			if (leading_num(name + i + 3, out->unique_len - i - 3, &v, &used) &&
			    (i + 3 + used == out->unique_len || name[i + 3 + used] == ',')) {
				out->has_vsize = true;
				out->vsize = v;
			}
		}
	}
	size_t used;
	if (leading_num(name, out->unique_len, &out->sec, &used) && used < out->unique_len &&
	    name[used] == '.' && used + 2 < out->unique_len && name[used + 1] == 'M') {
		size_t u2;
		leading_num(name + used + 2, out->unique_len - used - 2, &out->usec, &u2);
	}
	return true;
}

bool maildir_add_flag(const char *name, char c, char *out, size_t outlen)
{
	struct maildir_name mn;
	if (!maildir_name_parse(name, &mn))
		return false;
	size_t ul = mn.unique_len;
	const char *flags = mn.flags ? mn.flags : "";
	if (strchr(flags, c) != NULL)
		return (size_t)snprintf(out, outlen, "%s", name) < outlen;
	char nf[64];
	size_t fl = strlen(flags), j = 0;
	if (fl + 2 > sizeof(nf))
		return false;
	bool placed = false;
	for (size_t i = 0; i <= fl; i++) {
		if (!placed && (i == fl || flags[i] > c)) {
			nf[j++] = c;
			placed = true;
		}
		if (i < fl)
			nf[j++] = flags[i];
	}
	nf[j] = '\0';
	int n = snprintf(out, outlen, "%.*s:2,%s", (int)ul, name, nf);
	return n > 0 && (size_t)n < outlen;
}

void maildir_uid(const char *name, size_t unique_len, char out[MAILDIR_UID_MAX + 1])
{
	bool ok = unique_len >= 1 && unique_len <= MAILDIR_UID_MAX;
	for (size_t i = 0; ok && i < unique_len; i++)
		ok = name[i] >= 0x21 && name[i] <= 0x7e;
	if (ok) {
		memcpy(out, name, unique_len);
		out[unique_len] = '\0';
		return;
	}
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)name, unique_len, md);
	out[0] = 'h';
	for (size_t i = 0; i < 16; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", md[i]);
}

/* ---- file to wire ---- */

void wire_init(struct wire_state *w, bool stuff, uint64_t max_body_lines)
{
	memset(w, 0, sizeof(*w));
	w->stuff = stuff;
	w->line_start = true;
	w->max_body_lines = max_body_lines;
}

#define PUT(ch) do { if (out) out[o] = (ch); o++; } while (0)

size_t wire_encode(struct wire_state *w, const char *in, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len && !w->done; i++) {
		char c = in[i];
		if (w->line_start) {
			if (w->in_body && w->body_lines >= w->max_body_lines) {
				w->done = true;
				break;
			}
			w->line_start = false;
			w->line_empty = true;
			if (w->stuff && c == '.')
				PUT('.');
		}
		if (c == '\n') {
			if (!w->prev_cr)
				PUT('\r');
			PUT('\n');
			if (w->in_body)
				w->body_lines++;
			else if (w->line_empty)
				w->in_body = true;
			w->line_start = true;
			w->prev_cr = false;
			continue;
		}
		PUT(c);
		w->prev_cr = c == '\r';
		if (c != '\r')
			w->line_empty = false;
	}
	return o;
}

size_t wire_finish(struct wire_state *w, char *out)
{
	size_t o = 0;
	if (!w->line_start && !w->done) {
		if (!w->prev_cr)
			PUT('\r');
		PUT('\n');
		w->line_start = true;
	}
	return o;
}

uint64_t wire_size(const char *in, size_t len)
{
	struct wire_state w;
	wire_init(&w, false, UINT64_MAX);
	uint64_t total = wire_encode(&w, in, len, NULL);
	return total + wire_finish(&w, NULL);
}
