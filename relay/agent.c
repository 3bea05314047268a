/*
 * agent.c: the remote delivery agent's process (postern-relay). Forked
 * by queued's root monitor; reads the relayhost password and the CA
 * file as root, then chroots to <spool>/empty and drops to
 * postern-relay. The queue manager hands it messages (R_DELIVER, with
 * the queue file's fd, read-only) over a socketpair; the agent splits
 * each message's recipients by destination domain (or sends all to the
 * relayhost), keeps a queue of jobs per destination, opens connections
 * up to relay_destination_concurrency per destination and
 * relay_concurrency in all (client.c), and reports every recipient's
 * outcome (L_RESULT) with a log line in the form log tools parse.
 */
#include "relay.h"
#include "ipc.h"
#include "log.h"
#include "privsep.h"
#include "proto.h"
#include "qrecord.h"
#include "rdeliver.h"
#include "smtp_reply.h"
#include "tls.h"
#include "util.h"

#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct relay_env relay;

#define RCPT_PER_JOB 50          /* recipients in one transaction, as Postfix */
#define ROUTE_RETRY_MS 5000      /* an old route's grace after a failed refresh */

static struct ipc_chan *qm;            /* the queue manager */
static LIST_HEAD(, dest) dests = LIST_HEAD_INITIALIZER(dests);

/* ---- results ---- */

/* The detail's enhanced status code, or the class default. */
static void dsn_of(const char *detail, uint8_t status, char out[SMTP_ESC_BUF])
{
	if (smtp_detail_esc(detail, strlen(detail), out, NULL) == 0)
		strlcpy(out, status == DELIVERY_OK ? "2.0.0" : status == DELIVERY_PERMFAIL ?
		    "5.0.0" : "4.0.0", SMTP_ESC_BUF);
}

void job_result(struct rjob *j, struct rjob_rcpt *r, uint8_t status, const char *detail,
    const char *relay_name, const char *tls)
{
	char name[QID_LEN + 1], dsn[SMTP_ESC_BUF];
	if (r->done)
		return;
	r->done = true;
	qid_format(j->qid, name);
	dsn_of(detail, status, dsn);
	uint64_t now = now_ms();
	double delay = now > j->arrival_ms ? (double)(now - j->arrival_ms) / 1000.0 : 0.0;
	/* tls: NULL when no session stands behind the result, "" for a
	 * plaintext one */
	bool named = relay_name && relay_name[0];
	log_info("%s: to=<%s>, relay=%s, delay=%.1f, dsn=%s, status=%s (%s)%s%s", name, r->addr,
	    named ? relay_name : "none", delay, dsn,
	    status == DELIVERY_OK ? "sent" : status == DELIVERY_PERMFAIL ? "bounced" : "deferred",
	    detail, tls ? " " : "", tls ? (tls[0] ? tls : "tls=none") : "");
	if (qm == NULL)
		return;
	/* the index keeps QERR_MAX octets of it (the log line has it all) */
	char kept[QERR_MAX + 1];
	strlcpy(kept, detail, sizeof(kept));
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_u64(&b, j->qid);
	ipcb_u32(&b, r->idx);
	ipcb_u8(&b, status);
	ipcb_cstr(&b, kept);
	ipc_chan_sendb(qm, L_RESULT, 0, &b, -1);
	ipcb_free(&b);
}

void job_result_all(struct rjob *j, uint8_t status, const char *detail, const char *relay_name,
    const char *tls)
{
	for (uint32_t i = 0; i < j->nrcpt; i++)
		job_result(j, &j->rcpt[i], status, detail, relay_name, tls);
}

void job_free(struct rjob *j)
{
	/* every recipient gets an answer, whatever went wrong */
	job_result_all(j, DELIVERY_TEMPFAIL, "4.3.0 delivery not attempted", NULL, NULL);
	if (j->fd >= 0)
		close(j->fd);
	free(j->rcpt);
	free(j);
}

/* ---- destinations ---- */

