/*
 * qmgr.c: the queue manager, queued's worker (postern-queue, chrooted
 * to the spool root). It creates queue files for smtpd and passes their
 * fds, makes committed messages durable in groups (file syncs, one
 * directory sync, one LMDB transaction) before acknowledging any, keeps
 * the LMDB index, schedules deliveries to the local and the remote
 * delivery agents (one request per message to each) with retries and
 * back-off, connects the remote agent to the resolver, sends bounces and delay warnings (bounce.c,
 * with the auth helper finding local mailboxes), and at start
 * reconciles files and index.
 */
#include "bounce.h"
#include "control.h"
#include "submit.h"
#include "ipc.h"
#include "log.h"
#include "privsep.h"
#include "proto.h"
#include "qindex.h"
#include "qrecord.h"
#include "queued.h"
#include "rdeliver.h"
#include "usock.h"
#include "util.h"

#include <bsd/string.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUEUE_DIR "queue"
#define INDEX_DIR "index"
#define MAX_PENDING_PER_CLIENT 100000 /* max_sessions at most */
/* recipients with the remote agent at once; it queues them per
 * destination and keeps its own connection limits */
#define REMOTE_INFLIGHT_MAX 5000
#define SCHED_SCAN_MAX 5000

struct client;

struct pending_file {
	struct pending_file *next;
	uint64_t qid;
	int fd;
};

struct client {
	struct client *next, *prev;
	struct ipc_chan *ch;
	struct pending_file *files;
	size_t nfiles;
	struct stat_kv *stats; /* its counters as last reported (Q_STATS) */
	size_t nstats;
};

struct commit {
	struct commit *next;
	struct client *client; /* NULL if it went away meanwhile */
	uint32_t reqid;
	int fd;
	struct qmsg msg;
	/* a local submission's (submit.c): told the outcome instead */
	void (*done)(void *arg, uint64_t qid, bool ok);
	bool from_smtpd;  /* for the counters: client may be gone by now */
	void *done_arg;
};

/* Which agent has a recipient of an in-flight message; AT_DONE: its
 * result is in, not yet written to the index (posternctl's actions
 * leave it alone too). */
enum { AT_NONE = 0, AT_LOCAL, AT_REMOTE, AT_DONE };

/* One message whose due recipients are with the delivery agents. */
struct inflight {
	struct inflight *next;
	uint64_t qid;
	uint32_t nrcpt;
	uint8_t *at;          /* per recipient: AT_*, until its result is in */
	uint32_t outstanding;
	uint32_t nresults;
	struct result {
		uint32_t rcpt;
		uint8_t status;
		char detail[QERR_MAX + 1];
	} *results;
	bool done;            /* all results in; waiting for the index update */
};

static struct {
	struct queued_ctx *ctx;
	const struct config *conf;
	struct event_base *base;
	struct qindex idx;
	int queue_dirfd;
	struct client *clients;
	struct commit *commits, **commits_tail;
	struct commit *flushing;  /* what is left of the group commit_flush answers */
	struct event *ev_commit, *ev_results, *ev_tick, *ev_listen;
	struct ipc_chan *lda, *ctl;
	struct ipc_chan *relay;  /* the remote delivery agent */
	struct ipc_chan *auth;   /* the auth helper: mailboxes for reports */
	struct inflight *inflight;
	uint32_t ninflight_local, ninflight_remote; /* recipients with each agent */
	uint32_t next_reqid;
	bool stopping;
	uint32_t paused;          /* CTL_PAUSE_* bits, set by posternctl */
	uint64_t committed, delivered;
	struct qmgr_counters n;   /* for posternctl stats */
} q;

static void schedule_run(void);
static void stop_if_idle(void);

static void qfile_name(uint64_t qid, char out[QID_LEN + 1]) { qid_format(qid, out); }

static void unlink_qfile(uint64_t qid)
{
	char name[QID_LEN + 1];
	qfile_name(qid, name);
	if (unlinkat(q.queue_dirfd, name, 0) < 0 && errno != ENOENT)
		log_warn("%s: unlink queue file", name);
}

/* ---- clients (smtpd) ---- */

static void client_free(struct client *c)
{
	/* files that were never committed are dropped now */
	while (c->files) {
		struct pending_file *f = c->files;
		c->files = f->next;
		close(f->fd);
		unlink_qfile(f->qid);
		free(f);
	}
	/* a send to one client can break and free another: commits of
	 * the group being answered are cleared too */
	for (struct commit *k = q.commits; k; k = k->next)
		if (k->client == c)
			k->client = NULL;
	for (struct commit *k = q.flushing; k; k = k->next)
		if (k->client == c)
			k->client = NULL;
	free(c->stats);
	if (c->prev)
		c->prev->next = c->next;
	else
		q.clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ipc_chan_free(c->ch);
	free(c);
}

static void send_fail(struct client *c, uint32_t reqid, const char *why)
{
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, why);
	ipc_chan_sendb(c->ch, Q_FAIL, reqid, &b, -1);
	ipcb_free(&b);
}

