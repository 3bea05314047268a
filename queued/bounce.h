/*
 * bounce.h: bounces and delay warnings (bounce.c), part of queued's
 * queue manager (postern-queue, chrooted to the spool root). qmgr.c
 * gives it the means to add a message to the queue and a channel to
 * the auth helper for finding local mailboxes.
 */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H

#include "config.h"
#include "ipc.h"
#include "qrecord.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bounce_env {
	const struct config *conf;
	int queue_dirfd;
	struct ipc_chan **auth;   /* the queue manager's channel to the auth helper */
	/* A new, empty queue file: its fd (-1 on failure) and id. */
	int (*new_file)(uint64_t *qid);
	/* Gives up a file from new_file. */
	void (*drop_file)(uint64_t qid, int fd);
	/* Makes m (in the file fd) durable with the next group commit; takes
	 * both. */
	void (*commit)(struct qmsg *m, int fd);
};

void bounce_init(const struct bounce_env *env);
/* Reports on n recipients of m (indexes into m->rcpts): failed for
 * good, or (delayed) still deferred. Call before the queue file goes. */
void bounce_report(const struct qmsg *m, const uint32_t *which, size_t n, bool delayed);
/* The auth helper's answer to one of bounce's lookups. */
void bounce_on_lookup(uint32_t reqid, uint16_t type, const uint8_t *p, size_t len);
/* Sends the lookups that could not go out (called each second). */
void bounce_retry(void);
/* How many reports wait for a lookup (shutdown waits for them). */
size_t bounce_pending(void);
/* The auth helper went away: its open lookups will be sent again. */
void bounce_lookups_lost(void);

#endif
