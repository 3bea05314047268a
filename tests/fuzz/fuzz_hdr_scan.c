/*
 * fuzz_hdr_scan.c: libFuzzer target for smtpd/hdr_scan.c. The first
 * byte gives a count n (0..7) of the next n bytes, chunk lengths (0
 * allowed) used in turn; the rest is the message. Fed whole, and in
 * those chunks by a caller that holds back as the contract says, the
 * results (where the section ends, or how much is held at the end, and
 * the Date/Message-ID flags) must be the same, and the same as a plain
 * line-by-line reading of the rules (reference()). Also checks that
 * returns stay in range, that holdback never exceeds HDR_SCAN_HOLD_MAX
 * and only happens on an undecided line start, and that a done scanner
 * returns 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hdr_scan.h"

struct result {
	bool done;
	size_t end;        /* absolute offset of the section end, when done */
	size_t held;       /* bytes held back at the end, when not done */
	bool have_date;
	bool have_msgid;
};

static bool same(const struct result *a, const struct result *b)
{
	return a->done == b->done && a->end == b->end && a->held == b->held &&
	    a->have_date == b->have_date && a->have_msgid == b->have_msgid;
}

/* Feeds msg in chunks of lens[0..nlens) in turn (all of it when there
 * are none or all are 0), keeping held bytes for the next call. */
static struct result feed(const uint8_t *msg, size_t len, const uint8_t *lens, size_t nlens)
{
	struct hdr_scan h;
	struct result r = { 0 };
	bool any = false;
	for (size_t k = 0; k < nlens; k++)
		any |= lens[k] != 0;
	uint8_t *buf = malloc(len + HDR_SCAN_HOLD_MAX + 1);
	if (buf == NULL)
		abort();
	size_t held = 0, pos = 0;
	hdr_scan_init(&h);
	for (size_t k = 0;; k++) {
		size_t c = any ? lens[k % nlens] : len - pos;
		if (c > len - pos)
			c = len - pos;
		memcpy(buf + held, msg + pos, c);
		size_t n = held + c;
		size_t base = pos - held;
		pos += c;
		size_t ret = hdr_scan_run(&h, buf, n);
		if (ret > n)
			abort();
		if (h.done) {
			r.done = true;
			r.end = base + ret;
			if (hdr_scan_run(&h, buf, n) != 0 || !h.done)
				abort();
			break;
		}
		held = n - ret;
		if (held > HDR_SCAN_HOLD_MAX)
			abort();
		/* held bytes are a line start: name characters, then WSP */
		if (held > 0) {
			if (ret > 0 && buf[ret - 1] != '\n')
				abort();
			if (buf[ret] == ' ' || buf[ret] == '\t' || buf[ret] == ':')
				abort();
			for (size_t i = ret; i < n; i++)
				if (buf[i] < 9 || buf[i] > 126 || (buf[i] > 9 && buf[i] < 32) || buf[i] == ':')
					abort();
		}
		memmove(buf, buf + ret, held);
		if (pos == len)
			break;
	}
	if (!r.done)
		r.held = held;
	r.have_date = h.have_date;
	r.have_msgid = h.have_msgid;
	free(buf);
	return r;
}

/* ---- a plain reading of the rules in hdr_scan.h ---- */

static bool ref_ftext(uint8_t c)
{
	return c > ' ' && c < 127 && c != ':';
}

/* All of s[0..n) is one or more name characters then any SP/HTAB. */
static bool ref_prefix_form(const uint8_t *s, size_t n)
{
	size_t k = n;
	while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
		k--;
	if (k == 0)
		return false;
	for (size_t i = 0; i < k; i++)
		if (!ref_ftext(s[i]))
			return false;
	return true;
}

static struct result reference(const uint8_t *msg, size_t len)
{
	struct result r = { 0 };
	size_t at = 0;
	while (at < len) {
		const uint8_t *line = msg + at;
		const uint8_t *lf = memchr(line, '\n', len - at);
		size_t avail = lf ? (size_t)(lf - line) + 1 : len - at;
		size_t next = at + avail;
		if (line[0] == ' ' || line[0] == '\t') {
			at = next;
			continue;
		}
		/* a field: the first ':' comes after a name (and WSP) no longer
		 * than the limit */
		const uint8_t *colon = memchr(line, ':', avail);
		size_t c = colon ? (size_t)(colon - line) : avail;
		if (colon != NULL && c <= HDR_SCAN_HOLD_MAX && ref_prefix_form(line, c)) {
			size_t nl = c;
			while (line[nl - 1] == ' ' || line[nl - 1] == '\t')
				nl--;
			if (nl == 4 && strncasecmp((const char *)line, "Date", 4) == 0)
				r.have_date = true;
			if (nl == 10 && strncasecmp((const char *)line, "Message-ID", 10) == 0)
				r.have_msgid = true;
			at = next;
			continue;
		}
		/* the input ends in a line start that could still become one */
		if (colon == NULL && lf == NULL && avail <= HDR_SCAN_HOLD_MAX &&
		    ref_prefix_form(line, avail)) {
			r.held = avail;
			return r;
		}
		r.done = true;
		r.end = at;
		return r;
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t nlens = data[0] % 8;
	if (size < 1 + nlens)
		return 0;
	const uint8_t *lens = data + 1;
	const uint8_t *msg = data + 1 + nlens;
	size_t len = size - 1 - nlens;

	struct result whole = feed(msg, len, NULL, 0);
	struct result chunked = feed(msg, len, lens, nlens);
	struct result ref = reference(msg, len);
	if (!same(&whole, &chunked) || !same(&whole, &ref))
		abort();

	/* byte by byte, for short inputs */
	if (len <= 512) {
		static const uint8_t one = 1;
		struct result bytes = feed(msg, len, &one, 1);
		if (!same(&whole, &bytes))
			abort();
	}

	/* a single call: the return is the end, the held start, or len */
	struct hdr_scan h;
	hdr_scan_init(&h);
	size_t ret = hdr_scan_run(&h, msg, len);
	if (h.done ? ret != ref.end : ret != len - ref.held)
		abort();
	return 0;
}