static struct dest *dest_find(const char *name, bool create)
{
	struct dest *d;
	LIST_FOREACH(d, &dests, entry)
		if (strcmp(d->name, name) == 0)
			return d;
	if (!create || (d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	strlcpy(d->name, name, sizeof(d->name));
	TAILQ_INIT(&d->jobs);
	LIST_INSERT_HEAD(&dests, d, entry);
	return d;
}

static void dest_maybe_free(struct dest *d)
{
	if (d->njobs || d->nconns || d->resolving)
		return;
	route_unref(d->rt);
	LIST_REMOVE(d, entry);
	free(d);
}

/* Every waiting job of d gets the same result; d may be freed. */
static void dest_fail_jobs(struct dest *d, uint8_t status, const char *error, const char *peer)
{
	struct rjob *j;
	while ((j = TAILQ_FIRST(&d->jobs)) != NULL) {
		TAILQ_REMOVE(&d->jobs, j, entry);
		d->njobs--;
		job_result_all(j, status, error, peer, NULL);
		job_free(j);
	}
	dest_maybe_free(d);
}

struct rjob *dest_next_job(struct dest *d)
{
	struct rjob *j = TAILQ_FIRST(&d->jobs);
	if (j) {
		TAILQ_REMOVE(&d->jobs, j, entry);
		d->njobs--;
	}
	return j;
}

/* Puts d's waiting jobs on their way: idle connections first, then
 * new ones within the limits, resolving the route first when needed.
 * d may be freed. */
static void dest_kick(struct dest *d)
{
	struct conn *c;
	if (relay.stopping)
		return;
	while (d->njobs && (c = conn_idle_of(d)) != NULL)
		conn_take(c, dest_next_job(d));
	if (d->njobs == 0) {
		dest_maybe_free(d);
		return;
	}
	if (d->resolving)
		return;
	if (d->rt == NULL || d->rt->expires_ms <= now_ms()) {
		/* an old route stays while the new one is looked up */
		route_start(d); /* may answer at once, through dest_route_done */
		return;
	}
	uint64_t want = d->njobs < relay.conf->relay_destination_concurrency ? d->njobs :
	    relay.conf->relay_destination_concurrency;
	while ((uint64_t)d->nconns < want && (uint64_t)relay.nconns < relay.conf->relay_concurrency)
		if (conn_new(d, d->rt) == NULL)
			break;
}

static void kick_all(void)
{
	struct dest *d, *next;
	for (d = LIST_FIRST(&dests); d; d = next) {
		next = LIST_NEXT(d, entry);
		if (d->njobs && (uint64_t)relay.nconns < relay.conf->relay_concurrency)
			dest_kick(d);
	}
}

void dest_route_done(struct dest *d, struct route *rt, uint8_t status, const char *error)
{
	if (rt == NULL && d->rt && d->nconns > 0 && status == DELIVERY_TEMPFAIL) {
		/* a refresh failed while connections are at work: they keep
		 * the waiting jobs, and the old route serves a while longer */
		log_info("%s: %s; keeping the old route", d->name[0] ? d->name : relay.conf->relayhost,
		    error);
		d->rt->expires_ms = now_ms() + ROUTE_RETRY_MS;
		return;
	}
	if (rt == NULL) {
		log_info("%s: %s", d->name[0] ? d->name : relay.conf->relayhost, error);
		route_unref(d->rt);
		d->rt = NULL;
		dest_fail_jobs(d, status, error, NULL);
		return;
	}
	route_unref(d->rt);
	d->rt = rt;
	dest_kick(d);
}

void dest_conn_gone(struct dest *d, bool exhausted, const char *error, const char *last_peer)
{
	if (exhausted) {
		/* every address failed: the waiting jobs are deferred (other
		 * connections, still trying, would only fail the same way),
		 * and the route is looked up again next time */
		route_unref(d->rt);
		d->rt = NULL;
		dest_fail_jobs(d, DELIVERY_TEMPFAIL, error ? error : "4.4.1 no host answered",
		    last_peer);
	} else if (d->njobs) {
		dest_kick(d);
	} else {
		dest_maybe_free(d);
	}
	kick_all();
}

/* ---- jobs from the queue manager ---- */

static bool domain_of(const char *addr, char out[DNS_NAME_BUF])
{
	const char *at = strrchr(addr, '@');
	if (at == NULL || strlcpy(out, at + 1, DNS_NAME_BUF) >= DNS_NAME_BUF)
		return false;
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p | 0x20);
	return dns_name_valid(out, strlen(out));
}

static void enqueue(struct rjob *j, const char *dest_name)
{
	struct dest *d = dest_find(dest_name, true);
	if (d == NULL) {
		job_result_all(j, DELIVERY_TEMPFAIL, "4.3.0 out of memory", NULL, NULL);
		job_free(j);
		return;
	}
	TAILQ_INSERT_TAIL(&d->jobs, j, entry);
	d->njobs++;
	dest_kick(d);
}

/* A result for a recipient that never became part of a job. */
static void result_raw(uint64_t qid, uint32_t idx, uint8_t status, const char *detail)
{
	struct rjob j = { .qid = qid, .nrcpt = 1 };
	struct rjob_rcpt r = { .idx = idx };
	j.rcpt = &r;
	job_result(&j, &r, status, detail, NULL, NULL);
}

/* R_DELIVER: the message's recipients grouped by destination domain,
 * at most RCPT_PER_JOB to a job (one SMTP transaction). */
static void handle_deliver(const uint8_t *p, size_t len, int fd)
{
	struct rdeliver req;
	if (fd < 0 || !rdeliver_decode(p, len, &req)) {
		log_warnx("malformed delivery request from the queue manager");
		if (fd >= 0)
			close(fd);
		return;
	}
	uint32_t n = req.n;
	char (*dom)[DNS_NAME_BUF] = calloc(n, DNS_NAME_BUF);
	bool *bad = calloc(n, sizeof(bool)), *taken = calloc(n, sizeof(bool));
	bool ok = dom && bad && taken;
	for (uint32_t i = 0; ok && i < n; i++)
		bad[i] = !relay.conf->relayhost[0] && !domain_of(req.rcpt[i].addr, dom[i]);
	for (uint32_t i = 0; ok && i < n; i++) {
		if (taken[i])
			continue;
		struct rjob *j = calloc(1, sizeof(*j));
		if (j == NULL || (j->rcpt = calloc(RCPT_PER_JOB, sizeof(*j->rcpt))) == NULL) {
			free(j);
			ok = false;
			break;
		}
		j->qid = req.qid;
		strlcpy(j->sender, req.sender, sizeof(j->sender));
		j->flags = req.flags;
		j->size = req.size;
		j->arrival_ms = req.arrival_ms;
		for (uint32_t k = i; k < n && j->nrcpt < RCPT_PER_JOB; k++) {
			if (taken[k] || bad[k] != bad[i] || strcmp(dom[k], dom[i]) != 0)
				continue;
			taken[k] = true;
			j->rcpt[j->nrcpt].idx = req.rcpt[k].idx;
			strlcpy(j->rcpt[j->nrcpt].addr, req.rcpt[k].addr, sizeof(j->rcpt[0].addr));
			j->nrcpt++;
		}
		j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (bad[i] || j->fd < 0) {
			job_result_all(j, bad[i] ? DELIVERY_PERMFAIL : DELIVERY_TEMPFAIL,
			    bad[i] ? "5.1.2 the recipient's domain is not a host name this agent can "
			    "route to" : "4.3.0 out of file descriptors", NULL, NULL);
			job_free(j);
			continue;
		}
		enqueue(j, dom[i]);
	}
	/* out of memory: every recipient still gets its answer */
	for (uint32_t k = 0; !ok && k < n; k++)
		if (taken == NULL || !taken[k])
			result_raw(req.qid, req.rcpt[k].idx, DELIVERY_TEMPFAIL, "4.3.0 out of memory");
	free(taken);
	free(dom);
	free(bad);
	rdeliver_free(&req);
	close(fd);
}

static void on_qm_msg(struct ipc_chan *ch, const struct ipc_hdr *h, const uint8_t *p, int fd,
    void *arg)
{
	(void)ch;
	(void)arg;
	switch (h->type) {
	case R_DELIVER:
		handle_deliver(p, h->len, fd);
		break;
	case R_DNS_OK:
		dnsc_connected(fd);
		break;
	case P_CONFIG:
		/* timeouts, concurrency and hostname apply to what starts next */
		if (fd >= 0)
			close(fd);
		config_apply_frame(relay.conf, p, h->len);
		break;
	default:
		if (fd >= 0)
			close(fd);
		log_warnx("unknown request %u from the queue manager", h->type);
	}
}

static void on_qm_close(struct ipc_chan *ch, void *arg)
{
	(void)arg;
	ipc_chan_free(ch);
	qm = NULL;
	log_info("the queue manager is gone; stopping");
	event_base_loopexit(relay.base, NULL);
}

static void ask_dns(void)
{
	if (qm)
		ipc_chan_send(qm, R_DNS, 0, NULL, 0, -1);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopexit(relay.base, NULL);
}

static void read_password(const char *path)
{
	char buf[sizeof(relay.password) + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0)
		fatal("relayhost_password_file %s", path);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strlen(buf) >= sizeof(relay.password) || buf[0] == '\0')
		fatalx("relayhost_password_file %s: the first line must hold the password "
		    "(1 to %zu octets)", path, sizeof(relay.password) - 1);
	strlcpy(relay.password, buf, sizeof(relay.password));
	explicit_bzero(buf, sizeof(buf));
}

