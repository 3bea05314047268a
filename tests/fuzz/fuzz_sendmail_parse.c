/*
 * fuzz_sendmail_parse.c: libFuzzer target for ctl/sendmail_parse.c and
 * the message filter in ctl/sendmail_parse.h. The first byte picks
 * dot_ends (bit 0) and a chunk size (bits 1-4, 0: whole); the rest is
 * the input. The filter fed whole, in those chunks and byte by byte
 * must give the same output and flags; its output must hold only CRLF
 * line ends, its flags must match the output, its size the output's
 * length, and without dot_ends it must equal a plain reading of the
 * rules (reference()). The header scan over that output must chain
 * its fields exactly to the section's end. The input is also parsed as
 * an address list (every address bounded and terminated, completed
 * ones formatted back), as a -f sender, as a GECOS field and as a
 * From: display name (one field: CRLF only as folding or at the end,
 * no control characters, lines within 998 octets).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sendmail_parse.h"

struct res {
	uint8_t *out;
	size_t len, consumed;
	bool done, nul, long_line, eightbit;
};

static struct res run(const uint8_t *in, size_t len, bool dot_ends, size_t step)
{
	struct sm_filter f;
	struct res r = { 0 };
	r.out = malloc(SM_FILTER_OUT_MAX(len) + 8);
	uint8_t *tmp = malloc(SM_FILTER_OUT_MAX(len) + 8);
	if (r.out == NULL || tmp == NULL)
		abort();
	sm_filter_init(&f, dot_ends);
	size_t pos = 0;
	while (pos < len && !f.done) {
		size_t n = step && len - pos > step ? step : len - pos, outlen;
		size_t used = sm_filter_run(&f, in + pos, n, tmp, &outlen);
		if (used > n || outlen > SM_FILTER_OUT_MAX(n) || (!f.done && used != n))
			abort();
		memcpy(r.out + r.len, tmp, outlen);
		r.len += outlen;
		pos += used;
	}
	if (!f.done) {
		size_t outlen;
		sm_filter_finish(&f, tmp, &outlen);
		if (outlen > 4)
			abort();
		memcpy(r.out + r.len, tmp, outlen);
		r.len += outlen;
	}
	if (f.size != r.len)
		abort();
	r.consumed = pos;
	r.done = f.done;
	r.nul = f.nul;
	r.long_line = f.long_line;
	r.eightbit = f.eightbit;
	free(tmp);
	return r;
}

static bool same(const struct res *a, const struct res *b)
{
	return a->len == b->len && memcmp(a->out, b->out, a->len) == 0 &&
	    a->consumed == b->consumed && a->done == b->done && a->nul == b->nul &&
	    a->long_line == b->long_line && a->eightbit == b->eightbit;
}

/* Without dot_ends: CRLF, LF and a bare CR each become CRLF, and a last
 * line without one gets it. */
