/*
 * qindex.h: the LMDB queue index. "msgs" maps a queue id (8 bytes, big
 * endian) to its qrecord; "sched" holds (next try, queue id) keys so the
 * scheduler and posternctl find due messages without a scan. Only
 * queued (postern-queue) writes it; posternctl opens it read-only.
 */
#ifndef POSTERN_QINDEX_H
#define POSTERN_QINDEX_H

#include "qrecord.h"

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

struct qindex {
	MDB_env *env;
	MDB_dbi msgs, sched;
};

/* Opens (creating when !readonly) the environment in directory path. */
int qindex_open(struct qindex *q, const char *path, bool readonly);
void qindex_close(struct qindex *q);

/* Inside a write txn: stores m and moves its sched key from old_next
 * (0 = none) to its new next try (none if every recipient is final). */
int qindex_put(struct qindex *q, MDB_txn *txn, const struct qmsg *m, uint64_t old_next);
int qindex_del(struct qindex *q, MDB_txn *txn, uint64_t qid, uint64_t old_next);
/* Returns 0 and fills m (caller frees), MDB_NOTFOUND, or an error. */
int qindex_get(struct qindex *q, MDB_txn *txn, uint64_t qid, struct qmsg *m);
/* The sched key of a stored record (0 if none). */
uint64_t qindex_sched_of(const struct qmsg *m);

void qindex_key(uint64_t v, uint8_t out[8]);
uint64_t qindex_unkey(const uint8_t *p);

#endif
