/*
 * msgfilter.h: the line filter for a message a local program submits
 * (sendmail): LF, CRLF or bare CR in, CRLF lines out, with the "."
 * line ending the message unless -i, and flags for what the queue
 * refuses. Pure and bounded. Used by the sendmail command (as the
 * invoking user) and, over what it receives, by queued's submission
 * side (postern-queue, chrooted), which never trusts the client.
 */
#ifndef POSTERN_MSGFILTER_H
#define POSTERN_MSGFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_LINE_MAX 998          /* octets in a line, without its CRLF (RFC 5322 2.1.1) */

/* Turns a message as a program writes it (LF or CRLF lines, maybe a
 * bare CR, maybe no newline at the end) into CRLF lines, and notes what
 * the queue refuses. Line ends are LF and CRLF; a bare CR (one not
 * followed by LF) is written as CRLF too, so that the output holds no
 * bare CR or LF at all, but it does not start a line for the rule
 * below (a message cannot end at "\r.\r").
 *
 * With dot_ends (sendmail without -i), a line holding only "." (ended
 * by LF or CRLF, or by the end of input) ends the message: it is not
 * written, done becomes true and sm_filter_run returns the count of
 * bytes consumed through that line's LF (or the CR of a "." CR that
 * the input ends with); the rest of the input is not part of the
 * message. Nothing is ever un-stuffed: ".." stays "..".
 *
 * Flags, never cleared: nul (a NUL octet), long_line (a line longer
 * than SM_LINE_MAX octets), eightbit (an octet >= 0x80). size counts
 * the octets written. The caller decides what each flag means; the
 * filter always goes on.
 */
struct sm_filter {
	uint64_t size;
	size_t line_len;
	bool nul, long_line, eightbit;
	bool done;
	/* private */
	bool dot_ends;
	uint8_t state;
};

/* out must hold SM_FILTER_OUT_MAX(len) bytes for a call with len bytes
 * (held bytes from the call before are written in the next one). */
#define SM_FILTER_OUT_MAX(len) (2 * (size_t)(len) + 4)

void sm_filter_init(struct sm_filter *f, bool dot_ends);
/* Filters in[0..len) into out; *outlen gets the count written. Returns
 * the count consumed: len, or less once done (see above). After done,
 * consumes nothing. */
size_t sm_filter_run(struct sm_filter *f, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen);
/* The input has ended: finishes a last line without a line end (and
 * a pending CR). A "." held at the end with dot_ends ends the message
 * (done). out must hold 4 bytes. */
void sm_filter_finish(struct sm_filter *f, uint8_t *out, size_t *outlen);

#endif
