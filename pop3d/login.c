/*
 * login.c: pop3d's login process (postern-pop3, chrooted to an empty
 * directory). One libevent loop serves every connection in the
 * AUTHORIZATION state (RFC 1939 4): greeting, CAPA, STLS (RFC 2595),
 * USER/PASS, AUTH PLAIN (RFC 5034, RFC 4616) and QUIT, with TLS from
 * the first byte on pop3s listeners (RFC 8314).
 * Who talks to it: clients; the auth helper over a socketpair
 * (passwords go there, a yes comes back with a ticket); the root
 * monitor over the control socket (the TLS certificate and key come in
 * as P_TLS at start and on SIGHUP; session requests go out). On a yes
 * the client and any input pipelined behind the login go to the
 * monitor, which starts the user's mail session. A client under TLS
 * cannot be handed over as a socket (the session is a separate
 * process with blocking plain I/O): its session gets one end of a
 * socketpair instead, and this process relays bytes between that and
 * the TLS connection until either side closes.
 * Privileges: none beyond its client sockets and the TLS private key
 * (in memory); it never sees a password hash or a mailbox. Failed
 * logins are answered after a delay per client address and user name,
 * and an address with too many failures is refused at once
 * (common/authfail.c).
 */
#include "pop3d.h"
#include "auth.h"
#include "authfail.h"
#include "ctlmsg.h"
#include "ipc.h"
#include "log.h"
#include "netserver.h"
#include "pop3_parse.h"
#include "privsep.h"
#include "proto.h"
#include "sasl.h"
#include "tables.h"
#include "ticket.h"
#include "tls.h"
#include "util.h"

#include <bsd/string.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USER_ARG_MAX 255
/* TLS relay: stop reading one side while the other side's output
 * buffer holds this much; read again once it has been written out. */
#define RELAY_HIGH (256 * 1024)

#define NOT_SECURE "-ERR [AUTH] Plaintext authentication disallowed on non-secure " \
	"(SSL/TLS) connections"
#define TOO_MANY_FAILURES "-ERR [AUTH] Too many failed logins from your address, " \
	"try again later"
#define AUTH_UNAVAILABLE "-ERR [SYS/TEMP] Authentication service unavailable, try again later"
#define NO_SESSION "-ERR [SYS/TEMP] Cannot start a session now, try again later"

enum cstate {
	C_CMD,
	C_AUTH_INPUT,    /* AUTH PLAIN: waiting for the response after "+ " */
	C_STLS,          /* "+OK Begin TLS negotiation" is being written */
	C_WAIT_AUTH,     /* the auth helper is checking the password */
	C_DELAY,         /* failed: the answer waits out the delay */
	C_FLUSH,         /* yes: our last replies are still being written */
	C_WAIT_MONITOR,  /* the monitor is starting the session */
	C_RELAY,         /* TLS: bytes go between the client and its session */
	C_HANDED_OFF,    /* the session has the client; kept for per-IP counts */
	C_CLOSING,
};

struct listener {
	struct login *l;
	int fd;
	bool implicit_tls;
	struct event *ev;
};

struct login {
	struct config *conf;
	struct event_base *base;
	struct listener listeners[CONFIG_MAX_LISTEN];
	size_t nlisten;
	struct ipc_chan *auth, *ctl;
	struct slot_table conns;
	struct authfail *af;
	SSL_CTX *tls;    /* new connections get this one; older ones keep theirs */
	bool stopping;
	/* counters for posternctl stats, pushed to the monitor (P_STATS)
	 * each second they change; the monitor writes run/pop3d.stats */
	uint64_t connections, refused, logins_ok, logins_failed, logins_blocked;
	bool stats_dirty;
	uint32_t stats_conns_sent; /* connections now, as last pushed */
	struct event *ev_stats;
};

