/*
 * fuzz_maildir.c: libFuzzer target for common/maildir.c. The first
 * four bytes choose the wire mode (stuffing, TOP's line budget), two
 * split points and a flag letter; the rest is used as a Maildir file
 * name (maildir_name_parse, maildir_add_flag, maildir_uid) and as file
 * bytes (wire_encode/wire_finish/wire_size). Checks the name fields,
 * that an added flag lands sorted in a name that still parses, that
 * uids are 1..70 chars of 0x21..0x7e and stable, and that the wire
 * output matches a simple reference, is the same when fed in chunks or
 * only counted, stays within 2 bytes per input byte, has no line "."
 * when stuffing, and that TOP gives a line-aligned prefix of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"

static void check_uid(const char *name, size_t unique_len)
{
	char a[MAILDIR_UID_MAX + 1], b[MAILDIR_UID_MAX + 1];
	maildir_uid(name, unique_len, a);
	maildir_uid(name, unique_len, b);
	size_t n = strnlen(a, sizeof(a));
	if (n < 1 || n > MAILDIR_UID_MAX || strcmp(a, b) != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (a[i] < 0x21 || a[i] > 0x7e)
			abort();
	bool plain = unique_len >= 1 && unique_len <= MAILDIR_UID_MAX;
	for (size_t i = 0; plain && i < unique_len; i++)
		plain = name[i] >= 0x21 && name[i] <= 0x7e;
	if (plain && (n != unique_len || memcmp(a, name, n) != 0))
		abort();
	if (!plain && (n != 33 || a[0] != 'h'))
		abort();
}

static bool sorted(const char *s)
{
	for (; s[0] && s[1]; s++)
		if (s[0] > s[1])
			return false;
	return true;
}

static void check_add_flag(const char *name, const struct maildir_name *mn, char c)
{
	char out[300];
	if (!maildir_add_flag(name, c, out, sizeof(out)))
		return;
	size_t ol = strlen(out);
	const char *old = mn->flags ? mn->flags : "";
	bool had = strchr(old, c) != NULL;
	if (had && strcmp(out, name) != 0)
		abort();
	if (memcmp(out, name, mn->unique_len) != 0 || memcmp(out + mn->unique_len, ":2,", 3) != 0)
		abort();
	const char *nf = out + mn->unique_len + 3;
	if (!had) {
		/* the old flags with c inserted once */
		if (strlen(nf) != strlen(old) + 1)
			abort();
		const char *p = strchr(nf, c);
		if (p == NULL || (size_t)(p - nf) > strlen(old) ||
		    memcmp(nf, old, (size_t)(p - nf)) != 0 || strcmp(p + 1, old + (p - nf)) != 0)
			abort();
		if (sorted(old) && !sorted(nf))
			abort();
	}
	/* a smaller buffer fails rather than cuts */
	char small[300];
	if (maildir_add_flag(name, c, small, ol))
		abort();
	if (!maildir_add_flag(name, c, small, ol + 1) || strcmp(small, out) != 0)
		abort();
	/* the result is a name again (when the file system would take it) */
	struct maildir_name m2;
	if (ol <= 255) {
		if (!maildir_name_parse(out, &m2) || m2.unique_len != mn->unique_len ||
		    m2.flags == NULL || strchr(m2.flags, c) == NULL ||
		    m2.has_vsize != mn->has_vsize || m2.vsize != mn->vsize)
			abort();
		/* and adding again changes nothing */
		char again[300];
		if (!maildir_add_flag(out, c, again, sizeof(again)) || strcmp(again, out) != 0)
			abort();
	}
}

static void check_name(const uint8_t *data, size_t size, char c)
{
	char name[400];
	size_t len = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, len);
	name[len] = '\0';
	len = strlen(name);
	struct maildir_name mn;
	if (!maildir_name_parse(name, &mn))
		return;
	if (len == 0 || len > 255 || name[0] == '.' || mn.unique_len == 0 || mn.unique_len > len)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f || name[i] == '/')
			abort();
	if (memchr(name, ':', mn.unique_len) != NULL)
		abort();
	if (mn.unique_len < len && name[mn.unique_len] != ':')
		abort();
	if (mn.flags != NULL && (mn.flags != name + mn.unique_len + 3 ||
	    memcmp(name + mn.unique_len, ":2,", 3) != 0))
		abort();
	if (mn.flags == NULL && mn.unique_len + 3 <= len && memcmp(name + mn.unique_len, ":2,", 3) == 0)
		abort();
	/* ",W=" and 1..19 digits ending the field; the last such one counts */
	bool has = false;
	uint64_t vsize = 0;
	for (size_t i = 0; i + 3 < mn.unique_len; i++) {
		if (memcmp(name + i, ",W=", 3) != 0)
			continue;
		size_t j = i + 3;
		uint64_t v = 0;
		while (j < mn.unique_len && name[j] >= '0' && name[j] <= '9' && j - i - 3 < 19)
			v = v * 10 + (uint64_t)(name[j++] - '0');
		if (j > i + 3 && (j == mn.unique_len || name[j] == ',')) {
			has = true;
			vsize = v;
		}
	}
	if (mn.has_vsize != has || mn.vsize != vsize)
		abort();
	check_uid(name, mn.unique_len);
	check_add_flag(name, &mn, c);
	check_add_flag(name, &mn, 'S');
}

