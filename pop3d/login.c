/*
 * login.c: pop3d's login process (postern-pop3, chrooted to an empty
 * directory). One libevent loop serves every connection in the
 * AUTHORIZATION state (RFC 1939 4): greeting, CAPA, USER, PASS, QUIT.
 * Passwords go to the auth helper over a socketpair; on its yes (with a
 * ticket) the client connection and any pipelined input go to the root
 * monitor, which starts the user's mail session. This process never
 * sees a password hash or a mailbox. Failed logins are answered after
 * a delay that doubles per client address.
 */
#include "pop3d.h"
#include "auth.h"
#include "ipc.h"
#include "log.h"
#include "netserver.h"
#include "pop3_parse.h"
#include "privsep.h"
#include "proto.h"
#include "tables.h"
#include "ticket.h"
#include "util.h"

#include <bsd/string.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAIL_TABLE_MAX 4096     /* client addresses remembered for delays */
#define FAIL_FORGET_SEC 900     /* a quiet address starts over */
#define FAIL_DELAY_STEPS 5      /* the delay doubles up to 16 times the first */
#define USER_ARG_MAX 255

enum cstate {
	C_CMD,
	C_WAIT_AUTH,     /* the auth helper is checking the password */
	C_DELAY,         /* failed: the answer waits out the delay */
	C_FLUSH,         /* yes: our last replies are still being written */
	C_WAIT_MONITOR,  /* the monitor is starting the session */
	C_HANDED_OFF,    /* the session has the client; kept for per-IP counts */
	C_CLOSING,
};

struct fail_entry {
	struct sockaddr_storage ip;
	unsigned fails;
	time_t last;
};

struct login {
	struct config *conf;
	struct login_args *args;
	struct event_base *base;
	struct event *ev_listen[CONFIG_MAX_LISTEN];
	struct ipc_chan *auth, *ctl;
	struct slot_table conns;
	struct fail_entry *fails;
	size_t nfails;
	bool stopping;
};

struct conn {
	struct login *l;
	uint32_t slot, reqid;
	struct bufferevent *bev;
	struct sockaddr_storage peer;
	char ip[INET6_ADDRSTRLEN];
	bool loopback;
	enum cstate state;
	char user[USER_ARG_MAX + 1];
	bool have_user;
	unsigned errors;
	bool skip_line;
	struct event *ev_delay;
	char canon[USERNAME_MAX + 1];
	uint8_t ticket[TICKET_LEN];
};

static struct login lg;

static void conn_free(struct conn *c);
static void conn_process(struct conn *c);

void pop3_capa_lines(char *out, size_t outlen, bool user_allowed)
{
	snprintf(out, outlen,
	    "+OK Capability list follows\r\n"
	    "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
	    "%s"
	    "IMPLEMENTATION postern\r\n.\r\n",
	    user_allowed ? "USER\r\n" : "");
}

static void reply(struct conn *c, const char *text)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add(out, text, strlen(text));
	evbuffer_add(out, "\r\n", 2);
}

static void reply_close(struct conn *c, const char *text)
{
	reply(c, text);
	c->state = C_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
}

static void wipe_ticket(struct conn *c)
{
	explicit_bzero(c->ticket, sizeof(c->ticket));
}

/* ---- failed-login delays, per client address ---- */

static struct fail_entry *fail_find(struct login *l, const struct sockaddr_storage *ip, bool create)
{
	time_t now = time(NULL);
	struct fail_entry *oldest = NULL;
	for (size_t i = 0; i < l->nfails; i++) {
		struct fail_entry *f = &l->fails[i];
		if (now - f->last > FAIL_FORGET_SEC)
			f->fails = 0;
		if (sockaddr_same_ip(&f->ip, ip))
			return f;
		if (oldest == NULL || f->last < oldest->last)
			oldest = f;
	}
	if (!create)
		return NULL;
	struct fail_entry *f = l->nfails < FAIL_TABLE_MAX ? &l->fails[l->nfails++] : oldest;
	memset(f, 0, sizeof(*f));
	f->ip = *ip;
	return f;
}

static uint64_t fail_delay_ms(struct login *l, const struct sockaddr_storage *ip)
{
	struct fail_entry *f = fail_find(l, ip, true);
	f->fails++;
	f->last = time(NULL);
	unsigned step = f->fails - 1 < FAIL_DELAY_STEPS ? f->fails - 1 : FAIL_DELAY_STEPS - 1;
	return l->conf->auth_failure_delay_ms << step;
}

/* ---- commands ---- */

