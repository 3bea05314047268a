/*
 * qindex.c: LMDB access for the queue index. Runs in queued's worker
 * (postern-queue, chrooted to the spool) and, read-only, in posternctl.
 */
#include "qindex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define QINDEX_MAPSIZE (1ULL << 32) /* address space only; the file grows as needed */

void qindex_key(uint64_t v, uint8_t out[8])
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t qindex_unkey(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int qindex_open(struct qindex *q, const char *path, bool readonly)
{
	MDB_txn *txn;
	int rc;
	memset(q, 0, sizeof(*q));
	if ((rc = mdb_env_create(&q->env)) != 0)
		return rc;
	mdb_env_set_maxdbs(q->env, 4);
	mdb_env_set_mapsize(q->env, QINDEX_MAPSIZE);
	rc = mdb_env_open(q->env, path, readonly ? MDB_RDONLY : 0, 0600);
	if (rc != 0)
		goto fail;
	if ((rc = mdb_txn_begin(q->env, NULL, readonly ? MDB_RDONLY : 0, &txn)) != 0)
		goto fail;
	unsigned flags = readonly ? 0 : MDB_CREATE;
	if ((rc = mdb_dbi_open(txn, "msgs", flags, &q->msgs)) != 0 ||
	    (rc = mdb_dbi_open(txn, "sched", flags, &q->sched)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	if (!readonly) {
		/* whatever the umask: posternctl's readers (group postern-
		 * admin, through the setgid directory queued.c sets up) read
		 * data.mdb and need lock.mdb's reader table; only we write */
		char lock[4096];
		int dfd;
		if (mdb_env_get_fd(q->env, &dfd) == 0)
			(void)fchmod(dfd, 0640);
		if ((size_t)snprintf(lock, sizeof(lock), "%s/lock.mdb", path) < sizeof(lock))
			(void)chmod(lock, 0660);
	}
	return 0;
fail:
	mdb_env_close(q->env);
	q->env = NULL;
	return rc;
}

void qindex_close(struct qindex *q)
{
	if (q->env)
		mdb_env_close(q->env);
	q->env = NULL;
}

uint64_t qindex_sched_of(const struct qmsg *m)
{
	uint64_t when = 0;
	if (!qmsg_next_try(m, &when))
		return 0;
	return when ? when : 1;
}

static int sched_del(struct qindex *q, MDB_txn *txn, uint64_t when, uint64_t qid)
{
	uint8_t k[16];
	qindex_key(when, k);
	qindex_key(qid, k + 8);
	MDB_val key = { 16, k };
	int rc = mdb_del(txn, q->sched, &key, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int qindex_put(struct qindex *q, MDB_txn *txn, const struct qmsg *m, uint64_t old_next)
{
	struct ipc_buf b;
	uint8_t k[16];
	int rc;
	ipcb_init(&b);
	qrecord_encode(m, &b);
	if (b.err) {
		ipcb_free(&b);
		return ENOMEM;
	}
	qindex_key(m->qid, k);
	MDB_val key = { 8, k }, val = { b.len, b.data };
	rc = mdb_put(txn, q->msgs, &key, &val, 0);
	ipcb_free(&b);
	if (rc != 0)
		return rc;
	uint64_t next = qindex_sched_of(m);
	if (old_next == next)
		return 0;
	if (old_next && (rc = sched_del(q, txn, old_next, m->qid)) != 0)
		return rc;
	if (next) {
		qindex_key(next, k);
		qindex_key(m->qid, k + 8);
		MDB_val skey = { 16, k }, sval = { 0, NULL };
		rc = mdb_put(txn, q->sched, &skey, &sval, 0);
	}
	return rc;
}

int qindex_del(struct qindex *q, MDB_txn *txn, uint64_t qid, uint64_t old_next)
{
	uint8_t k[8];
	int rc;
	qindex_key(qid, k);
	MDB_val key = { 8, k };
	rc = mdb_del(txn, q->msgs, &key, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	return old_next ? sched_del(q, txn, old_next, qid) : 0;
}

int qindex_get(struct qindex *q, MDB_txn *txn, uint64_t qid, struct qmsg *m)
{
	uint8_t k[8];
	qindex_key(qid, k);
	MDB_val key = { 8, k }, val;
	int rc = mdb_get(txn, q->msgs, &key, &val);
	if (rc != 0)
		return rc;
	return qrecord_decode(val.mv_data, val.mv_size, m) ? 0 : MDB_CORRUPTED;
}
