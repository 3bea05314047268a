/*
 * worker.c: the resolver's worker. As root (just forked by the
 * monitor) it creates the libunbound context and gives it everything
 * it would otherwise read from files: the upstreams, the trust anchor,
 * the insecure domains and which built-in local zones to drop. Then it
 * chroots to <spool>/empty as postern-dns (common/privsep.c) and serves
 * D_QUERY frames on run/dns.sock from the uids on its list (root,
 * postern-queue, postern-smtpd; in development its own).
 * libunbound resolves in its own thread (ub_ctx_async); its answers
 * arrive on ub_fd(), which this process's libevent loop watches and
 * hands to ub_process. Each query has its own timer (dns_timeout):
 * when it fires the query is cancelled and answered as a temporary
 * failure, so a slow or dead upstream never holds up other answers.
 * Record data from the network goes through dns_rdata.c before it is
 * re-encoded for the client.
 */
#include "resolver.h"
#include "ipc.h"
#include "log.h"
#include "privsep.h"
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unbound.h>
#include <unistd.h>

#define MAX_CLIENTS 1024
#define MAX_INFLIGHT 1000          /* queries in libunbound at once, all clients */
#define MAX_INFLIGHT_CLIENT 500    /* from one connection */
#define RCODE_NXDOMAIN 3

struct client;

struct query {
	struct query *next, *prev;     /* the client's queries */
	struct client *cl;
	uint32_t reqid;
	uint16_t qtype;
	int async_id;
	struct event *timer;
	char name[DNS_NAME_BUF];
};

struct client {
	struct client *next, *prev;
	struct ipc_chan *ch;
	struct query *queries;
	size_t nqueries;
	uid_t uid;
};

static struct {
	const struct resolver_args *args;
	const struct config *conf;
	struct event_base *base;
	struct ub_ctx *ub;
	struct event *ev_ub, *ev_listen;
	struct ipc_chan *ctl;
	struct client *clients;
	size_t nclients;
	size_t inflight;
	bool stopping;
	uint64_t longest_timeout_ms;   /* of any query in flight: a reload may shorten it */
	struct dns_rr rr;              /* 64 KiB: one, reused */
} w;

static const char *type_name(uint16_t t)
{
	const char *n = dns_type_name(t);
	return n ? n : "?";
}

/* ---- libunbound set-up (as root, before chroot) ---- */

static void ub_opt(const char *opt, const char *val)
{
	int r = ub_ctx_set_option(w.ub, opt, val);
	if (r != 0)
		fatalx("libunbound option %s %s: %s", opt, val, ub_strerror(r));
}

