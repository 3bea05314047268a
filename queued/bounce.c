/*
 * bounce.c: bounces and delay warnings in queued's queue manager
 * (postern-queue, chrooted to the spool root). When recipients of a
 * message fail for good, or are still deferred after delay_warning, it
 * builds an RFC 3464 report (dsn.c) with the original's headers, finds
 * where it goes (the auth helper resolves a sender at a local domain;
 * any other goes out like remote mail) and queues it as a new message
 * from the null sender, through the same group commit as mail from
 * smtpd. Never a report about a report: a bounce that cannot be
 * delivered goes to the postmaster once (a double bounce), and a double
 * bounce that fails is dropped with a log line.
 */
#include "bounce.h"
#include "dsn.h"
#include "log.h"
#include "proto.h"
#include "smtp_reply.h"
#include "util.h"

#include <bsd/string.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define HEADERS_READ_MAX (DSN_HEADERS_MAX + 4096)
#define JOBS_MAX 10000            /* reports waiting for a lookup */

struct bounce_job {
	struct bounce_job *next;
	uint32_t reqid;               /* of its lookup; 0 while none is out */
	uint8_t flags;                /* of the report: QF_DSN, and QF_DOUBLE */
	char to[ADDR_PATH_MAX + 1];   /* where the report goes */
	char about[QID_LEN + 1];      /* the message it reports on, for logs */
	char *text;
	size_t len;
};

static struct {
	const struct bounce_env *env;
	struct bounce_job *jobs;
	size_t njobs;
	uint32_t next_reqid;
} b;

void bounce_init(const struct bounce_env *env)
{
	b.env = env;
}

/* The original's header section, from the queue file (our Received:
 * line first); malloc'd, or NULL. */
