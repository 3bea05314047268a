/*
 * submit.h: local submissions (the sendmail command) on run/submit.sock,
 * served inside the queue manager (postern-queue, chrooted to the spool
 * root). Any local user may connect; the peer's uid (SO_PEERCRED) is
 * recorded in the Received: header and the log, never taken from the
 * client. The message travels over the socket and queued writes the
 * queue file itself: no user ever holds a descriptor of a queue file.
 *
 * Protocol (IPC framing, proto.h; request ids are 0), one message per
 * connection:
 *   SUB_BEGIN (str sender, u32 n, n x str recipient)
 *       sender "local@domain", or "" for the null sender; 1 to
 *       SUB_RCPT_MAX recipients "local@domain". Every address must
 *       parse with addr_parse_mailbox (ASCII); recipients in a local
 *       domain must name a user or alias; others are relayed.
 *   SUB_DATA (str chunk)   any number, each at most SUB_CHUNK_MAX
 *       octets: the message as the user wrote it (LF or CRLF lines);
 *       queued ends every line with CRLF, refuses NUL octets, lines
 *       over 998 octets and messages over max_message_size, and puts
 *       its own Received: line on top.
 *   SUB_END ()
 * The one answer, after which queued closes the connection:
 *   SUB_OK (u64 qid)           once the message is durable in the queue
 *   SUB_FAIL (u8 kind, str reason)   enum sub_fail; kind 0 is temporary,
 *       any other permanent. A failure may come before SUB_END (an
 *       unknown recipient, a line too long): the client stops sending
 *       then (its writes fail) and reads it.
 * A client silent for timeout_command (at most a minute) between
 * frames, or not done within timeout_data, is answered SUB_FAIL
 * (temporary) and dropped; one that breaks the protocol gets SUB_FAIL
 * (permanent). A client that closes its side before the answer has
 * gone away: its message is dropped, unless it is already with the
 * group commit (it stays queued then). Either way a queue file that
 * will not be committed is removed at once.
 */
#ifndef POSTERN_SUBMIT_H
#define POSTERN_SUBMIT_H

#include "config.h"
#include "submit_begin.h"

#include <stddef.h>
#include <stdint.h>

#define SUB_CHUNK_MAX 65536     /* message octets in one SUB_DATA */

enum sub_fail {
	SUB_FAIL_TEMP = 0,      /* try again later (sendmail exits 75) */
	SUB_FAIL_PERM = 1,      /* refused (69) */
	SUB_FAIL_NOUSER = 2,    /* a local recipient is unknown (67) */
	SUB_FAIL_DATA = 3,      /* a bad address or message (65) */
};

struct event_base;

/* Starts accepting on listen_fd (non-blocking, bound by the root
 * parent). */
void submit_init(struct event_base *base, int listen_fd, const struct config *conf);
/* Stops accepting (SIGTERM); submissions in progress may finish. */
void submit_stop(void);
/* A submission is in progress, or its answer not yet written: the
 * queue manager does not exit before it is done (or its deadline). */
bool submit_busy(void);

/* Local recipients are looked up through the queue manager's auth
 * helper (qmgr_auth()), as smtpd does with its own; submit.c's request
 * ids have this bit set, bounce.c's never. */
#define SUBMIT_REQID_BIT 0x80000000u
void submit_on_lookup(uint32_t reqid, uint16_t type, const uint8_t *p, size_t len);
/* The auth helper went away (or was replaced): lookups in flight will
 * not be answered; those submissions fail temporarily. */
void submit_lookups_lost(void);

#endif
