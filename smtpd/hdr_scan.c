/*
 * hdr_scan.c: the streaming header-section scanner of hdr_scan.h: notes
 * Date: and Message-ID:, finds the line that ends the header section,
 * and holds back (hands back to the caller) an undecided line start of
 * at most HDR_SCAN_HOLD_MAX bytes. Run by smtpd's worker (postern-smtpd,
 * unprivileged, chrooted) on the data filter's output. Pure, no I/O.
 */
#include <string.h>

#include "hdr_scan.h"

/* RFC 5322 3.6.8 ftext: printable US-ASCII except ':' */
static bool is_ftext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static bool is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Whether name[0..len) equals want (lowercase ASCII), case aside. */
static bool name_is(const uint8_t *name, size_t len, const char *want)
{
	size_t wl = strlen(want);
	if (len != wl)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = name[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)want[i])
			return false;
	}
	return true;
}

void hdr_scan_init(struct hdr_scan *h)
{
	memset(h, 0, sizeof(*h));
	h->at_line_start = true;
}

size_t hdr_scan_run(struct hdr_scan *h, const uint8_t *p, size_t len)
{
	if (h->done)
		return 0;
	size_t i = 0;
	while (i < len) {
		if (!h->at_line_start) {
			/* inside a field or continuation line: skip to its end */
			const uint8_t *lf = memchr(p + i, '\n', len - i);
			if (lf == NULL)
				return len;
			i = (size_t)(lf - p) + 1;
			h->at_line_start = true;
			continue;
		}
		size_t start = i;
		if (is_wsp(p[start])) {
			h->at_line_start = false;
			i = start + 1;
			continue;
		}
		/* name characters, then WSP, HDR_SCAN_HOLD_MAX bytes at most */
		size_t j = start;
		while (j < len && j - start < HDR_SCAN_HOLD_MAX && is_ftext(p[j]))
			j++;
		size_t name_end = j;
		if (name_end > start)
			while (j < len && j - start < HDR_SCAN_HOLD_MAX && is_wsp(p[j]))
				j++;
		if (name_end > start && j == len)
			return start; /* undecided: held back */
		if (name_end == start || p[j] != ':') {
			h->done = true;
			return start;
		}
		if (name_is(p + start, name_end - start, "date"))
			h->have_date = true;
		else if (name_is(p + start, name_end - start, "message-id"))
			h->have_msgid = true;
		h->at_line_start = false;
		i = j + 1;
	}
	return len;
}
