/*
 * queued.h: pieces of the queue daemon: the worker (qmgr.c, postern-
 * queue in the spool root) and the local delivery agent (local.c,
 * postern-vmail in the mail root), both forked by queued.c's monitor.
 */
#ifndef POSTERN_QUEUED_H
#define POSTERN_QUEUED_H

#include "config.h"
#include "ctlmsg.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>


struct queued_ctx {
	struct config *conf;
	int listen_fd;       /* run/queue.sock, bound by the root parent */
	uid_t smtpd_uid;     /* the only peer allowed on it */
	int submit_fd;       /* run/submit.sock: local submissions (sendmail), any uid */
	int control_fd;      /* run/control.sock: posternctl */
	/* who may use the control socket besides root: the members of
	 * group postern-admin (the kernel tells their groups on each
	 * connection), resolved by the root parent, the worker's chroot
	 * having no group database; a developer's queued, not root, admits
	 * its own uid */
	gid_t admin_gid;     /* (gid_t)-1 when the group does not exist */
	uid_t dev_uid;       /* (uid_t)-1 when started as root */
};

/* queued's helpers, in the order its monitor forks them: the index
 * a P_HELPER frame carries */
enum { HELPER_LOCAL = 0, HELPER_AUTH = 1, HELPER_RELAY = 2 };

int qmgr_main(int ctl_sock, void *arg);

/* For the queue manager's other parts (submit.c, control.c), all in
 * its process and event loop. */
struct qmsg;
/* A new, empty queue file (mode 0600, in queue/) under a fresh id;
 * -1 on failure (logged). */
int qmgr_new_file(uint64_t *qidp);
/* Closes and unlinks a queue file that will not be committed. */
void qmgr_drop_file(uint64_t qid, int fd);
/* Hands m (qid, sender, helo, client, flags, arrival_ms, recipients
 * in state RS_PENDING with next_try_ms; the size is taken from the file
 * here) and its written file to the next group commit; both are
 * owned by the queue manager from now on. done (or NULL) is called
 * once with the outcome, after the index commit, or at once on OOM. */
void qmgr_commit(struct qmsg *m, int fd, void (*done)(void *arg, uint64_t qid, bool ok), void *arg);
/* False while mail is not taken in: stopping, or paused by the
 * administrator (posternctl pause accept). */
bool qmgr_accepting(void);

/* Counters since the queue manager started (posternctl stats). */
struct qmgr_counters {
	uint64_t accepted_smtp, accepted_local; /* messages committed, by origin */
	uint64_t reports;                       /* bounces and delay warnings made */
	uint64_t delivered_local, delivered_remote; /* recipient outcomes from here on */
	uint64_t deferred, bounced, expired;
};
void qmgr_counters(struct qmgr_counters *out, uint32_t *inflight_local, uint32_t *inflight_remote);
/* posternctl's actions (enum ctl_action) on the messages ids; *done
 * counts those changed. Unknown ids are skipped. One index transaction;
 * returns 0 or an LMDB/errno code. */
int qmgr_act(uint8_t action, const uint64_t *ids, uint32_t n, uint32_t *done);
/* Sets (pause) or clears the CTL_PAUSE_* bits in what; returns all. */
uint32_t qmgr_pause(uint32_t what, bool pause);
/* A read-only descriptor of a queued message's file, or -1. */
int qmgr_open_file(uint64_t qid);
/* smtpd's counters, as its workers last reported them (Q_STATS),
 * summed by name; returns how many of max were filled. */
size_t qmgr_smtpd_stats(struct stat_kv *out, size_t max);
/* The queue manager's auth helper channel (NULL while it restarts). */
struct ipc_chan;
struct ipc_chan *qmgr_auth(void);
/* Asks the root parent to send SIGHUP to every postern daemon. */
int qmgr_reload(void);
int local_main(int sock, void *arg);

#endif