static void cmd_user(struct conn *c, const struct pop3_command *cmd)
{
	if (!c->loopback) {
		reply(c, "-ERR [AUTH] Plaintext authentication is allowed on loopback only");
		c->errors++;
		return;
	}
	if (cmd->arglen > USER_ARG_MAX) {
		reply(c, "-ERR [AUTH] User name too long");
		c->errors++;
		return;
	}
	memcpy(c->user, cmd->arg, cmd->arglen);
	c->user[cmd->arglen] = '\0';
	c->have_user = true;
	reply(c, "+OK");
}

static void cmd_pass(struct conn *c, const struct pop3_command *cmd)
{
	if (!c->loopback) {
		reply(c, "-ERR [AUTH] Plaintext authentication is allowed on loopback only");
		c->errors++;
		return;
	}
	if (!c->have_user) {
		reply(c, "-ERR Send USER first");
		c->errors++;
		return;
	}
	if (c->l->auth == NULL) {
		reply(c, "-ERR [SYS/TEMP] Authentication service unavailable, try again later");
		return;
	}
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, c->user);
	ipcb_str(&b, cmd->arg, cmd->arglen > AUTH_PASS_MAX ? AUTH_PASS_MAX + 1 : cmd->arglen);
	int r = b.err ? -1 : ipc_chan_sendb(c->l->auth, A_AUTH, c->reqid, &b, -1);
	explicit_bzero(b.data, b.len);
	ipcb_free(&b);
	if (r < 0) {
		reply(c, "-ERR [SYS/TEMP] Authentication service unavailable, try again later");
		return;
	}
	c->have_user = false;
	c->state = C_WAIT_AUTH;
	bufferevent_disable(c->bev, EV_READ);
}

static void dispatch(struct conn *c, char *line, size_t len)
{
	struct pop3_command cmd;
	enum pop3_parse_err e = pop3_parse(line, len, &cmd);
	if (e == P3E_UNKNOWN) {
		reply(c, "-ERR Unknown command");
		c->errors++;
		return;
	}
	if (e == P3E_SYNTAX) {
		reply(c, cmd.cmd == P3_PASS || cmd.cmd == P3_USER ?
		    "-ERR Syntax: USER name, PASS password" : "-ERR Syntax error in arguments");
		c->errors++;
		return;
	}
	switch (cmd.cmd) {
	case P3_CAPA: {
		char capa[256];
		pop3_capa_lines(capa, sizeof(capa), c->loopback);
		evbuffer_add(bufferevent_get_output(c->bev), capa, strlen(capa));
		break;
	}
	case P3_USER:
		cmd_user(c, &cmd);
		break;
	case P3_PASS:
		cmd_pass(c, &cmd);
		break;
	case P3_QUIT:
		reply_close(c, "+OK Logging out");
		break;
	case P3_STLS:
		reply(c, "-ERR STLS is not available on this server");
		c->errors++;
		break;
	case P3_APOP:
	case P3_AUTH:
		reply(c, "-ERR [AUTH] Use USER and PASS");
		c->errors++;
		break;
	default:
		reply(c, "-ERR Not logged in");
		c->errors++;
		break;
	}
	explicit_bzero(line, len);
}

static void conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	while (c->state == C_CMD) {
		if (c->errors >= POP3_MAX_ERRORS) {
			reply_close(c, "-ERR Too many errors, closing connection");
			return;
		}
		char line[POP3_LINE_MAX + 2];
		size_t len;
		enum line_take lt = evbuffer_take_line(in, POP3_LINE_MAX, line, &len, &c->skip_line);
		if (lt == LINE_NONE)
			return;
		if (lt == LINE_TOO_LONG) {
			reply(c, "-ERR Line too long");
			c->errors++;
			continue;
		}
		dispatch(c, line, len);
		explicit_bzero(line, sizeof(line));
	}
}

/* ---- hand-off to the monitor ---- */

static void hand_off(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = evbuffer_get_length(in);
	int fd = dup(bufferevent_getfd(c->bev));
	if (n > POP3_PIPELINED_MAX || fd < 0 || c->l->ctl == NULL) {
		if (fd >= 0)
			close(fd);
		reply_close(c, "-ERR [SYS/TEMP] Cannot start a session now, try again later");
		return;
	}
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, c->canon);
	ipcb_str(&b, (const char *)c->ticket, sizeof(c->ticket));
	ipcb_cstr(&b, c->ip);
	if (n > 0)
		ipcb_str(&b, (const char *)evbuffer_pullup(in, -1), n);
	else
		ipcb_str(&b, "", 0);
	wipe_ticket(c);
	c->state = C_WAIT_MONITOR;
	if (b.err || ipc_chan_sendb(c->l->ctl, P_SESSION, c->reqid, &b, fd) < 0)
		reply_close(c, "-ERR [SYS/TEMP] Cannot start a session now, try again later");
	ipcb_free(&b);
}

