/*
 * ctlmsg.h: the payloads of posternctl's requests to queued (C_ACT,
 * C_PAUSE) and of counter lists (C_STATS_OK from queued, Q_STATS from
 * smtpd): encoders and pure, bounded decoders (unit-tested, fuzzed).
 * Used by posternctl (as the administrator), queued's queue manager
 * and smtpd (each as its own user).
 */
#ifndef POSTERN_CTLMSG_H
#define POSTERN_CTLMSG_H

#include "ipc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_IDS_MAX 8192    /* queue ids per C_ACT: one index transaction */
#define STATS_MAX 128       /* counters per list */
#define STATS_NAME_MAX 95   /* "daemon_metric{label=\"value\"}" */

struct stat_kv {
	char name[STATS_NAME_MAX + 1];
	uint64_t value;
};

/* C_ACT: (u8 action, u32 n, n x u64 qid) */
void ctlmsg_act_encode(struct ipc_buf *b, uint8_t action, const uint64_t *ids, uint32_t n);
/* Fills ids (room for max) and *n; false on a malformed payload, an
 * unknown action or more than max ids. */
bool ctlmsg_act_decode(const uint8_t *p, size_t len, uint8_t *action, uint64_t *ids, uint32_t max,
    uint32_t *n);

/* C_PAUSE: (u8 what, u8 pause); what: nonzero CTL_PAUSE_* bits. */
bool ctlmsg_pause_decode(const uint8_t *p, size_t len, uint8_t *what, bool *pause);

/* Counter lists: (u32 n, n x (str name, u64 value)) */
void ctlmsg_stats_encode(struct ipc_buf *b, const struct stat_kv *kv, size_t n);
/* Returns the count (<= max) or -1 on a malformed or oversized list,
 * or a name with other characters than letters, digits and _{}=",. :- */
int ctlmsg_stats_decode(const uint8_t *p, size_t len, struct stat_kv *out, size_t max);
/* A list from a less trusted process (smtpd's worker, pop3d's login):
 * keeps, in place and in order, the names that start with prefix and
 * not with reserved (NULL: none), the first of each name only; returns
 * how many are left. It cannot pass off another daemon's counters or
 * make a series twice. */
size_t ctlmsg_stats_keep(struct stat_kv *kv, size_t n, const char *prefix, const char *reserved);

#endif