/* ---- wire ---- */

/* The reference: the file with a last LF added, CR before every LF
 * that lacks one, and "." doubled at line starts when stuffing. */
static size_t reference(const char *in, size_t len, bool stuff, char *out)
{
	size_t o = 0;
	bool start = true;
	char prev = 0;
	for (size_t i = 0; i <= len; i++) {
		char c;
		if (i < len)
			c = in[i];
		else if (len > 0 && in[len - 1] != '\n')
			c = '\n';
		else
			break;
		if (start && stuff && c == '.')
			out[o++] = '.';
		start = false;
		if (c == '\n') {
			if (prev != '\r')
				out[o++] = '\r';
			start = true;
		}
		out[o++] = c;
		prev = c;
	}
	return o;
}

/* The length of TOP's output from the full output: the header up to and
 * with its blank line (one of CRs only), then max lines. */
static size_t top_len(const char *full, size_t n, uint64_t max)
{
	size_t i = 0, ls = 0;
	bool body = false, blank = true;
	uint64_t lines = 0;
	for (; i < n; i++) {
		if (i == ls && body && lines >= max)
			return ls;
		if (full[i] == '\n') {
			if (body)
				lines++;
			else if (blank)
				body = true;
			ls = i + 1;
			blank = true;
		} else if (full[i] != '\r') {
			blank = false;
		}
	}
	return n;
}

static size_t run(const char *in, size_t len, size_t cut1, size_t cut2, bool stuff, uint64_t max,
    char *out)
{
	struct wire_state w;
	size_t o = 0, k;
	const size_t cuts[] = { 0, cut1, cut2, len };
	wire_init(&w, stuff, max);
	for (size_t i = 0; i < 3; i++) {
		size_t a = cuts[i], b = cuts[i + 1];
		k = wire_encode(&w, in + a, b - a, out ? out + o : NULL);
		if (k > 2 * (b - a))
			abort();
		o += k;
	}
	k = wire_finish(&w, out ? out + o : NULL);
	if (k > 2)
		abort();
	o += k;
	if (wire_finish(&w, NULL) != 0)
		abort();
	return o;
}

static void check_wire(const char *in, size_t len, size_t cut1, size_t cut2, bool stuff, uint64_t max)
{
	char *ref = malloc(2 * len + 2), *whole = malloc(2 * len + 2), *part = malloc(2 * len + 2);
	if (ref == NULL || whole == NULL || part == NULL)
		abort();
	size_t rn = reference(in, len, stuff, ref);
	size_t wn = run(in, len, 0, 0, stuff, UINT64_MAX, whole);
	if (wn != rn || memcmp(whole, ref, rn) != 0 || wn > 2 * len + 2)
		abort();
	if (run(in, len, cut1, cut2, stuff, UINT64_MAX, part) != wn || memcmp(part, whole, wn) != 0)
		abort();
	if (run(in, len, cut1, cut2, stuff, UINT64_MAX, NULL) != wn)
		abort();
	if (!stuff && wire_size(in, len) != wn)
		abort();
	if (wn > 0 && (wn < 2 || whole[wn - 2] != '\r' || whole[wn - 1] != '\n'))
		abort();
	for (size_t i = 0; i < wn; i++) {
		if (whole[i] == '\n' && (i == 0 || whole[i - 1] != '\r'))
			abort();
		/* no output line is "." alone when stuffing */
		if (stuff && whole[i] == '.' && (i == 0 || whole[i - 1] == '\n') &&
		    i + 2 < wn && whole[i + 1] == '\r' && whole[i + 2] == '\n')
			abort();
	}

	/* TOP: a prefix of the full output, ending at a line end */
	size_t tn = run(in, len, 0, 0, stuff, max, part);
	size_t want = top_len(whole, wn, max);
	if (tn != want || memcmp(part, whole, tn) != 0)
		abort();
	if (tn > 0 && part[tn - 1] != '\n')
		abort();
	if (run(in, len, cut1, cut2, stuff, max, part) != tn || memcmp(part, whole, tn) != 0)
		abort();
	if (run(in, len, cut1, cut2, stuff, max, NULL) != tn)
		abort();
	free(ref);
	free(whole);
	free(part);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	const char *in = (const char *)data + 4;
	size_t len = size - 4;
	bool stuff = data[0] & 1;
	uint64_t max = (data[0] & 0x80) ? UINT64_MAX : (uint64_t)((data[0] >> 1) & 7);
	size_t cut1 = data[1] % (len + 1), cut2 = (size_t)data[2] * 17 % (len + 1);
	if (cut1 > cut2) {
		size_t t = cut1;
		cut1 = cut2;
		cut2 = t;
	}
	char flag = (char)('A' + data[3] % 26);

	check_name((const uint8_t *)in, len, flag);
	check_wire(in, len, cut1, cut2, stuff, max);
	check_wire(in, len, cut1, cut2, !stuff, max);
	return 0;
}
