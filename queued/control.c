/*
 * control.c: queued's control socket, run/control.sock (see control.h).
 * Runs in the queue manager (postern-queue, chrooted to the spool
 * root). The socket's mode already keeps others out (root:postern-admin
 * 0660); each connection is checked again by the peer's credentials:
 * root, or a member of postern-admin (SO_PEERCRED, SO_PEERGROUPS).
 * Requests are small and answered at once, in order, on the event loop.
 */
#include "control.h"
#include "ctlmsg.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CTL_CLIENTS_MAX 32

static struct {
	struct event_base *base;
	const struct queued_ctx *ctx;
	struct event *ev_accept, *ev_resume;
	size_t nclients;
} c;

/* The peer's supplementary groups when it connected (SO_PEERGROUPS):
 * a member added since queued started is admitted at their next login,
 * as with any group. */
static bool peer_in_group(int fd, gid_t g)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool in = false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE || (groups = malloc(len)) == NULL)
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
			free(groups);
			return false;
		}
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		in = in || groups[i] == g;
	if (groups != small)
		free(groups);
	return in;
}

static bool peer_allowed(int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	*uid = cred.uid;
	if (cred.uid == 0 || cred.uid == c.ctx->dev_uid)
		return true;
	return c.ctx->admin_gid != (gid_t)-1 &&
	    (cred.gid == c.ctx->admin_gid || peer_in_group(fd, c.ctx->admin_gid));
}

static void reply_fail(struct ipc_chan *ch, uint32_t reqid, const char *why)
{
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, why);
	ipc_chan_sendb(ch, C_FAIL, reqid, &b, -1);
	ipcb_free(&b);
}

/* Counters as (name, value) pairs; posternctl formats them. Names are
 * daemon_metric, with Prometheus-style labels where a counter is split. */
static void handle_stats(struct ipc_chan *ch, uint32_t reqid)
{
	struct qmgr_counters k;
	uint32_t il, ir;
	qmgr_counters(&k, &il, &ir);
	const struct stat_kv own[] = {
		{ "queued_accepted_total{origin=\"smtp\"}", k.accepted_smtp },
		{ "queued_accepted_total{origin=\"local\"}", k.accepted_local },
		{ "queued_reports_total", k.reports },
		{ "queued_delivered_total{agent=\"local\"}", k.delivered_local },
		{ "queued_delivered_total{agent=\"remote\"}", k.delivered_remote },
		{ "queued_deferred_total", k.deferred },
		{ "queued_bounced_total", k.bounced },
		{ "queued_expired_total", k.expired },
		{ "queued_deliveries_now{agent=\"local\"}", il },
		{ "queued_deliveries_now{agent=\"remote\"}", ir },
		{ "queued_paused", qmgr_pause(0, true) },
	};
	struct stat_kv smtpd[STATS_MAX];
	size_t ns = qmgr_smtpd_stats(smtpd, STATS_MAX);
	size_t nown = sizeof(own) / sizeof(own[0]);
	struct stat_kv all[STATS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < nown && n < STATS_MAX; i++)
		all[n++] = own[i];
	for (size_t i = 0; i < ns && n < STATS_MAX; i++)
		all[n++] = smtpd[i];
	struct ipc_buf b;
	ipcb_init(&b);
	ctlmsg_stats_encode(&b, all, n);
	if (b.err)
		reply_fail(ch, reqid, "out of memory");
	else
		ipc_chan_sendb(ch, C_STATS_OK, reqid, &b, -1);
	ipcb_free(&b);
}

static void handle_act(struct ipc_chan *ch, uint32_t reqid, const uint8_t *p, size_t len)
{
	static uint64_t ids[CTL_IDS_MAX]; /* 64 KiB; the queue manager is one thread */
	uint8_t action;
	uint32_t n;
	if (!ctlmsg_act_decode(p, len, &action, ids, CTL_IDS_MAX, &n)) {
		reply_fail(ch, reqid, "malformed request");
		return;
	}
	uint32_t done = 0;
	int rc = qmgr_act(action, ids, n, &done);
	if (rc != 0) {
		reply_fail(ch, reqid, "the queue index could not be updated (see the log)");
	} else {
		struct ipc_buf b;
		ipcb_init(&b);
		ipcb_u32(&b, done);
		ipc_chan_sendb(ch, C_OK, reqid, &b, -1);
		ipcb_free(&b);
	}
}