/* A new, empty queue file under a fresh id. */
int qmgr_new_file(uint64_t *qidp)
{
	char name[QID_LEN + 1];
	uint64_t qid;
	int fd, tries = 0;
	/* ids grow with the clock; a clock stepped back can meet a queued
	 * file's name, and O_EXCL makes that a retry, never an overwrite */
	do {
		qid = qid_new();
		qfile_name(qid, name);
		fd = openat(q.queue_dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	} while (fd < 0 && errno == EEXIST && ++tries < 1000);
	if (fd < 0)
		log_warn("%s: creating queue file", name);
	*qidp = qid;
	return fd;
}

void qmgr_drop_file(uint64_t qid, int fd)
{
	close(fd);
	unlink_qfile(qid);
}


static void handle_new(struct client *c, uint32_t reqid)
{
	char name[QID_LEN + 1];
	if (!qmgr_accepting() || c->nfiles >= MAX_PENDING_PER_CLIENT) {
		send_fail(c, reqid, q.stopping ? "shutting down" :
		    q.paused & CTL_PAUSE_ACCEPT ? "paused by the administrator" : "too many open queue files");
		return;
	}
	uint64_t qid;
	int fd = qmgr_new_file(&qid);
	qfile_name(qid, name);
	if (fd < 0) {
		send_fail(c, reqid, "cannot create queue file");
		return;
	}
	int wfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	struct pending_file *f = calloc(1, sizeof(*f));
	if (wfd < 0 || f == NULL) {
		close(fd);
		if (wfd >= 0)
			close(wfd);
		free(f);
		unlinkat(q.queue_dirfd, name, 0);
		send_fail(c, reqid, "out of resources");
		return;
	}
	f->qid = qid;
	f->fd = fd;
	f->next = c->files;
	c->files = f;
	c->nfiles++;
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_u64(&b, qid);
	ipc_chan_sendb(c->ch, Q_NEW_OK, reqid, &b, wfd);
	ipcb_free(&b);
}

static struct pending_file *take_file(struct client *c, uint64_t qid)
{
	for (struct pending_file **pp = &c->files; *pp; pp = &(*pp)->next) {
		if ((*pp)->qid == qid) {
			struct pending_file *f = *pp;
			*pp = f->next;
			c->nfiles--;
			return f;
		}
	}
	return NULL;
}

static void handle_abort(struct client *c, const uint8_t *p, size_t len)
{
	struct ipc_rd r;
	ipcr_init(&r, p, len);
	uint64_t qid = ipcr_u64(&r);
	struct pending_file *f = ipcr_done(&r) ? take_file(c, qid) : NULL;
	if (f == NULL)
		return;
	close(f->fd);
	unlink_qfile(qid);
	free(f);
}

/* Decodes a Q_COMMIT envelope from smtpd into m. */
static bool decode_commit(const uint8_t *p, size_t len, struct qmsg *m)
{
	struct ipc_rd r;
	memset(m, 0, sizeof(*m));
	ipcr_init(&r, p, len);
	m->qid = ipcr_u64(&r);
	ipcr_str(&r, m->sender, sizeof(m->sender));
	ipcr_str(&r, m->helo, sizeof(m->helo));
	ipcr_str(&r, m->client, sizeof(m->client));
	m->flags = ipcr_u8(&r) & (QF_8BITMIME | QF_SMTPUTF8);
	uint32_t n = ipcr_u32(&r);
	if (r.err || n == 0 || n > QMSG_MAX_RCPT)
		return false;
	if ((m->rcpts = calloc(n, sizeof(*m->rcpts))) == NULL)
		return false;
	m->nrcpt = n;
	uint64_t now = now_ms();
	for (uint32_t i = 0; i < n; i++) {
		struct qrcpt *rc = &m->rcpts[i];
		rc->remote = ipcr_u8(&r);
		ipcr_str(&r, rc->addr, sizeof(rc->addr));
		ipcr_str(&r, rc->mailbox, sizeof(rc->mailbox));
		rc->state = RS_PENDING;
		rc->next_try_ms = now;
		if (rc->remote > 1 || (!rc->remote && !valid_username(rc->mailbox, strlen(rc->mailbox))))
			r.err = true;
	}
	if (!ipcr_done(&r)) {
		qmsg_free(m);
		return false;
	}
	m->arrival_ms = now;
	return true;
}

static void handle_commit(struct client *c, uint32_t reqid, const uint8_t *p, size_t len)
{
	struct commit *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		send_fail(c, reqid, "out of memory");
		return;
	}
	if (!decode_commit(p, len, &k->msg)) {
		free(k);
		send_fail(c, reqid, "malformed commit");
		return;
	}
	struct pending_file *f = take_file(c, k->msg.qid);
	if (f == NULL) {
		qmsg_free(&k->msg);
		free(k);
		send_fail(c, reqid, "unknown queue file");
		return;
	}
	k->client = c;
	k->from_smtpd = true;
	k->reqid = reqid;
	k->fd = f->fd;
	free(f);
	*q.commits_tail = k;
	q.commits_tail = &k->next;
	/* runs after every other event already pending: that is the group */
	event_active(q.ev_commit, EV_TIMEOUT, 0);
}

/* A message queued made itself (a report), or a local submission
 * (done set): into the next group commit. m and fd are ours from now
 * on; done, if set, is called exactly once, after the group's fate is
 * known (or at once when memory runs out). */
void qmgr_commit(struct qmsg *m, int fd, void (*done)(void *arg, uint64_t qid, bool ok), void *arg)
{
	struct commit *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		uint64_t qid = m->qid;
		qmgr_drop_file(m->qid, fd);
		qmsg_free(m);
		if (done)
			done(arg, qid, false);
		return;
	}
	k->fd = fd;
	k->msg = *m;
	k->done = done;
	k->done_arg = arg;
	*q.commits_tail = k;
	q.commits_tail = &k->next;
	event_active(q.ev_commit, EV_TIMEOUT, 0);
}

static void qmgr_commit_report(struct qmsg *m, int fd)
{
	qmgr_commit(m, fd, NULL, NULL);
}

/* Group commit: sync every file of the batch, the directory once, and
 * write all index entries in one synced LMDB transaction; only then
 * acknowledge. A failure fails only what could not be made durable. */
static void commit_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	struct commit *batch = q.commits;
	size_t n = 0, ok = 0;
	q.commits = NULL;
	q.commits_tail = &q.commits;
	if (batch == NULL)
		return;
	for (struct commit *k = batch; k; k = k->next) {
		struct stat st;
		n++;
		if (fstat(k->fd, &st) < 0 || fdatasync(k->fd) < 0) {
			char name[QID_LEN + 1];
			qfile_name(k->msg.qid, name);
			log_warn("%s: syncing queue file", name);
			k->msg.nrcpt = 0; /* marks failure */
			continue;
		}
		k->msg.size = (uint64_t)st.st_size;
	}
	bool dir_ok = fsync(q.queue_dirfd) == 0;
	if (!dir_ok)
		log_warn("syncing queue directory");
	MDB_txn *txn = NULL;
	int rc = dir_ok ? mdb_txn_begin(q.idx.env, NULL, 0, &txn) : EIO;
	for (struct commit *k = batch; k && rc == 0; k = k->next)
		if (k->msg.nrcpt)
			rc = qindex_put(&q.idx, txn, &k->msg, 0);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else if (txn)
		mdb_txn_abort(txn);
	if (rc != 0 && dir_ok)
		log_warnx("index commit failed: %s", mdb_strerror(rc));
	while (batch) {
		struct commit *k = batch;
		char name[QID_LEN + 1];
		batch = k->next;
		q.flushing = batch;
		qfile_name(k->msg.qid, name);
		bool durable = rc == 0 && k->msg.nrcpt > 0;
		close(k->fd);
		if (durable) {
			ok++;
			q.committed++;
			if (k->from_smtpd)
				q.n.accepted_smtp++;
			else if (k->done)
				q.n.accepted_local++;
			else
				q.n.reports++;
			log_info("%s: from=<%s>, size=%llu, nrcpt=%u (queue active) client=[%s]", name,
			    k->msg.sender, (unsigned long long)k->msg.size, k->msg.nrcpt, k->msg.client);
			if (k->client) {
				struct ipc_buf b;
				ipcb_init(&b);
				ipcb_u64(&b, k->msg.qid);
				ipc_chan_sendb(k->client->ch, Q_COMMIT_OK, k->reqid, &b, -1);
				ipcb_free(&b);
			}
		} else {
			unlink_qfile(k->msg.qid);
			if (k->client)
				send_fail(k->client, k->reqid, "could not make the message durable");
		}
		if (k->done)
			k->done(k->done_arg, k->msg.qid, durable);
		qmsg_free(&k->msg);
		free(k);
	}
	log_debug("group commit: %zu message(s), %zu durable", n, ok);
	schedule_run();
	stop_if_idle();
}

