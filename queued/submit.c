/*
 * submit.c: local submissions from the sendmail command over
 * run/submit.sock (protocol in submit.h). Runs in the queue manager
 * (postern-queue, chrooted to the spool root, its one event loop); any
 * local user may connect. The submitting uid comes from SO_PEERCRED.
 * Addresses are checked with the common parser, local recipients are
 * looked up through the queue manager's auth helper, the message goes
 * through the same filter as the client's (common/msgfilter.c) into a
 * queue file written here, and the queue manager's group commit makes
 * it durable before the client hears SUB_OK.
 */
#include "submit.h"
#include "addr.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "qrecord.h"
#include "queued.h"
#include "msgfilter.h"
#include "tables.h"
#include "util.h"

#include <bsd/string.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SUB_CONN_MAX 64             /* submissions at once; accepting pauses beyond */
#define SUB_CONN_PER_UID_MAX 16     /* of those, from one uid */
#define SUB_IDLE_MAX_MS 60000       /* silence between frames, at most */
#define SUB_REPLY_MS 10000          /* to take the answer */
#define SUB_DELIVERIES_MAX 1000     /* mailboxes and remote addresses, as smtpd */
/* a SUB_BEGIN with SUB_RCPT_MAX full-length addresses */
#define SUB_DATA_MAX (4 + SUB_CHUNK_MAX)

enum sub_state {
	SS_BEGIN,      /* waiting for SUB_BEGIN */
	SS_DATA,       /* SUB_DATA until SUB_END; lookups may be out */
	SS_WAIT,       /* SUB_END is in; lookups are still out */
	SS_COMMIT,     /* with the queue manager's group commit */
	SS_CLOSING,    /* answered; closing once it is sent */
};

/* A recipient's lookup; what it resolves to is in the sub's dest[] */
struct srcpt {
	char local[ADDR_LOCAL_MAX + 1];
	bool pending;                      /* its lookup is out */
};

struct sub {
	struct sub *next, *prev;
	struct bufferevent *bev;           /* NULL once the client is gone */
	struct event *ev_deadline;
	uid_t uid;
	enum sub_state state;
	uint64_t qid;
	int fd;                            /* the queue file until it is committed, else -1 */
	char qid_text[QID_LEN + 1];        /* "" until there is a file */
	char sender[ADDR_PATH_MAX + 1];
	struct rcpt_dest *dest;            /* the recipients, nrcpt of them */
	struct srcpt *rcpts;               /* and their lookups */
	uint32_t nrcpt;
	uint32_t reqid_base;               /* rcpts[i]'s lookup: SUBMIT_REQID_BIT | (base + i) */
	uint32_t lookups;                  /* out */
	uint32_t nmb;                      /* mailboxes the answers named, in all */
	struct sm_filter filt;
};

static struct {
	struct event_base *base;
	const struct config *conf;
	struct event *ev_accept, *ev_resume;
	struct sub *subs;
	size_t nsubs;
	bool accepting, stopped;
	uint32_t next_reqid;
	uint8_t out[SM_FILTER_OUT_MAX(SUB_CHUNK_MAX)];
} s;

static void commit_sub(struct sub *u);

/* ---- accepting ---- */

static void accept_on(bool on)
{
	if (on == s.accepting || (on && s.stopped))
		return;
	s.accepting = on;
	if (on)
		event_add(s.ev_accept, NULL);
	else
		event_del(s.ev_accept);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (s.nsubs < SUB_CONN_MAX)
		accept_on(true);
}

/* ---- ending a submission ---- */

static void sub_free(struct sub *u)
{
	if (u->bev)
		bufferevent_free(u->bev);
	if (u->ev_deadline)
		event_free(u->ev_deadline);
	if (u->fd >= 0)
		qmgr_drop_file(u->qid, u->fd);
	for (uint32_t i = 0; i < u->nrcpt; i++)
		free(u->dest[i].mb);
	free(u->dest);
	free(u->rcpts);
	if (u->prev)
		u->prev->next = u->next;
	else
		s.subs = u->next;
	if (u->next)
		u->next->prev = u->prev;
	s.nsubs--;
	free(u);
	if (!s.accepting && s.nsubs < SUB_CONN_MAX)
		accept_on(true);
}

bool submit_busy(void)
{
	return s.nsubs > 0;
}

