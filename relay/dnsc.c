/*
 * dnsc.c: the remote delivery agent's connection to the resolver.
 * The agent is chrooted to an empty directory, so it cannot reach
 * run/dns.sock itself: it asks the queue manager (R_DNS), which
 * connects and passes the socket back (R_DNS_OK). Queries wait for
 * that, at most a few seconds; a lost or unreachable resolver fails
 * every query in flight as a temporary error, so deliveries are
 * deferred, never stuck. Callbacks always run from the event loop,
 * never from inside dnsc_query (a failed send closes the channel:
 * the failures it causes are delivered by ev_fail). Runs as postern-relay; answers come from
 * another unprivileged process and are parsed with resolver/dns_proto.c.
 */
#include "relay.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#include <bsd/string.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DNSC_WAIT_CONNECT_MS 5000

struct dnsq {
	LIST_ENTRY(dnsq) entry;
	uint32_t reqid;
	uint16_t qtype;
	char name[DNS_NAME_BUF];
	dns_cb cb;
	void *arg;
	bool sent;
	struct event *ev_timeout;
};

static struct {
	struct event_base *base;
	const struct config *conf;
	void (*ask)(void);             /* sends R_DNS to queued */
	struct ipc_chan *ch;
	bool asking;
	uint64_t asked_ms;
	uint32_t next_reqid;
	LIST_HEAD(, dnsq) queries;
	struct event *ev_fail;         /* fails every query, from the loop */
} dc;

static void finish(struct dnsq *q, const struct dns_result *res)
{
	LIST_REMOVE(q, entry);
	event_free(q->ev_timeout);
	dns_cb cb = q->cb;
	void *arg = q->arg;
	free(q);
	if (cb)
		cb(arg, res);
}

static void fail(struct dnsq *q)
{
	struct dns_result res = { .status = DNS_TEMPFAIL };
	finish(q, &res);
}

static void fail_all(void)
{
	struct dnsq *q;
	LIST_HEAD(, dnsq) old = LIST_HEAD_INITIALIZER(old);
	/* the queries of now only: a callback may ask anew, and those wait
	 * for the next connection */
	while ((q = LIST_FIRST(&dc.queries)) != NULL) {
		LIST_REMOVE(q, entry);
		LIST_INSERT_HEAD(&old, q, entry);
	}
	while ((q = LIST_FIRST(&old)) != NULL)
		fail(q);
}

static void send_query(struct dnsq *q)
{
	struct ipc_buf b;
	if (dc.ch == NULL)
		return; /* lost meanwhile: ev_fail answers it */
	ipcb_init(&b);
	dns_query_encode(&b, q->qtype, q->name);
	q->sent = ipc_chan_sendb(dc.ch, D_QUERY, q->reqid, &b, -1) == 0;
	ipcb_free(&b);
}

/* Copies a D_ANSWER's records into the compact form. false if malformed. */
static bool decode(uint16_t qtype, const uint8_t *p, size_t len, struct dns_result *res)
{
	struct dns_answer a;
	if (!dns_answer_open(&a, qtype, p, len))
		return false;
	res->status = a.status;
	res->secure = a.secure;
	res->ttl = a.ttl;
	res->n = 0;
	res->item = a.n ? calloc(a.n, sizeof(*res->item)) : NULL;
	struct dns_rr *rr = malloc(sizeof(*rr));
	bool ok = rr != NULL && (a.n == 0 || res->item != NULL);
	int r;
	while (ok && (r = dns_answer_next(&a, rr)) == 1) {
		struct dns_item *it = &res->item[res->n];
		if (qtype == DNS_T_TLSA && rr->len > TLSA_DATA_MAX)
			continue; /* a whole certificate: not one we match (usage 2/3 with a digest is usual) */
		it->pref = rr->pref;
		memcpy(it->addr, rr->addr, sizeof(it->addr));
		strlcpy(it->name, rr->name, sizeof(it->name));
		it->tlsa.usage = rr->usage;
		it->tlsa.selector = rr->selector;
		it->tlsa.mtype = rr->mtype;
		it->tlsa.len = (uint16_t)(qtype == DNS_T_TLSA ? rr->len : 0);
		memcpy(it->tlsa.data, rr->data, it->tlsa.len);
		res->n++;
	}
	ok = ok && r == 0;
	free(rr);
	if (!ok) {
		free(res->item);
		res->item = NULL;
	}
	return ok;
}