/* Q_STATS: an smtpd worker's counters, replacing what it said before. */
static void handle_stats(struct client *c, const uint8_t *p, size_t len)
{
	struct stat_kv *kv = calloc(STATS_MAX, sizeof(*kv));
	int n = kv ? ctlmsg_stats_decode(p, len, kv, STATS_MAX) : -1;
	if (n < 0) {
		free(kv);
		return;
	}
	free(c->stats);
	c->stats = kv;
	c->nstats = ctlmsg_stats_keep(kv, (size_t)n, "smtpd_", NULL);
}

size_t qmgr_smtpd_stats(struct stat_kv *out, size_t max)
{
	size_t n = 0;
	for (struct client *c = q.clients; c; c = c->next)
		for (size_t i = 0; i < c->nstats; i++) {
			size_t j = 0;
			while (j < n && strcmp(out[j].name, c->stats[i].name) != 0)
				j++;
			if (j == n) {
				if (n == max)
					continue;
				out[n++] = c->stats[i];
			} else {
				out[j].value += c->stats[i].value;
			}
		}
	return n;
}

static void on_client_msg(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	struct client *c = arg;
	if (fd >= 0)
		close(fd); /* smtpd never sends us descriptors */
	switch (h->type) {
	case Q_NEW: handle_new(c, h->reqid); break;
	case Q_COMMIT: handle_commit(c, h->reqid, p, h->len); break;
	case Q_ABORT: handle_abort(c, p, h->len); break;
	case Q_STATS: handle_stats(c, p, h->len); break;
	default:
		log_warnx("client sent unknown request %u; dropping it", h->type);
		client_free(c);
	}
}

static void on_client_close(struct ipc_chan *ch, void *arg)
{
	(void)ch;
	client_free(arg);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	(void)arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	uid_t uid = (uid_t)-1;
	if (fd < 0)
		return;
	if (ipc_peer_uid(fd, &uid) < 0 || uid != q.ctx->smtpd_uid) {
		log_warnx("refusing queue client with uid %u", (unsigned)uid);
		close(fd);
		return;
	}
	struct client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->ch = ipc_chan_new(q.base, fd, on_client_msg, on_client_close, c);
	if (c->ch == NULL) {
		close(fd);
		free(c);
		return;
	}
	c->next = q.clients;
	if (q.clients)
		q.clients->prev = c;
	q.clients = c;
}

/* ---- delivery ---- */

static struct inflight *inflight_find(uint64_t qid)
{
	for (struct inflight *f = q.inflight; f; f = f->next)
		if (f->qid == qid)
			return f;
	return NULL;
}

static uint64_t backoff_ms(uint32_t attempts)
{
	uint64_t d = q.conf->retry_min_ms;
	for (uint32_t i = 1; i < attempts && d < q.conf->retry_max_ms; i++)
		d *= 2;
	return d > q.conf->retry_max_ms ? q.conf->retry_max_ms : d;
}

/* The "to=<...>" of a local outcome: a recipient reached through an
 * alias is logged as the mailbox, with the address it was sent to as
 * orig_to (so log tools count deliveries per mailbox, as Postfix's). */
static void local_to(const struct qrcpt *r, char *out, size_t outlen)
{
	const char *at = strrchr(r->addr, '@');
	size_t local = at ? (size_t)(at - r->addr) : strlen(r->addr);
	size_t ml = strlen(r->mailbox);
	const char *plus = memchr(r->addr, '+', local);
	size_t base = plus ? (size_t)(plus - r->addr) : local;
	if (strncasecmp(r->addr, r->mailbox, ml) == 0 && (ml == local || ml == base))
		textf(out, outlen, "to=<%s>", r->addr);
	else
		textf(out, outlen, "to=<%s%s>, orig_to=<%s>", r->mailbox, at ? at : "", r->addr);
}

/* Applies one result to a recipient. An agent that died mid-delivery
 * (status 255) counts as a temporary failure, with the usual back-off
 * and lifetime: a message that kills the agent must not come back to
 * it at once, again and again. */
static void apply_result(const struct qmsg *m, struct qrcpt *r, const struct result *res, uint64_t now)
{
	char name[QID_LEN + 1];
	qfile_name(m->qid, name);
	/* one line per outcome, in the form log tools parse; the remote
	 * agent logs its own (with the host and TLS), so only local
	 * outcomes and the queue's own decisions are logged here */
	double delay = (double)(now > m->arrival_ms ? now - m->arrival_ms : 0) / 1000.0;
	char to[2 * ADDR_PATH_MAX + 32] = "";
	if (!r->remote) /* the only lines that name it */
		local_to(r, to, sizeof(to));
	if (res->status == DELIVERY_OK) {
		r->state = RS_DELIVERED;
		r->last_error[0] = '\0';
		q.delivered++;
		if (r->remote)
			q.n.delivered_remote++;
		else
			q.n.delivered_local++;
		if (!r->remote)
			log_info("%s: %s, relay=local, delay=%.1f, dsn=2.0.0, status=sent "
			    "(delivered to maildir %s)", name, to, delay, r->mailbox);
		return;
	}
	strlcpy(r->last_error, res->detail, sizeof(r->last_error));
	r->attempts++;
	if (res->status == DELIVERY_PERMFAIL) {
		r->state = RS_BOUNCED;
		q.n.bounced++;
		if (!r->remote)
			log_warnx("%s: %s, relay=local, delay=%.1f, dsn=5.0.0, status=bounced (%s)",
			    name, to, delay, r->last_error);
		return;
	}
	if (now - m->arrival_ms >= q.conf->queue_lifetime_ms) {
		r->state = RS_BOUNCED;
		q.n.expired++;
		log_warnx("%s: to=<%s>, relay=%s, delay=%.1f, dsn=4.4.7, status=expired, returned to "
		    "sender (%s)", name, r->addr, r->remote ? "none" : "local", delay, r->last_error);
		return;
	}
	r->state = RS_DEFERRED;
	q.n.deferred++;
	r->next_try_ms = now + backoff_ms(r->attempts);
	if (!r->remote)
		log_info("%s: %s, relay=local, delay=%.1f, dsn=4.3.0, status=deferred (%s)", name,
		    to, delay, r->last_error);
	log_info("%s: <%s>: attempt %u failed; next in %llus", name, r->addr, r->attempts,
	    (unsigned long long)(backoff_ms(r->attempts) / 1000));
}

