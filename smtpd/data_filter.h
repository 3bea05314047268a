/*
 * data_filter.h: the DATA stream state machine (RFC 5321 4.1.1.4 and
 * 4.5.2): finds the end at CRLF "." CRLF only, removes dot-stuffing,
 * turns every bare CR or bare LF into CRLF without ever treating it as
 * a line end (no SMTP smuggling), counts size, flags NUL octets and
 * overlong lines. Pure, fuzzed; fed network bytes by smtpd.
 */
#ifndef POSTERN_DATA_FILTER_H
#define POSTERN_DATA_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct data_filter {
	int state;
	size_t line_len;
	uint64_t size;      /* octets written to out so far */
	bool nul;           /* a NUL octet was seen */
	bool long_line;     /* a line exceeded SMTP_TEXT_LINE_MAX */
	uint64_t bare;      /* bare CR / bare LF seen (normalised) */
};

/* out must hold at least DATA_FILTER_OUT_MAX(len) bytes. */
#define DATA_FILTER_OUT_MAX(len) (3 * (len) + 4)

void data_filter_init(struct data_filter *f);
/* Consumes input up to and including the end-of-data marker; returns
 * the count consumed and sets *done when the marker was seen. */
size_t data_filter_run(struct data_filter *f, const uint8_t *in, size_t len,
    uint8_t *out, size_t *outlen, bool *done);

#endif