static void handle_pause(struct ipc_chan *ch, uint32_t reqid, const uint8_t *p, size_t len)
{
	uint8_t what;
	bool pause;
	if (!ctlmsg_pause_decode(p, len, &what, &pause)) {
		reply_fail(ch, reqid, "malformed request");
		return;
	}
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_u32(&b, qmgr_pause(what, pause));
	ipc_chan_sendb(ch, C_OK, reqid, &b, -1);
	ipcb_free(&b);
}

static void handle_msg(struct ipc_chan *ch, uint32_t reqid, const uint8_t *p, size_t len)
{
	struct ipc_rd r;
	ipcr_init(&r, p, len);
	uint64_t qid = ipcr_u64(&r);
	if (!ipcr_done(&r)) {
		reply_fail(ch, reqid, "malformed request");
		return;
	}
	int fd = qmgr_open_file(qid);
	if (fd < 0)
		reply_fail(ch, reqid, errno == ENOENT ? "no such message" : strerror(errno));
	else
		ipc_chan_send(ch, C_OK, reqid, NULL, 0, fd);
}

static void on_msg(struct ipc_chan *ch, const struct ipc_hdr *h, const uint8_t *p, int fd, void *arg)
{
	(void)arg;
	if (fd >= 0)
		close(fd);
	switch (h->type) {
	case C_ACT: handle_act(ch, h->reqid, p, h->len); break;
	case C_PAUSE: handle_pause(ch, h->reqid, p, h->len); break;
	case C_STATS: handle_stats(ch, h->reqid); break;
	case C_MSG: handle_msg(ch, h->reqid, p, h->len); break;
	case C_RELOAD:
		if (qmgr_reload() < 0) {
			reply_fail(ch, h->reqid, "the root process is unreachable");
		} else {
			ipc_chan_send(ch, C_OK, h->reqid, NULL, 0, -1);
		}
		break;
	default:
		reply_fail(ch, h->reqid, "unknown request");
	}
}

static void on_close(struct ipc_chan *ch, void *arg)
{
	(void)arg;
	ipc_chan_free(ch);
	c.nclients--;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	(void)arg;
	uid_t uid = (uid_t)-1;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* out of descriptors: look again in a second, not in a busy loop */
			struct timeval tv = { 1, 0 };
			log_warn("control: accept");
			event_del(c.ev_accept);
			event_add(c.ev_resume, &tv);
		}
		return;
	}
	if (!peer_allowed(fd, &uid)) {
		log_warnx("control: refusing uid %u (not root, not in group postern-admin)", (unsigned)uid);
		close(fd);
		return;
	}
	if (c.nclients >= CTL_CLIENTS_MAX) {
		/* said, so that posternctl does not take it for a refusal */
		struct ipc_buf b;
		ipcb_init(&b);
		ipcb_cstr(&b, "too many control connections at once; try again");
		(void)ipc_send_fd(fd, C_FAIL, 0, b.data, b.len, -1);
		ipcb_free(&b);
		close(fd);
		return;
	}
	if (ipc_chan_new(c.base, fd, on_msg, on_close, NULL) == NULL) {
		close(fd);
		return;
	}
	c.nclients++;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_add(c.ev_accept, NULL);
}

void control_init(struct event_base *base, const struct queued_ctx *ctx)
{
	c.base = base;
	c.ctx = ctx;
	c.ev_accept = event_new(base, ctx->control_fd, EV_READ | EV_PERSIST, on_accept, NULL);
	c.ev_resume = evtimer_new(base, on_resume, NULL);
	event_add(c.ev_accept, NULL);
}