static size_t reference(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			i++;
		if (in[i] == '\r' || in[i] == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
		} else {
			out[o++] = in[i];
		}
	}
	if (o > 0 && out[o - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

/* CRLF line ends only; the flags as the output shows them. */
static void check_output(const struct res *r)
{
	bool nul = false, eight = false, long_line = false;
	size_t line = 0;
	for (size_t i = 0; i < r->len; i++) {
		uint8_t c = r->out[i];
		if (c == '\r') {
			if (i + 1 >= r->len || r->out[i + 1] != '\n')
				abort();
			i++;
			line = 0;
			continue;
		}
		if (c == '\n')
			abort();
		nul |= c == '\0';
		eight |= c >= 0x80;
		if (++line > SM_LINE_MAX)
			long_line = true;
	}
	if (line != 0 || nul != r->nul || eight != r->eightbit || long_line != r->long_line)
		abort();
}

static void check_headers(const uint8_t *m, size_t len)
{
	struct sm_headers h;
	size_t pos = 0, nl, vo, fl;
	sm_headers_scan((const char *)m, len, &h);
	if (h.end > len)
		abort();
	while (pos < h.end && (fl = sm_field_len((const char *)m + pos, len - pos, &nl, &vo)) > 0) {
		if (nl == 0 || nl > SM_NAME_MAX || vo > fl || m[pos + vo - 1] != ':')
			abort();
		pos += fl;
		if (pos < len && m[pos - 1] != '\n')
			abort();
	}
	if (pos != h.end)
		abort();
	if (pos < len && sm_field_len((const char *)m + pos, len - pos, &nl, &vo) != 0)
		abort();
	if (h.blank != (len - pos >= 2 && m[pos] == '\r' && m[pos + 1] == '\n'))
		abort();
}

static void check_addresses(const uint8_t *data, size_t size)
{
	char out[8][SM_ADDR_MAX + 1];
	size_t n = 0;
	enum sm_err e = sm_addrlist((const char *)data, size, out, 8, &n);
	if ((e != SM_OK && n != 0) || n > 8)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t l = strnlen(out[i], sizeof(out[i]));
		if (l == 0 || l > SM_ADDR_MAX)
			abort();
		struct mailaddr a;
		char back[ADDR_PATH_MAX + 1];
		if (sm_complete_addr(out[i], "host.example", &a) == ADDR_OK &&
		    (!addr_format(&a, back, sizeof(back)) || strlen(back) + 2 > ADDR_PATH_MAX))
			abort();
	}
}

/* One From: field: CRLF only to fold (then SP) or at its very end. */
static void check_from(const char *s, size_t n)
{
	if (n < 10 || strncmp(s, "From: ", 6) != 0 || strcmp(s + n - 3, ">\r\n") != 0)
		abort();
	size_t line = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r') {
			if (s[i + 1] != '\n' || (i + 2 < n && s[i + 2] != ' ') || line > SM_LINE_MAX)
				abort();
			i++;
			line = 0;
			continue;
		}
		if (c < 32 || c == 127)
			abort();
		line++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool dot_ends = data[0] & 1;
	size_t step = (data[0] >> 1) & 15;
	const uint8_t *in = data + 1;
	size_t len = size - 1;

	struct res whole = run(in, len, dot_ends, 0);
	struct res chunked = run(in, len, dot_ends, step);
	if (!same(&whole, &chunked))
		abort();
	free(chunked.out);
	if (len <= 1024) {
		struct res bytes = run(in, len, dot_ends, 1);
		if (!same(&whole, &bytes))
			abort();
		free(bytes.out);
	}
	check_output(&whole);
	if (!dot_ends) {
		uint8_t *ref = malloc(2 * len + 2);
		if (ref == NULL)
			abort();
		size_t rl = reference(in, len, ref);
		if (whole.done || rl != whole.len || memcmp(ref, whole.out, rl) != 0)
			abort();
		free(ref);
	} else if (whole.done && whole.consumed < len &&
	    in[whole.consumed - 1] != '\n' && in[whole.consumed - 1] != '\r') {
		abort();
	}
	check_headers(whole.out, whole.len);
	free(whole.out);

	check_addresses(in, len);

	/* the string uses, on a NUL-terminated copy */
	char str[600];
	size_t sl = len < sizeof(str) - 1 ? len : sizeof(str) - 1;
	memcpy(str, in, sl);
	str[sl] = '\0';
	struct mailaddr a;
	char back[ADDR_PATH_MAX + 1];
	if (sm_parse_sender(str, "host.example", &a) == ADDR_OK && !addr_format(&a, back, sizeof(back)))
		abort();
	char name[SM_FULLNAME_MAX + 1], from[1024];
	sm_gecos_name(str, "login", name, sizeof(name));
	if (strlen(name) > SM_FULLNAME_MAX)
		abort();
	size_t fl = sm_format_from(str, "user@host.example", from, sizeof(from));
	if (fl == 0 || fl != strlen(from))
		abort();
	check_from(from, fl);
	fl = sm_format_from(name, "user@host.example", from, sizeof(from));
	if (fl == 0)
		abort();
	check_from(from, fl);
	return 0;
}
