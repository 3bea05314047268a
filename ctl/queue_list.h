/*
 * queue_list.h: posternctl's view of the queue, read from queued's
 * LMDB index opened read-only (root or group postern-admin; queued is
 * the only writer). Filters, and the listings built on them: show
 * queue (text, JSON), mailq, show envelope, shape. The filter and the
 * formatters are pure; only qlist_open/qlist_each touch the index.
 */
#ifndef POSTERN_QUEUE_LIST_H
#define POSTERN_QUEUE_LIST_H

#include "qindex.h"
#include "qrecord.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Which messages a listing or an action covers; every set field must
 * match. */
struct qfilter {
	const char *sender;   /* "user@dom" (case-insensitive), "@dom", "<>" (null); NULL: any */
	const char *domain;   /* a recipient not yet done at this domain; NULL: any */
	uint64_t older_ms;    /* arrived at least this long ago; 0: any */
	uint64_t newer_ms;    /* arrived less than this long ago; 0: any */
	int state;            /* a recipient in this RS_* state; -1: any */
};

/* Parses a state name (pending, deferred, held, bounced, delivered). */
bool qfilter_state(const char *name, int *state);
bool qfilter_match(const struct qfilter *f, const struct qmsg *m, uint64_t now_ms);

/* Exit codes posternctl uses (also the man page's). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOTFOUND = 3, EXIT_DENIED = 4 };

/* Opens <spool>/index read-only. Returns EXIT_OK, or EXIT_DENIED /
 * EXIT_FAIL with a message in err. Never creates the index: a missing
 * one is reported (LMDB would otherwise make lock.mdb as the caller). */
int qlist_open(struct qindex *idx, const char *spool, char *err, size_t errlen);
/* Calls cb on each message matching f, oldest first, inside one read
 * transaction (a consistent snapshot). cb returns false to stop.
 * Returns 0 or an LMDB error. Unreadable records are skipped. */
int qlist_each(struct qindex *idx, const struct qfilter *f, bool (*cb)(const struct qmsg *m, void *arg),
    void *arg);
/* The one record with this id: 0, MDB_NOTFOUND or an error. */
int qlist_get(struct qindex *idx, uint64_t qid, struct qmsg *m);

/* Formatters, to out. */
void qshow_text(FILE *out, const struct qmsg *m);
void qshow_json(FILE *out, const struct qmsg *m); /* one JSON object */
void qshow_envelope(FILE *out, const struct qmsg *m, uint64_t now_ms);
void qshow_mailq(FILE *out, const struct qmsg *m);
/* A JSON string literal for s (invalid UTF-8 becomes U+FFFD). */
void json_string(FILE *out, const char *s);
/* "2026-11-22T10:00:01Z" */
void iso_time(uint64_t ms, char out[32]);

/* qshape: recipients not yet done, by destination domain and age. */
#define SHAPE_BUCKETS 11 /* T(otal), then ages < 5, 10, 20 ... 1280 minutes, and older */
struct shape;
struct shape *shape_new(void);
void shape_add(struct shape *s, const struct qmsg *m, uint64_t now_ms);
void shape_print(FILE *out, const struct shape *s, bool json, size_t top);
void shape_free(struct shape *s);

#endif