/* Reports to send once the results that call for them are durable. */
struct report {
	struct qmsg m;
	uint32_t *which;
	size_t nfailed, ndelayed;  /* which[] holds the failed, then the delayed */
};

/* Notes, for the message m whose results were just applied (each
 * recipient's state before in was), what to report: recipients that
 * failed for good now, and, once a message has waited delay_warning,
 * one warning about those still deferred. */
static bool note_reports(struct qmsg *m, const uint8_t *was, uint64_t now, struct report *out)
{
	memset(out, 0, sizeof(*out));
	bool warn = q.conf->delay_warning_ms > 0 && !(m->flags & (QF_WARNED | QF_DSN)) &&
	    m->sender[0] != '\0' && now - m->arrival_ms >= q.conf->delay_warning_ms;
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		bool failed = m->rcpts[i].state == RS_BOUNCED && was[i] != RS_BOUNCED;
		bool delayed = warn && m->rcpts[i].state == RS_DEFERRED;
		if (!failed && !delayed)
			continue;
		if (out->which == NULL && (out->which = calloc(m->nrcpt, sizeof(uint32_t))) == NULL)
			return false;
		if (failed)
			out->which[out->nfailed++] = i;
	}
	if (out->which && warn)
		for (uint32_t i = 0; i < m->nrcpt; i++)
			if (m->rcpts[i].state == RS_DEFERRED)
				out->which[out->nfailed + out->ndelayed++] = i;
	if (out->ndelayed)
		m->flags |= QF_WARNED;
	return out->which != NULL;
}

/* Writes every finished in-flight message's results in one transaction. */
static void results_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	MDB_txn *txn;
	uint64_t now = now_ms();
	uint64_t unlink_list[256];
	size_t nunlink = 0;
	struct report reports[256];
	size_t nreports = 0;
	if (mdb_txn_begin(q.idx.env, NULL, 0, &txn) != 0) {
		struct timeval again = { 1, 0 };
		log_warnx("cannot begin index transaction for results; retrying");
		event_add(q.ev_results, &again);
		return;
	}
	struct inflight **pp = &q.inflight;
	int rc = 0;
	while (*pp && rc == 0) {
		struct inflight *f = *pp;
		if (!f->done || nunlink == sizeof(unlink_list) / sizeof(unlink_list[0]) ||
		    nreports == sizeof(reports) / sizeof(reports[0])) {
			pp = &f->next;
			continue;
		}
		struct qmsg m;
		rc = qindex_get(&q.idx, txn, f->qid, &m);
		if (rc == 0) {
			uint64_t old = qindex_sched_of(&m);
			uint8_t *was = malloc(m.nrcpt);
			for (uint32_t i = 0; was && i < m.nrcpt; i++)
				was[i] = m.rcpts[i].state;
			for (uint32_t i = 0; i < f->nresults; i++)
				if (f->results[i].rcpt < m.nrcpt)
					apply_result(&m, &m.rcpts[f->results[i].rcpt], &f->results[i], now);
			bool report = was && note_reports(&m, was, now, &reports[nreports]);
			free(was);
			if (qmsg_done(&m)) {
				rc = qindex_del(&q.idx, txn, m.qid, old);
				unlink_list[nunlink++] = m.qid;
			} else {
				rc = qindex_put(&q.idx, txn, &m, old);
			}
			if (report) {
				reports[nreports++].m = m; /* freed after the reports */
			} else {
				qmsg_free(&m);
			}
		} else if (rc == MDB_NOTFOUND) {
			rc = 0;
		}
		*pp = f->next;
		free(f->results);
		free(f->at);
		free(f);
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc != 0) {
		/* the results are lost from memory; the index still says
		 * pending, so those recipients are tried again (at worst a
		 * duplicate, never a loss) */
		log_warnx("index update for delivery results failed: %s", mdb_strerror(rc));
		nunlink = 0;
	}
	/* the results are durable: report, while the queue files are there */
	for (size_t i = 0; i < nreports; i++) {
		struct report *r = &reports[i];
		if (rc == 0) {
			bounce_report(&r->m, r->which, r->nfailed, false);
			bounce_report(&r->m, r->which + r->nfailed, r->ndelayed, true);
		}
		free(r->which);
		qmsg_free(&r->m);
	}
	for (size_t i = 0; i < nunlink; i++) {
		char name[QID_LEN + 1];
		qfile_name(unlink_list[i], name);
		log_info("%s: removed (all recipients done)", name);
		unlink_qfile(unlink_list[i]);
	}
	if (q.inflight)
		for (struct inflight *f = q.inflight; f; f = f->next)
			if (f->done) {
				event_active(q.ev_results, EV_TIMEOUT, 0);
				break;
			}
	schedule_run();
	stop_if_idle();
}

static void inflight_result(struct inflight *f, uint32_t rcpt, uint8_t status, const char *detail)
{
	if (f->outstanding == 0 || rcpt >= f->nrcpt ||
	    (f->at[rcpt] != AT_LOCAL && f->at[rcpt] != AT_REMOTE))
		return;
	struct result *r = &f->results[f->nresults++];
	r->rcpt = rcpt;
	r->status = status;
	strlcpy(r->detail, detail, sizeof(r->detail));
	if (f->at[rcpt] == AT_LOCAL)
		q.ninflight_local--;
	else
		q.ninflight_remote--;
	f->at[rcpt] = AT_DONE;
	f->outstanding--;
	if (f->outstanding == 0) {
		f->done = true;
		event_active(q.ev_results, EV_TIMEOUT, 0);
	}
}

/* L_RESULT from agent (AT_*): only for a recipient that agent holds.
 * A detail longer than the index keeps is cut, never a reason to drop
 * the result. */