static struct dnsq *find(uint32_t reqid)
{
	struct dnsq *q;
	LIST_FOREACH(q, &dc.queries, entry)
		if (q->reqid == reqid)
			return q;
	return NULL;
}

static void on_msg(struct ipc_chan *ch, const struct ipc_hdr *h, const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	(void)arg;
	if (fd >= 0)
		close(fd);
	struct dnsq *q = find(h->reqid);
	if (q == NULL || !q->sent)
		return;
	struct dns_result res = { .status = DNS_TEMPFAIL };
	if (h->type == D_ANSWER) {
		if (!decode(q->qtype, p, h->len, &res)) {
			log_warnx("malformed answer from the resolver for %s", q->name);
			res = (struct dns_result){ .status = DNS_TEMPFAIL };
		}
	} else {
		log_warnx("the resolver refused the query for %s", q->name);
	}
	finish(q, &res);
	free(res.item);
}

static void on_close(struct ipc_chan *ch, void *arg)
{
	(void)arg;
	log_warnx("lost the resolver; lookups in flight fail for now");
	ipc_chan_free(ch);
	dc.ch = NULL;
	event_active(dc.ev_fail, EV_TIMEOUT, 0);
}

static void on_fail(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fail_all();
}

static void ask(void)
{
	/* an answer that never came (queued busy or restarting) is asked
	 * for again after a while */
	if (dc.ch || (dc.asking && now_ms() - dc.asked_ms < DNSC_WAIT_CONNECT_MS))
		return;
	dc.asking = true;
	dc.asked_ms = now_ms();
	dc.ask();
}

void dnsc_connected(int fd)
{
	dc.asking = false;
	if (fd >= 0 && dc.ch) {
		close(fd); /* an answer to a repeated R_DNS: keep the live channel */
		return;
	}
	if (fd < 0) {
		/* the resolver is not running: nothing waits for it */
		event_active(dc.ev_fail, EV_TIMEOUT, 0);
		return;
	}
	set_nonblock(fd);
	dc.ch = ipc_chan_new(dc.base, fd, on_msg, on_close, NULL);
	if (dc.ch == NULL) {
		close(fd);
		event_active(dc.ev_fail, EV_TIMEOUT, 0);
		return;
	}
	struct dnsq *q;
	LIST_FOREACH(q, &dc.queries, entry)
		if (!q->sent)
			send_query(q);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct dnsq *q = arg;
	log_warnx("no answer from the resolver for %s in time", q->name);
	fail(q);
}

void *dnsc_query(uint16_t qtype, const char *name, dns_cb cb, void *arg)
{
	struct dnsq *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->reqid = ++dc.next_reqid;
	q->qtype = qtype;
	strlcpy(q->name, name, sizeof(q->name));
	q->cb = cb;
	q->arg = arg;
	q->ev_timeout = evtimer_new(dc.base, on_timeout, q);
	/* the resolver answers within dns_timeout; this is for a lost one */
	uint64_t ms = dc.conf->dns_timeout_ms * 2 + DNSC_WAIT_CONNECT_MS;
	struct timeval tv = ms_tv(ms);
	if (q->ev_timeout == NULL) {
		free(q);
		return NULL;
	}
	evtimer_add(q->ev_timeout, &tv);
	LIST_INSERT_HEAD(&dc.queries, q, entry);
	if (dc.ch)
		send_query(q);
	else
		ask();
	return q;
}

void dnsc_cancel(void *handle)
{
	struct dnsq *q = handle;
	if (q)
		q->cb = NULL; /* the answer, when it comes, goes nowhere */
}

void dnsc_init(struct event_base *base, const struct config *conf, void (*askfn)(void))
{
	dc.base = base;
	dc.conf = conf;
	dc.ask = askfn;
	LIST_INIT(&dc.queries);
	dc.ev_fail = event_new(base, -1, 0, on_fail, NULL);
	if (dc.ev_fail == NULL)
		fatalx("event_new");
}
