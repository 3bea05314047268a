/*
 * session.c: one SMTP session (RFC 5321) in smtpd's worker process
 * (postern-smtpd, chrooted to the spool root). Reads commands from the
 * network, asks the auth helper whether recipients exist, gets a queue
 * file from queued, streams DATA into it through the data filter and
 * answers 250 only after queued says the message is durable. Also
 * STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954) checked by the auth
 * helper, and the submission rules (RFC 6409) on ports 587 and 465.
 */
#include "smtpd.h"
#include "authfail.h"
#include "data_filter.h"
#include "hdr_scan.h"
#include "log.h"
#include "proto.h"
#include "sasl.h"
#include "smtp_parse.h"
#include "tables.h"
#include "tls.h"
#include "util.h"

#include <arpa/inet.h>
#include <bsd/string.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_ERRORS 20              /* bad commands before we hang up */
#define MAX_DELIVERIES 1000        /* mailboxes + remote addresses per message */
#define WBUF_SIZE (64 * 1024)      /* queue file write buffer */
#define OUT_HIGH_WATER (256 * 1024) /* stop reading while replies pile up */

enum sstate {
	S_GREETING,    /* greeting delay: the client must not speak yet */
	S_CMD,
	S_WAIT_AUTH,   /* the auth helper: RCPT lookup, password, sender check */
	S_AUTH_INPUT,  /* AUTH: waiting for the client's next SASL response */
	S_AUTH_DELAY,  /* AUTH failed: the answer waits out the delay */
	S_STARTTLS,    /* the 220 to STARTTLS is being flushed */
	S_WAIT_NEW,    /* waiting for a queue file */
	S_DATA,
	S_WAIT_COMMIT, /* waiting for queued to make the message durable */
	S_CLOSING,     /* last reply is being flushed */
};

enum auth_wait { W_RCPT, W_PASSWORD, W_SENDER };
enum auth_step { AS_PLAIN, AS_LOGIN_USER, AS_LOGIN_PASS };

struct session {
	struct smtpd *sd;
	enum listen_kind kind;
	uint32_t slot, reqid;
	struct bufferevent *bev;
	struct sockaddr_storage peer;
	char peer_text[INET6_ADDRSTRLEN + 2];
	enum sstate state;
	bool esmtp, helo_done;
	bool loopback;
	bool tls;                     /* the connection is under TLS */
	char tls_info[128];           /* version and cipher, for Received: */
	bool authed;
	char auth_user[USERNAME_MAX + 1]; /* canonical, once authed */
	enum auth_wait waiting;       /* what S_WAIT_AUTH waits for */
	enum auth_step auth_step;
	char auth_login[SASL_USER_MAX + 1]; /* the name being tried */
	struct event *ev_delay;
	struct hdr_scan hs;           /* submission: Date/Message-ID present? */
	bool scanning;                /* the header section has not ended yet */
	size_t hdr_start;             /* wbuf offset of the message's first byte */
	size_t scan_pos;              /* wbuf offset the scanner has reached */
	char helo[256];
	bool has_mail;
	struct mail_params mail;
	char sender[ADDR_PATH_MAX + 1];
	struct rcpt_dest *rcpts;
	size_t nrcpt;
	struct mailaddr pending;      /* the RCPT being looked up */
	uint32_t queue_epoch;         /* queued connection the file came from */
	struct data_filter df;
	int qfd;
	uint64_t qid;
	char qid_text[QID_LEN + 1];
	uint8_t *wbuf;
	size_t wlen;
	bool write_err;
	unsigned errors;
	bool skip_line;               /* discarding the rest of an overlong line */
	struct event *ev_greet;
	bool shutting_down;
};

static void session_process(struct session *s);
static void session_free(struct session *s);
static void scan_headers(struct session *s, bool at_end);

const struct sockaddr_storage *session_peer(const struct session *s) { return &s->peer; }

bool session_waiting_on(const struct session *s, bool queue)
{
	if (queue)
		return s->state == S_WAIT_NEW || s->state == S_WAIT_COMMIT || s->state == S_DATA;
	return s->state == S_WAIT_AUTH;
}

static bool is_submission(const struct session *s)
{
	return s->kind != LK_SMTP;
}

/* Passwords only under TLS, or from loopback when the config allows. */
static bool auth_allowed_here(const struct session *s)
{
	return s->tls || (s->loopback && s->sd->conf->auth_loopback_plaintext);
}

static void reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct session *s, const char *fmt, ...)
{
	va_list ap, again;
	char line[1024]; /* longer than any reply made here (RFC 5321: 512) */
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_start(ap, fmt);
	va_copy(again, ap);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(line))
		evbuffer_add(out, line, (size_t)n);
	else
		evbuffer_add_vprintf(out, fmt, again); /* never cut */
	va_end(again);
	/* refusals and failures are counted by code (posternctl stats) */
	if (n >= 3 && (line[0] == '4' || line[0] == '5'))
		smtpd_count_reject(s->sd, line, strnlen(line, sizeof(line)));
	evbuffer_add(out, "\r\n", 2);
}

/* Sends a last reply and closes once it is written. */
static void reply_close(struct session *s, const char *text)
{
	reply(s, "%s", text);
	s->state = S_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
}

static void reset_transaction(struct session *s)
{
	for (size_t i = 0; i < s->nrcpt; i++)
		free(s->rcpts[i].mb);
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpt = 0;
	s->has_mail = false;
	s->sender[0] = '\0';
	memset(&s->mail, 0, sizeof(s->mail));
}

