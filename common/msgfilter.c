/*
 * msgfilter.c: see msgfilter.h. Pure; no privileges.
 */
#include "msgfilter.h"

enum { SMF_BOL, SMF_DOT, SMF_DOT_CR, SMF_LINE, SMF_CR };

void sm_filter_init(struct sm_filter *f, bool dot_ends)
{
	f->size = 0;
	f->line_len = 0;
	f->nul = f->long_line = f->eightbit = false;
	f->done = false;
	f->dot_ends = dot_ends;
	f->state = SMF_BOL;
}

static void sm_filter_crlf_(struct sm_filter *f, uint8_t *out, size_t *o)
{
	out[(*o)++] = '\r';
	out[(*o)++] = '\n';
	f->size += 2;
	f->line_len = 0;
}

/* One byte that is neither at a line start nor after a held CR. */
static void sm_filter_byte_(struct sm_filter *f, uint8_t c, uint8_t *out, size_t *o)
{
	if (c == '\r') {
		f->state = SMF_CR;
		return;
	}
	if (c == '\n') {
		sm_filter_crlf_(f, out, o);
		f->state = SMF_BOL;
		return;
	}
	f->state = SMF_LINE;
	if (c == '\0')
		f->nul = true;
	if (c >= 0x80)
		f->eightbit = true;
	out[(*o)++] = c;
	f->size++;
	if (++f->line_len > SM_LINE_MAX)
		f->long_line = true;
}

/* Filters in[0..len) into out; *outlen gets the count written. Returns
 * the count consumed: len, or less once done (see above). After done,
 * consumes nothing. */
size_t sm_filter_run(struct sm_filter *f, const uint8_t *in, size_t len,
    uint8_t *out, size_t *outlen)
{
	size_t i, o = 0;
	for (i = 0; i < len && !f->done; i++) {
		uint8_t c = in[i];
		switch (f->state) {
		case SMF_BOL:
			if (c == '.' && f->dot_ends)
				f->state = SMF_DOT;
			else
				sm_filter_byte_(f, c, out, &o);
			break;
		case SMF_DOT:
			if (c == '\n') {
				f->done = true;
			} else if (c == '\r') {
				f->state = SMF_DOT_CR;
			} else {
				f->state = SMF_LINE;
				out[o++] = '.';
				f->size++;
				f->line_len = 1;
				sm_filter_byte_(f, c, out, &o);
			}
			break;
		case SMF_DOT_CR:
			if (c == '\n') {
				f->done = true;
				break;
			}
			/* "." and a bare CR: a line of its own, yet no end */
			out[o++] = '.';
			f->size++;
			sm_filter_crlf_(f, out, &o);
			f->state = SMF_LINE;
			sm_filter_byte_(f, c, out, &o);
			break;
		case SMF_CR:
			sm_filter_crlf_(f, out, &o);
			if (c == '\n') {
				f->state = SMF_BOL;
				break;
			}
			f->state = SMF_LINE; /* a bare CR: no line start */
			sm_filter_byte_(f, c, out, &o);
			break;
		default: /* SMF_LINE */
			sm_filter_byte_(f, c, out, &o);
			break;
		}
	}
	*outlen = o;
	return i;
}

/* The input has ended: finishes a last line without a line end (and
 * a pending CR). A "." held at the end with dot_ends ends the message
 * (done). out must hold 4 bytes. */
void sm_filter_finish(struct sm_filter *f, uint8_t *out, size_t *outlen)
{
	size_t o = 0;
	if (!f->done) {
		if (f->state == SMF_DOT || f->state == SMF_DOT_CR)
			f->done = true;
		else if (f->state == SMF_CR || f->state == SMF_LINE)
			sm_filter_crlf_(f, out, &o);
		f->state = SMF_BOL;
	}
	*outlen = o;
}