struct conn {
	struct login *l;
	uint32_t slot, reqid;
	struct bufferevent *bev;   /* the client, plain or TLS */
	struct bufferevent *sbev;  /* TLS: our end of the socketpair to the session */
	struct sockaddr_storage peer;
	char ip[INET6_ADDRSTRLEN];
	bool loopback;
	bool tls;                  /* under TLS (pop3s, or after STLS) */
	bool tls_up;               /* the handshake is done */
	bool broken;               /* the client connection failed: no close_notify */
	bool session_ended;        /* P_SESSION_END arrived while relaying */
	enum cstate state;
	char user[USER_ARG_MAX + 1];    /* from USER */
	bool have_user;
	char tried[SASL_USER_MAX + 1];  /* the name of the login being checked */
	unsigned errors;
	bool skip_line;
	struct event *ev_delay;
	char canon[USERNAME_MAX + 1];
	uint8_t ticket[TICKET_LEN];
	uint64_t to_client, from_client; /* relayed octets */
};

static struct login lg;

static void conn_free(struct conn *c);
static void conn_process(struct conn *c);
static void setup_bev(struct conn *c);

void pop3_capa_lines(char *out, size_t outlen, unsigned flags)
{
	snprintf(out, outlen,
	    "+OK Capability list follows\r\n"
	    "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
	    "%s%s"
	    "IMPLEMENTATION postern\r\n.\r\n",
	    (flags & CAPA_STLS) ? "STLS\r\n" : "",
	    (flags & CAPA_LOGIN) ? "USER\r\nSASL PLAIN\r\n" : "");
}

/* Passwords only under TLS, or from loopback when the config allows. */
static bool login_allowed(const struct conn *c)
{
	return c->tls || (c->loopback && c->l->conf->auth_loopback_plaintext);
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
	bufferevent_enable(c->bev, EV_WRITE);
}

static void wipe_ticket(struct conn *c)
{
	explicit_bzero(c->ticket, sizeof(c->ticket));
}

static void forget_user(struct conn *c)
{
	explicit_bzero(c->user, sizeof(c->user));
	c->have_user = false;
}

/* Closes the client side; under TLS with a close_notify unless the
 * connection has failed (everything queued has been written by then). */
static void client_close(struct conn *c)
{
	if (c->bev == NULL)
		return;
	if (c->tls_up && !c->broken) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		if (ssl && SSL_shutdown(ssl) < 0)
			ERR_clear_error();
	}
	bufferevent_free(c->bev);
	c->bev = NULL;
}

/* ---- logins: USER/PASS, AUTH PLAIN ---- */

static bool refuse_blocked(struct conn *c)
{
	if (!authfail_blocked(c->l->af, &c->peer))
		return false;
	c->l->logins_blocked++;
	c->l->stats_dirty = true;
	log_info("[%s]: login refused: too many failed logins from this address", c->ip);
	reply(c, TOO_MANY_FAILURES);
	c->errors++;
	return true;
}

/* Asks the auth helper; the answer comes in on_auth_answer. */
static void send_password(struct conn *c, const char *user, const char *pass, size_t plen)
{
	if (c->l->auth == NULL) {
		reply(c, AUTH_UNAVAILABLE);
		return;
	}
	strlcpy(c->tried, user, sizeof(c->tried));
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, user);
	/* one byte too many is enough for the helper to say no */
	ipcb_str(&b, pass, plen > AUTH_PASS_MAX ? AUTH_PASS_MAX + 1 : plen);
	int r = b.err ? -1 : ipc_chan_sendb(c->l->auth, A_AUTH, c->reqid, &b, -1);
	if (b.data)
		explicit_bzero(b.data, b.len);
	ipcb_free(&b);
	if (r < 0) {
		reply(c, AUTH_UNAVAILABLE);
		return;
	}
	c->state = C_WAIT_AUTH;
	bufferevent_disable(c->bev, EV_READ);
}