static char *read_headers(uint64_t qid, size_t *len)
{
	char name[QID_LEN + 1];
	qid_format(qid, name);
	int fd = openat(b.env->queue_dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	char *buf = malloc(HEADERS_READ_MAX + 1);
	size_t got = 0;
	ssize_t n;
	while (buf && got < HEADERS_READ_MAX &&
	    (n = read(fd, buf + got, HEADERS_READ_MAX - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (buf == NULL)
		return NULL;
	buf[got] = '\0';
	/* up to the empty line that ends the header section */
	for (size_t i = 0; i + 1 < got; i++) {
		if (buf[i] == '\n' && (buf[i + 1] == '\n' ||
		    (buf[i + 1] == '\r' && i + 2 < got && buf[i + 2] == '\n'))) {
			got = i + 1;
			break;
		}
	}
	*len = got;
	return buf;
}

/* Points the job at the postmaster (looked up as a local part; the
 * address is for the report's To: and the logs). */
static void to_postmaster(struct bounce_job *j)
{
	snprintf(j->to, sizeof(j->to), "postmaster@%.*s",
	    (int)(sizeof(j->to) - sizeof("postmaster@")), b.env->conf->domains[0]);
	j->flags |= QF_DOUBLE;
}

static void job_free(struct bounce_job *j)
{
	free(j->text);
	free(j);
}

static void unlink_job(struct bounce_job *j)
{
	for (struct bounce_job **pp = &b.jobs; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			b.njobs--;
			return;
		}
	}
}

/* Queues the report for the given recipients (local mailboxes, or one
 * remote address when nmb is 0). */
static void commit_job(struct bounce_job *j, char (*mb)[USERNAME_MAX + 1], size_t nmb)
{
	struct qmsg m;
	memset(&m, 0, sizeof(m));
	m.nrcpt = nmb ? (uint32_t)nmb : 1;
	m.rcpts = calloc(m.nrcpt, sizeof(*m.rcpts));
	if (m.rcpts == NULL) {
		log_warnx("%s: out of memory for the report to <%s>", j->about, j->to);
		return;
	}
	m.flags = j->flags; /* sender, helo and client stay empty */
	uint64_t now = now_ms();
	for (uint32_t i = 0; i < m.nrcpt; i++) {
		struct qrcpt *r = &m.rcpts[i];
		r->state = RS_PENDING;
		r->next_try_ms = now;
		r->remote = nmb == 0;
		strlcpy(r->addr, j->to, sizeof(r->addr));
		if (nmb)
			strlcpy(r->mailbox, mb[i], sizeof(r->mailbox));
	}
	m.arrival_ms = now;
	int fd = b.env->new_file(&m.qid);
	if (fd < 0 || !write_all(fd, j->text, j->len)) {
		log_warn("%s: writing the report to <%s>", j->about, j->to);
		if (fd >= 0)
			b.env->drop_file(m.qid, fd);
		qmsg_free(&m);
		return;
	}
	char name[QID_LEN + 1];
	qid_format(m.qid, name);
	log_info("%s: %s to <%s> queued as %s", j->about,
	    j->flags & QF_DOUBLE ? "double bounce" : "report", j->to, name);
	b.env->commit(&m, fd); /* takes m and fd */
}

static void lookup(struct bounce_job *j)
{
	const char *at = strrchr(j->to, '@');
	char local[ADDR_LOCAL_MAX + 1];
	size_t ll = at ? (size_t)(at - j->to) : 0;
	if (j->flags & QF_DOUBLE) {
		/* the postmaster is always here (RFC 5321 4.5.1) */
		strlcpy(local, "postmaster", sizeof(local));
	} else if (at == NULL || ll == 0 || ll > ADDR_LOCAL_MAX) {
		unlink_job(j);
		job_free(j);
		return;
	} else if (!config_is_local_domain(b.env->conf, at + 1)) {
		unlink_job(j);
		commit_job(j, NULL, 0);
		job_free(j);
		return;
	} else {
		memcpy(local, j->to, ll);
		local[ll] = '\0';
	}
	j->reqid = 0;
	if (b.env->auth == NULL || *b.env->auth == NULL)
		return; /* bounce_retry() sends it once the helper is back */
	struct ipc_buf buf;
	ipcb_init(&buf);
	ipcb_cstr(&buf, local);
	/* bit 31 is submit.c's (SUBMIT_REQID_BIT) */
	b.next_reqid = (b.next_reqid + 1) & 0x7fffffff;
	j->reqid = b.next_reqid ? b.next_reqid : ++b.next_reqid;
	if (ipc_chan_sendb(*b.env->auth, A_LOOKUP, j->reqid, &buf, -1) < 0)
		j->reqid = 0;
	ipcb_free(&buf);
}

static void add_job(struct bounce_job *j)
{
	if (b.njobs >= JOBS_MAX) {
		log_warnx("%s: too many reports waiting; the one to <%s> is dropped", j->about, j->to);
		job_free(j);
		return;
	}
	j->next = b.jobs;
	b.jobs = j;
	b.njobs++;
	lookup(j);
}

void bounce_report(const struct qmsg *m, const uint32_t *which, size_t n, bool delayed)
{
	char name[QID_LEN + 1];
	qid_format(m->qid, name);
	if (n == 0)
		return;
	struct bounce_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return;
	strlcpy(j->about, name, sizeof(j->about));
	if (m->sender[0] != '\0') {
		if (delayed && (m->flags & QF_DSN)) {
			free(j);
			return;
		}
		strlcpy(j->to, m->sender, sizeof(j->to));
		j->flags = QF_DSN;
	} else if ((m->flags & QF_DSN) && !(m->flags & QF_DOUBLE) && !delayed) {
		/* our report could not be delivered: the postmaster hears */
		j->flags = QF_DSN;
		to_postmaster(j);
	} else {
		if (!delayed)
			log_info("%s: no %s: the sender is the null sender", name,
			    m->flags & QF_DOUBLE ? "report (a double bounce failed; dropped)" : "bounce");
		free(j);
		return;
	}
	struct dsn_rcpt *r = calloc(n, sizeof(*r));
	char (*status)[16] = calloc(n, sizeof(*status));
	size_t hlen = 0;
	char *headers = read_headers(m->qid, &hlen);
	struct dsn_info info = {
		.hostname = b.env->conf->hostname,
		.sender = j->to,
		.qid = name,
		.arrival = (time_t)(m->arrival_ms / 1000),
		.now = time(NULL),
		.retry_until = (time_t)((m->arrival_ms + b.env->conf->queue_lifetime_ms) / 1000),
	};
	if (getrandom(info.random, sizeof(info.random), 0) != (ssize_t)sizeof(info.random))
		info.random[0] = info.random[1] = now_ms();
	for (size_t i = 0; r && status && i < n; i++) {
		const char *err = m->rcpts[which[i]].last_error;
		r[i].addr = m->rcpts[which[i]].addr;
		r[i].action = delayed ? DSN_DELAYED : DSN_FAILED;
		r[i].diagnostic = err[0] ? err : NULL;
		/* a remote reply starts with its code ("550 5.1.1 ..."), our own
		 * reasons with the enhanced code ("5.1.10 ...") */
		char esc[SMTP_ESC_BUF];
		if (smtp_detail_esc(err, strlen(err), esc, &r[i].smtp_diagnostic) > 0 &&
		    esc[0] == (delayed ? '4' : '5'))
			strlcpy(status[i], esc, sizeof(status[i]));
		else
			strlcpy(status[i], delayed ? "4.0.0" : "5.0.0", sizeof(status[i]));
		r[i].status = status[i]; /* dsn.c checks the syntax and falls back */
	}
	if (r && status)
		j->text = dsn_build(&info, r, n, headers, hlen, &j->len);
	free(r);
	free(status);
	free(headers);
	if (j->text == NULL) {
		log_warnx("%s: could not build the report to <%s>", name, j->to);
		free(j);
		return;
	}
	add_job(j);
}

void bounce_on_lookup(uint32_t reqid, uint16_t type, const uint8_t *p, size_t len)
{
	struct bounce_job *j = b.jobs;
	while (j && j->reqid != reqid)
		j = j->next;
	if (j == NULL || reqid == 0)
		return;
	if (type == A_LOOKUP_OK) {
		struct ipc_rd r;
		char (*mb)[USERNAME_MAX + 1] = NULL;
		ipcr_init(&r, p, len);
		uint32_t n = ipcr_u32(&r);
		if (n > 0 && n <= RESOLVE_MAX && (mb = calloc(n, sizeof(*mb))) != NULL) {
			for (uint32_t i = 0; i < n; i++)
				ipcr_str(&r, mb[i], sizeof(mb[i]));
			if (ipcr_done(&r)) {
				unlink_job(j);
				commit_job(j, mb, n);
				free(mb);
				job_free(j);
				return;
			}
		}
		free(mb);
		j->reqid = 0; /* malformed: try again later */
		return;
	}
	if (type == A_LOOKUP_NONE) {
		if (j->flags & QF_DOUBLE) {
			log_warnx("%s: no postmaster to send the double bounce to; dropped", j->about);
			unlink_job(j);
			job_free(j);
			return;
		}
		/* the sender is not (or no longer) a user here */
		log_info("%s: <%s> is unknown here; the report goes to the postmaster", j->about, j->to);
		to_postmaster(j);
		lookup(j);
		return;
	}
	j->reqid = 0; /* A_FAIL: the tables are unavailable now; later */
}

void bounce_retry(void)
{
	struct bounce_job *next;
	for (struct bounce_job *j = b.jobs; j; j = next) {
		next = j->next;
		if (j->reqid == 0)
			lookup(j);
	}
}

size_t bounce_pending(void)
{
	return b.njobs;
}

void bounce_lookups_lost(void)
{
	for (struct bounce_job *j = b.jobs; j; j = j->next)
		j->reqid = 0;
}