static void handle_result(uint8_t agent, const uint8_t *p, size_t len)
{
	struct ipc_rd r;
	char detail[QERR_MAX + 1];
	size_t dlen;
	ipcr_init(&r, p, len);
	uint64_t qid = ipcr_u64(&r);
	uint32_t rcpt = ipcr_u32(&r);
	uint8_t status = ipcr_u8(&r);
	const uint8_t *d = ipcr_bytes(&r, 4096, &dlen);
	if (!ipcr_done(&r) || status > DELIVERY_PERMFAIL) {
		log_warnx("malformed result from a delivery agent");
		return;
	}
	if (dlen > QERR_MAX)
		dlen = QERR_MAX;
	memcpy(detail, d, dlen);
	detail[dlen] = '\0';
	for (size_t i = 0; i < dlen; i++)
		if (detail[i] == '\0' || detail[i] == '\r' || detail[i] == '\n')
			detail[i] = ' ';
	struct inflight *f = inflight_find(qid);
	if (f && rcpt < f->nrcpt && f->at[rcpt] == agent)
		inflight_result(f, rcpt, status, detail);
}

/* What an agent had when it died is deferred (see apply_result). */
static void agent_lost(uint8_t agent)
{
	for (struct inflight *f = q.inflight; f; f = f->next)
		for (uint32_t i = 0; i < f->nrcpt && f->outstanding; i++)
			if (f->at[i] == agent)
				inflight_result(f, i, 255, "delivery agent died");
}

/* R_DNS: the relay agent, chrooted to an empty directory, gets its
 * resolver connection from us. */
static void relay_dns_connect(void)
{
	int fd = usock_connect(DNS_SOCKET, false, 0);
	if (fd < 0)
		log_warn("the resolver is unreachable at %s", DNS_SOCKET);
	ipc_chan_send(q.relay, R_DNS_OK, 0, NULL, 0, fd);
}

/* Frames from either delivery agent; arg says which (AT_*). */
static void on_agent_msg(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	uint8_t agent = (uint8_t)(uintptr_t)arg;
	if (fd >= 0)
		close(fd);
	if (h->type == L_RESULT)
		handle_result(agent, p, h->len);
	else if (h->type == R_DNS && agent == AT_REMOTE)
		relay_dns_connect();
	else
		log_warnx("unknown message %u from a delivery agent", h->type);
}

static void on_agent_close(struct ipc_chan *ch, void *arg)
{
	uint8_t agent = (uint8_t)(uintptr_t)arg;
	log_warnx("lost the %s delivery agent; its deliveries will be retried",
	    agent == AT_LOCAL ? "local" : "remote");
	ipc_chan_free(ch);
	if (agent == AT_LOCAL)
		q.lda = NULL;
	else
		q.relay = NULL;
	agent_lost(agent);
}

static bool rcpt_due(const struct qrcpt *r, uint64_t now)
{
	return (r->state == RS_PENDING || r->state == RS_DEFERRED) && r->next_try_ms <= now;
}

/* Whether a due recipient can go to its agent now. */
static bool rcpt_dispatchable(const struct qrcpt *r)
{
	if (r->remote)
		return q.relay && !(q.paused & CTL_PAUSE_REMOTE) && q.ninflight_remote < REMOTE_INFLIGHT_MAX;
	return q.lda && !(q.paused & CTL_PAUSE_LOCAL) && q.ninflight_local < q.conf->delivery_concurrency;
}

static void deliver_local(struct inflight *f, const struct qmsg *m, uint32_t i, const char *name)
{
	const struct qrcpt *r = &m->rcpts[i];
	int mfd = openat(q.queue_dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (mfd < 0) {
		inflight_result(f, i, DELIVERY_TEMPFAIL, "queue file missing");
		return;
	}
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_u64(&b, m->qid);
	ipcb_u32(&b, i);
	ipcb_cstr(&b, m->sender);
	ipcb_cstr(&b, r->mailbox);
	ipcb_cstr(&b, r->addr);
	if (ipc_chan_sendb(q.lda, L_DELIVER, ++q.next_reqid, &b, mfd) < 0)
		inflight_result(f, i, 255, "delivery agent unavailable");
	ipcb_free(&b);
}

/* All of the message's remote recipients in f, in one request. */
static void deliver_remote(struct inflight *f, const struct qmsg *m, const char *name)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->nrcpt; i++)
		n += f->at[i] == AT_REMOTE;
	if (n == 0)
		return;
	int mfd = openat(q.queue_dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct ipc_buf b;
	ipcb_init(&b);
	rdeliver_head(&b, m->qid, m->sender, m->flags & (QF_8BITMIME | QF_SMTPUTF8), m->size,
	    m->arrival_ms, n);
	for (uint32_t i = 0; i < m->nrcpt; i++)
		if (f->at[i] == AT_REMOTE)
			rdeliver_add(&b, i, m->rcpts[i].addr);
	bool sent = mfd >= 0 && ipc_chan_sendb(q.relay, R_DELIVER, ++q.next_reqid, &b, mfd) == 0;
	ipcb_free(&b);
	for (uint32_t i = 0; !sent && i < m->nrcpt; i++)
		if (f->at[i] == AT_REMOTE)
			inflight_result(f, i, mfd < 0 ? DELIVERY_TEMPFAIL : 255,
			    mfd < 0 ? "queue file missing" : "delivery agent unavailable");
}

static void dispatch(uint64_t qid, const struct qmsg *m, uint64_t now)
{
	char name[QID_LEN + 1];
	uint32_t due = 0;
	qfile_name(qid, name);
	for (uint32_t i = 0; i < m->nrcpt; i++)
		if (rcpt_due(&m->rcpts[i], now) && rcpt_dispatchable(&m->rcpts[i]))
			due++;
	if (due == 0)
		return;
	struct inflight *f = calloc(1, sizeof(*f));
	if (f == NULL || (f->results = calloc(due, sizeof(*f->results))) == NULL ||
	    (f->at = calloc(m->nrcpt, 1)) == NULL) {
		if (f)
			free(f->results);
		free(f);
		return;
	}
	f->qid = qid;
	f->nrcpt = m->nrcpt;
	f->next = q.inflight;
	q.inflight = f;
	/* every recipient is marked before any is sent: a result for one
	 * (an agent gone) must not end f while others are still to go */
	for (uint32_t i = 0; i < m->nrcpt && f->outstanding < due; i++) {
		const struct qrcpt *r = &m->rcpts[i];
		if (!rcpt_due(r, now) || !rcpt_dispatchable(r))
			continue;
		f->at[i] = r->remote ? AT_REMOTE : AT_LOCAL;
		f->outstanding++;
		if (r->remote)
			q.ninflight_remote++;
		else
			q.ninflight_local++;
	}
	for (uint32_t i = 0; i < m->nrcpt; i++)
		if (f->at[i] == AT_LOCAL)
			deliver_local(f, m, i, name);
	deliver_remote(f, m, name);
}