/* The client is gone (or must go) without an answer. A message with
 * the group commit stays there; its callback frees u. */
static void sub_drop(struct sub *u)
{
	if (u->state == SS_COMMIT) {
		if (u->bev) {
			bufferevent_free(u->bev);
			u->bev = NULL;
		}
		return;
	}
	sub_free(u);
}

/* Sends the one answer and closes once it is out. */
static void sub_reply(struct sub *u, uint16_t type, const struct ipc_buf *b)
{
	uint8_t hb[IPC_HDR_LEN];
	struct ipc_hdr h = { type, 0, b->err ? 0 : (uint32_t)b->len, 0 };
	struct timeval tv = { SUB_REPLY_MS / 1000, 0 };
	ipc_hdr_encode(&h, hb);
	u->state = SS_CLOSING;
	/* the last word: whether or not it can be sent, u goes by then */
	evtimer_add(u->ev_deadline, &tv);
	bufferevent_disable(u->bev, EV_READ);
	bufferevent_set_timeouts(u->bev, NULL, &tv);
	if (bufferevent_write(u->bev, hb, sizeof(hb)) < 0 ||
	    (h.len && bufferevent_write(u->bev, b->data, b->len) < 0))
		log_warnx("uid %u: could not queue the answer", (unsigned)u->uid);
	bufferevent_enable(u->bev, EV_WRITE);
}

/* Refuses the submission: logged, the file (if any) removed, the
 * client told. Not for a message with the group commit. */
