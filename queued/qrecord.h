/*
 * qrecord.h: one queued message's envelope and per-recipient state, as
 * stored in the LMDB index and sent in Q_COMMIT. The codec reuses the
 * IPC field encoding; the decoder is pure, bounded and fuzzed (the
 * bytes come from smtpd over IPC, or from the index on disk).
 */
#ifndef POSTERN_QRECORD_H
#define POSTERN_QRECORD_H

#include "addr.h"
#include "ipc.h"
#include "tables.h"

#include <stdbool.h>
#include <stdint.h>

#define QMSG_MAX_RCPT 2000
#define QERR_MAX 255

enum rcpt_state {
	RS_PENDING = 0,   /* not tried yet */
	RS_DEFERRED = 1,  /* failed temporarily; next_try set */
	RS_DELIVERED = 2,
	RS_BOUNCED = 3,
	RS_HELD = 4,
};
#define RS_MAX RS_HELD

#define QF_8BITMIME 0x1
#define QF_SMTPUTF8 0x2
#define QF_DSN 0x4        /* a report (bounce, delay warning) made by queued */
#define QF_DOUBLE 0x8     /* a report about a report, to the postmaster */
#define QF_WARNED 0x10    /* a delay warning has been sent for this message */

struct qrcpt {
	uint8_t state;
	uint8_t remote;
	uint32_t attempts;
	uint64_t next_try_ms;
	char addr[ADDR_PATH_MAX + 1];       /* the envelope recipient */
	char mailbox[USERNAME_MAX + 1];     /* local mailbox, "" if remote */
	char last_error[QERR_MAX + 1];
};

struct qmsg {
	uint64_t qid;
	uint64_t arrival_ms;
	uint64_t size;
	uint8_t flags;
	char sender[ADDR_PATH_MAX + 1];
	char helo[256];
	char client[64];
	uint32_t nrcpt;
	struct qrcpt *rcpts;
};

void qrecord_encode(const struct qmsg *m, struct ipc_buf *b);
/* false on any malformed, oversized or trailing field; m is then freed. */
bool qrecord_decode(const void *p, size_t len, struct qmsg *m);
void qmsg_free(struct qmsg *m);
/* Earliest next_try of the recipients still to deliver; false if none. */
bool qmsg_next_try(const struct qmsg *m, uint64_t *when);
bool rcpt_is_final(const struct qrcpt *r);
/* Every recipient delivered or bounced: the message can go. A held one
 * has no next try, yet stays. */
bool qmsg_done(const struct qmsg *m);
const char *rcpt_state_name(uint8_t state);

#endif