/* Hands due messages to the agents, oldest due first, while there is
 * room. A scan stops after SCHED_SCAN_MAX entries, so a queue full of
 * due mail for a busy agent costs little per run. */
static void schedule_run(void)
{
	if ((q.lda == NULL && q.relay == NULL) || q.stopping)
		return;
	MDB_txn *txn;
	MDB_cursor *cur;
	if (mdb_txn_begin(q.idx.env, NULL, MDB_RDONLY, &txn) != 0)
		return;
	if (mdb_cursor_open(txn, q.idx.sched, &cur) != 0) {
		mdb_txn_abort(txn);
		return;
	}
	uint64_t now = now_ms();
	MDB_val k, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	size_t scanned = 0;
	while (rc == 0 && scanned++ < SCHED_SCAN_MAX &&
	    ((q.lda && q.ninflight_local < q.conf->delivery_concurrency) ||
	    (q.relay && q.ninflight_remote < REMOTE_INFLIGHT_MAX))) {
		if (k.mv_size != 16)
			break;
		uint64_t when = qindex_unkey(k.mv_data);
		uint64_t qid = qindex_unkey((const uint8_t *)k.mv_data + 8);
		if (when > now)
			break;
		if (!inflight_find(qid)) {
			struct qmsg m;
			if (qindex_get(&q.idx, txn, qid, &m) == 0) {
				dispatch(qid, &m, now);
				qmsg_free(&m);
			}
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
}

/* Once stopping, exits as soon as nothing is in flight (reports still
 * waiting for a lookup keep it up to the deadline): called on SIGTERM,
 * after each batch of results or commits, and each second. */
static void stop_if_idle(void)
{
	if (q.stopping && q.inflight == NULL && q.commits == NULL && !submit_busy() &&
	    (bounce_pending() == 0 || q.auth == NULL))
		event_base_loopexit(q.base, NULL);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	stop_if_idle();
	bounce_retry();
	schedule_run();
	/* posternctl's read transactions hold LMDB's old pages; one killed
	 * mid-listing would hold them (and grow the file) until a restart */
	static unsigned ticks;
	int dead = 0;
	if (++ticks % 30 == 0 && mdb_reader_check(q.idx.env, &dead) == 0 && dead > 0)
		log_info("cleared %d stale index reader(s) (a posternctl that was killed)", dead);
}

/* ---- administration: what posternctl asks for (control.c) ---- */

bool qmgr_accepting(void)
{
	return !q.stopping && !(q.paused & CTL_PAUSE_ACCEPT);
}

uint32_t qmgr_pause(uint32_t what, bool pause)
{
	uint32_t was = q.paused;
	if (pause)
		q.paused |= what;
	else
		q.paused &= ~what;
	if (q.paused != was) {
		log_info("%s by the administrator: %s%s%s", pause ? "paused" : "resumed",
		    what & CTL_PAUSE_LOCAL ? "local delivery " : "",
		    what & CTL_PAUSE_REMOTE ? "remote delivery " : "",
		    what & CTL_PAUSE_ACCEPT ? "accepting mail" : "");
		schedule_run();
	}
	return q.paused;
}

void qmgr_counters(struct qmgr_counters *out, uint32_t *inflight_local, uint32_t *inflight_remote)
{
	*out = q.n;
	*inflight_local = q.ninflight_local;
	*inflight_remote = q.ninflight_remote;
}

int qmgr_open_file(uint64_t qid)
{
	char name[QID_LEN + 1];
	qfile_name(qid, name);
	return openat(q.queue_dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

/* One message under one action; true if it changed. Recipients that
 * an agent has right now are left alone: their results are applied
 * on top of whatever is stored. */
static bool act_on(uint8_t action, struct qmsg *m, const struct inflight *f, uint64_t now,
    uint32_t *which, size_t *nwhich)
{
	bool changed = false;
	*nwhich = 0;
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		struct qrcpt *r = &m->rcpts[i];
		if (rcpt_is_final(r) || (f && i < f->nrcpt && f->at[i] != AT_NONE))
			continue;
		switch (action) {
		case CTL_HOLD:
			if (r->state != RS_HELD) {
				r->state = RS_HELD;
				changed = true;
			}
			break;
		case CTL_RELEASE:
			if (r->state == RS_HELD) {
				r->state = r->attempts ? RS_DEFERRED : RS_PENDING;
				r->next_try_ms = now;
				changed = true;
			}
			break;
		case CTL_RETRY:
			/* one already due counts too: the administrator asked
			 * for it now, and now it is */
			if (r->state != RS_HELD) {
				if (r->next_try_ms > now)
					r->next_try_ms = now;
				changed = true;
			}
			break;
		case CTL_BOUNCE:
			r->state = RS_BOUNCED;
			strlcpy(r->last_error, "5.0.0 returned to sender by the administrator",
			    sizeof(r->last_error));
			which[(*nwhich)++] = i;
			changed = true;
			break;
		}
	}
	return changed;
}

int qmgr_act(uint8_t action, const uint64_t *ids, uint32_t n, uint32_t *done)
{
	static const char *verb[] = { [CTL_HOLD] = "held", [CTL_RELEASE] = "released",
		[CTL_RETRY] = "retry now", [CTL_REMOVE] = "removed", [CTL_BOUNCE] = "returned to sender" };
	MDB_txn *txn = NULL;
	uint64_t now = now_ms();
	*done = 0;
	if (action < CTL_HOLD || action > CTL_BOUNCE)
		return EINVAL;
	uint64_t *changed = calloc(n ? n : 1, sizeof(*changed));
	uint64_t *gone = calloc(n ? n : 1, sizeof(*gone));
	struct report *reports = calloc(n ? n : 1, sizeof(*reports));
	size_t nchanged = 0, ngone = 0, nreports = 0, nbounced = 0;
	int rc = changed && gone && reports ? mdb_txn_begin(q.idx.env, NULL, 0, &txn) : ENOMEM;
	for (uint32_t k = 0; k < n && rc == 0; k++) {
		struct qmsg m;
		if ((rc = qindex_get(&q.idx, txn, ids[k], &m)) == MDB_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc == MDB_CORRUPTED) {
			/* one bad record must not block the others; the next
			 * start's reconcile drops it */
			char name[QID_LEN + 1];
			qfile_name(ids[k], name);
			log_warnx("%s: index record unreadable; left to the next start", name);
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		uint64_t old = qindex_sched_of(&m);
		uint32_t *which = NULL;
		size_t nwhich = 0;
		bool did;
		if (action == CTL_REMOVE) {
			/* an agent still holding it may finish; its result then
			 * finds nothing to update */
			did = true;
		} else {
			if (action == CTL_BOUNCE && (which = calloc(m.nrcpt, sizeof(*which))) == NULL) {
				qmsg_free(&m);
				rc = ENOMEM;
				break;
			}
			did = act_on(action, &m, inflight_find(ids[k]), now, which, &nwhich);
		}
		if (did && (action == CTL_REMOVE || qmsg_done(&m))) {
			rc = qindex_del(&q.idx, txn, m.qid, old);
			gone[ngone++] = m.qid;
		} else if (did) {
			rc = qindex_put(&q.idx, txn, &m, old);
		}
		if (did)
			changed[nchanged++] = m.qid;
		/* no report about a report, nor to the null sender */
		nbounced += nwhich;
		if (did && nwhich && m.sender[0] && !(m.flags & QF_DSN)) {
			reports[nreports].m = m;
			reports[nreports].which = which;
			reports[nreports++].nfailed = nwhich;
		} else {
			free(which);
			qmsg_free(&m);
		}
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else if (txn != NULL)
		mdb_txn_abort(txn);
	if (rc == 0) {
		*done = (uint32_t)nchanged;
		q.n.bounced += nbounced;
		for (size_t i = 0; i < nchanged; i++) {
			char name[QID_LEN + 1];
			qfile_name(changed[i], name);
			log_info("%s: %s by the administrator", name, verb[action]);
		}
	} else {
		log_warnx("posternctl: index update failed: %s", mdb_strerror(rc));
		ngone = 0;
	}
	for (size_t i = 0; i < nreports; i++) {
		if (rc == 0)
			bounce_report(&reports[i].m, reports[i].which, reports[i].nfailed, false);
		free(reports[i].which);
		qmsg_free(&reports[i].m);
	}
	for (size_t i = 0; i < ngone; i++)
		unlink_qfile(gone[i]);
	free(changed);
	free(gone);
	free(reports);
	if (rc == 0)
		schedule_run();
	return rc;
}

/* ---- the auth helper: mailboxes for reports ---- */

static void on_auth_msg(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	(void)arg;
	if (fd >= 0)
		close(fd);
	if (h->reqid & SUBMIT_REQID_BIT)
		submit_on_lookup(h->reqid, h->type, p, h->len);
	else
		bounce_on_lookup(h->reqid, h->type, p, h->len);
}

static void on_auth_close(struct ipc_chan *ch, void *arg)
{
	(void)arg;
	log_warnx("lost the auth helper; reports wait for it");
	ipc_chan_free(ch);
	q.auth = NULL;
	bounce_lookups_lost();
	submit_lookups_lost();
}

/* ---- supervisor channel: the helpers' sockets arrive here ---- */

static void on_ctl_msg(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	(void)arg;
	if (h->type == P_CONFIG && fd < 0) {
		/* the monitor parsed it; each helper takes what it uses. A
		 * helper restarted later starts from the monitor's copy. */
		config_apply_frame(q.ctx->conf, p, h->len);
		struct ipc_chan *helpers[] = { q.lda, q.auth, q.relay };
		for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
			if (helpers[i])
				ipc_chan_send(helpers[i], P_CONFIG, 0, p, h->len, -1);
		schedule_run(); /* concurrency may have grown, retry times shrunk */
		return;
	}
	if (h->type != P_HELPER || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct ipc_rd r;
	ipcr_init(&r, p, h->len);
	uint8_t which = h->len ? ipcr_u8(&r) : HELPER_LOCAL;
	set_nonblock(fd);
	if (which == HELPER_RELAY) {
		if (q.relay) {
			ipc_chan_free(q.relay);
			agent_lost(AT_REMOTE);
		}
		q.relay = ipc_chan_new(q.base, fd, on_agent_msg, on_agent_close, (void *)(uintptr_t)AT_REMOTE);
		schedule_run();
		return;
	}
	if (which == HELPER_AUTH) {
		if (q.auth)
			ipc_chan_free(q.auth);
		q.auth = ipc_chan_new(q.base, fd, on_auth_msg, on_auth_close, NULL);
		bounce_lookups_lost(); /* the old helper's answers will not come */
		submit_lookups_lost();
		bounce_retry();
		return;
	}
	if (q.lda) {
		ipc_chan_free(q.lda);
		agent_lost(AT_LOCAL);
	}
	q.lda = ipc_chan_new(q.base, fd, on_agent_msg, on_agent_close, (void *)(uintptr_t)AT_LOCAL);
	schedule_run();
}

struct ipc_chan *qmgr_auth(void)
{
	return q.auth;
}

int qmgr_reload(void)
{
	return q.ctl ? ipc_chan_send(q.ctl, P_RELOAD, 0, NULL, 0, -1) : -1;
}

static void on_ctl_close(struct ipc_chan *ch, void *arg)
{
	(void)ch;
	(void)arg;
	log_warnx("supervisor gone; exiting");
	event_base_loopexit(q.base, NULL);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (q.stopping)
		return;
	q.stopping = true;
	log_info("stopping: finishing deliveries in progress");
	event_del(q.ev_listen);
	submit_stop();
	struct timeval tv = { 10, 0 };
	event_base_loopexit(q.base, &tv);
	stop_if_idle();
}

/* ---- start-up reconciliation ---- */

/* A supervisor restarts queued as soon as its root process dies, while
 * the old queue manager may still be finishing a commit: reconciling
 * now would delete that message's file as an orphan after smtpd got
 * 250 for it. So only one queue manager at a time holds index/'s lock;
 * a new one waits for the old one to exit. The fd stays open for the
 * life of the process. */
static void wait_for_older_qmgr(void)
{
	int fd = open(INDEX_DIR "/queued.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		fatal("open %s/queued.lock", INDEX_DIR);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return;
	if (errno != EWOULDBLOCK)
		fatal("lock %s/queued.lock", INDEX_DIR);
	log_warnx("an older queue manager is still running; waiting for it to exit");
	if (flock(fd, LOCK_EX) < 0)
		fatal("lock %s/queued.lock", INDEX_DIR);
	log_info("the older queue manager has exited");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* One listing of queue/, then one pass over the index against it (no
 * per-message stat: 100,000 queued messages reconcile in a fraction of
 * a second). Index entries without a file are dropped, files without
 * an entry (a commit cut short, or a message done but not yet
 * unlinked) removed. */
static void reconcile(void)
{
	uint64_t *files = NULL;
	uint8_t *seen = NULL;
	size_t nfiles = 0, cap = 0, nids = 0, missing = 0, orphans = 0, strange = 0, unreadable = 0;
	int dfd = fcntl(q.queue_dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	if (d == NULL)
		fatal("reconcile: reading queue directory");
	while ((de = readdir(d)) != NULL) {
		uint64_t qid;
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		bool regular = de->d_type == DT_REG || (de->d_type == DT_UNKNOWN &&
		    fstatat(q.queue_dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
		if (!regular || !qid_parse(de->d_name, strlen(de->d_name), &qid)) {
			log_warnx("reconcile: unknown file '%s' in the queue left alone", de->d_name);
			strange++;
			continue;
		}
		if (nfiles == cap) {
			cap = cap ? cap * 2 : 1024;
			uint64_t *n = reallocarray(files, cap, sizeof(*files));
			if (n == NULL)
				fatalx("reconcile: out of memory");
			files = n;
		}
		files[nfiles++] = qid;
	}
	closedir(d);
	if (nfiles)
		qsort(files, nfiles, sizeof(*files), cmp_u64);
	if ((seen = calloc(nfiles ? nfiles : 1, 1)) == NULL)
		fatalx("reconcile: out of memory");

	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	if (mdb_txn_begin(q.idx.env, NULL, 0, &txn) != 0 ||
	    mdb_cursor_open(txn, q.idx.msgs, &cur) != 0)
		fatalx("reconcile: cannot read the index");
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		struct qmsg m;
		uint64_t qid = k.mv_size == 8 ? qindex_unkey(k.mv_data) : 0;
		char name[QID_LEN + 1];
		qfile_name(qid, name);
		bool good = qid && qrecord_decode(v.mv_data, v.mv_size, &m);
		const uint64_t *f = good && nfiles ? bsearch(&qid, files, nfiles, sizeof(*files), cmp_u64) : NULL;
		if (f) {
			seen[f - files] = 1;
			nids++;
			qmsg_free(&m);
		} else {
			/* an index entry whose file is gone (or unreadable) cannot
			 * be delivered: say so loudly and drop it */
			log_warnx("%s: reconcile: %s; dropping the index entry", name,
			    good ? "queue file missing" : "index record unreadable");
			uint64_t old = good ? qindex_sched_of(&m) : 0;
			if (good)
				qmsg_free(&m);
			else
				unreadable++;
			mdb_cursor_del(cur, 0);
			if (old)
				qindex_del(&q.idx, txn, qid, old);
			missing++;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	/* an unreadable record's schedule key cannot be known from it: drop
	 * every key whose message is gone, or the scheduler would step over
	 * them on every run */
	if (unreadable && mdb_cursor_open(txn, q.idx.sched, &cur) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			uint8_t key[8];
			MDB_val mk = { 8, key }, mv;
			if (k.mv_size == 16)
				memcpy(key, (const uint8_t *)k.mv_data + 8, 8);
			if (k.mv_size != 16 || mdb_get(txn, q.idx.msgs, &mk, &mv) == MDB_NOTFOUND)
				mdb_cursor_del(cur, 0);
		}
		mdb_cursor_close(cur);
	}
	if (mdb_txn_commit(txn) != 0)
		fatalx("reconcile: index commit failed");
	for (size_t i = 0; i < nfiles; i++) {
		if (seen[i])
			continue;
		/* never acknowledged (a commit cut short), or finished but not
		 * yet unlinked: either way nobody needs it */
		unlink_qfile(files[i]);
		orphans++;
	}
	free(files);
	free(seen);
	if (orphans)
		fsync(q.queue_dirfd);
	log_info("reconcile: %zu message(s) queued, %zu orphan file(s) removed, "
	    "%zu index entr%s without a file dropped, %zu unknown file(s)",
	    nids, orphans, missing, missing == 1 ? "y" : "ies", strange);
}

int qmgr_main(int ctl, void *arg)
{
	q.ctx = arg;
	q.conf = q.ctx->conf;
	q.commits_tail = &q.commits;
	log_setname("postern/queued");
	privsep_drop(USER_QUEUE, q.conf->spool);
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	q.queue_dirfd = open(QUEUE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q.queue_dirfd < 0)
		fatal("open %s", QUEUE_DIR);
	int rc = qindex_open(&q.idx, INDEX_DIR, false);
	if (rc != 0)
		fatalx("opening the queue index: %s", mdb_strerror(rc));
	wait_for_older_qmgr();
	reconcile();
	static const struct bounce_env benv = { .new_file = qmgr_new_file, .drop_file = qmgr_drop_file,
		.commit = qmgr_commit_report, .auth = &q.auth };
	static struct bounce_env env;
	env = benv;
	env.conf = q.conf;
	env.queue_dirfd = q.queue_dirfd;
	bounce_init(&env);
	q.base = event_base_new();
	if (q.base == NULL)
		fatalx("event_base_new");
	q.ev_commit = event_new(q.base, -1, 0, commit_flush, NULL);
	q.ev_results = event_new(q.base, -1, 0, results_flush, NULL);
	q.ev_tick = event_new(q.base, -1, EV_PERSIST, on_tick, NULL);
	q.ev_listen = event_new(q.base, q.ctx->listen_fd, EV_READ | EV_PERSIST, on_accept, NULL);
	struct timeval tick = { 1, 0 };
	event_add(q.ev_tick, &tick);
	event_add(q.ev_listen, NULL);
	submit_init(q.base, q.ctx->submit_fd, q.conf);
	control_init(q.base, q.ctx);
	set_nonblock(ctl);
	q.ctl = ipc_chan_new(q.base, ctl, on_ctl_msg, on_ctl_close, NULL);
	struct event *e_term = evsignal_new(q.base, SIGTERM, on_term, NULL);
	struct event *e_int = evsignal_new(q.base, SIGINT, on_term, NULL);
	evsignal_add(e_term, NULL);
	evsignal_add(e_int, NULL);
	log_info("ready");
	event_base_dispatch(q.base);
	log_info("exiting: %llu committed, %llu delivered in this run",
	    (unsigned long long)q.committed, (unsigned long long)q.delivered);
	qindex_close(&q.idx);
	return 0;
}