/* A wrong password (or a login that cannot be right): the answer waits. */
static void auth_failed(struct conn *c)
{
	uint64_t ms = authfail_record(c->l->af, &c->peer, c->tried);
	c->l->logins_failed++;
	c->l->stats_dirty = true;
	log_info("[%s]: authentication failed for \"%s\"; answering in %llu ms", c->ip,
	    c->tried, (unsigned long long)ms);
	c->state = C_DELAY;
	bufferevent_disable(c->bev, EV_READ);
	struct timeval tv = ms_tv(ms);
	evtimer_add(c->ev_delay, &tv);
}

static void cmd_user(struct conn *c, const struct pop3_command *cmd)
{
	if (!login_allowed(c)) {
		reply(c, NOT_SECURE);
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
	if (!login_allowed(c)) {
		reply(c, NOT_SECURE);
		c->errors++;
		return;
	}
	if (!c->have_user) {
		reply(c, "-ERR Send USER first");
		c->errors++;
		return;
	}
	c->have_user = false;
	if (refuse_blocked(c))
		return;
	send_password(c, c->user, cmd->arg, cmd->arglen);
}

/* The PLAIN response (RFC 4616): on the AUTH line or after "+ ". */
static void auth_input(struct conn *c, const char *text, size_t len)
{
	uint8_t buf[SASL_LINE_MAX];
	char authz[SASL_USER_MAX + 1], authc[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	size_t n = 0;
	enum sasl_err e = sasl_decode(text, len, buf, sizeof(buf) - 1, &n);
	c->state = C_CMD;
	if (e == SASL_CANCEL) {
		reply(c, "-ERR Authentication cancelled");
	} else if (e != SASL_OK || sasl_plain_split(buf, n, authz, authc, pass) != SASL_OK) {
		reply(c, "-ERR Invalid SASL PLAIN response");
		c->errors++;
	} else if (authz[0] != '\0' && strcmp(authz, authc) != 0) {
		/* logging in as someone else (a proxy login) is not offered */
		strlcpy(c->tried, authc, sizeof(c->tried));
		auth_failed(c);
	} else {
		send_password(c, authc, pass, strlen(pass));
	}
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(pass, sizeof(pass));
}

static void cmd_auth(struct conn *c, const struct pop3_command *cmd)
{
	struct pop3_auth a;
	if (!login_allowed(c)) {
		reply(c, NOT_SECURE);
		c->errors++;
		return;
	}
	if (cmd->arg == NULL) {
		/* RFC 1734's clients ask for the list this way */
		reply(c, "+OK SASL mechanisms follow");
		reply(c, "PLAIN");
		reply(c, ".");
		return;
	}
	if (!pop3_parse_auth(cmd->arg, cmd->arglen, &a)) {
		reply(c, "-ERR Syntax: AUTH mechanism [initial-response]");
		c->errors++;
		return;
	}
	if (a.mech != P3M_PLAIN) {
		reply(c, "-ERR Unsupported authentication mechanism");
		c->errors++;
		return;
	}
	forget_user(c);
	if (refuse_blocked(c))
		return;
	if (a.ir != NULL) {
		auth_input(c, a.ir, a.irlen);
		return;
	}
	reply(c, "+ ");
	c->state = C_AUTH_INPUT;
}

/* ---- STLS (RFC 2595 4) ---- */

static void cmd_stls(struct conn *c)
{
	if (c->tls) {
		reply(c, "-ERR Command not permitted when TLS active");
		c->errors++;
		return;
	}
	if (c->l->tls == NULL) {
		reply(c, "-ERR STLS is not available on this server");
		c->errors++;
		return;
	}
	reply(c, "+OK Begin TLS negotiation");
	c->state = C_STLS;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* The +OK is out: the same socket goes on under TLS. Whatever the
 * client sent behind STLS is dropped unread (CVE-2011-0411), and the
 * AUTHORIZATION state starts over (RFC 2595 4: a USER is forgotten). */
static void start_tls(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t dropped = evbuffer_get_length(in);
	if (dropped) {
		unsigned char *p = evbuffer_pullup(in, -1);
		if (p)
			explicit_bzero(p, dropped);
		log_info("[%s]: %zu octets sent after STLS before the handshake: discarded",
		    c->ip, dropped);
	}
	c->bev = tls_bev_starttls(c->bev, c->l->tls);
	if (c->bev == NULL) {
		log_warnx("[%s]: cannot start TLS", c->ip);
		conn_free(c);
		return;
	}
	c->tls = true;
	forget_user(c);
	c->skip_line = false;
	c->state = C_CMD;
	setup_bev(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- commands ---- */

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
		unsigned flags = (login_allowed(c) ? CAPA_LOGIN : 0) |
		    (!c->tls && c->l->tls ? CAPA_STLS : 0);
		pop3_capa_lines(capa, sizeof(capa), flags);
		evbuffer_add(bufferevent_get_output(c->bev), capa, strlen(capa));
		break;
	}
	case P3_USER:
		cmd_user(c, &cmd);
		break;
	case P3_PASS:
		cmd_pass(c, &cmd);
		break;
	case P3_AUTH:
		cmd_auth(c, &cmd);
		break;
	case P3_STLS:
		cmd_stls(c);
		break;
	case P3_QUIT:
		reply_close(c, "+OK Logging out");
		break;
	case P3_APOP:
		reply(c, "-ERR APOP is not supported");
		c->errors++;
		break;
	default:
		reply(c, "-ERR Not logged in");
		c->errors++;
		break;
	}
}

static void conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	while (c->state == C_CMD || c->state == C_AUTH_INPUT) {
		if (c->errors >= POP3_MAX_ERRORS) {
			reply_close(c, "-ERR Too many errors, closing connection");
			return;
		}
		/* RFC 5034 4: the AUTH command line is a command line (its
		 * initial response must keep it within RFC 2449's 255
		 * octets); a response after "+ " may be longer */
		bool sasl = c->state == C_AUTH_INPUT;
		char line[SASL_LINE_MAX + 2];
		size_t len;
		enum line_take lt = evbuffer_take_line(in, sasl ? SASL_LINE_MAX : POP3_LINE_MAX,
		    line, &len, &c->skip_line);
		if (lt == LINE_NONE)
			return;
		if (lt == LINE_TOO_LONG) {
			reply(c, sasl ? "-ERR Authentication response too long" : "-ERR Line too long");
			c->state = C_CMD;
			c->errors++;
			continue;
		}
		if (sasl)
			auth_input(c, line, len);
		else
			dispatch(c, line, len);
		explicit_bzero(line, len);
	}
}

/* ---- hand-off to the monitor ---- */

static void hand_off_failed(struct conn *c)
{
	if (c->sbev) {
		bufferevent_free(c->sbev);
		c->sbev = NULL;
	}
	reply_close(c, NO_SESSION);
}

/* A plain client's own socket goes to the session, with what it sent
 * behind the login; a TLS client's session gets a socketpair, and the
 * pipelined input waits in our buffer for the relay. */
static void hand_off(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = c->tls ? 0 : evbuffer_get_length(in);
	int fd = -1;
	if (c->tls) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
			c->sbev = bufferevent_socket_new(c->l->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
			if (c->sbev == NULL) {
				close(sv[0]);
				close(sv[1]);
			} else {
				fd = sv[1];
			}
		} else {
			log_warn("[%s]: socketpair for the session", c->ip);
		}
	} else {
		fd = dup(bufferevent_getfd(c->bev));
	}
	if (n > POP3_PIPELINED_MAX || fd < 0 || c->l->ctl == NULL) {
		if (fd >= 0)
			close(fd);
		hand_off_failed(c);
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
	/* the channel owns fd from here */
	if (ipc_chan_sendb(c->l->ctl, P_SESSION, c->reqid, &b, fd) < 0)
		hand_off_failed(c);
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
		c->l->logins_ok++;
		c->l->stats_dirty = true;
		log_info("[%s]: %s authenticated%s%s", c->ip, c->canon, c->tls ? " over " : "",
		    c->tls ? tls_version(c->bev) : "");
		c->state = C_FLUSH;
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			hand_off(c);
		return;
	}
	if (type == A_AUTH_NO) {
		auth_failed(c);
		return;
	}
	reply(c, AUTH_UNAVAILABLE);
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

/* ---- the TLS relay between a client and its mail session ---- */

/* Moves what from has read to to's output; stops reading from while
 * to's output is over the mark (resumed in relay_drained). */
static void relay(struct bufferevent *from, struct bufferevent *to, uint64_t *count)
{
	struct evbuffer *in = bufferevent_get_input(from);
	struct evbuffer *out = bufferevent_get_output(to);
	*count += evbuffer_get_length(in);
	evbuffer_add_buffer(out, in);
	if (evbuffer_get_length(out) >= RELAY_HIGH)
		bufferevent_disable(from, EV_READ);
}

/* Both sides closed: wait for P_SESSION_END unless it has come. */
static void relay_done(struct conn *c)
{
	if (c->bev != NULL || c->sbev != NULL)
		return;
	log_info("[%s]: TLS relay closed: %llu octets to the client, %llu from it", c->ip,
	    (unsigned long long)c->to_client, (unsigned long long)c->from_client);
	if (c->session_ended)
		conn_free(c);
	else
		c->state = C_HANDED_OFF;
}

static void relay_close_session(struct conn *c)
{
	bufferevent_free(c->sbev);
	c->sbev = NULL;
}

/* The client is gone: what it sent still goes to the session, which
 * then sees the end of its input. */
static void relay_client_gone(struct conn *c, short what)
{
	if (what & BEV_EVENT_TIMEOUT)
		log_info("[%s]: client stopped reading; closing", c->ip);
	c->broken = true;
	if (c->sbev)
		relay(c->bev, c->sbev, &c->from_client);
	client_close(c);
	if (c->sbev) {
		bufferevent_disable(c->sbev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(c->sbev)) == 0)
			relay_close_session(c);
		else
			bufferevent_enable(c->sbev, EV_WRITE); /* on_sess_write closes it */
	}
	relay_done(c);
}

