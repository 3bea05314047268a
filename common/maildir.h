/*
 * maildir.h: what postern knows about the Maildir format, shared by
 * the local delivery agent (queued, postern-vmail) and pop3d's mail
 * sessions (postern-vmail): file names (unique part, ",W=" size,
 * ":2," flags), POP3 unique ids, and the transform from file bytes to
 * the RFC 1939 wire form whose size W= records. Pure functions.
 */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAILDIR_UID_MAX 70 /* RFC 1939 7: 1 to 70 characters 0x21..0x7E */

/* A Maildir file name "unique[:2,FLAGS]" (cur/) or "unique" (new/). */
struct maildir_name {
	size_t unique_len;   /* bytes before ":" */
	bool has_vsize;      /* ",W=n" in the unique part */
	uint64_t vsize;
	uint64_t sec, usec;  /* leading "SEC." and ".M<usec>" if present, for ordering */
	const char *flags;   /* after ":2," (NUL-terminated in the name) or NULL */
};
/* False for names no Maildir tool would write (empty, dot files, '/',
 * control bytes, over 255 bytes). */
bool maildir_name_parse(const char *name, struct maildir_name *out);
/* The same name with flag c added (flags kept sorted, as Maildir asks). */
bool maildir_add_flag(const char *name, char c, char *out, size_t outlen);
/* The POP3 unique id: the Maildir unique name when it fits RFC 1939's
 * rules, else "h" and 32 hex digits of its SHA-256. */
void maildir_uid(const char *name, size_t unique_len, char out[MAILDIR_UID_MAX + 1]);

/* File bytes to wire bytes: every LF not after CR becomes CRLF, a "."
 * at the start of a line is doubled (when stuffing), a missing last
 * line end is added. With max_body_lines, output stops after that many
 * lines past the header's blank line (TOP). Streaming: feed chunks,
 * then finish. out needs 2 * len bytes; finish needs 2. A NULL out
 * only counts. */
struct wire_state {
	bool stuff;
	bool line_start, prev_cr, line_empty;
	bool in_body;          /* past the blank line that ends the header */
	bool done;             /* TOP's line budget is spent */
	uint64_t body_lines, max_body_lines;
};
void wire_init(struct wire_state *w, bool stuff, uint64_t max_body_lines);
size_t wire_encode(struct wire_state *w, const char *in, size_t len, char *out);
size_t wire_finish(struct wire_state *w, char *out);
/* RFC 1939's octet count of a whole file: what RETR sends before
 * dot-stuffing and the terminating ".". */
uint64_t wire_size(const char *in, size_t len);

#endif