static void sub_fail(struct sub *u, uint8_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sub_fail(struct sub *u, uint8_t kind, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	if (u->state == SS_CLOSING || u->state == SS_COMMIT)
		return; /* answered already (a lost helper, say, while sending), or committed */
	va_start(ap, fmt);
	/* it may quote what the client sent: one line, whatever that held */
	log_clean(why, sizeof(why), vsnprintf(why, sizeof(why), fmt, ap));
	va_end(ap);
	if (u->qid_text[0])
		log_info("%s: uid=%u: refused (%s): %s", u->qid_text, (unsigned)u->uid,
		    kind == SUB_FAIL_TEMP ? "temporary" : "permanent", why);
	else
		log_info("local submission from uid=%u refused (%s): %s", (unsigned)u->uid,
		    kind == SUB_FAIL_TEMP ? "temporary" : "permanent", why);
	if (u->fd >= 0) {
		qmgr_drop_file(u->qid, u->fd);
		u->fd = -1;
	}
	for (uint32_t i = 0; i < u->nrcpt; i++)
		u->rcpts[i].pending = false;
	u->lookups = 0;
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_u8(&b, kind);
	ipcb_cstr(&b, why);
	sub_reply(u, SUB_FAIL, &b);
	ipcb_free(&b);
}

/* ---- the group commit's answer ---- */

static void commit_done(void *arg, uint64_t qid, bool ok)
{
	struct sub *u = arg;
	char name[QID_LEN + 1];
	qid_format(qid, name);
	if (u->bev == NULL) {
		/* the client left meanwhile: the message stays queued if durable */
		log_info("%s: uid=%u: the client left before the answer%s", name, (unsigned)u->uid,
		    ok ? " (the message is queued)" : "");
		sub_free(u);
		return;
	}
	if (!ok) {
		log_warnx("%s: uid=%u: the message could not be made durable", name, (unsigned)u->uid);
		u->state = SS_WAIT; /* not with the commit any more: sub_fail may answer */
		sub_fail(u, SUB_FAIL_TEMP, "could not make the message durable");
		return;
	}
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_u64(&b, qid);
	sub_reply(u, SUB_OK, &b);
	ipcb_free(&b);
}

/* ---- frames ---- */

/* Received: first, as smtpd writes its own (RFC 5321 4.4). */
static bool write_received(struct sub *u)
{
	char date[64], hdr[512];
	rfc5322_date(date, sizeof(date), time(NULL));
	int n = snprintf(hdr, sizeof(hdr), "Received: by %s (postern) id %s (uid %u);\r\n\t%s\r\n",
	    s.conf->hostname, u->qid_text, (unsigned)u->uid, date);
	return n > 0 && (size_t)n < sizeof(hdr) && write_all(u->fd, hdr, (size_t)n);
}

static void send_lookups(struct sub *u)
{
	struct ipc_chan *auth = qmgr_auth();
	if (s.next_reqid == 0 || s.next_reqid > 0x7fffffffu - u->nrcpt)
		s.next_reqid = 1;
	u->reqid_base = s.next_reqid;
	s.next_reqid += u->nrcpt;
	for (uint32_t i = 0; i < u->nrcpt; i++) {
		struct srcpt *rc = &u->rcpts[i];
		if (u->dest[i].remote)
			continue;
		struct ipc_buf b;
		ipcb_init(&b);
		ipcb_cstr(&b, rc->local);
		int r = auth ? ipc_chan_sendb(auth, A_LOOKUP, SUBMIT_REQID_BIT | (u->reqid_base + i), &b, -1) : -1;
		ipcb_free(&b);
		if (r < 0 || u->state != SS_DATA) {
			/* a send that breaks the channel fails u through
			 * submit_lookups_lost() already */
			sub_fail(u, SUB_FAIL_TEMP, "cannot look up local recipients now");
			return;
		}
		rc->pending = true;
		u->lookups++;
	}
}

static void handle_begin(struct sub *u, const uint8_t *p, size_t len)
{
	static struct mailaddr rcpt[SUB_RCPT_MAX]; /* the queue manager is one thread */
	struct mailaddr sender;
	bool null_sender = true;
	uint32_t n = 0;
	char raw[ADDR_PATH_MAX + 1];
	enum addr_err why = ADDR_OK;
	switch (sub_begin_decode(p, len, &sender, &null_sender, rcpt, &n, raw, &why)) {
	case SUBB_OK:
		break;
	case SUBB_PROTO:
		sub_fail(u, SUB_FAIL_PERM, "protocol error");
		return;
	case SUBB_NO_RCPT:
		sub_fail(u, SUB_FAIL_DATA, "no recipients");
		return;
	case SUBB_BAD_SENDER:
		sub_fail(u, SUB_FAIL_DATA, "bad sender address <%s>: %s", raw, addr_strerror(why));
		return;
	case SUBB_BAD_RCPT:
		sub_fail(u, SUB_FAIL_DATA, "bad recipient address <%s>: %s", raw, addr_strerror(why));
		return;
	}
	if ((u->dest = calloc(n, sizeof(*u->dest))) == NULL ||
	    (u->rcpts = calloc(n, sizeof(*u->rcpts))) == NULL) {
		sub_fail(u, SUB_FAIL_TEMP, "out of memory");
		return;
	}
	u->nrcpt = n;
	/* each fits: sub_begin_decode checked the paths */
	if (!null_sender)
		addr_format(&sender, u->sender, sizeof(u->sender));
	bool any_local = false;
	for (uint32_t i = 0; i < n; i++) {
		struct rcpt_dest *d = &u->dest[i];
		addr_format(&rcpt[i], d->addr, sizeof(d->addr));
		strlcpy(u->rcpts[i].local, rcpt[i].local, sizeof(u->rcpts[i].local));
		d->remote = !config_is_local_domain(s.conf, rcpt[i].domain);
		any_local |= !d->remote;
	}
	if (!qmgr_accepting()) {
		sub_fail(u, SUB_FAIL_TEMP, "not accepting mail");
		return;
	}
	if (any_local && qmgr_auth() == NULL) {
		sub_fail(u, SUB_FAIL_TEMP, "cannot look up local recipients now");
		return;
	}
	if ((u->fd = qmgr_new_file(&u->qid)) < 0) {
		sub_fail(u, SUB_FAIL_TEMP, "cannot create a queue file");
		return;
	}
	qid_format(u->qid, u->qid_text);
	if (!write_received(u)) {
		log_warn("%s: writing queue file", u->qid_text);
		sub_fail(u, SUB_FAIL_TEMP, "error writing the queue file");
		return;
	}
	sm_filter_init(&u->filt, false);
	u->state = SS_DATA;
	send_lookups(u);
}

/* Checks the filter's flags; false (and u answered) if refused. */
static bool message_ok(struct sub *u)
{
	if (u->filt.nul)
		sub_fail(u, SUB_FAIL_DATA, "message contains NUL octets");
	else if (u->filt.long_line)
		sub_fail(u, SUB_FAIL_DATA, "message has a line longer than %d octets", SM_LINE_MAX);
	else if (u->filt.size > s.conf->max_message_size)
		sub_fail(u, SUB_FAIL_DATA, "message exceeds the size limit of %llu octets",
		    (unsigned long long)s.conf->max_message_size);
	else
		return true;
	return false;
}

static void write_out(struct sub *u, size_t n)
{
	if (n > 0 && !write_all(u->fd, s.out, n)) {
		log_warn("%s: writing queue file", u->qid_text);
		sub_fail(u, SUB_FAIL_TEMP, "error writing the queue file");
	}
}

static void handle_data(struct sub *u, const uint8_t *p, size_t len)
{
	struct ipc_rd r;
	size_t n, outlen;
	ipcr_init(&r, p, len);
	const uint8_t *chunk = ipcr_bytes(&r, SUB_CHUNK_MAX, &n);
	if (!ipcr_done(&r)) {
		sub_fail(u, SUB_FAIL_PERM, "protocol error");
		return;
	}
	sm_filter_run(&u->filt, chunk, n, s.out, &outlen);
	if (message_ok(u))
		write_out(u, outlen);
}

static void handle_end(struct sub *u)
{
	size_t outlen;
	sm_filter_finish(&u->filt, s.out, &outlen);
	if (!message_ok(u))
		return;
	write_out(u, outlen);
	if (u->state != SS_DATA)
		return;
	u->state = SS_WAIT;
	/* silence is fine from now on: the client waits for the answer */
	bufferevent_set_timeouts(u->bev, NULL, NULL);
	if (u->lookups == 0)
		commit_sub(u);
}

/* ---- lookups ---- */

static struct sub *find_lookup(uint32_t reqid, uint32_t *idx)
{
	uint32_t id = reqid & ~SUBMIT_REQID_BIT;
	for (struct sub *u = s.subs; u; u = u->next) {
		if ((u->state == SS_DATA || u->state == SS_WAIT) && u->lookups > 0 &&
		    id >= u->reqid_base && id - u->reqid_base < u->nrcpt &&
		    u->rcpts[id - u->reqid_base].pending) {
			*idx = id - u->reqid_base;
			return u;
		}
	}
	return NULL;
}

void submit_on_lookup(uint32_t reqid, uint16_t type, const uint8_t *p, size_t len)
{
	uint32_t i;
	struct sub *u = find_lookup(reqid, &i);
	if (u == NULL)
		return;
	struct rcpt_dest *rc = &u->dest[i];
	u->rcpts[i].pending = false;
	u->lookups--;
	if (type == A_LOOKUP_NONE) {
		sub_fail(u, SUB_FAIL_NOUSER, "<%s>: unknown user", rc->addr);
		return;
	}
	if (type != A_LOOKUP_OK) {
		sub_fail(u, SUB_FAIL_TEMP, "<%s>: temporary lookup failure", rc->addr);
		return;
	}
	struct ipc_rd r;
	ipcr_init(&r, p, len);
	uint32_t n = ipcr_u32(&r);
	if (n <= RESOLVE_MAX && u->nmb + n > SUB_DELIVERIES_MAX) {
		/* no more than that is ever kept for one submission */
		sub_fail(u, SUB_FAIL_DATA, "too many recipients (at most %d deliveries)", SUB_DELIVERIES_MAX);
		return;
	}
	if (n == 0 || n > RESOLVE_MAX || (rc->mb = calloc(n, sizeof(*rc->mb))) == NULL) {
		sub_fail(u, SUB_FAIL_TEMP, "<%s>: temporary lookup failure", rc->addr);
		return;
	}
	rc->nmb = n;
	u->nmb += n;
	for (uint32_t k = 0; k < n; k++) {
		size_t l = ipcr_str(&r, rc->mb[k], sizeof(rc->mb[k]));
		if (!valid_username(rc->mb[k], l))
			r.err = true;
	}
	if (!ipcr_done(&r)) {
		sub_fail(u, SUB_FAIL_TEMP, "<%s>: temporary lookup failure", rc->addr);
		return;
	}
	if (u->state == SS_WAIT && u->lookups == 0)
		commit_sub(u);
}

void submit_lookups_lost(void)
{
	for (struct sub *u = s.subs; u; u = u->next)
		if ((u->state == SS_DATA || u->state == SS_WAIT) && u->lookups > 0)
			sub_fail(u, SUB_FAIL_TEMP, "lost the user database; try again later");
}

/* ---- the commit ---- */

static void commit_sub(struct sub *u)
{
	struct qmsg m;
	uint32_t total = 0;
	for (uint32_t i = 0; i < u->nrcpt; i++) {
		const struct rcpt_dest *d = &u->dest[i];
		for (uint32_t j = 0; j < (d->remote ? 1 : d->nmb); j++)
			total += !rcpt_dest_seen_before(u->dest, i, j);
	}
	if (total == 0 || total > SUB_DELIVERIES_MAX) {
		sub_fail(u, SUB_FAIL_DATA, "too many recipients (at most %d deliveries)", SUB_DELIVERIES_MAX);
		return;
	}
	memset(&m, 0, sizeof(m));
	if ((m.rcpts = calloc(total, sizeof(*m.rcpts))) == NULL) {
		sub_fail(u, SUB_FAIL_TEMP, "out of memory");
		return;
	}
	uint64_t now = now_ms();
	m.qid = u->qid;
	m.arrival_ms = now;
	m.flags = u->filt.eightbit ? QF_8BITMIME : 0;
	strlcpy(m.sender, u->sender, sizeof(m.sender));
	strlcpy(m.client, "local", sizeof(m.client));
	for (uint32_t i = 0; i < u->nrcpt; i++) {
		const struct rcpt_dest *d = &u->dest[i];
		for (uint32_t j = 0; j < (d->remote ? 1 : d->nmb); j++) {
			if (rcpt_dest_seen_before(u->dest, i, j))
				continue;
			struct qrcpt *q = &m.rcpts[m.nrcpt++];
			q->state = RS_PENDING;
			q->next_try_ms = now;
			q->remote = d->remote;
			strlcpy(q->addr, d->addr, sizeof(q->addr));
			if (!d->remote)
				strlcpy(q->mailbox, d->mb[j], sizeof(q->mailbox));
		}
	}
	log_info("%s: uid=%u, from=<%s>", u->qid_text, (unsigned)u->uid, u->sender);
	int fd = u->fd;
	u->fd = -1;
	u->state = SS_COMMIT;
	event_del(u->ev_deadline);
	qmgr_commit(&m, fd, commit_done, u); /* takes m's recipients and fd */
}

/* ---- the connection ---- */

static void on_read(struct bufferevent *bev, void *arg)
{
	struct sub *u = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (u->state == SS_BEGIN || u->state == SS_DATA) {
		uint8_t hb[IPC_HDR_LEN];
		struct ipc_hdr h;
		if (evbuffer_copyout(in, hb, sizeof(hb)) < (ssize_t)sizeof(hb))
			return;
		bool ok = ipc_hdr_parse(hb, sizeof(hb), &h) == IPC_OK && h.flags == 0;
		if (u->state == SS_BEGIN)
			ok = ok && h.type == SUB_BEGIN && h.len <= SUB_BEGIN_MAX;
		else
			ok = ok && ((h.type == SUB_DATA && h.len <= SUB_DATA_MAX) ||
			    (h.type == SUB_END && h.len == 0));
		if (!ok) {
			sub_fail(u, SUB_FAIL_PERM, "protocol error");
			return;
		}
		size_t flen = IPC_HDR_LEN + (size_t)h.len;
		if (evbuffer_get_length(in) < flen)
			return;
		const uint8_t *p = evbuffer_pullup(in, (ssize_t)flen);
		if (p == NULL) {
			sub_fail(u, SUB_FAIL_TEMP, "out of memory");
			return;
		}
		if (h.type == SUB_BEGIN)
			handle_begin(u, p + IPC_HDR_LEN, h.len);
		else if (h.type == SUB_DATA)
			handle_data(u, p + IPC_HDR_LEN, h.len);
		else
			handle_end(u);
		if (u->state != SS_CLOSING)
			evbuffer_drain(in, flen);
	}
	if (u->state == SS_WAIT && evbuffer_get_length(in) > 0)
		sub_fail(u, SUB_FAIL_PERM, "protocol error");
	else if (u->state == SS_COMMIT)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct sub *u = arg;
	if (u->state == SS_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		sub_free(u);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct sub *u = arg;
	if ((what & BEV_EVENT_TIMEOUT) && (u->state == SS_BEGIN || u->state == SS_DATA)) {
		sub_fail(u, SUB_FAIL_TEMP, "timed out waiting for the message");
		return;
	}
	if (u->state != SS_CLOSING && u->qid_text[0])
		log_info("%s: uid=%u: the client went away%s", u->qid_text, (unsigned)u->uid,
		    u->state == SS_COMMIT ? " during the commit" : "; message dropped");
	sub_drop(u);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct sub *u = arg;
	if (u->state == SS_CLOSING)
		sub_free(u);
	else if (u->state == SS_WAIT)
		sub_fail(u, SUB_FAIL_TEMP, "timed out looking up local recipients");
	else if (u->state == SS_BEGIN || u->state == SS_DATA)
		sub_fail(u, SUB_FAIL_TEMP, "timed out waiting for the message");
}

static size_t subs_of(uid_t uid)
{
	size_t n = 0;
	for (struct sub *u = s.subs; u; u = u->next)
		n += u->uid == uid && u->state != SS_CLOSING;
	return n;
}

static void start_sub(int fd, uid_t uid)
{
	struct sub *u = calloc(1, sizeof(*u));
	if (u == NULL) {
		close(fd);
		return;
	}
	u->fd = -1;
	u->uid = uid;
	u->state = SS_BEGIN;
	u->bev = bufferevent_socket_new(s.base, fd, BEV_OPT_CLOSE_ON_FREE);
	u->ev_deadline = evtimer_new(s.base, on_deadline, u);
	if (u->bev == NULL || u->ev_deadline == NULL) {
		if (u->bev)
			bufferevent_free(u->bev);
		else
			close(fd);
		if (u->ev_deadline)
			event_free(u->ev_deadline);
		free(u);
		return;
	}
	size_t others = subs_of(uid);
	u->next = s.subs;
	if (s.subs)
		s.subs->prev = u;
	s.subs = u;
	s.nsubs++;
	bufferevent_setcb(u->bev, on_read, on_write, on_event, u);
	bufferevent_setwatermark(u->bev, EV_READ, 0, IPC_HDR_LEN + SUB_BEGIN_MAX);
	/* from the configuration in force now (a reload may change it) */
	uint64_t idle_ms = s.conf->timeout_command_ms < SUB_IDLE_MAX_MS ? s.conf->timeout_command_ms :
	    SUB_IDLE_MAX_MS;
	struct timeval idle = ms_tv(idle_ms);
	bufferevent_set_timeouts(u->bev, &idle, NULL);
	struct timeval deadline = ms_tv(s.conf->timeout_data_ms);
	evtimer_add(u->ev_deadline, &deadline);
	bufferevent_enable(u->bev, EV_READ);
	if (others >= SUB_CONN_PER_UID_MAX)
		sub_fail(u, SUB_FAIL_TEMP, "too many submissions at once from this user");
	else if (!qmgr_accepting())
		sub_fail(u, SUB_FAIL_TEMP, "not accepting mail");
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	(void)arg;
	for (int k = 0; k < 16 && s.nsubs < SUB_CONN_MAX; k++) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: try again in a second, not in a busy loop */
				struct timeval tv = { 1, 0 };
				log_warn("local submissions: accept");
				accept_on(false);
				event_add(s.ev_resume, &tv);
			}
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
			log_warn("local submissions: peer credentials");
			close(fd);
			continue;
		}
		start_sub(fd, cred.uid);
	}
	if (s.nsubs >= SUB_CONN_MAX) {
		log_warnx("local submissions: %d at once; waiting for some to finish", SUB_CONN_MAX);
		accept_on(false);
	}
}

void submit_init(struct event_base *base, int listen_fd, const struct config *conf)
{
	s.base = base;
	s.conf = conf;
	s.ev_accept = event_new(base, listen_fd, EV_READ | EV_PERSIST, on_accept, NULL);
	s.ev_resume = evtimer_new(base, on_resume, NULL);
	if (s.ev_accept == NULL || s.ev_resume == NULL)
		fatalx("local submissions: event_new");
	accept_on(true);
}

void submit_stop(void)
{
	accept_on(false);
	s.stopped = true;
}