static void on_sess_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->bev)
		relay(bev, c->bev, &c->to_client);
	else
		evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

/* The session has taken everything we had for it. */
static void on_sess_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	if (c->bev == NULL) {
		relay_close_session(c);
		relay_done(c);
	} else {
		bufferevent_enable(c->bev, EV_READ);
	}
}

/* The session has ended (QUIT, timeout, error): its last words go to
 * the client, then the client is closed. */
static void on_sess_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	struct conn *c = arg;
	if (c->bev)
		relay(bev, c->bev, &c->to_client);
	relay_close_session(c);
	if (c->bev) {
		bufferevent_disable(c->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			client_close(c);
		else
			bufferevent_enable(c->bev, EV_WRITE); /* on_write closes it */
	}
	relay_done(c);
}

static void relay_start(struct conn *c)
{
	c->state = C_RELAY;
	if (c->broken) {
		client_close(c);
		relay_close_session(c);
		relay_done(c);
		return;
	}
	bufferevent_setcb(c->sbev, on_sess_read, on_sess_write, on_sess_event, c);
	/* the session times an idle client out; we only time out one that
	 * stops reading */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	struct timeval tv = ms_tv(c->l->conf->timeout_pop3_ms);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_enable(c->sbev, EV_READ | EV_WRITE);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	/* what the client pipelined behind its login */
	relay(c->bev, c->sbev, &c->from_client);
}

