/*
 * submit.h: local submissions (the sendmail command) on run/submit.sock,
 * served inside the queue manager (postern-queue, chrooted to the spool
 * root). Any local user may connect; the peer's uid (SO_PEERCRED) is
 * recorded in the Received: header and the log, never taken from the
 * client. The message travels over the socket and queued writes the
 * queue file itself: no user ever holds a descriptor of a queue file.
 *
 * Protocol (IPC framing, proto.h):
 *   SUB_BEGIN (str sender, str login name, u32 n, n x str recipient)
 *   SUB_DATA (bytes chunk)     any number; the message, LF or CRLF lines
 *   SUB_END ()                -> SUB_OK (u64 qid) | SUB_FAIL (u8 code, str reason)
 * sender "" is the null sender only with the login name "" ... see
 * submit.c for the exact rules.
 */
#ifndef POSTERN_SUBMIT_H
#define POSTERN_SUBMIT_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Starts accepting on listen_fd (non-blocking, bound by the root
 * parent). queue_dirfd is the queue manager's queue/ directory. */
void submit_init(struct event_base *base, int listen_fd, const struct config *conf);
/* Stops accepting (SIGTERM); submissions in progress may finish. */
void submit_stop(void);

/* Local recipients are looked up through the queue manager's auth
 * helper (qmgr_auth()), as smtpd does with its own; submit.c's request
 * ids have this bit set, bounce.c's never. */
#define SUBMIT_REQID_BIT 0x80000000u
void submit_on_lookup(uint32_t reqid, uint16_t type, const uint8_t *p, size_t len);
/* The auth helper went away (or was replaced): lookups in flight will
 * not be answered. */
void submit_lookups_lost(void);

#endif
