/*
 * data_filter.c: see data_filter.h. Every line start that counts for
 * dot-unstuffing and end-of-data is one that follows a real CRLF (or the
 * start of DATA); a bare CR or LF is written out as CRLF but leaves the
 * machine inside a line, so "\n.\n" or "\r.\r" can never end a message.
 */
#include "data_filter.h"
#include "smtp_parse.h"

enum { DF_BOL, DF_DOT, DF_DOT_CR, DF_LINE, DF_CR };

void data_filter_init(struct data_filter *f)
{
	f->state = DF_BOL;
	f->line_len = 0;
	f->size = 0;
	f->nul = false;
	f->long_line = false;
	f->bare = 0;
}

static void emit_crlf(struct data_filter *f, uint8_t *out, size_t *o)
{
	out[(*o)++] = '\r';
	out[(*o)++] = '\n';
	f->line_len = 0;
}

/* A byte inside a line (not at a CRLF-started line start). */
static void in_line(struct data_filter *f, uint8_t c, uint8_t *out, size_t *o)
{
	if (c == '\r') {
		f->state = DF_CR;
		return;
	}
	f->state = DF_LINE;
	if (c == '\n') {
		f->bare++;
		emit_crlf(f, out, o);
		return;
	}
	if (c == '\0')
		f->nul = true;
	out[(*o)++] = c;
	if (++f->line_len > SMTP_TEXT_LINE_MAX)
		f->long_line = true;
}

size_t data_filter_run(struct data_filter *f, const uint8_t *in, size_t len,
    uint8_t *out, size_t *outlen, bool *done)
{
	size_t i, o = 0;
	*done = false;
	for (i = 0; i < len; i++) {
		uint8_t c = in[i];
		switch (f->state) {
		case DF_BOL:
			if (c == '.')
				f->state = DF_DOT;
			else
				in_line(f, c, out, &o);
			break;
		case DF_DOT:
			if (c == '\r')
				f->state = DF_DOT_CR;
			else
				in_line(f, c, out, &o); /* the stuffed dot is dropped */
			break;
		case DF_DOT_CR:
			if (c == '\n') {
				*done = true;
				f->state = DF_BOL;
				f->size += o;
				*outlen = o;
				return i + 1;
			}
			/* ".\r" then something else: dot dropped, CR was bare */
			f->bare++;
			emit_crlf(f, out, &o);
			f->state = DF_LINE;
			in_line(f, c, out, &o);
			break;
		case DF_LINE:
			in_line(f, c, out, &o);
			break;
		case DF_CR:
			if (c == '\n') {
				emit_crlf(f, out, &o);
				f->state = DF_BOL;
			} else {
				f->bare++;
				emit_crlf(f, out, &o);
				f->state = DF_LINE;
				in_line(f, c, out, &o);
			}
			break;
		}
	}
	f->size += o;
	*outlen = o;
	return i;
}
