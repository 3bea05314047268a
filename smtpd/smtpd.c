/*
 * smtpd.c: the SMTP receiver. main() runs as root: reads the config,
 * binds the listening sockets, then hands over to the monitor, which
 * forks the worker (this file's worker_main: drops to postern-smtpd,
 * chrooted to the spool root, serves every session in one libevent
 * loop) and the auth helper (common/auth.c, postern-auth).
 * The worker talks to queued over the spool's run/queue.sock and to the
 * auth helper over a socketpair the monitor passes it.
 */
#include "smtpd.h"
#include "auth.h"
#include "authfail.h"
#include "ctlmsg.h"
#include "log.h"
#include "monitor.h"
#include "privsep.h"
#include "proto.h"
#include "tls.h"
#include "usock.h"
#include "util.h"

#include <bsd/string.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct config conf;
static struct smtpd sd;

uint32_t smtpd_count_ip(struct smtpd *s, const struct sockaddr_storage *ss)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->sessions.nslots; i++)
		if (s->sessions.slots[i] && sockaddr_same_ip(session_peer(s->sessions.slots[i]), ss))
			n++;
	return n;
}

/* ---- queued connection ---- */

static void on_queue_msg(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	struct smtpd *s = arg;
	struct session *sess = slots_lookup(&s->sessions, h->reqid);
	if (sess == NULL) {
		/* the session went away meanwhile: give the file back */
		if (h->type == Q_NEW_OK) {
			struct ipc_rd r;
			ipcr_init(&r, p, h->len);
			uint64_t qid = ipcr_u64(&r);
			struct ipc_buf b;
			ipcb_init(&b);
			ipcb_u64(&b, qid);
			ipc_chan_sendb(s->queue, Q_ABORT, 0, &b, -1);
			ipcb_free(&b);
		}
		if (fd >= 0)
			close(fd);
		return;
	}
	session_on_queue(sess, h->type, p, h->len, fd);
}

/* A restarted queued is back within a fraction of a second; a connect
 * to a Unix socket that is not there yet costs a few microseconds. */
static const struct timeval queue_retry = { 0, 100000 };

static void on_queue_close(struct ipc_chan *ch, void *arg)
{
	struct smtpd *s = arg;
	log_warnx("lost connection to queued; answering 451 until it is back");
	ipc_chan_free(ch);
	s->queue = NULL;
	s->queue_epoch++;
	for (uint32_t i = 0; i < s->sessions.nslots; i++)
		if (s->sessions.slots[i] && session_waiting_on(s->sessions.slots[i], true))
			session_peer_lost(s->sessions.slots[i], true);
	evtimer_add(s->ev_queue_retry, &queue_retry);
}

void smtpd_queue_connect(struct smtpd *s)
{
	int fd = usock_connect(QUEUE_SOCKET, true, 0);
	static bool warned;
	if (fd < 0) {
		if (!warned)
			log_warn("connecting to queued (%s); will keep trying", QUEUE_SOCKET);
		warned = true;
		evtimer_add(s->ev_queue_retry, &queue_retry);
		return;
	}
	s->queue = ipc_chan_new(s->base, fd, on_queue_msg, on_queue_close, s);
	s->stats_dirty = true; /* a new queued knows nothing yet */
	if (s->queue == NULL) {
		close(fd);
		evtimer_add(s->ev_queue_retry, &queue_retry);
		return;
	}
	s->queue_epoch++;
	if (warned)
		log_info("connected to queued");
	warned = false;
}

static void on_queue_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	smtpd_queue_connect(arg);
}

/* ---- auth helper connection (handed over by the monitor) ---- */

static void on_auth_msg(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	struct smtpd *s = arg;
	if (fd >= 0)
		close(fd);
	struct session *sess = slots_lookup(&s->sessions, h->reqid);
	if (sess)
		session_on_auth(sess, h->type, p, h->len);
}

/* The auth helper's channel is gone (closed, or replaced by a new
 * helper's): its answers will not come, so the waiting sessions get a
 * temporary failure now. */
static void auth_lost(struct smtpd *s)
{
	ipc_chan_free(s->auth);
	s->auth = NULL;
	for (uint32_t i = 0; i < s->sessions.nslots; i++)
		if (s->sessions.slots[i] && session_waiting_on(s->sessions.slots[i], false))
			session_peer_lost(s->sessions.slots[i], false);
}

