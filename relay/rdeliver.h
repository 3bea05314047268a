/*
 * rdeliver.h: the R_DELIVER request, queued's queue manager to the
 * remote delivery agent: one message's due remote recipients. The
 * encoder runs in the queue manager, the decoder in the agent
 * (postern-relay); the decoder is pure, bounded and fuzzed.
 */
#ifndef POSTERN_RDELIVER_H
#define POSTERN_RDELIVER_H

#include "addr.h"
#include "ipc.h"

#include <stdbool.h>
#include <stdint.h>

struct rdeliver_rcpt {
	uint32_t idx;                      /* the recipient's index in the message */
	char addr[ADDR_PATH_MAX + 1];
};

struct rdeliver {
	uint64_t qid;
	char sender[ADDR_PATH_MAX + 1];    /* "" for the null sender */
	uint8_t flags;                     /* QF_8BITMIME | QF_SMTPUTF8 only */
	uint64_t size;
	uint64_t arrival_ms;
	uint32_t n;                        /* 1 to QMSG_MAX_RCPT */
	struct rdeliver_rcpt *rcpt;
};

/* The head, then n rdeliver_add calls. */
void rdeliver_head(struct ipc_buf *b, uint64_t qid, const char *sender, uint8_t flags,
    uint64_t size, uint64_t arrival_ms, uint32_t n);
void rdeliver_add(struct ipc_buf *b, uint32_t idx, const char *addr);
/* false for anything malformed: a count of 0 or over QMSG_MAX_RCPT,
 * other flags, a field too long or with a NUL, an address without '@',
 * an index repeated or not below QMSG_MAX_RCPT, bytes left over. On
 * success out->rcpt is allocated (rdeliver_free); on failure nothing is. */
bool rdeliver_decode(const uint8_t *p, size_t len, struct rdeliver *out);
void rdeliver_free(struct rdeliver *r);

#endif