static void ub_setup(void)
{
	const struct resolver_args *a = w.args;
	char buf[64];
	w.ub = ub_ctx_create();
	if (w.ub == NULL)
		fatalx("ub_ctx_create failed");
	/* upstreams on loopback are fine (a local unbound, a test server) */
	ub_opt("do-not-query-localhost:", "no");
	snprintf(buf, sizeof(buf), "%d", MAX_INFLIGHT * 2);
	ub_opt("num-queries-per-thread:", buf);
	ub_opt("outgoing-range:", "512");
	/* keep trying an upstream that stopped answering, so answers
	 * resume as soon as it is back instead of after a back-off */
	ub_opt("infra-keep-probing:", "yes");
	/* Ask the upstream about every name, except localhost: the
	 * built-in zones for test., the loopback reverse zones and the
	 * private-address reverse zones would otherwise be answered here
	 * with NXDOMAIN. The upstream knows better (or says NXDOMAIN).
	 * "transparent" rather than "nodefault": libunbound 1.17's
	 * ub_ctx_set_option keeps "NAME nodefault" whole as the zone name,
	 * so nodefault never matches; a zone of our own (transparent, and
	 * empty) replaces the default one the same way. */
	ub_opt("local-zone:", "test. transparent");
	ub_opt("local-zone:", "127.in-addr.arpa. transparent");
	ub_opt("local-zone:",
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. transparent");
	ub_opt("unblock-lan-zones:", "yes");
	ub_opt("insecure-lan-zones:", "yes");
	if (a->nta > 0) {
		/* static anchors: RFC 5011 updates would need a writable file */
		for (int i = 0; i < a->nta; i++) {
			int r = ub_ctx_add_ta(w.ub, a->ta[i]);
			if (r != 0)
				fatalx("trust anchor \"%s\": %s", a->ta[i], ub_strerror(r));
		}
		for (size_t i = 0; i < w.conf->ndns_insecure; i++)
			ub_opt("domain-insecure:", w.conf->dns_insecure[i]);
	} else {
		ub_opt("module-config:", "iterator");
	}
	/* forward-only: with the root "." forwarded and no forward-first,
	 * libunbound never falls back to asking the root servers itself */
	for (size_t i = 0; i < a->nupstream; i++) {
		int r = ub_ctx_set_fwd(w.ub, a->upstream[i]);
		if (r != 0)
			fatalx("upstream %s: %s", a->upstream[i], ub_strerror(r));
	}
	int r = ub_ctx_async(w.ub, 1);
	if (r != 0)
		fatalx("ub_ctx_async: %s", ub_strerror(r));
}

/* ---- queries and answers ---- */

static void maybe_exit(void)
{
	if (w.stopping && w.inflight == 0)
		event_base_loopexit(w.base, NULL);
}

/* Takes q off its client and the books; the caller frees it. */
static struct client *query_detach(struct query *q)
{
	struct client *cl = q->cl;
	if (cl) {
		if (q->prev)
			q->prev->next = q->next;
		else
			cl->queries = q->next;
		if (q->next)
			q->next->prev = q->prev;
		cl->nqueries--;
		q->cl = NULL;
	}
	if (q->timer)
		event_free(q->timer);
	q->timer = NULL;
	w.inflight--;
	return cl;
}

/* Sends and frees b. The channel may break inside the send, and then
 * the client is freed: callers touch cl no more after this. */
static void send_frame(struct client *cl, uint16_t type, uint32_t reqid, struct ipc_buf *b)
{
	if (b->err) {
		log_warnx("answer too large for the IPC frame; sending a temporary failure");
		ipcb_free(b);
		ipcb_init(b);
		dns_answer_head(b, DNS_TEMPFAIL, false, 0);
		type = D_ANSWER;
	}
	ipc_chan_sendb(cl->ch, type, reqid, b, -1);
	ipcb_free(b);
}

static void send_status(struct client *cl, uint32_t reqid, uint8_t status)
{
	struct ipc_buf b;
	ipcb_init(&b);
	dns_answer_head(&b, status, false, 0);
	send_frame(cl, D_ANSWER, reqid, &b);
}

static void send_error(struct client *cl, uint32_t reqid, const char *reason)
{
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, reason);
	send_frame(cl, D_ERROR, reqid, &b);
}

/* The D_ANSWER for a libunbound result. */
static void build_answer(const struct query *q, int err, const struct ub_result *res,
    struct ipc_buf *b)
{
	const char *tn = type_name(q->qtype);
	uint32_t ttl = res && res->ttl > 0 ? (uint32_t)res->ttl : 0;
	bool secure = res && res->secure;
	if (err != 0 || res == NULL) {
		log_warnx("%s %s: libunbound: %s", q->name, tn, ub_strerror(err));
		dns_answer_head(b, DNS_TEMPFAIL, false, 0);
	} else if (res->bogus) {
		/* tampered with, or a broken signed zone: try again later */
		log_warnx("%s %s: DNSSEC validation failed: %s", q->name, tn,
		    res->why_bogus ? res->why_bogus : "(no reason given)");
		dns_answer_head(b, DNS_TEMPFAIL, false, 0);
	} else if (res->rcode == RCODE_NXDOMAIN) {
		dns_answer_head(b, DNS_NXDOMAIN, secure, ttl);
	} else if (res->rcode != 0) {
		log_info("%s %s: temporary failure (rcode %d)", q->name, tn, res->rcode);
		dns_answer_head(b, DNS_TEMPFAIL, false, 0);
	} else if (!res->havedata || res->data == NULL || res->data[0] == NULL) {
		dns_answer_head(b, DNS_NODATA, secure, ttl);
	} else {
		uint32_t n = 0;
		dns_answer_head(b, DNS_OK, secure, ttl);
		for (size_t i = 0; res->data[i] != NULL; i++) {
			if (n == DNS_MAX_RECORDS) {
				log_warnx("%s %s: more than %d records; the rest are dropped",
				    q->name, tn, DNS_MAX_RECORDS);
				break;
			}
			if (res->len[i] < 0 || dns_rdata_parse(q->qtype,
			    (const uint8_t *)res->data[i], (size_t)res->len[i], &w.rr) < 0) {
				/* not what a sane server sends: fail the whole
				 * answer rather than act on part of it */
				log_warnx("%s %s: malformed record data; temporary failure",
				    q->name, tn);
				ipcb_free(b);
				ipcb_init(b);
				dns_answer_head(b, DNS_TEMPFAIL, false, 0);
				return;
			}
			dns_answer_add(b, &w.rr);
			n++;
		}
		dns_answer_finish(b, n);
	}
}