static void on_auth_close(struct ipc_chan *ch, void *arg)
{
	(void)ch;
	struct smtpd *s = arg;
	log_warnx("lost connection to the auth helper");
	auth_lost(s);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg);

/* Clients are taken only once recipients and passwords can be checked
 * and, with a certificate configured, once TLS can be offered. */
static void start_listening(struct smtpd *s)
{
	if (s->stopping || s->auth == NULL || (s->conf->tls_certificate[0] && s->tls == NULL))
		return;
	for (size_t i = 0; i < s->nlisten; i++)
		if (!event_pending(s->listeners[i].ev, EV_READ, NULL))
			event_add(s->listeners[i].ev, NULL);
}

static void on_ctl_msg(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	(void)p;
	struct smtpd *s = arg;
	if (h->type == P_TLS && fd < 0) {
		tls_ctx_replace(&s->tls, (uint8_t *)p, h->len);
		start_listening(s);
		return;
	}
	if (h->type == P_CONFIG && fd < 0) {
		/* sessions read s->conf as they go: each limit applies from
		 * the next command on, the timeouts from the next wait */
		config_apply_frame(s->conf, p, h->len);
		if (s->auth)
			ipc_chan_send(s->auth, P_CONFIG, 0, p, h->len, -1);
		return;
	}
	if (h->type != P_HELPER || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (s->auth)
		auth_lost(s);
	s->auth = ipc_chan_new(s->base, fd, on_auth_msg, on_auth_close, s);
	start_listening(s);
}

static void on_ctl_close(struct ipc_chan *ch, void *arg)
{
	(void)ch;
	struct smtpd *s = arg;
	log_warnx("supervisor gone; exiting");
	event_base_loopexit(s->base, NULL);
}

/* ---- listeners ---- */

static void on_client(void *arg, int fd, const struct sockaddr_storage *peer)
{
	session_accept(arg, fd, peer);
}


static void on_accept(evutil_socket_t lfd, short what, void *arg)
{ /* arg: the struct listener */
	(void)what;
	listener_accept_all(lfd, on_client, arg);
}

static void stop_listening(struct smtpd *s)
{
	for (size_t i = 0; i < s->nlisten; i++) {
		if (s->listeners[i].ev) {
			event_free(s->listeners[i].ev);
			s->listeners[i].ev = NULL;
		}
		close(s->listeners[i].fd);
	}
	s->nlisten = 0;
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct smtpd *s = arg;
	if (s->stopping)
		return;
	s->stopping = true;
	log_info("stopping: no new connections; finishing sessions");
	stop_listening(s);
	for (uint32_t i = 0; i < s->sessions.nslots; i++)
		if (s->sessions.slots[i])
			session_shutdown(s->sessions.slots[i]);
	struct timeval tv = { 10, 0 };
	event_base_loopexit(s->base, &tv);
}

static void on_check_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct smtpd *s = arg;
	if (s->stopping && s->sessions.used == 0)
		event_base_loopexit(s->base, NULL);
}

/* "550 5.7.1 text" -> "550 5.7.1"; "421 text" -> "421". */
void smtpd_count_reject(struct smtpd *s, const char *reply, size_t len)
{
	char key[sizeof(s->rejected[0].reply)];
	size_t k = 0;
	for (size_t i = 0; i < len && k < sizeof(key) - 1; i++) {
		char c = reply[i];
		bool ok = (c >= '0' && c <= '9') || (i > 3 && c == '.') || (i == 3 && c == ' ');
		if (!ok)
			break;
		key[k++] = c;
	}
	while (k > 3 && (key[k - 1] == ' ' || key[k - 1] == '.'))
		k--;
	if (k < 3)
		return;
	key[k] = '\0';
	size_t j = 0;
	while (j < s->nrejected && strcmp(s->rejected[j].reply, key) != 0)
		j++;
	if (j == s->nrejected) {
		if (j == SMTPD_REJECT_KINDS)
			j--; /* the last one collects what does not fit */
		else
			strlcpy(s->rejected[s->nrejected++].reply, key, sizeof(key));
	}
	s->rejected[j].n++;
	s->stats_dirty = true;
}