static void on_auth_answer(struct conn *c, uint16_t type, const uint8_t *p, size_t len)
{
	if (c->state != C_WAIT_AUTH)
		return;
	if (type == A_AUTH_OK) {
		struct ipc_rd r;
		size_t tl;
		ipcr_init(&r, p, len);
		ipcr_str(&r, c->canon, sizeof(c->canon));
		const uint8_t *t = ipcr_bytes(&r, TICKET_LEN, &tl);
		if (!ipcr_done(&r) || tl != TICKET_LEN) {
			reply_close(c, "-ERR [SYS/TEMP] Authentication service error");
			return;
		}
		memcpy(c->ticket, t, TICKET_LEN);
		log_info("[%s]: %s authenticated", c->ip, c->canon);
		c->state = C_FLUSH;
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			hand_off(c);
		return;
	}
	if (type == A_AUTH_NO) {
		uint64_t ms = fail_delay_ms(c->l, &c->peer);
		log_info("[%s]: authentication failed; answering in %llu ms", c->ip,
		    (unsigned long long)ms);
		c->state = C_DELAY;
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
		evtimer_add(c->ev_delay, &tv);
		return;
	}
	reply(c, "-ERR [SYS/TEMP] Authentication service unavailable, try again later");
	c->state = C_CMD;
	bufferevent_enable(c->bev, EV_READ);
	conn_process(c);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct conn *c = arg;
	reply(c, "-ERR [AUTH] Authentication failed");
	c->errors++;
	c->state = C_CMD;
	bufferevent_enable(c->bev, EV_READ);
	conn_process(c);
}

/* ---- connection events ---- */

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (c->state == C_CLOSING)
		conn_free(c);
	else if (c->state == C_FLUSH)
		hand_off(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if ((what & BEV_EVENT_TIMEOUT) && c->state != C_CLOSING) {
		log_info("[%s]: idle timeout before login", c->ip);
		reply(c, "-ERR Disconnected for inactivity");
		c->state = C_CLOSING;
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_enable(c->bev, EV_WRITE);
		return;
	}
	if (c->state == C_WAIT_MONITOR) {
		/* the monitor holds a copy of the socket; let it answer */
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	conn_free(c);
}

static void conn_free(struct conn *c)
{
	wipe_ticket(c);
	if (c->ev_delay)
		event_free(c->ev_delay);
	if (c->bev)
		bufferevent_free(c->bev);
	slots_release(&c->l->conns, c->slot);
	free(c);
}

static uint32_t count_ip(struct login *l, const struct sockaddr_storage *ss)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < l->conns.nslots; i++) {
		struct conn *c = l->conns.slots[i];
		if (c && sockaddr_same_ip(&c->peer, ss))
			n++;
	}
	return n;
}

static void refuse(int fd, const char *text)
{
	ssize_t n = write(fd, text, strlen(text));
	(void)n;
	close(fd);
}