int relay_main(int sock, void *arg)
{
	struct config *conf = arg;
	char empty[PATH_MAX];
	relay.conf = conf;
	log_setname("postern/relay");
	if (conf->relayhost_password_file[0])
		read_password(conf->relayhost_password_file);
	tls_init();
	relay.tls = relay_tls_ctx(conf->relay_tls_ca_file);
	if (snprintf(empty, sizeof(empty), "%s/empty", conf->spool) >= (int)sizeof(empty))
		fatalx("spool path too long");
	privsep_drop(USER_RELAY, empty);
	signal(SIGPIPE, SIG_IGN);
	relay.base = event_base_new();
	if (relay.base == NULL)
		fatalx("event_base_new");
	set_nonblock(sock);
	qm = ipc_chan_new(relay.base, sock, on_qm_msg, on_qm_close, NULL);
	if (qm == NULL)
		fatalx("cannot talk to the queue manager");
	dnsc_init(relay.base, conf, ask_dns);
	struct event *e_term = evsignal_new(relay.base, SIGTERM, on_term, NULL);
	struct event *e_int = evsignal_new(relay.base, SIGINT, on_term, NULL);
	evsignal_add(e_term, NULL);
	evsignal_add(e_int, NULL);
	log_info("ready%s%s", conf->relayhost[0] ? "; relayhost " : "",
	    conf->relayhost[0] ? conf->relayhost : "");
	event_base_dispatch(relay.base);
	relay.stopping = true;
	conn_free_all();
	return 0;
}
