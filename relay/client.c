/*
 * client.c: one outbound SMTP connection of the remote delivery agent
 * (postern-relay, chrooted, unprivileged; everything read here comes
 * from remote servers and is parsed by relay/smtp_reply.c with its
 * limits). It walks its destination's route address by address until
 * one greets and answers EHLO (HELO if EHLO is refused), switches to
 * TLS when STARTTLS is offered (required under DANE and before AUTH to
 * a relayhost), then sends messages one after another over the same
 * connection: MAIL, RCPT and DATA in one write when PIPELINING is
 * offered (RFC 2920), SIZE checked before sending (RFC 1870), the body
 * dot-stuffed from the queue file with flow control. Each recipient's
 * outcome goes back through job_result. An idle connection waits a
 * moment for more mail to the destination, then says QUIT.
 */
#include "relay.h"
#include "log.h"
#include "maildir.h"
#include "proto.h"
#include "qrecord.h"
#include "sasl.h"
#include "smtp_reply.h"
#include "tls.h"
#include "util.h"

#include <arpa/inet.h>
#include <bsd/string.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS (30 * 1000)
#define IDLE_MS 2000                 /* keep an idle connection this long for more mail */
#define QUIT_MS 5000
#define BODY_CHUNK 65536
#define BODY_HIGH (256 * 1024)       /* output kept queued while sending a body */
#define BODY_LOW (64 * 1024)         /* refill below this */
#define TXN_MAX_PER_CONN 1000        /* then a fresh connection */

enum cstate {
	CS_CONNECTING,
	CS_GREETING,
	CS_EHLO,
	CS_HELO,
	CS_STARTTLS,
	CS_HANDSHAKE,
	CS_AUTH,
	CS_IDLE,
	CS_TXN,        /* replies to MAIL, RCPT and DATA */
	CS_BODY,
	CS_DOT,
	CS_RSET,
	CS_QUIT,
};

struct conn {
	LIST_ENTRY(conn) entry;
	struct dest *d;
	struct route *rt;
	size_t hi, ai;                 /* host and address being tried */
	struct bufferevent *bev;
	struct event *ev_timer;        /* reply deadline, idle time */
	enum cstate st;
	struct smtp_reply rep;
	struct smtp_ehlo ehlo;
	bool esmtp, tls, authed;
	char tlsinfo[200];
	char peer[DNS_NAME_BUF + 64];  /* "host[addr]:port" */
	char last_err[400];
	struct rjob *job;
	size_t expect, sent;           /* replies read and commands sent in the transaction */
	bool mail_ok, discard;
	size_t naccepted;
	struct wire_state wire;
	off_t off;
	int ntxn;
};

static LIST_HEAD(, conn) conns = LIST_HEAD_INITIALIZER(conns);
/* the connection whose reply is being handled; NULL once it ended */
static struct conn *in_reply;

static void try_address(struct conn *c);
static void conn_ready(struct conn *c);
static void conn_end(struct conn *c, bool exhausted, const char *error);

static const struct route_host *host_of(const struct conn *c)
{
	return &c->rt->host[c->hi];
}

static void set_timer(struct conn *c, uint64_t ms)
{
	struct timeval tv = ms_tv(ms);
	evtimer_add(c->ev_timer, &tv);
}

