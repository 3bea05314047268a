/*
 * fuzz_data_filter.c: libFuzzer target for smtpd/data_filter.c. The
 * first two bytes choose a split point; the rest is fed to the filter at
 * once and then in two chunks, which must give identical output, end
 * point and flags (abort() if not). Also checks the output bound, that
 * the output is CRLF-clean, and that the end is found only right after
 * CRLF "." CRLF (or "." CRLF at the start).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data_filter.h"

struct run {
	size_t used, outlen;
	bool done;
	struct data_filter f;
};

/* Feeds in[0..len) as in[0..cut) and in[cut..len), stopping at the end. */
static void feed(const uint8_t *in, size_t len, size_t cut, uint8_t *out, struct run *r)
{
	size_t o;
	data_filter_init(&r->f);
	r->used = data_filter_run(&r->f, in, cut, out, &o, &r->done);
	if (r->used > cut || o > DATA_FILTER_OUT_MAX(cut) || (!r->done && r->used != cut))
		abort();
	r->outlen = o;
	if (!r->done && cut < len) {
		size_t u = data_filter_run(&r->f, in + cut, len - cut, out + o, &o, &r->done);
		if (u > len - cut || o > DATA_FILTER_OUT_MAX(len - cut) || (!r->done && u != len - cut))
			abort();
		r->used += u;
		r->outlen += o;
	}
	if (r->f.size != r->outlen)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t len = size - 2;
	size_t cut = ((size_t)data[0] << 8 | data[1]) % (len + 1);
	const uint8_t *in = data + 2;
	uint8_t *a = malloc(DATA_FILTER_OUT_MAX(len));
	uint8_t *b = malloc(DATA_FILTER_OUT_MAX(len));
	if (a == NULL || b == NULL)
		abort();
	struct run x, y;
	feed(in, len, len, a, &x);
	feed(in, len, cut, b, &y);
	if (x.used != y.used || x.outlen != y.outlen || x.done != y.done ||
	    memcmp(a, b, x.outlen) != 0 || x.f.nul != y.f.nul ||
	    x.f.long_line != y.f.long_line || x.f.bare != y.f.bare)
		abort();
	/* the end comes only right after CRLF.CRLF, or .CRLF at the start */
	if (x.done) {
		bool at_start = x.used == 3 && memcmp(in, ".\r\n", 3) == 0;
		bool after_crlf = x.used >= 5 && memcmp(in + x.used - 5, "\r\n.\r\n", 5) == 0;
		if (!at_start && !after_crlf)
			abort();
	} else if (x.used != len) {
		abort();
	}
	/* CR and LF only ever come out as a pair */
	for (size_t i = 0; i < x.outlen; i++) {
		if (a[i] == '\r' && (i + 1 >= x.outlen || a[i + 1] != '\n'))
			abort();
		if (a[i] == '\n' && (i == 0 || a[i - 1] != '\r'))
			abort();
	}
	free(a);
	free(b);
	return 0;
}