static void conn_accept(struct login *l, int fd, const struct sockaddr_storage *peer)
{
	char ip[INET6_ADDRSTRLEN];
	sockaddr_ip_text(peer, ip);
	if (l->conns.used >= l->conf->max_sessions) {
		log_info("[%s]: refused: %u connections already", ip, l->conns.used);
		refuse(fd, "-ERR [SYS/TEMP] Too many connections, try again later\r\n");
		return;
	}
	if (count_ip(l, peer) >= l->conf->max_sessions_per_ip) {
		log_info("[%s]: refused: too many connections from this address", ip);
		refuse(fd, "-ERR [SYS/TEMP] Too many connections from your address\r\n");
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		refuse(fd, "-ERR [SYS/TEMP] Out of resources\r\n");
		return;
	}
	c->l = l;
	c->peer = *peer;
	c->loopback = sockaddr_is_loopback(peer);
	strlcpy(c->ip, ip, sizeof(c->ip));
	c->slot = slots_alloc(&l->conns, c, &c->reqid);
	c->bev = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->ev_delay = evtimer_new(l->base, on_delay, c);
	if (c->slot == SLOT_NONE || c->bev == NULL || c->ev_delay == NULL) {
		if (c->bev == NULL)
			close(fd);
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, POP3_PIPELINED_MAX);
	struct timeval tv = { (time_t)(l->conf->timeout_pop3_ms / 1000),
		(suseconds_t)((l->conf->timeout_pop3_ms % 1000) * 1000) };
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	reply(c, c->loopback ? "+OK postern POP3 server ready" :
	    "+OK postern POP3 server ready (plaintext login on loopback only)");
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void on_client(void *arg, int fd, const struct sockaddr_storage *peer)
{
	conn_accept(arg, fd, peer);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	listener_accept_all(lfd, on_client, arg);
}

/* ---- channels: auth helper and monitor ---- */

static void on_auth_msg(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	struct login *l = arg;
	if (fd >= 0)
		close(fd);
	struct conn *c = slots_lookup(&l->conns, h->reqid);
	if (c)
		on_auth_answer(c, h->type, p, h->len);
}

static void on_auth_close(struct ipc_chan *ch, void *arg)
{
	struct login *l = arg;
	log_warnx("lost connection to the auth helper");
	ipc_chan_free(ch);
	l->auth = NULL;
	for (uint32_t i = 0; i < l->conns.nslots; i++) {
		struct conn *c = l->conns.slots[i];
		if (c && c->state == C_WAIT_AUTH)
			on_auth_answer(c, A_FAIL, NULL, 0);
	}
}

static void on_ctl_msg(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	(void)p;
	struct login *l = arg;
	if (h->type == P_HELPER && fd >= 0) {
		if (l->auth)
			ipc_chan_free(l->auth);
		l->auth = ipc_chan_new(l->base, fd, on_auth_msg, on_auth_close, l);
		/* accept clients only once logins can be checked */
		for (size_t i = 0; i < l->args->nlisten && !l->stopping; i++)
			if (!event_pending(l->ev_listen[i], EV_READ, NULL))
				event_add(l->ev_listen[i], NULL);
		return;
	}
	if (fd >= 0)
		close(fd);
	struct conn *c = slots_lookup(&l->conns, h->reqid);
	if (c == NULL)
		return;
	if (h->type == P_SESSION_OK && c->state == C_WAIT_MONITOR) {
		/* the session answers PASS; our copy of the socket goes */
		bufferevent_free(c->bev);
		c->bev = NULL;
		event_del(c->ev_delay);
		c->state = C_HANDED_OFF;
	} else if (h->type == P_SESSION_FAIL && c->state == C_WAIT_MONITOR) {
		bufferevent_enable(c->bev, EV_WRITE);
		reply_close(c, "-ERR [SYS/TEMP] Cannot start a session now, try again later");
	} else if (h->type == P_SESSION_END && c->state == C_HANDED_OFF) {
		conn_free(c);
	}
}

static void on_ctl_close(struct ipc_chan *ch, void *arg)
{
	(void)ch;
	struct login *l = arg;
	log_warnx("monitor gone; exiting");
	l->ctl = NULL;
	event_base_loopexit(l->base, NULL);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct login *l = arg;
	if (l->stopping)
		return;
	l->stopping = true;
	log_info("stopping: no new connections");
	for (size_t i = 0; i < l->args->nlisten; i++) {
		event_free(l->ev_listen[i]);
		close(l->args->listen_fds[i]);
	}
	bool busy = false;
	for (uint32_t i = 0; i < l->conns.nslots; i++) {
		struct conn *c = l->conns.slots[i];
		if (c && c->state == C_CMD)
			reply_close(c, "-ERR [SYS/TEMP] Server shutting down");
		busy |= c && c->state != C_HANDED_OFF;
	}
	/* a moment for the last replies; sessions end with the monitor */
	struct timeval tv = { busy ? 2 : 0, 0 };
	event_base_loopexit(l->base, &tv);
}

int login_main(int ctl, void *arg)
{
	struct login_args *a = arg;
	struct login *l = &lg;
	log_setname("postern/pop3-login");
	l->conf = a->conf;
	l->args = a;
	char empty[PATH_MAX];
	if (snprintf(empty, sizeof(empty), "%s/empty", a->conf->spool) >= (int)sizeof(empty))
		fatalx("spool path too long");
	privsep_drop(USER_POP3, empty);
	signal(SIGPIPE, SIG_IGN);
	l->base = event_base_new();
	l->fails = calloc(FAIL_TABLE_MAX, sizeof(*l->fails));
	if (l->base == NULL || l->fails == NULL ||
	    slots_init(&l->conns, (uint32_t)a->conf->max_sessions) < 0)
		fatalx("out of memory");
	set_nonblock(ctl);
	l->ctl = ipc_chan_new(l->base, ctl, on_ctl_msg, on_ctl_close, l);
	for (size_t i = 0; i < a->nlisten; i++) {
		l->ev_listen[i] = event_new(l->base, a->listen_fds[i], EV_READ | EV_PERSIST, on_accept, l);
	}
	struct event *e_term = evsignal_new(l->base, SIGTERM, on_term, l);
	struct event *e_int = evsignal_new(l->base, SIGINT, on_term, l);
	evsignal_add(e_term, NULL);
	evsignal_add(e_int, NULL);
	log_info("ready: %zu listener(s), accepting once the auth helper is up", a->nlisten);
	event_base_dispatch(l->base);
	log_info("exiting");
	return 0;
}