static void send_line(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void send_line(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* Waits for the reply to what was just sent. */
static void expect_reply(struct conn *c, enum cstate st)
{
	c->st = st;
	smtp_reply_init(&c->rep);
	set_timer(c, relay.conf->relay_timeout_ms);
}

/* The last reply as a result detail: "550 5.1.1 text". */
static void reply_detail(const struct conn *c, char *out, size_t outlen)
{
	textf(out, outlen, "%d %s", c->rep.code, c->rep.text);
}

static uint8_t verdict_status(enum smtp_verdict v)
{
	return v == SV_OK ? DELIVERY_OK : v == SV_PERM ? DELIVERY_PERMFAIL : DELIVERY_TEMPFAIL;
}

static void free_bev(struct conn *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	c->bev = NULL;
	evtimer_del(c->ev_timer);
}

/* This address failed before any mail was sent: on to the next. */
static void address_failed(struct conn *c, const char *why)
{
	log_info("%s: %s", c->peer, why);
	strlcpy(c->last_err, why, sizeof(c->last_err));
	free_bev(c);
	c->tls = c->authed = c->esmtp = false;
	c->tlsinfo[0] = '\0';
	c->ai++;
	try_address(c);
}

/* The connection broke while it carried mail: the job is deferred. */
static void txn_failed(struct conn *c, const char *why)
{
	log_info("%s: %s", c->peer, why);
	if (c->job) {
		char detail[400];
		textf(detail, sizeof(detail), "4.4.2 %s", why);
		job_result_all(c->job, DELIVERY_TEMPFAIL, detail, c->peer, c->tlsinfo);
		job_free(c->job);
		c->job = NULL;
	}
	conn_end(c, false, NULL);
}

/* Any failure: which kind depends on where the connection stands. */
static void conn_failed(struct conn *c, const char *why)
{
	switch (c->st) {
	case CS_CONNECTING: case CS_GREETING: case CS_EHLO: case CS_HELO:
	case CS_STARTTLS: case CS_HANDSHAKE: case CS_AUTH: {
		char detail[400];
		textf(detail, sizeof(detail), "4.4.1 %s: %s", c->peer, why);
		address_failed(c, detail);
		return;
	}
	case CS_IDLE: case CS_QUIT:
		conn_end(c, false, NULL);
		return;
	default:
		txn_failed(c, why);
	}
}

/* ---- session set-up ---- */

static void after_ehlo(struct conn *c)
{
	const struct route_host *h = host_of(c);
	bool auth = relay.conf->relayhost_user[0] && c->d->name[0] == '\0';
	if (!c->tls && c->ehlo.starttls && relay.tls) {
		send_line(c, "STARTTLS");
		expect_reply(c, CS_STARTTLS);
		return;
	}
	if (!c->tls && (h->dane || auth)) {
		char why[300];
		textf(why, sizeof(why), "4.7.4 %s: TLS is required (%s) and STARTTLS is not offered",
		    c->peer, h->dane ? "DANE" : "relayhost credentials");
		address_failed(c, why);
		return;
	}
	if (auth && !c->authed) {
		char plain[600], b64[820];
		size_t ul = strlen(relay.conf->relayhost_user), pl = strlen(relay.password);
		if (!c->ehlo.auth_plain) {
			address_failed(c, "4.7.0 the relayhost does not offer AUTH PLAIN");
			return;
		}
		plain[0] = '\0';
		memcpy(plain + 1, relay.conf->relayhost_user, ul);
		plain[1 + ul] = '\0';
		memcpy(plain + 2 + ul, relay.password, pl);
		bool ok = sasl_encode((const uint8_t *)plain, 2 + ul + pl, b64, sizeof(b64));
		explicit_bzero(plain, sizeof(plain));
		if (!ok) {
			address_failed(c, "4.7.0 relayhost credentials too long");
			return;
		}
		send_line(c, "AUTH PLAIN %s", b64);
		explicit_bzero(b64, sizeof(b64));
		expect_reply(c, CS_AUTH);
		return;
	}
	conn_ready(c);
}

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void set_callbacks(struct conn *c)
{
	uint64_t ms = relay.conf->relay_timeout_ms;
	struct timeval wtv = ms_tv(ms);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* a server that stops taking our output is caught here; replies
	 * are timed by ev_timer */
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	bufferevent_setwatermark(c->bev, EV_WRITE, BODY_LOW, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void start_tls(struct conn *c)
{
	SSL *ssl = relay_tls_ssl(relay.tls, host_of(c));
	if (ssl == NULL) {
		address_failed(c, "4.7.5 cannot set up TLS");
		return;
	}
	/* replies the server sent ahead of the handshake go with the old
	 * bufferevent (RFC 3207 6) */
	c->bev = tls_bev_starttls_client(c->bev, ssl);
	if (c->bev == NULL) {
		address_failed(c, "4.7.5 cannot start TLS");
		return;
	}
	set_callbacks(c);
	c->st = CS_HANDSHAKE;
	set_timer(c, relay.conf->relay_timeout_ms);
}

static void tls_up(struct conn *c)
{
	const struct route_host *h = host_of(c);
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	bool ok = relay_tls_check(ssl, h, c->tlsinfo, sizeof(c->tlsinfo));
	bool auth = relay.conf->relayhost_user[0] && c->d->name[0] == '\0';
	char why[400];
	if (!ok) {
		textf(why, sizeof(why), "4.7.5 %s: the certificate matches no TLSA record (%s)",
		    c->peer, c->tlsinfo);
		address_failed(c, why);
		return;
	}
	if (auth && SSL_get_verify_result(ssl) != X509_V_OK) {
		textf(why, sizeof(why), "4.7.5 %s: relayhost certificate not verified; "
		    "credentials not sent (%s)", c->peer, c->tlsinfo);
		address_failed(c, why);
		return;
	}
	log_info("%s: %s", c->peer, c->tlsinfo);
	c->tls = true;
	send_line(c, "EHLO %s", relay.conf->hostname);
	expect_reply(c, CS_EHLO);
}

static void setup_reply(struct conn *c)
{
	char detail[SMTP_REPLY_TEXT_MAX + 100], why[SMTP_REPLY_TEXT_MAX + 200];
	enum smtp_verdict v;
	reply_detail(c, detail, sizeof(detail));
	switch (c->st) {
	case CS_GREETING:
		if (smtp_reply_verdict(SMTP_ST_GREETING, c->rep.code) != SV_OK) {
			textf(why, sizeof(why), "4.4.1 %s greeted with: %s", c->peer, detail);
			address_failed(c, why);
			return;
		}
		send_line(c, "EHLO %s", relay.conf->hostname);
		expect_reply(c, CS_EHLO);
		return;
	case CS_EHLO:
		v = smtp_reply_verdict(SMTP_ST_EHLO, c->rep.code);
		if (v == SV_OK) {
			c->esmtp = true;
			after_ehlo(c);
		} else if (v == SV_PERM && !c->tls) {
			send_line(c, "HELO %s", relay.conf->hostname);
			expect_reply(c, CS_HELO);
		} else {
			textf(why, sizeof(why), "4.4.1 %s refused EHLO: %s", c->peer, detail);
			address_failed(c, why);
		}
		return;
	case CS_HELO:
		if (smtp_reply_verdict(SMTP_ST_EHLO, c->rep.code) != SV_OK) {
			textf(why, sizeof(why), "4.4.1 %s refused HELO: %s", c->peer, detail);
			address_failed(c, why);
			return;
		}
		memset(&c->ehlo, 0, sizeof(c->ehlo));
		after_ehlo(c);
		return;
	case CS_STARTTLS:
		if (c->rep.code == 220) {
			start_tls(c);
			return;
		}
		/* opportunistic: go on in the clear, unless TLS is required */
		c->ehlo.starttls = false;
		log_info("%s: STARTTLS refused: %s", c->peer, detail);
		after_ehlo(c);
		return;
	case CS_AUTH:
		if (smtp_reply_verdict(SMTP_ST_AUTH, c->rep.code) != SV_OK) {
			textf(why, sizeof(why), "4.7.0 %s refused our credentials: %s", c->peer, detail);
			address_failed(c, why);
			return;
		}
		c->authed = true;
		conn_ready(c);
		return;
	default:
		return;
	}
}

/* ---- transactions ---- */

static void start_rset(struct conn *c)
{
	send_line(c, "RSET");
	expect_reply(c, CS_RSET);
}

static void send_rcpt(struct conn *c, size_t i)
{
	send_line(c, "RCPT TO:<%s>", c->job->rcpt[i].addr);
}

static void job_done(struct conn *c)
{
	job_free(c->job);
	c->job = NULL;
	c->ntxn++;
}

/* Sends the next chunk of the body; at its end the final dot. */
static void pump_body(struct conn *c)
{
	char in[BODY_CHUNK], out[2 * BODY_CHUNK + 8];
	struct evbuffer *ob = bufferevent_get_output(c->bev);
	while (evbuffer_get_length(ob) < BODY_HIGH) {
		ssize_t n = pread(c->job->fd, in, sizeof(in), c->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			txn_failed(c, "cannot read the queue file");
			return;
		}
		if (n == 0) {
			size_t k = wire_finish(&c->wire, out);
			memcpy(out + k, ".\r\n", 3);
			evbuffer_add(ob, out, k + 3);
			expect_reply(c, CS_DOT);
			return;
		}
		c->off += n;
		evbuffer_add(ob, out, wire_encode(&c->wire, in, (size_t)n, out));
	}
}

static void start_body(struct conn *c)
{
	c->st = CS_BODY;
	c->off = 0;
	wire_init(&c->wire, true, UINT64_MAX);
	/* nothing is expected from the server until the final dot */
	evtimer_del(c->ev_timer);
	pump_body(c);
}

/* Applies the reply to MAIL, one RCPT or DATA, in order. */
static void txn_reply(struct conn *c)
{
	struct rjob *j = c->job;
	size_t idx = c->expect++;
	char detail[SMTP_REPLY_TEXT_MAX + 16];
	bool pipelined = c->sent == (size_t)j->nrcpt + 2;
	reply_detail(c, detail, sizeof(detail));
	if (idx == 0) {
		enum smtp_verdict v = smtp_reply_verdict(SMTP_ST_MAIL, c->rep.code);
		c->mail_ok = v == SV_OK;
		if (!c->mail_ok)
			job_result_all(j, verdict_status(v), detail, c->peer, c->tlsinfo);
		if (!pipelined) {
			if (!c->mail_ok) {
				job_done(c);
				start_rset(c);
				return;
			}
			send_rcpt(c, 0);
			c->sent++;
		}
	} else if (idx <= j->nrcpt) {
		struct rjob_rcpt *r = &j->rcpt[idx - 1];
		enum smtp_verdict v = smtp_reply_verdict(SMTP_ST_RCPT, c->rep.code);
		if (c->mail_ok && v == SV_OK) {
			r->accepted = true;
			c->naccepted++;
		} else if (c->mail_ok) {
			job_result(j, r, verdict_status(v), detail, c->peer, c->tlsinfo);
		}
		if (!pipelined) {
			if (idx < j->nrcpt) {
				send_rcpt(c, idx);
			} else if (c->naccepted) {
				send_line(c, "DATA");
			} else {
				job_done(c);
				start_rset(c);
				return;
			}
			c->sent++;
		}
	} else {
		enum smtp_verdict v = smtp_reply_verdict(SMTP_ST_DATA, c->rep.code);
		if (v == SV_CONTINUE && c->mail_ok && c->naccepted) {
			start_body(c);
			return;
		}
		if (v == SV_CONTINUE) {
			/* RFC 2920 3.1: no recipient, yet 354: an empty message ends it */
			send_line(c, ".");
			c->discard = true;
			expect_reply(c, CS_DOT);
			return;
		}
		for (uint32_t i = 0; i < j->nrcpt; i++)
			if (j->rcpt[i].accepted)
				job_result(j, &j->rcpt[i], verdict_status(v), detail, c->peer, c->tlsinfo);
		job_done(c);
		start_rset(c);
		return;
	}
	expect_reply(c, CS_TXN);
}

static void dot_reply(struct conn *c)
{
	struct rjob *j = c->job;
	if (!c->discard) {
		char detail[SMTP_REPLY_TEXT_MAX + 16];
		enum smtp_verdict v = smtp_reply_verdict(SMTP_ST_DOT, c->rep.code);
		reply_detail(c, detail, sizeof(detail));
		for (uint32_t i = 0; i < j->nrcpt; i++)
			if (j->rcpt[i].accepted)
				job_result(j, &j->rcpt[i], verdict_status(v), detail, c->peer, c->tlsinfo);
	}
	job_done(c);
	conn_ready(c);
}

void conn_take(struct conn *c, struct rjob *j)
{
	char why[300], size[40] = "";
	evtimer_del(c->ev_timer);
	c->job = j;
	c->expect = c->sent = c->naccepted = 0;
	c->mail_ok = c->discard = false;
	if (c->ehlo.has_size && c->ehlo.size && j->size > c->ehlo.size) {
		textf(why, sizeof(why), "5.3.4 the message (%llu octets) is larger than the "
		    "%llu octets %s accepts", (unsigned long long)j->size,
		    (unsigned long long)c->ehlo.size, c->peer);
		job_result_all(j, DELIVERY_PERMFAIL, why, c->peer, c->tlsinfo);
		job_done(c);
		conn_ready(c);
		return;
	}
	if ((j->flags & QF_SMTPUTF8) && !c->ehlo.smtputf8) {
		textf(why, sizeof(why), "5.6.7 %s does not accept internationalized addresses "
		    "(SMTPUTF8)", c->peer);
		job_result_all(j, DELIVERY_PERMFAIL, why, c->peer, c->tlsinfo);
		job_done(c);
		conn_ready(c);
		return;
	}
	if (c->ehlo.has_size)
		snprintf(size, sizeof(size), " SIZE=%llu", (unsigned long long)j->size);
	send_line(c, "MAIL FROM:<%s>%s%s%s", j->sender, size,
	    (j->flags & QF_8BITMIME) && c->ehlo.eightbitmime ? " BODY=8BITMIME" : "",
	    (j->flags & QF_SMTPUTF8) ? " SMTPUTF8" : "");
	c->sent = 1;
	if (c->ehlo.pipelining) {
		for (uint32_t i = 0; i < j->nrcpt; i++)
			send_rcpt(c, i);
		send_line(c, "DATA");
		c->sent = j->nrcpt + 2;
	}
	expect_reply(c, CS_TXN);
}

static void on_idle(struct conn *c)
{
	send_line(c, "QUIT");
	c->st = CS_QUIT;
	smtp_reply_init(&c->rep);
	set_timer(c, QUIT_MS);
}

/* Ready for a message: the destination's next one, or idle. */
static void conn_ready(struct conn *c)
{
	struct rjob *j = c->ntxn < TXN_MAX_PER_CONN ? dest_next_job(c->d) : NULL;
	if (j) {
		conn_take(c, j);
		return;
	}
	c->st = CS_IDLE;
	set_timer(c, c->ntxn < TXN_MAX_PER_CONN ? IDLE_MS : 0);
}

struct conn *conn_idle_of(struct dest *d)
{
	struct conn *c;
	LIST_FOREACH(c, &conns, entry)
		if (c->d == d && c->st == CS_IDLE && c->ntxn < TXN_MAX_PER_CONN)
			return c;
	return NULL;
}

/* ---- events ---- */

static void on_reply(struct conn *c)
{
	evtimer_del(c->ev_timer);
	switch (c->st) {
	case CS_TXN: txn_reply(c); return;
	case CS_DOT: dot_reply(c); return;
	case CS_RSET:
		if (smtp_reply_verdict(SMTP_ST_RSET, c->rep.code) == SV_OK)
			conn_ready(c);
		else
			conn_end(c, false, NULL);
		return;
	case CS_QUIT:
		conn_end(c, false, NULL);
		return;
	case CS_IDLE:
		/* a reply nobody asked for (a 421 before closing, say) */
		conn_end(c, false, NULL);
		return;
	default:
		setup_reply(c);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		size_t len;
		if (c->st == CS_BODY || c->st == CS_HANDSHAKE || c->st == CS_CONNECTING) {
			if (evbuffer_get_length(in) == 0)
				return;
			/* nothing may come now; a server that talks is broken or hostile */
			conn_failed(c, "the server sent data out of turn");
			return;
		}
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > SMTP_REPLY_LINE_MAX + 2)
				conn_failed(c, "reply line too long");
			return;
		}
		enum smtp_reply_status st = c->st == CS_EHLO ?
		    smtp_ehlo_feed(&c->rep, &c->ehlo, line, len) : smtp_reply_feed(&c->rep, line, len);
		free(line);
		if (st == SR_GARBAGE) {
			char why[100];
			textf(why, sizeof(why), "malformed reply: %s", smtp_reply_errstr(c->rep.err));
			conn_failed(c, why);
			return;
		}
		if (st == SR_DONE) {
			/* the handler may free c, or replace its bufferevent
			 * (STARTTLS), dropping what else was read with it */
			struct bufferevent *before = c->bev;
			in_reply = c;
			on_reply(c);
			if (in_reply != c || c->bev != before)
				return;
			in_reply = NULL;
		}
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (c->st == CS_BODY)
		pump_body(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	char why[300];
	if (what & BEV_EVENT_CONNECTED) {
		if (c->st == CS_CONNECTING) {
			expect_reply(c, CS_GREETING);
		} else if (c->st == CS_HANDSHAKE) {
			evtimer_del(c->ev_timer);
			tls_up(c);
		}
		return;
	}
	if (c->st == CS_HANDSHAKE) {
		char err[200];
		tls_error_text(c->bev, err, sizeof(err));
		textf(why, sizeof(why), "TLS handshake failed: %s", err);
	} else if (what & BEV_EVENT_TIMEOUT) {
		textf(why, sizeof(why), "timed out sending to the server");
	} else if (what & BEV_EVENT_EOF) {
		textf(why, sizeof(why), "connection closed by the server");
	} else {
		textf(why, sizeof(why), "%s", c->st == CS_CONNECTING ?
		    strerror(EVUTIL_SOCKET_ERROR()) : "connection lost");
	}
	conn_failed(c, why);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct conn *c = arg;
	if (c->hi == SIZE_MAX) { /* conn_new's start */
		c->hi = c->ai = 0;
		try_address(c);
		return;
	}
	if (c->st == CS_IDLE) {
		on_idle(c);
		return;
	}
	if (c->st == CS_QUIT) {
		conn_end(c, false, NULL);
		return;
	}
	conn_failed(c, c->st == CS_CONNECTING ? "connection timed out" : "timed out waiting for a reply");
}

/* ---- addresses ---- */

static void describe_peer(struct conn *c, const struct route_host *h,
    const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN] = "?";
	uint16_t port;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
	}
	textf(c->peer, sizeof(c->peer), "%s[%s]:%u", h->name, a, port);
}

/* Connects to the current address, or the next usable one. */
static void try_address(struct conn *c)
{
	while (c->hi < c->rt->nhost) {
		const struct route_host *h = host_of(c);
		if (h->dane_fail || c->ai >= h->naddr) {
			c->hi++;
			c->ai = 0;
			continue;
		}
		const struct sockaddr_storage *ss = &h->addr[c->ai];
		socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in);
		describe_peer(c, h, ss);
		c->bev = bufferevent_socket_new(relay.base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			conn_end(c, true, "4.3.0 out of memory");
			return;
		}
		set_callbacks(c);
		c->st = CS_CONNECTING;
		uint64_t ms = relay.conf->relay_timeout_ms < CONNECT_TIMEOUT_MS ?
		    relay.conf->relay_timeout_ms : CONNECT_TIMEOUT_MS;
		set_timer(c, ms);
		if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)ss, (int)len) < 0) {
			char why[400];
			textf(why, sizeof(why), "4.4.1 %s: %s", c->peer, strerror(errno));
			address_failed(c, why);
		}
		/* TCP_NODELAY: pipelined commands and replies are small */
		else if (bufferevent_getfd(c->bev) >= 0)
			set_nodelay(bufferevent_getfd(c->bev));
		return;
	}
	conn_end(c, true, c->last_err[0] ? c->last_err : "4.4.4 no address to connect to");
}