/* Q_STATS: this worker's counters, absolute; queued keeps the last. */
static void push_stats(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct smtpd *s = arg;
	if (s->queue == NULL || (!s->stats_dirty && s->stats_sessions_sent == s->sessions.used))
		return;
	struct stat_kv kv[5 + SMTPD_REJECT_KINDS] = {
		{ "smtpd_sessions_total", s->sessions_total },
		{ "smtpd_sessions_now", s->sessions.used },
		{ "smtpd_accepted_total", s->accepted_msgs },
		{ "smtpd_auth_total{result=\"ok\"}", s->auth_ok },
		{ "smtpd_auth_total{result=\"failed\"}", s->auth_failed },
	};
	size_t n = 5;
	for (size_t i = 0; i < s->nrejected; i++) {
		textf(kv[n].name, sizeof(kv[n].name), "smtpd_rejected_total{reply=\"%s\"}", s->rejected[i].reply);
		kv[n++].value = s->rejected[i].n;
	}
	struct ipc_buf b;
	ipcb_init(&b);
	ctlmsg_stats_encode(&b, kv, n);
	if (ipc_chan_sendb(s->queue, Q_STATS, 0, &b, -1) == 0) {
		s->stats_dirty = false;
		s->stats_sessions_sent = s->sessions.used;
	}
	ipcb_free(&b);
}

static int worker_main(int ctl, void *arg)
{
	struct smtpd *s = arg;
	log_setname("postern/smtpd");
	privsep_drop(USER_SMTPD, s->conf->spool);
	signal(SIGPIPE, SIG_IGN);
	s->base = event_base_new();
	if (s->base == NULL)
		fatalx("event_base_new");
	s->authfail = authfail_new(s->conf->auth_failure_delay_ms, s->conf->auth_failure_limit);
	if (s->authfail == NULL || slots_init(&s->sessions, (uint32_t)s->conf->max_sessions) < 0)
		fatalx("out of memory");
	set_nonblock(ctl);
	s->ctl = ipc_chan_new(s->base, ctl, on_ctl_msg, on_ctl_close, s);
	s->ev_queue_retry = evtimer_new(s->base, on_queue_retry, s);
	for (size_t i = 0; i < s->nlisten; i++) {
		struct listener *l = &s->listeners[i];
		l->ev = event_new(s->base, l->fd, EV_READ | EV_PERSIST, on_accept, l);
		if (l->ev == NULL)
			fatalx("out of memory");
	}
	struct event *e_term = evsignal_new(s->base, SIGTERM, on_term, s);
	struct event *e_int = evsignal_new(s->base, SIGINT, on_term, s);
	struct event *e_tick = event_new(s->base, -1, EV_PERSIST, on_check_done, s);
	struct timeval tick = { 0, 200000 };
	evsignal_add(e_term, NULL);
	evsignal_add(e_int, NULL);
	event_add(e_tick, &tick);
	s->ev_stats = event_new(s->base, -1, EV_PERSIST, push_stats, s);
	struct timeval second = { 1, 0 };
	event_add(s->ev_stats, &second);
	smtpd_queue_connect(s);
	log_info("ready: %zu listener(s), %u sessions at most; accepting once the auth helper%s up",
	    s->nlisten, (unsigned)s->sessions.nslots, s->conf->tls_certificate[0] ? " and TLS are" : " is");
	event_base_dispatch(s->base);
	log_info("exiting");
	return 0;
}

int main(int argc, char **argv)
{
	daemon_start(argc, argv, "smtpd", &conf);
	sd.conf = &conf;
	for (size_t i = 0; i < conf.nlisten; i++) {
		const char *proto = conf.listen[i].proto;
		if (!listen_is_smtp(proto))
			continue;
		struct listener *l = &sd.listeners[sd.nlisten];
		l->sd = &sd;
		l->fd = sd.listen_fds[sd.nlisten++] = listener_bind(&conf.listen[i]);
		l->kind = strcmp(proto, "smtp") == 0 ? LK_SMTP :
		    strcmp(proto, "submission") == 0 ? LK_SUBMISSION : LK_SUBMISSIONS;
	}
	/* fail early on a missing system user, before forking anything */
	(void)privsep_expected_uid(USER_SMTPD);
	(void)privsep_expected_uid(USER_AUTH);
	log_info("starting; config %s", conf.path);
	struct monitor_spec spec = {
		.worker_title = "postern-smtpd: sessions",
		.worker_main = worker_main,
		.worker_arg = &sd,
		.helpers = { { "postern-smtpd: auth helper", auth_helper_main, &conf } },
		.worker_keep_fds = sd.listen_fds,
		.worker_nkeep = sd.nlisten,
		.tls_conf = &conf,
		.conf = &conf,
	};
	return monitor_run(&spec);
}
