/*
 * maildrop.h: one user's Maildir as a POP3 maildrop, inside a mail
 * session (postern-vmail, chrooted into that Maildir, so "cur" and
 * "new" are relative to its root). Locks it, moves new mail to cur/,
 * lists messages with their RFC 1939 sizes and unique ids, and applies
 * the deletions and Seen flags of the UPDATE state.
 */
#ifndef POSTERN_MAILDROP_H
#define POSTERN_MAILDROP_H

#include "maildir.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct message {
	char *name;               /* file name in cur/ */
	char uid[MAILDIR_UID_MAX + 1];
	uint64_t size;            /* octets RETR sends, before dot-stuffing */
	uint64_t sec, usec;       /* arrival, for the listing order */
	bool deleted, retrieved;
};

struct maildrop {
	struct message *msgs;
	size_t n;
	int lock_fd, cur_fd;
};

enum maildrop_open_result { MD_OK, MD_IN_USE, MD_ERROR };

/* Locks the maildrop (the Maildir directory itself, flock), creates
 * tmp/ new/ cur/ if missing, moves new/ to cur/, lists cur/. */
enum maildrop_open_result maildrop_open(struct maildrop *md);
/* An open fd of message i (0-based), or -1. */
int maildrop_open_message(struct maildrop *md, size_t i);
/* UPDATE: unlinks deleted messages, sets S on retrieved ones, syncs cur/.
 * Returns the number of deletions that failed. */
size_t maildrop_update(struct maildrop *md);
void maildrop_close(struct maildrop *md);

#endif