static void on_result(void *arg, int err, struct ub_result *res)
{
	struct query *q = arg;
	struct ipc_buf b;
	ipcb_init(&b);
	build_answer(q, err, res, &b);
	log_debug("%s %s: status %u", q->name, type_name(q->qtype), b.len ? b.data[0] : 255);
	ub_resolve_free(res);
	struct client *cl = query_detach(q);
	if (cl)
		send_frame(cl, D_ANSWER, q->reqid, &b);
	else
		ipcb_free(&b);
	free(q);
	maybe_exit();
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct query *q = arg;
	/* its callback will not run; libunbound drops the answer, if any */
	ub_cancel(w.ub, q->async_id);
	log_info("%s %s: no answer within %llu ms: temporary failure", q->name,
	    type_name(q->qtype), (unsigned long long)w.conf->dns_timeout_ms);
	uint32_t reqid = q->reqid;
	struct client *cl = query_detach(q);
	free(q);
	if (cl)
		send_status(cl, reqid, DNS_TEMPFAIL);
	maybe_exit();
}

static void on_ub_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	int r = ub_process(w.ub);
	if (r != 0)
		fatalx("libunbound: %s", ub_strerror(r));
}

static void handle_query(struct client *cl, uint32_t reqid, const uint8_t *p, size_t len)
{
	uint16_t qtype;
	char name[DNS_NAME_BUF];
	switch (dns_query_decode(p, len, &qtype, name)) {
	case DNS_Q_OK:
		break;
	case DNS_Q_MALFORMED:
		send_error(cl, reqid, "malformed query");
		return;
	case DNS_Q_BADTYPE:
		send_error(cl, reqid, "unsupported query type");
		return;
	case DNS_Q_BADNAME:
		send_error(cl, reqid, "invalid name");
		return;
	}
	if (w.stopping) {
		send_status(cl, reqid, DNS_TEMPFAIL);
		return;
	}
	if (w.inflight >= MAX_INFLIGHT || cl->nqueries >= MAX_INFLIGHT_CLIENT) {
		log_warnx("%s %s: %zu queries in flight (%zu from this client): busy", name,
		    type_name(qtype), w.inflight, cl->nqueries);
		send_status(cl, reqid, DNS_TEMPFAIL);
		return;
	}
	struct query *q = calloc(1, sizeof(*q));
	if (q == NULL || (q->timer = evtimer_new(w.base, on_timeout, q)) == NULL) {
		free(q);
		send_status(cl, reqid, DNS_TEMPFAIL);
		return;
	}
	q->reqid = reqid;
	q->qtype = qtype;
	memcpy(q->name, name, sizeof(q->name));
	int r = ub_resolve_async(w.ub, q->name, qtype, 1 /* IN */, q, on_result, &q->async_id);
	if (r != 0) {
		log_warnx("%s %s: libunbound: %s", name, type_name(qtype), ub_strerror(r));
		event_free(q->timer);
		free(q);
		send_status(cl, reqid, DNS_TEMPFAIL);
		return;
	}
	q->cl = cl;
	q->next = cl->queries;
	if (cl->queries)
		cl->queries->prev = q;
	cl->queries = q;
	cl->nqueries++;
	w.inflight++;
	struct timeval tv = ms_tv(w.conf->dns_timeout_ms);
	evtimer_add(q->timer, &tv);
}

/* ---- clients ---- */

static void client_free(struct client *cl)
{
	while (cl->queries) {
		struct query *q = cl->queries;
		ub_cancel(w.ub, q->async_id);
		query_detach(q);
		free(q);
	}
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		w.clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	w.nclients--;
	ipc_chan_free(cl->ch);
	free(cl);
	maybe_exit();
}

static void on_client_msg(struct ipc_chan *ch, const struct ipc_hdr *h, const uint8_t *p,
    int fd, void *arg)
{
	(void)ch;
	struct client *cl = arg;
	if (fd >= 0 || h->type != D_QUERY) {
		if (fd >= 0)
			close(fd);
		log_warnx("client uid %u sent %s (type %u); dropping it", (unsigned)cl->uid,
		    fd >= 0 ? "a descriptor" : "an unknown request", h->type);
		client_free(cl);
		return;
	}
	handle_query(cl, h->reqid, p, h->len);
}

static void on_client_close(struct ipc_chan *ch, void *arg)
{
	(void)ch;
	client_free(arg);
}