/* ---- connection events ---- */

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (c->state == C_RELAY) {
		if (c->sbev)
			relay(bev, c->sbev, &c->from_client);
		return;
	}
	conn_process(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct conn *c = arg;
	switch (c->state) {
	case C_CLOSING:
		conn_free(c);
		break;
	case C_FLUSH:
		hand_off(c);
		break;
	case C_STLS:
		start_tls(c);
		break;
	case C_RELAY:
		if (c->sbev) {
			bufferevent_enable(c->sbev, EV_READ);
		} else {
			client_close(c);
			relay_done(c);
		}
		break;
	default:
		break;
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	if (what & BEV_EVENT_CONNECTED) {
		char info[128];
		tls_describe(bev, info, sizeof(info));
		c->tls_up = true;
		log_info("[%s]: TLS: %s", c->ip, info);
		return;
	}
	if (c->state == C_RELAY) {
		relay_client_gone(c, what);
		return;
	}
	if (c->tls && !c->tls_up) {
		char why[256];
		if (what & BEV_EVENT_TIMEOUT)
			strlcpy(why, "timed out", sizeof(why));
		else
			tls_error_text(bev, why, sizeof(why));
		log_info("[%s]: TLS handshake failed: %s", c->ip, why);
		c->broken = true;
		if (c->state != C_WAIT_MONITOR)
			conn_free(c);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && c->state != C_CLOSING && c->state != C_WAIT_MONITOR) {
		log_info("[%s]: idle timeout before login", c->ip);
		reply_close(c, "-ERR Disconnected for inactivity");
		return;
	}
	c->broken = true;
	if (c->state == C_WAIT_MONITOR) {
		/* the monitor may hold a copy of the socket; let it answer */
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	conn_free(c);
}

static void conn_free(struct conn *c)
{
	wipe_ticket(c);
	forget_user(c);
	if (c->ev_delay)
		event_free(c->ev_delay);
	if (c->sbev)
		bufferevent_free(c->sbev);
	client_close(c);
	slots_release(&c->l->conns, c->slot);
	free(c);
}

static void setup_bev(struct conn *c)
{
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, POP3_PIPELINED_MAX);
	struct timeval tv = ms_tv(c->l->conf->timeout_pop3_ms);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
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

/* Turns a client away. On a pop3s listener there is no TLS session yet
 * to carry the answer: just close. */
static void refuse(const struct listener *li, int fd, const char *text)
{
	if (!li->implicit_tls) {
		ssize_t n = write(fd, text, strlen(text));
		(void)n;
	}
	close(fd);
}

static const char *greeting(const struct conn *c)
{
	bool loopback_ok = c->l->conf->auth_loopback_plaintext;
	if (login_allowed(c))
		return "+OK postern POP3 server ready";
	if (c->l->tls)
		return loopback_ok ?
		    "+OK postern POP3 server ready (STLS first: plaintext login on loopback only)" :
		    "+OK postern POP3 server ready (STLS first: no plaintext login)";
	return loopback_ok ? "+OK postern POP3 server ready (plaintext login on loopback only)" :
	    "+OK postern POP3 server ready (no login without TLS)";
}

static void conn_accept(struct listener *li, int fd, const struct sockaddr_storage *peer)
{
	struct login *l = li->l;
	char ip[INET6_ADDRSTRLEN];
	sockaddr_ip_text(peer, ip);
	l->stats_dirty = true;
	if (l->conns.used >= l->conf->max_sessions) {
		l->refused++;
		log_info("[%s]: refused: %u connections already", ip, l->conns.used);
		refuse(li, fd, "-ERR [SYS/TEMP] Too many connections, try again later\r\n");
		return;
	}
	if (count_ip(l, peer) >= l->conf->max_sessions_per_ip) {
		l->refused++;
		log_info("[%s]: refused: too many connections from this address", ip);
		refuse(li, fd, "-ERR [SYS/TEMP] Too many connections from your address\r\n");
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		l->refused++;
		refuse(li, fd, "-ERR [SYS/TEMP] Out of resources\r\n");
		return;
	}
	l->connections++;
	c->l = l;
	c->peer = *peer;
	c->loopback = sockaddr_is_loopback(peer);
	strlcpy(c->ip, ip, sizeof(c->ip));
	c->slot = slots_alloc(&l->conns, c, &c->reqid);
	if (li->implicit_tls) {
		/* RFC 8314: TLS from the first byte; the greeting waits for
		 * the handshake */
		c->tls = true;
		c->bev = l->tls ? tls_bev_accept(l->base, fd, l->tls) : NULL;
		if (l->tls == NULL)
			close(fd);
	} else {
		c->bev = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL)
			close(fd);
	}
	c->ev_delay = evtimer_new(l->base, on_delay, c);
	if (c->slot == SLOT_NONE || c->bev == NULL || c->ev_delay == NULL) {
		if (c->slot == SLOT_NONE) {
			/* conn_free would release a slot we do not have */
			if (c->bev)
				bufferevent_free(c->bev);
			if (c->ev_delay)
				event_free(c->ev_delay);
			free(c);
			return;
		}
		c->broken = true;
		conn_free(c);
		return;
	}
	setup_bev(c);
	reply(c, greeting(c));
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

/* The auth helper's channel is gone (closed, or replaced by a new
 * helper's): the logins waiting on it get a temporary failure now. */
static void auth_lost(struct login *l)
{
	ipc_chan_free(l->auth);
	l->auth = NULL;
	for (uint32_t i = 0; i < l->conns.nslots; i++) {
		struct conn *c = l->conns.slots[i];
		if (c && c->state == C_WAIT_AUTH)
			on_auth_answer(c, A_FAIL, NULL, 0);
	}
}

static void on_auth_close(struct ipc_chan *ch, void *arg)
{
	(void)ch;
	struct login *l = arg;
	log_warnx("lost connection to the auth helper");
	auth_lost(l);
}

/* Clients are taken only once logins can be checked and, with a
 * certificate configured, once TLS can be offered. */
static void start_listening(struct login *l)
{
	if (l->stopping || l->auth == NULL || (l->conf->tls_certificate[0] && l->tls == NULL))
		return;
	for (size_t i = 0; i < l->nlisten; i++)
		if (!event_pending(l->listeners[i].ev, EV_READ, NULL))
			event_add(l->listeners[i].ev, NULL);
}

static void on_ctl_msg(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *p, int fd, void *arg)
{
	(void)ch;
	struct login *l = arg;
	if (h->type == P_TLS && fd < 0) {
		tls_ctx_replace(&l->tls, (uint8_t *)p, h->len);
		start_listening(l);
		return;
	}
	if (h->type == P_CONFIG && fd < 0) {
		/* sessions are the monitor's children: they start from its copy */
		config_apply_frame(l->conf, p, h->len);
		if (l->auth)
			ipc_chan_send(l->auth, P_CONFIG, 0, p, h->len, -1);
		return;
	}
	if (h->type == P_HELPER && fd >= 0) {
		if (l->auth)
			auth_lost(l);
		l->auth = ipc_chan_new(l->base, fd, on_auth_msg, on_auth_close, l);
		start_listening(l);
		return;
	}
	if (fd >= 0)
		close(fd);
	struct conn *c = slots_lookup(&l->conns, h->reqid);
	if (c == NULL)
		return;
	if (h->type == P_SESSION_OK && c->state == C_WAIT_MONITOR) {
		event_del(c->ev_delay);
		if (c->sbev) {
			relay_start(c);
		} else {
			/* the session answers PASS; our copy of the socket goes */
			bufferevent_free(c->bev);
			c->bev = NULL;
			c->state = C_HANDED_OFF;
		}
	} else if (h->type == P_SESSION_FAIL && c->state == C_WAIT_MONITOR) {
		if (c->broken) {
			conn_free(c);
			return;
		}
		bufferevent_enable(c->bev, EV_WRITE);
		hand_off_failed(c);
	} else if (h->type == P_SESSION_END) {
		if (c->state == C_HANDED_OFF)
			conn_free(c);
		else if (c->state == C_RELAY)
			c->session_ended = true; /* freed once the relay has closed */
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
	for (size_t i = 0; i < l->nlisten; i++) {
		event_free(l->listeners[i].ev);
		close(l->listeners[i].fd);
	}
	bool busy = false;
	for (uint32_t i = 0; i < l->conns.nslots; i++) {
		struct conn *c = l->conns.slots[i];
		if (c && (c->state == C_CMD || c->state == C_AUTH_INPUT))
			reply_close(c, "-ERR [SYS/TEMP] Server shutting down");
		busy |= c && c->state != C_HANDED_OFF;
	}
	/* a moment for the last replies; sessions end with the monitor */
	struct timeval tv = { busy ? 2 : 0, 0 };
	event_base_loopexit(l->base, &tv);
}

/* P_STATS: this process's counters, absolute; the monitor adds its
 * mail sessions and writes them where posternctl stats reads them. */
static void push_stats(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct login *l = arg;
	if (l->ctl == NULL || (!l->stats_dirty && l->stats_conns_sent == l->conns.used))
		return;
	const struct stat_kv kv[] = {
		{ "pop3d_connections_total", l->connections },
		{ "pop3d_connections_now", l->conns.used },
		{ "pop3d_refused_total", l->refused },
		{ "pop3d_logins_total{result=\"ok\"}", l->logins_ok },
		{ "pop3d_logins_total{result=\"failed\"}", l->logins_failed },
		{ "pop3d_logins_total{result=\"blocked\"}", l->logins_blocked },
	};
	struct ipc_buf b;
	ipcb_init(&b);
	ctlmsg_stats_encode(&b, kv, sizeof(kv) / sizeof(kv[0]));
	if (ipc_chan_sendb(l->ctl, P_STATS, 0, &b, -1) == 0) {
		l->stats_dirty = false;
		l->stats_conns_sent = l->conns.used;
	}
	ipcb_free(&b);
}

int login_main(int ctl, void *arg)
{
	struct login_args *a = arg;
	struct login *l = &lg;
	log_setname("postern/pop3-login");
	l->conf = a->conf;
	char empty[PATH_MAX];
	if (snprintf(empty, sizeof(empty), "%s/empty", a->conf->spool) >= (int)sizeof(empty))
		fatalx("spool path too long");
	privsep_drop(USER_POP3, empty);
	signal(SIGPIPE, SIG_IGN);
	l->base = event_base_new();
	l->af = authfail_new(a->conf->auth_failure_delay_ms, a->conf->auth_failure_limit);
	if (l->base == NULL || l->af == NULL ||
	    slots_init(&l->conns, (uint32_t)a->conf->max_sessions) < 0)
		fatalx("out of memory");
	set_nonblock(ctl);
	l->ctl = ipc_chan_new(l->base, ctl, on_ctl_msg, on_ctl_close, l);
	l->nlisten = a->nlisten;
	for (size_t i = 0; i < a->nlisten; i++) {
		struct listener *li = &l->listeners[i];
		li->l = l;
		li->fd = a->listen_fds[i];
		li->implicit_tls = a->implicit_tls[i];
		li->ev = event_new(l->base, li->fd, EV_READ | EV_PERSIST, on_accept, li);
		if (li->ev == NULL)
			fatalx("out of memory");
	}
	struct event *e_term = evsignal_new(l->base, SIGTERM, on_term, l);
	struct event *e_int = evsignal_new(l->base, SIGINT, on_term, l);
	evsignal_add(e_term, NULL);
	evsignal_add(e_int, NULL);
	/* the first push (all zero) tells posternctl that pop3d is up */
	l->stats_dirty = true;
	l->ev_stats = event_new(l->base, -1, EV_PERSIST, push_stats, l);
	struct timeval second = { 1, 0 };
	if (l->ev_stats == NULL || event_add(l->ev_stats, &second) < 0)
		fatalx("out of memory");
	log_info("ready: %zu listener(s), accepting once the auth helper%s up", a->nlisten,
	    a->conf->tls_certificate[0] ? " and TLS are" : " is");
	event_base_dispatch(l->base);
	log_info("exiting");
	return 0;
}