static void queue_abort(struct session *s)
{
	if (s->qfd >= 0) {
		close(s->qfd);
		s->qfd = -1;
	}
	if (s->qid && s->sd->queue && s->queue_epoch == s->sd->queue_epoch) {
		struct ipc_buf b;
		ipcb_init(&b);
		ipcb_u64(&b, s->qid);
		ipc_chan_sendb(s->sd->queue, Q_ABORT, s->reqid, &b, -1);
		ipcb_free(&b);
	}
	s->qid = 0;
}

static void set_timeout(struct session *s, uint64_t ms)
{
	struct timeval tv = ms_tv(ms);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

static void enter_cmd(struct session *s)
{
	s->state = S_CMD;
	set_timeout(s, s->sd->conf->timeout_command_ms);
	if (s->shutting_down) {
		reply_close(s, "421 4.3.2 Service shutting down, closing transmission channel");
		return;
	}
	bufferevent_enable(s->bev, EV_READ);
}

/* ---- commands ---- */

static void cmd_helo(struct session *s, const struct smtp_cmd *c, bool esmtp)
{
	const struct config *conf = s->sd->conf;
	if (!smtp_parse_helo(c->arg, c->arglen, s->helo, sizeof(s->helo))) {
		reply(s, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
		s->errors++;
		return;
	}
	reset_transaction(s);
	s->helo_done = true;
	s->esmtp = esmtp;
	if (!esmtp) {
		reply(s, "250 %s", conf->hostname);
		return;
	}
	reply(s, "250-%s Hello %s [%s]", conf->hostname, s->helo, s->peer_text);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %llu", (unsigned long long)conf->max_message_size);
	reply(s, "250-8BITMIME");
	reply(s, "250-ENHANCEDSTATUSCODES");
	if (!s->tls && s->sd->tls)
		reply(s, "250-STARTTLS");
	if (is_submission(s) && !s->authed && auth_allowed_here(s))
		reply(s, "250-AUTH PLAIN LOGIN");
	reply(s, "250 SMTPUTF8");
}

static void addr_error_reply(struct session *s, enum addr_err e, bool sender)
{
	const char *code = sender ? "5.1.7" : "5.1.3";
	if (e == ADDR_8BIT)
		reply(s, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
	else if (e == ADDR_NULL_NOT_ALLOWED)
		reply(s, "501 %s Null recipient not allowed", code);
	else
		reply(s, "501 %s Bad %s address syntax: %s", code,
		    sender ? "sender" : "recipient", addr_strerror(e));
}

static void accept_sender(struct session *s)
{
	s->has_mail = true;
	reply(s, "250 2.1.0 Ok");
}

static void refuse_sender(struct session *s)
{
	log_info("[%s]: %s may not send as <%s>", s->peer_text, s->auth_user, s->sender);
	reply(s, "553 5.7.1 <%s>: Sender address rejected: not owned by user %s",
	    s->sender, s->auth_user);
	s->errors++;
}

/* Submission (RFC 6409 6.1): a user sends as their own addresses, the
 * aliases that lead to them, and what sender_grant gives them. The null
 * sender is allowed (auto-replies). Local addresses go to the auth
 * helper; its answer arrives in session_on_auth. */
static void check_sender(struct session *s)
{
	const struct mailaddr *a = &s->mail.addr;
	const struct config *conf = s->sd->conf;
	if (a->null || config_sender_granted(conf, s->auth_user, a->local, a->domain)) {
		accept_sender(s);
		return;
	}
	if (a->domain[0] == '\0' || !config_is_local_domain(conf, a->domain)) {
		refuse_sender(s);
		return;
	}
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, a->local);
	if (s->sd->auth == NULL || ipc_chan_sendb(s->sd->auth, A_LOOKUP, s->reqid, &b, -1) < 0) {
		ipcb_free(&b);
		reply(s, "451 4.3.0 <%s>: Temporary lookup failure", s->sender);
		return;
	}
	ipcb_free(&b);
	s->waiting = W_SENDER;
	s->state = S_WAIT_AUTH;
	bufferevent_disable(s->bev, EV_READ);
}

static void cmd_mail(struct session *s, const struct smtp_cmd *c)
{
	enum addr_err aerr;
	if (!s->helo_done) {
		reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->has_mail) {
		reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (is_submission(s) && !s->authed) {
		reply(s, auth_allowed_here(s) ? "530 5.7.0 Authentication required" :
		    "530 5.7.0 Must issue a STARTTLS command first");
		s->errors++;
		return;
	}
	if (s->sd->queue == NULL) {
		reply(s, "451 4.3.0 Queue unavailable, try again later");
		return;
	}
	enum smtp_arg_err e = smtp_parse_mail(c->arg, c->arglen, &s->mail, &aerr);
	if (e == SA_ADDR) {
		addr_error_reply(s, aerr, true);
		s->errors++;
		return;
	}
	if (e == SA_PARAM_UNKNOWN || (!s->esmtp && (s->mail.has_size || s->mail.smtputf8))) {
		reply(s, "555 5.5.4 Unsupported MAIL parameter");
		s->errors++;
		return;
	}
	if (e == SA_PARAM_SYNTAX) {
		reply(s, "501 5.5.4 Bad MAIL parameter syntax");
		s->errors++;
		return;
	}
	if (s->mail.has_size && s->mail.size > s->sd->conf->max_message_size) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	addr_format(&s->mail.addr, s->sender, sizeof(s->sender));
	if (is_submission(s))
		check_sender(s);
	else
		accept_sender(s);
}

static void add_rcpt(struct session *s, const char *addr, bool remote,
    char (*mb)[USERNAME_MAX + 1], size_t nmb)
{
	struct rcpt_dest *r = reallocarray(s->rcpts, s->nrcpt + 1, sizeof(*r));
	if (r == NULL) {
		free(mb);
		reply(s, "452 4.3.1 Insufficient system resources");
		return;
	}
	s->rcpts = r;
	size_t total = nmb ? nmb : 1;
	for (size_t i = 0; i < s->nrcpt; i++)
		total += s->rcpts[i].remote ? 1 : s->rcpts[i].nmb;
	if (total > MAX_DELIVERIES) {
		free(mb);
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	r = &s->rcpts[s->nrcpt++];
	strlcpy(r->addr, addr, sizeof(r->addr));
	r->remote = remote;
	r->mb = mb;
	r->nmb = (uint32_t)nmb; /* at most RESOLVE_MAX */
	reply(s, "250 2.1.5 Ok");
}

static void cmd_rcpt(struct session *s, const struct smtp_cmd *c)
{
	struct mailaddr a;
	enum addr_err aerr;
	char text[ADDR_PATH_MAX + 1];
	const struct config *conf = s->sd->conf;
	if (!s->has_mail) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	enum smtp_arg_err e = smtp_parse_rcpt(c->arg, c->arglen, s->mail.smtputf8, &a, &aerr);
	if (e == SA_ADDR) {
		addr_error_reply(s, aerr, false);
		s->errors++;
		return;
	}
	if (e != SA_OK) {
		reply(s, "555 5.5.4 Unsupported RCPT parameter");
		s->errors++;
		return;
	}
	if (s->nrcpt >= conf->max_recipients) {
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	addr_format(&a, text, sizeof(text));
	bool local = a.domain[0] == '\0' || config_is_local_domain(conf, a.domain);
	if (!local) {
		/* asked each time: a reload may have changed relay_networks */
		if (!s->authed && !config_is_relay_client(conf, (const struct sockaddr *)&s->peer)) {
			reply(s, "554 5.7.1 <%s>: Relay access denied", text);
			s->errors++;
			return;
		}
		add_rcpt(s, text, true, NULL, 0);
		return;
	}
	if (s->sd->auth == NULL) {
		reply(s, "451 4.3.0 <%s>: Temporary lookup failure", text);
		return;
	}
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, a.local);
	if (ipc_chan_sendb(s->sd->auth, A_LOOKUP, s->reqid, &b, -1) < 0) {
		ipcb_free(&b);
		reply(s, "451 4.3.0 <%s>: Temporary lookup failure", text);
		return;
	}
	ipcb_free(&b);
	s->pending = a;
	s->waiting = W_RCPT;
	s->state = S_WAIT_AUTH;
	bufferevent_disable(s->bev, EV_READ);
}

/* The auth helper's answer to a sender check: the address must lead to
 * the authenticated user's own mailbox. */
static void on_sender_answer(struct session *s, uint16_t type, const uint8_t *p, size_t len)
{
	if (type == A_LOOKUP_NONE) {
		refuse_sender(s);
		enter_cmd(s);
		return;
	}
	if (type != A_LOOKUP_OK) {
		reply(s, "451 4.3.0 <%s>: Temporary lookup failure", s->sender);
		enter_cmd(s);
		return;
	}
	struct ipc_rd r;
	char mb[USERNAME_MAX + 1];
	bool mine = false;
	ipcr_init(&r, p, len);
	uint32_t n = ipcr_u32(&r);
	for (uint32_t i = 0; i < n && i < RESOLVE_MAX && !r.err; i++) {
		ipcr_str(&r, mb, sizeof(mb));
		mine |= !r.err && strcmp(mb, s->auth_user) == 0;
	}
	if (!ipcr_done(&r))
		reply(s, "451 4.3.0 <%s>: Temporary lookup failure", s->sender);
	else if (mine)
		accept_sender(s);
	else
		refuse_sender(s);
	enter_cmd(s);
}

static void on_password_answer(struct session *s, uint16_t type, const uint8_t *p, size_t len);

void session_on_auth(struct session *s, uint16_t type, const uint8_t *p, size_t len)
{
	char text[ADDR_PATH_MAX + 1];
	if (s->state != S_WAIT_AUTH)
		return;
	if (s->waiting == W_PASSWORD) {
		on_password_answer(s, type, p, len);
		session_process(s);
		return;
	}
	if (s->waiting == W_SENDER) {
		on_sender_answer(s, type, p, len);
		session_process(s);
		return;
	}
	addr_format(&s->pending, text, sizeof(text));
	if (s->pending.domain[0] == '\0') /* <Postmaster>: make it a full address */
		snprintf(text, sizeof(text), "%s@%s", s->pending.local, s->sd->conf->domains[0]);
	if (type == A_LOOKUP_NONE) {
		reply(s, "550 5.1.1 <%s>: Recipient address rejected: User unknown", text);
		s->errors++;
	} else if (type == A_LOOKUP_OK) {
		struct ipc_rd r;
		ipcr_init(&r, p, len);
		uint32_t n = ipcr_u32(&r);
		char (*mb)[USERNAME_MAX + 1] = NULL;
		if (n == 0 || n > RESOLVE_MAX || (mb = calloc(n, sizeof(*mb))) == NULL) {
			reply(s, "451 4.3.0 <%s>: Temporary lookup failure", text);
		} else {
			for (uint32_t i = 0; i < n; i++)
				ipcr_str(&r, mb[i], sizeof(mb[i]));
			if (!ipcr_done(&r)) {
				free(mb);
				reply(s, "451 4.3.0 <%s>: Temporary lookup failure", text);
			} else {
				add_rcpt(s, text, false, mb, n);
			}
		}
	} else {
		reply(s, "451 4.3.0 <%s>: Temporary lookup failure", text);
	}
	enter_cmd(s);
	session_process(s);
}

static void cmd_data(struct session *s)
{
	if (!s->has_mail) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->nrcpt == 0) {
		reply(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	if (s->sd->queue == NULL || ipc_chan_send(s->sd->queue, Q_NEW, s->reqid, NULL, 0, -1) < 0) {
		reply(s, "451 4.3.0 Queue unavailable, try again later");
		return;
	}
	s->queue_epoch = s->sd->queue_epoch;
	s->state = S_WAIT_NEW;
	bufferevent_disable(s->bev, EV_READ);
}

/* RFC 5321 4.4 trace line. "with" names the protocol as RFC 3848 does
 * (S: TLS, A: authenticated). A submission client's address and HELO
 * name stay out unless submission_hide_client is off: they are often a
 * home network's, and the user asked for nothing but their mail to go. */
static size_t received_header(char *out, size_t outlen, const struct session *s, const char *date)
{
	const struct config *conf = s->sd->conf;
	char with[16], from[INET6_ADDRSTRLEN + 300] = "", tls[sizeof(s->tls_info) + 32] = "";
	snprintf(with, sizeof(with), "%s%s%s",
	    s->mail.smtputf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" : "SMTP",
	    s->tls ? "S" : "", s->authed ? "A" : "");
	if (!(s->authed && conf->submission_hide_client))
		snprintf(from, sizeof(from), "from %s ([%s])\r\n\t", s->helo, s->peer_text);
	if (s->tls || s->authed)
		snprintf(tls, sizeof(tls), "\r\n\t(%s%s%s)", s->tls ? "using " : "",
		    s->tls ? s->tls_info : "", s->authed ? (s->tls ? ", authenticated" : "authenticated") : "");
	int n = snprintf(out, outlen, "Received: %sby %s (postern) with %s id %s%s%s%s%s;\r\n\t%s\r\n",
	    from, conf->hostname, with, s->qid_text, tls,
	    s->nrcpt == 1 ? "\r\n\tfor <" : "", s->nrcpt == 1 ? s->rcpts[0].addr : "",
	    s->nrcpt == 1 ? ">" : "", date);
	return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

static void start_data(struct session *s, uint64_t qid, int fd)
{
	char date[64];
	const struct config *conf = s->sd->conf;
	s->qfd = fd;
	s->qid = qid;
	qid_format(qid, s->qid_text);
	if (s->wbuf == NULL && (s->wbuf = malloc(WBUF_SIZE)) == NULL) {
		queue_abort(s);
		reply(s, "451 4.3.0 Insufficient system resources");
		enter_cmd(s);
		return;
	}
	rfc5322_date(date, sizeof(date), time(NULL));
	s->wlen = received_header((char *)s->wbuf, WBUF_SIZE, s, date);
	/* submission completes the message (RFC 6409 8): see add_missing_headers */
	hdr_scan_init(&s->hs);
	s->scan_pos = s->hdr_start = s->wlen;
	s->scanning = s->authed;
	s->write_err = false;
	data_filter_init(&s->df);
	log_info("%s: client=[%s] helo=%s from=<%s>", s->qid_text, s->peer_text, s->helo, s->sender);
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	s->state = S_DATA;
	set_timeout(s, conf->timeout_data_ms);
	bufferevent_enable(s->bev, EV_READ);
}

static void flush_wbuf(struct session *s)
{
	if (s->wlen && !s->write_err && !write_all(s->qfd, s->wbuf, s->wlen)) {
		log_warn("%s: writing queue file", s->qid_text);
		s->write_err = true;
	}
	s->wlen = 0;
}

static void send_commit(struct session *s)
{
	struct ipc_buf b;
	uint32_t n = 0;
	ipcb_init(&b);
	ipcb_u64(&b, s->qid);
	ipcb_cstr(&b, s->sender);
	ipcb_cstr(&b, s->helo);
	ipcb_cstr(&b, s->peer_text);
	ipcb_u8(&b, (uint8_t)((s->mail.body == BODY_8BITMIME ? 1 : 0) | (s->mail.smtputf8 ? 2 : 0)));
	/* one delivery per mailbox and per remote address, however many
	 * recipients or aliases led there (the first one names it) */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			ipcb_u32(&b, n);
		for (size_t i = 0; i < s->nrcpt; i++) {
			const struct rcpt_dest *r = &s->rcpts[i];
			for (uint32_t j = 0; j < (r->remote ? 1 : r->nmb); j++) {
				if (rcpt_dest_seen_before(s->rcpts, (uint32_t)i, j))
					continue;
				if (pass == 0) {
					n++;
					continue;
				}
				ipcb_u8(&b, r->remote ? 1 : 0);
				ipcb_cstr(&b, r->addr);
				ipcb_cstr(&b, r->remote ? "" : r->mb[j]);
			}
		}
	}
	if (s->sd->queue == NULL || s->queue_epoch != s->sd->queue_epoch ||
	    ipc_chan_sendb(s->sd->queue, Q_COMMIT, s->reqid, &b, -1) < 0) {
		ipcb_free(&b);
		log_warnx("%s: queued unavailable at commit", s->qid_text);
		queue_abort(s);
		reply(s, "451 4.3.0 Queue unavailable, try again later");
		reset_transaction(s);
		enter_cmd(s);
		return;
	}
	ipcb_free(&b);
	s->state = S_WAIT_COMMIT;
	bufferevent_disable(s->bev, EV_READ);
}

/* The final "." arrived: decide, then commit or give the file back. */
static void end_data(struct session *s)
{
	const struct config *conf = s->sd->conf;
	if (s->scanning)
		scan_headers(s, true);
	flush_wbuf(s);
	if (s->qfd >= 0) {
		close(s->qfd); /* queued keeps its own descriptor to sync */
		s->qfd = -1;
	}
	const char *fail = NULL;
	if (s->df.size > conf->max_message_size)
		fail = "552 5.3.4 Message size exceeds fixed limit";
	else if (s->df.nul)
		fail = "554 5.6.0 Message contains NUL octets";
	else if (s->df.long_line)
		fail = "554 5.6.0 Message has a line longer than 998 octets";
	else if (s->write_err)
		fail = "451 4.3.0 Error writing queue file";
	if (s->df.bare)
		log_info("%s: %llu bare CR/LF normalised to CRLF", s->qid_text,
		    (unsigned long long)s->df.bare);
	if (fail) {
		log_info("%s: rejected: %s", s->qid_text, fail);
		queue_abort(s);
		reply(s, "%s", fail);
		reset_transaction(s);
		enter_cmd(s);
		return;
	}
	send_commit(s);
}

void session_on_queue(struct session *s, uint16_t type, const uint8_t *p,
    size_t len, int fd)
{
	struct ipc_rd r;
	ipcr_init(&r, p, len);
	if (s->state == S_WAIT_NEW) {
		uint64_t qid = ipcr_u64(&r);
		if (type == Q_NEW_OK && fd >= 0 && ipcr_done(&r)) {
			start_data(s, qid, fd);
		} else {
			if (fd >= 0)
				close(fd);
			reply(s, "451 4.3.0 Queue unavailable, try again later");
			enter_cmd(s);
		}
	} else if (s->state == S_WAIT_COMMIT) {
		if (fd >= 0)
			close(fd);
		if (type == Q_COMMIT_OK) {
			log_info("%s: queued, size=%llu nrcpt=%zu", s->qid_text,
			    (unsigned long long)s->df.size, s->nrcpt);
			reply(s, "250 2.0.0 Ok: queued as %s", s->qid_text);
			s->sd->accepted_msgs++;
			s->sd->stats_dirty = true;
		} else {
			char why[256];
			ipcr_str(&r, why, sizeof(why));
			log_warnx("%s: queued refused commit: %s", s->qid_text, why);
			reply(s, "451 4.3.0 Error: queue commit failed, try again later");
		}
		s->qid = 0;
		reset_transaction(s);
		enter_cmd(s);
	} else if (fd >= 0) {
		close(fd);
	}
	session_process(s);
}

void session_peer_lost(struct session *s, bool queue)
{
	if (!queue) {
		session_on_auth(s, A_FAIL, NULL, 0);
		return;
	}
	if (s->state == S_DATA)
		return; /* noticed at the end: the epoch has changed */
	s->qid = 0;
	session_on_queue(s, Q_FAIL, NULL, 0, -1);
}

/* ---- STARTTLS (RFC 3207) ---- */

static void setup_bev(struct session *s);

static void cmd_starttls(struct session *s)
{
	if (s->tls) {
		reply(s, "554 5.5.1 Error: TLS already active");
		s->errors++;
		return;
	}
	if (s->sd->tls == NULL) {
		reply(s, "502 5.5.1 Error: command not implemented");
		s->errors++;
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	s->state = S_STARTTLS;
	bufferevent_disable(s->bev, EV_READ);
}

/* The 220 is out: the same socket goes on under TLS, and the session
 * forgets what the client said before (RFC 3207 4.2). */
static void start_tls(struct session *s)
{
	size_t dropped = evbuffer_get_length(bufferevent_get_input(s->bev));
	if (dropped)
		log_info("[%s]: %zu octets sent after STARTTLS before the handshake: discarded",
		    s->peer_text, dropped);
	s->bev = tls_bev_starttls(s->bev, s->sd->tls);
	if (s->bev == NULL) {
		session_free(s);
		return;
	}
	s->tls = true;
	setup_bev(s);
	reset_transaction(s);
	s->helo_done = s->esmtp = false;
	s->authed = false; /* RFC 3207 4.2: nothing from before TLS counts */
	s->auth_user[0] = '\0';
	s->helo[0] = '\0';
	s->skip_line = false;
	bufferevent_enable(s->bev, EV_WRITE);
	enter_cmd(s);
}

/* ---- AUTH (RFC 4954) ---- */

static void auth_input(struct session *s, const char *text, size_t len);

static void cmd_auth(struct session *s, const struct smtp_cmd *c)
{
	enum smtp_auth_mech mech;
	const char *ir;
	size_t irlen;
	if (!is_submission(s)) {
		reply(s, "503 5.5.1 Error: authentication not enabled");
		s->errors++;
		return;
	}
	if (!s->esmtp) {
		reply(s, "503 5.5.1 Error: send EHLO first");
		s->errors++;
		return;
	}
	if (s->authed) {
		reply(s, "503 5.5.1 Error: already authenticated");
		s->errors++;
		return;
	}
	if (s->has_mail) {
		reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		s->errors++;
		return;
	}
	if (!auth_allowed_here(s)) {
		reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		s->errors++;
		return;
	}
	if (!smtp_parse_auth(c->arg, c->arglen, &mech, &ir, &irlen)) {
		reply(s, "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
		s->errors++;
		return;
	}
	if (mech == MECH_OTHER) {
		reply(s, "504 5.5.4 Unrecognized authentication type");
		s->errors++;
		return;
	}
	if (authfail_blocked(s->sd->authfail, &s->peer)) {
		log_info("[%s]: AUTH refused: too many failed logins from this address", s->peer_text);
		reply(s, "454 4.7.0 Too many failed authentication attempts, try again later");
		s->errors++;
		return;
	}
	s->auth_login[0] = '\0';
	s->auth_step = mech == MECH_PLAIN ? AS_PLAIN : AS_LOGIN_USER;
	s->state = S_AUTH_INPUT;
	if (ir != NULL)
		auth_input(s, ir, irlen);
	else
		reply(s, "334 %s", mech == MECH_PLAIN ? "" : "VXNlcm5hbWU6"); /* "Username:" */
}

static void send_password(struct session *s, const char *user, const uint8_t *pass, size_t plen)
{
	strlcpy(s->auth_login, user, sizeof(s->auth_login));
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, user);
	ipcb_str(&b, (const char *)pass, plen);
	int r = b.err || s->sd->auth == NULL ? -1 :
	    ipc_chan_sendb(s->sd->auth, A_AUTH, s->reqid, &b, -1);
	if (b.data)
		explicit_bzero(b.data, b.len);
	ipcb_free(&b);
	if (r < 0) {
		reply(s, "454 4.7.0 Temporary authentication failure");
		enter_cmd(s);
		return;
	}
	s->waiting = W_PASSWORD;
	s->state = S_WAIT_AUTH;
	bufferevent_disable(s->bev, EV_READ);
}

/* A SASL response: the initial one on the AUTH line, or a line of its own. */
static void auth_input(struct session *s, const char *text, size_t len)
{
	uint8_t buf[SASL_LINE_MAX];
	char authz[SASL_USER_MAX + 1], authc[SASL_USER_MAX + 1], pass[SASL_PASS_MAX + 1];
	size_t n = 0;
	enum sasl_err e = sasl_decode(text, len, buf, sizeof(buf) - 1, &n);
	s->state = S_CMD;
	if (e == SASL_CANCEL) {
		reply(s, "501 5.0.0 Authentication cancelled");
	} else if (e != SASL_OK || (s->auth_step != AS_PLAIN && memchr(buf, '\0', n) != NULL)) {
		reply(s, "501 5.5.2 Cannot decode response");
		s->errors++;
	} else if (s->auth_step == AS_LOGIN_USER) {
		if (n == 0 || n > SASL_USER_MAX) {
			reply(s, "501 5.5.2 Cannot decode response");
			s->errors++;
		} else {
			memcpy(s->auth_login, buf, n + 1);
			s->auth_step = AS_LOGIN_PASS;
			s->state = S_AUTH_INPUT;
			reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
		}
	} else if (s->auth_step == AS_LOGIN_PASS) {
		if (n > SASL_PASS_MAX) {
			reply(s, "501 5.5.2 Cannot decode response");
			s->errors++;
		} else {
			send_password(s, s->auth_login, buf, n);
		}
	} else if (sasl_plain_split(buf, n, authz, authc, pass) != SASL_OK) {
		reply(s, "501 5.5.2 Cannot decode response");
		s->errors++;
	} else if (authz[0] != '\0' && strcmp(authz, authc) != 0) {
		/* acting as someone else (a proxy login) is not offered */
		strlcpy(s->auth_login, authc, sizeof(s->auth_login));
		on_password_answer(s, A_AUTH_NO, NULL, 0);
	} else {
		send_password(s, authc, (const uint8_t *)pass, strlen(pass));
	}
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(pass, sizeof(pass));
}

static void on_password_answer(struct session *s, uint16_t type, const uint8_t *p, size_t len)
{
	if (type == A_AUTH_OK) {
		struct ipc_rd r;
		size_t tl;
		ipcr_init(&r, p, len);
		ipcr_str(&r, s->auth_user, sizeof(s->auth_user));
		(void)ipcr_bytes(&r, 64, &tl); /* a POP3 session ticket: not used here */
		if (ipcr_done(&r)) {
			s->authed = true;
			s->sd->auth_ok++;
			s->sd->stats_dirty = true;
			log_info("[%s]: %s authenticated%s%s", s->peer_text, s->auth_user,
			    s->tls ? " over " : "", s->tls ? tls_version(s->bev) : "");
			reply(s, "235 2.7.0 Authentication successful");
		} else {
			s->auth_user[0] = '\0';
			reply(s, "454 4.7.0 Temporary authentication failure");
		}
		if (p)
			explicit_bzero((void *)p, len);
		enter_cmd(s);
		return;
	}
	if (type == A_AUTH_NO) {
		s->sd->auth_failed++;
		s->sd->stats_dirty = true;
		uint64_t ms = authfail_record(s->sd->authfail, &s->peer, s->auth_login);
		log_info("[%s]: authentication failed for \"%s\"; answering in %llu ms",
		    s->peer_text, s->auth_login, (unsigned long long)ms);
		s->state = S_AUTH_DELAY;
		bufferevent_disable(s->bev, EV_READ);
		struct timeval tv = ms_tv(ms);
		evtimer_add(s->ev_delay, &tv);
		return;
	}
	reply(s, "454 4.7.0 Temporary authentication failure");
	enter_cmd(s);
}

static void on_auth_delay(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct session *s = arg;
	if (s->state != S_AUTH_DELAY)
		return; /* timed out meanwhile: closing */
	reply(s, "535 5.7.8 Authentication credentials invalid");
	s->errors++;
	enter_cmd(s);
	session_process(s);
}

static void cmd_dispatch(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd c;
	enum smtp_perr pe = smtp_cmd_parse(line, len, &c);
	if (pe == SP_NUL) {
		reply(s, "500 5.5.2 Error: NUL octet in command");
		s->errors++;
		return;
	}
	if (pe == SP_UNKNOWN_VERB) {
		reply(s, "500 5.5.2 Error: command not recognized");
		s->errors++;
		return;
	}
	if (pe == SP_SYNTAX) {
		switch (c.verb) {
		case SMTP_HELO: reply(s, "501 5.5.4 Syntax: HELO hostname"); break;
		case SMTP_EHLO: reply(s, "501 5.5.4 Syntax: EHLO hostname"); break;
		case SMTP_MAIL: reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>"); break;
		case SMTP_RCPT: reply(s, "501 5.5.4 Syntax: RCPT TO:<address>"); break;
		default: reply(s, "501 5.5.4 Syntax error in parameters"); break;
		}
		s->errors++;
		return;
	}
	switch (c.verb) {
	case SMTP_HELO: cmd_helo(s, &c, false); break;
	case SMTP_EHLO: cmd_helo(s, &c, true); break;
	case SMTP_MAIL: cmd_mail(s, &c); break;
	case SMTP_RCPT: cmd_rcpt(s, &c); break;
	case SMTP_DATA: cmd_data(s); break;
	case SMTP_RSET:
		reset_transaction(s);
		reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_NOOP: reply(s, "250 2.0.0 Ok"); break;
	case SMTP_QUIT:
		reply_close(s, "221 2.0.0 Bye");
		break;
	case SMTP_VRFY:
		reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
		break;
	case SMTP_HELP:
		reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
		break;
	case SMTP_STARTTLS: cmd_starttls(s); break;
	case SMTP_AUTH: cmd_auth(s, &c); break;
	case SMTP_EXPN: case SMTP_BDAT:
		reply(s, "502 5.5.1 Error: command not implemented");
		break;
	case SMTP_UNKNOWN:
		break;
	}
}

/* Submission: Date: and Message-ID: where the header section ends at
 * offset at of wbuf, if the message has none (RFC 6409 8.2, 8.3). The
 * header section is kept in wbuf until then; for one larger than wbuf
 * they go at its top instead, judged by its first 64 KiB. */
static void add_missing_headers(struct session *s, size_t at)
{
	char add[640], date[64];
	size_t n = 0;
	s->scanning = false;
	if (!s->hs.have_date) {
		rfc5322_date(date, sizeof(date), time(NULL));
		n += (size_t)snprintf(add + n, sizeof(add) - n, "Date: %s\r\n", date);
	}
	if (!s->hs.have_msgid)
		n += (size_t)snprintf(add + n, sizeof(add) - n, "Message-ID: <%s.%08x%08x@%s>\r\n",
		    s->qid_text, arc4random(), arc4random(), s->sd->conf->hostname);
	if (n == 0 || n >= sizeof(add))
		return;
	if (!s->write_err && (!write_all(s->qfd, s->wbuf, at) || !write_all(s->qfd, add, n)))
		s->write_err = true;
	memmove(s->wbuf, s->wbuf + at, s->wlen - at);
	s->wlen -= at;
}

static void scan_headers(struct session *s, bool at_end)
{
	size_t k = hdr_scan_run(&s->hs, s->wbuf + s->scan_pos, s->wlen - s->scan_pos);
	if (s->hs.done)
		add_missing_headers(s, s->scan_pos + k);
	else if (at_end)
		add_missing_headers(s, s->wlen);
	else
		s->scan_pos += k;
}

/* Runs the DATA filter over what is buffered; true if DATA ended. */
static bool data_input(struct session *s, struct evbuffer *in)
{
	static uint8_t out[DATA_FILTER_OUT_MAX(16384)];
	const uint64_t max = s->sd->conf->max_message_size;
	while (evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, 16384, NULL, &v, 1) < 1)
			break;
		size_t len = v.iov_len > 16384 ? 16384 : v.iov_len;
		size_t outlen;
		bool done;
		uint64_t before = s->df.size;
		size_t used = data_filter_run(&s->df, v.iov_base, len, out, &outlen, &done);
		/* write only while under the limit; the rest is read and dropped */
		if (before <= max && outlen > 0) {
			size_t keep = outlen;
			if (before + outlen > max)
				keep = (size_t)(max - before) + 1;
			if (s->wlen + keep > WBUF_SIZE) {
				/* a header section larger than wbuf: the fields go
				 * on top, where no line can be split or continued */
				if (s->scanning)
					add_missing_headers(s, s->hdr_start);
				flush_wbuf(s);
			}
			if (keep > WBUF_SIZE) {
				if (!s->write_err && !write_all(s->qfd, out, keep))
					s->write_err = true;
			} else {
				memcpy(s->wbuf + s->wlen, out, keep);
				s->wlen += keep;
				if (s->scanning)
					scan_headers(s, false);
			}
		}
		evbuffer_drain(in, used);
		if (done) {
			end_data(s);
			return true;
		}
	}
	return false;
}

/* Processes buffered input as far as the state allows. */
static void session_process(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	while (s->state == S_CMD || s->state == S_DATA || s->state == S_AUTH_INPUT) {
		if (s->state == S_DATA) {
			if (!data_input(s, in))
				return;
			continue;
		}
		if (s->errors >= MAX_ERRORS) {
			reply_close(s, "421 4.7.0 Too many errors, closing connection");
			return;
		}
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > OUT_HIGH_WATER) {
			bufferevent_disable(s->bev, EV_READ); /* resumed in on_write */
			return;
		}
		/* SMTP_LINE_MAX counts the CRLF; AUTH lines may be longer
		 * (RFC 4954 4: 12288 octets) */
		char line[SASL_LINE_MAX + 2];
		size_t len;
		enum line_take lt = evbuffer_take_line(in, SASL_LINE_MAX, line, &len, &s->skip_line);
		if (lt == LINE_NONE)
			return;
		bool auth_line = s->state == S_AUTH_INPUT ||
		    (len >= 5 && strncasecmp(line, "AUTH ", 5) == 0);
		if (lt == LINE_TOO_LONG || (len > SMTP_LINE_MAX - 2 && !auth_line)) {
			if (s->state == S_AUTH_INPUT) {
				reply(s, "500 5.5.6 Authentication exchange line is too long");
				s->state = S_CMD;
			} else {
				reply(s, "500 5.5.2 Error: line too long");
			}
			s->errors++;
			continue;
		}
		if (s->state == S_AUTH_INPUT)
			auth_input(s, line, len);
		else
			cmd_dispatch(s, line, len);
		explicit_bzero(line, len);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct session *s = arg;
	if (s->state == S_GREETING) {
		/* RFC 5321 3.1: the client waits for the greeting */
		log_info("[%s]: command sent before the greeting", s->peer_text);
		event_del(s->ev_greet);
		reply_close(s, "554 5.5.0 Protocol error: command sent before the greeting");
		return;
	}
	session_process(s);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	if (s->state == S_CLOSING) {
		session_free(s);
		return;
	}
	if (s->state == S_STARTTLS) {
		start_tls(s);
		return;
	}
	if ((s->state == S_CMD || s->state == S_AUTH_INPUT) &&
	    !(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		session_process(s);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct session *s = arg;
	if (what & BEV_EVENT_CONNECTED) {
		/* the TLS handshake is done */
		tls_describe(s->bev, s->tls_info, sizeof(s->tls_info));
		log_info("[%s]: TLS: %s", s->peer_text, s->tls_info);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->state == S_CLOSING) {
			session_free(s);
			return;
		}
		log_info("[%s]: timeout in %s", s->peer_text, s->state == S_DATA ? "DATA" : "command");
		evtimer_del(s->ev_delay);
		if (s->state == S_DATA)
			queue_abort(s);
		reply(s, "421 4.4.2 %s Error: timeout exceeded", s->sd->conf->hostname);
		s->state = S_CLOSING;
		bufferevent_disable(s->bev, EV_READ);
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	/* EOF or error: the client is gone */
	if (s->tls && s->tls_info[0] == '\0') {
		char why[256];
		tls_error_text(s->bev, why, sizeof(why));
		log_info("[%s]: TLS handshake failed: %s", s->peer_text, why);
	}
	session_free(s);
}

static void on_greet(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct session *s = arg;
	reply(s, "220 %s ESMTP postern", s->sd->conf->hostname);
	enter_cmd(s);
	session_process(s);
}

void session_shutdown(struct session *s)
{
	s->shutting_down = true;
	if (s->state == S_CMD || s->state == S_GREETING) {
		if (s->ev_greet)
			event_del(s->ev_greet);
		reply_close(s, "421 4.3.2 Service shutting down, closing transmission channel");
	}
}

static void session_free(struct session *s)
{
	queue_abort(s);
	reset_transaction(s);
	if (s->ev_greet)
		event_free(s->ev_greet);
	if (s->ev_delay)
		event_free(s->ev_delay);
	if (s->bev)
		bufferevent_free(s->bev);
	slots_release(&s->sd->sessions, s->slot);
	free(s->wbuf);
	free(s);
}

/* Turns a client away before the session starts. On an implicit-TLS
 * listener there is no handshake yet to carry the reply: just close. */
static void refuse(const struct listener *l, int fd, const char *text)
{
	if (l->kind != LK_SUBMISSIONS) {
		/* best effort: the socket is fresh, the line fits in its buffer */
		ssize_t n = write(fd, text, strlen(text));
		(void)n;
	}
	close(fd);
}

static void setup_bev(struct session *s)
{
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, 256 * 1024);
}

void session_accept(struct listener *l, int fd, const struct sockaddr_storage *peer)
{
	struct smtpd *sd = l->sd;
	const struct config *conf = sd->conf;
	char addr[INET6_ADDRSTRLEN];
	sockaddr_ip_text(peer, addr);
	if (sd->sessions.used >= conf->max_sessions) {
		log_info("[%s]: refused: %u sessions already", addr, sd->sessions.used);
		refuse(l, fd, "421 4.7.0 Error: too many connections, try again later\r\n");
		return;
	}
	/* relay_networks are our own clients: only the total limit applies */
	if (!config_is_relay_client(conf, (const struct sockaddr *)peer) &&
	    smtpd_count_ip(sd, peer) >= conf->max_sessions_per_ip) {
		log_info("[%s]: refused: too many sessions from this address", addr);
		refuse(l, fd, "421 4.7.0 Error: too many connections from your address\r\n");
		return;
	}
	struct session *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		refuse(l, fd, "421 4.3.1 Error: insufficient system resources\r\n");
		return;
	}
	s->sd = sd;
	s->kind = l->kind;
	s->loopback = sockaddr_is_loopback(peer);
	s->qfd = -1;
	s->peer = *peer;
	strlcpy(s->peer_text, addr, sizeof(s->peer_text));
	s->slot = slots_alloc(&sd->sessions, s, &s->reqid);
	sd->sessions_total++;
	sd->stats_dirty = true;
	if (l->kind == LK_SUBMISSIONS) {
		/* RFC 8314: TLS from the first byte */
		s->tls = true;
		s->bev = sd->tls ? tls_bev_accept(sd->base, fd, sd->tls) : NULL;
		fd = -1;
	} else {
		s->bev = bufferevent_socket_new(sd->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	s->ev_delay = evtimer_new(sd->base, on_auth_delay, s);
	if (s->slot == SLOT_NONE || s->bev == NULL || s->ev_delay == NULL) {
		if (s->slot != SLOT_NONE)
			slots_release(&sd->sessions, s->slot);
		if (s->bev)
			bufferevent_free(s->bev);
		else if (fd >= 0)
			close(fd);
		if (s->ev_delay)
			event_free(s->ev_delay);
		free(s);
		return;
	}
	setup_bev(s);
	log_debug("[%s]: connect", addr);
	if (conf->greeting_delay_ms > 0) {
		s->state = S_GREETING;
		s->ev_greet = evtimer_new(sd->base, on_greet, s);
		struct timeval tv = ms_tv(conf->greeting_delay_ms);
		evtimer_add(s->ev_greet, &tv);
		set_timeout(s, conf->timeout_command_ms);
		bufferevent_enable(s->bev, EV_READ | EV_WRITE);
		return;
	}
	reply(s, "220 %s ESMTP postern", conf->hostname);
	bufferevent_enable(s->bev, EV_WRITE);
	enter_cmd(s);
}