static bool uid_allowed(uid_t uid)
{
	for (size_t i = 0; i < w.args->nallowed; i++)
		if (w.args->allowed[i] == uid)
			return true;
	return false;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	(void)arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	uid_t uid = (uid_t)-1;
	if (fd < 0)
		return;
	if (ipc_peer_uid(fd, &uid) < 0 || !uid_allowed(uid)) {
		log_warnx("refusing resolver client with uid %u", (unsigned)uid);
		close(fd);
		return;
	}
	if (w.nclients >= MAX_CLIENTS) {
		log_warnx("refusing resolver client: %d connections already", MAX_CLIENTS);
		close(fd);
		return;
	}
	struct client *cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		close(fd);
		return;
	}
	cl->uid = uid;
	cl->ch = ipc_chan_new(w.base, fd, on_client_msg, on_client_close, cl);
	if (cl->ch == NULL) {
		close(fd);
		free(cl);
		return;
	}
	cl->next = w.clients;
	if (w.clients)
		w.clients->prev = cl;
	w.clients = cl;
	w.nclients++;
}

/* ---- process ---- */

static void on_selftest(void *arg, int err, struct ub_result *res)
{
	(void)arg;
	if (err != 0 || res == NULL || !res->havedata)
		log_warnx("self-test: localhost did not resolve (%s)",
		    err ? ub_strerror(err) : "no data");
	ub_resolve_free(res);
}

/* P_CONFIG: of what can change live, only dns_timeout matters here */
static void on_ctl_msg(struct ipc_chan *ch, const struct ipc_hdr *h, const uint8_t *p,
    int fd, void *arg)
{
	(void)ch;
	(void)arg;
	if (fd >= 0) {
		close(fd);
	} else if (h->type == P_CONFIG) {
		if (w.conf->dns_timeout_ms > w.longest_timeout_ms)
			w.longest_timeout_ms = w.conf->dns_timeout_ms;
		config_apply_frame(w.args->conf, p, h->len);
	}
}

static void on_ctl_close(struct ipc_chan *ch, void *arg)
{
	(void)ch;
	(void)arg;
	log_warnx("supervisor gone; exiting");
	event_base_loopexit(w.base, NULL);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (w.stopping)
		return;
	w.stopping = true;
	log_info("stopping: %zu quer%s in flight", w.inflight, w.inflight == 1 ? "y" : "ies");
	event_del(w.ev_listen);
	/* every query ends within dns_timeout; this is the backstop */
	uint64_t ms = w.conf->dns_timeout_ms > w.longest_timeout_ms ? w.conf->dns_timeout_ms :
	    w.longest_timeout_ms;
	struct timeval tv = { (time_t)(ms / 1000) + 1, 0 };
	event_base_loopexit(w.base, &tv);
	maybe_exit();
}

int resolver_worker_main(int ctl, void *arg)
{
	char empty[PATH_MAX];
	w.args = arg;
	w.conf = w.args->conf;
	log_setname("postern/resolver");
	if (snprintf(empty, sizeof(empty), "%s/empty", w.conf->spool) >= (int)sizeof(empty))
		fatalx("spool path too long");
	ub_setup();
	privsep_drop(USER_DNS, empty);
	signal(SIGPIPE, SIG_IGN);
	w.base = event_base_new();
	if (w.base == NULL)
		fatalx("event_base_new");
	/* The first query finalizes the context (trust anchors are parsed
	 * here: a bad one stops the daemon now, not at the first client)
	 * and starts libunbound's thread, as postern-dns. localhost is
	 * answered from libunbound's own zone: nothing goes upstream. */
	int r = ub_resolve_async(w.ub, "localhost.", DNS_T_A, 1, NULL, on_selftest, NULL);
	if (r != 0)
		fatalx("libunbound: %s", ub_strerror(r));
	w.ev_ub = event_new(w.base, ub_fd(w.ub), EV_READ | EV_PERSIST, on_ub_readable, NULL);
	w.ev_listen = event_new(w.base, w.args->listen_fd, EV_READ | EV_PERSIST, on_accept, NULL);
	if (w.ev_ub == NULL || w.ev_listen == NULL)
		fatalx("event_new");
	event_add(w.ev_ub, NULL);
	event_add(w.ev_listen, NULL);
	set_nonblock(ctl);
	w.ctl = ipc_chan_new(w.base, ctl, on_ctl_msg, on_ctl_close, NULL);
	struct event *e_term = evsignal_new(w.base, SIGTERM, on_term, NULL);
	struct event *e_int = evsignal_new(w.base, SIGINT, on_term, NULL);
	evsignal_add(e_term, NULL);
	evsignal_add(e_int, NULL);
	log_info("ready: %zu upstream(s), timeout %llu ms, DNSSEC %s", w.args->nupstream,
	    (unsigned long long)w.conf->dns_timeout_ms, w.args->nta ? "on" : "off");
	event_base_dispatch(w.base);
	while (w.clients)
		client_free(w.clients);
	event_free(w.ev_ub);
	event_free(w.ev_listen);
	event_free(e_term);
	event_free(e_int);
	ipc_chan_free(w.ctl);
	ub_ctx_delete(w.ub);
	event_base_free(w.base);
	log_info("exiting");
	return 0;
}
