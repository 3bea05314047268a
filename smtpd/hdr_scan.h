/*
 * hdr_scan.h: a streaming scanner over the header section of a message
 * as smtpd's data filter writes it (CRLF lines, dot-stuffing already
 * undone), run in smtpd's worker (postern-smtpd, chrooted). It notes
 * whether Date: and Message-ID: are present and finds where the header
 * section ends, so that submission (RFC 6409 8.2, 8.3) can add the
 * missing ones there. Pure: state in, bytes in, no I/O; the state is a
 * fixed size whatever the line lengths.
 *
 * Lines end at LF (CRLF, or a bare LF should one ever appear; a CR
 * inside a line is just a byte). Each line is classified by its start:
 *   - SP or HTAB first: a continuation, part of the header section
 *     (even as the very first line: inserting before it would make it
 *     a continuation of the inserted field);
 *   - a field line: 1 or more field-name characters (33..126 except
 *     ':'), then any SP/HTAB (obsolete syntax, RFC 5322 4.5.8), then
 *     ':', with the name and that whitespace together at most
 *     HDR_SCAN_HOLD_MAX bytes. The name, case aside, "Date" sets
 *     have_date and "Message-ID" have_msgid;
 *   - anything else ends the section at the line's first byte: the
 *     empty line (its CR, or a bare LF), a line starting with ':' or a
 *     CR or any byte outside 33..126, a line whose name is followed by
 *     something other than WSP or ':' (a body line such as "Hello
 *     world"), or a name (plus WSP) longer than HDR_SCAN_HOLD_MAX.
 *
 * Holdback: a line's class is known from its first byte, or at the
 * latest at byte HDR_SCAN_HOLD_MAX (counting from 0) of the line. While
 * the bytes of a line start are all name characters and WSP, the line
 * is undecided; if a chunk ends there, hdr_scan_run returns the offset
 * of that line's first byte with done still false. The caller must not
 * write those bytes yet (the section may end before them): it keeps
 * p[ret..len), which is never more than HDR_SCAN_HOLD_MAX bytes, and
 * passes them again at the start of the next call, followed by new
 * data. The scanner keeps no memory of held bytes (it rescans them), so
 * an end of section is always reported inside the current call's
 * buffer, never in bytes already handed back as written. A simple way
 * for the caller: keep the data in one buffer, scan from a position
 * pos to its end and advance pos by the return; held bytes then stay
 * in place and are scanned again with what is appended after them.
 * Should the message end with held bytes (it cannot when it ends in
 * CRLF, since a line end decides the line), they are not a header
 * field and the section ends at their first byte.
 */
#ifndef POSTERN_HDR_SCAN_H
#define POSTERN_HDR_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest undecided line start a caller may have to hold back; also the
 * longest field name (with WSP before its ':') taken as a header. */
#define HDR_SCAN_HOLD_MAX 80

struct hdr_scan {
	bool done;          /* the header section has ended */
	bool have_date;
	bool have_msgid;
	/* private */
	bool at_line_start; /* the next byte starts a line */
};

void hdr_scan_init(struct hdr_scan *h);

/* Scans the next len bytes of the message. Returns how many of them
 * belong to the header section: when the section ends inside this
 * chunk, the offset of the byte that starts the line ending it (the
 * blank line's CR, or the first byte of a line that is not a header
 * field or continuation), and h->done becomes true; otherwise len.
 * Once done, returns 0.
 * Exception (see Holdback above): when the chunk ends inside an
 * undecided line start, the return is that line's offset, less than
 * len, with h->done false; p[ret..len) (at most HDR_SCAN_HOLD_MAX
 * bytes) must be passed again at the start of the next call. So after
 * each call: done: insert at ret, the rest is body; not done: p[0..ret)
 * may be written, p[ret..len) is held. */
size_t hdr_scan_run(struct hdr_scan *h, const uint8_t *p, size_t len);

#endif