struct conn *conn_new(struct dest *d, struct route *rt)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->ev_timer = evtimer_new(relay.base, on_timer, c);
	if (c->ev_timer == NULL) {
		free(c);
		return NULL;
	}
	c->d = d;
	c->rt = rt;
	rt->refs++;
	d->nconns++;
	relay.nconns++;
	LIST_INSERT_HEAD(&conns, c, entry);
	/* started from the event loop, so the caller never sees c ended */
	c->st = CS_CONNECTING;
	event_active(c->ev_timer, EV_TIMEOUT, 0);
	c->hi = SIZE_MAX; /* marks "not started" for on_timer */
	return c;
}

static void conn_end(struct conn *c, bool exhausted, const char *error)
{
	struct dest *d = c->d;
	char err[400] = "", peer[sizeof(c->peer)];
	strlcpy(peer, c->peer, sizeof(peer));
	if (in_reply == c)
		in_reply = NULL;
	if (error)
		strlcpy(err, error, sizeof(err));
	if (c->job) {
		job_result_all(c->job, DELIVERY_TEMPFAIL, err[0] ? err : "4.4.2 connection ended",
		    c->peer, c->tlsinfo);
		job_free(c->job);
		c->job = NULL;
	}
	free_bev(c);
	event_free(c->ev_timer);
	route_unref(c->rt);
	LIST_REMOVE(c, entry);
	d->nconns--;
	relay.nconns--;
	free(c);
	dest_conn_gone(d, exhausted, err[0] ? err : NULL, peer);
}

void conn_free_all(void)
{
	while (!LIST_EMPTY(&conns))
		conn_end(LIST_FIRST(&conns), false, "4.3.0 the delivery agent is stopping");
}
