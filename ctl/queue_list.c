/*
 * queue_list.c: see queue_list.h. Runs in posternctl, as root or as a
 * member of group postern-admin; reads the index, never writes it.
 */
#include "queue_list.h"
#include "util.h"

#include <bsd/string.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

bool qfilter_state(const char *name, int *state)
{
	for (int s = 0; s <= RS_MAX; s++)
		if (strcmp(name, rcpt_state_name((uint8_t)s)) == 0) {
			*state = s;
			return true;
		}
	return false;
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

static bool sender_match(const char *want, const char *sender)
{
	if (strcmp(want, "<>") == 0)
		return sender[0] == '\0';
	if (want[0] == '@')
		return strchr(sender, '@') && strcasecmp(domain_of(sender), want + 1) == 0;
	return strcasecmp(want, sender) == 0;
}

bool qfilter_match(const struct qfilter *f, const struct qmsg *m, uint64_t now)
{
	uint64_t age = now > m->arrival_ms ? now - m->arrival_ms : 0;
	if (f->sender && !sender_match(f->sender, m->sender))
		return false;
	if (f->older_ms && age < f->older_ms)
		return false;
	if (f->newer_ms && age >= f->newer_ms)
		return false;
	if (f->domain) {
		bool any = false;
		for (uint32_t i = 0; i < m->nrcpt && !any; i++)
			any = !rcpt_is_final(&m->rcpts[i]) &&
			    strcasecmp(domain_of(m->rcpts[i].addr), f->domain) == 0;
		if (!any)
			return false;
	}
	if (f->state >= 0) {
		bool any = false;
		for (uint32_t i = 0; i < m->nrcpt && !any; i++)
			any = m->rcpts[i].state == f->state;
		if (!any)
			return false;
	}
	return true;
}

int qlist_open(struct qindex *idx, const char *spool, char *err, size_t errlen)
{
	char dir[4096], path[4096];
	textf(dir, sizeof(dir), "%s/index", spool);
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	for (size_t i = 0; i < 2; i++) {
		textf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (access(path, i == 0 ? R_OK : R_OK | W_OK) < 0) {
			int e = errno;
			if (e == EACCES || e == EPERM) {
				textf(err, errlen, "%s: permission denied (the queue commands need root "
				    "or group postern-admin)", path);
				return EXIT_DENIED;
			}
			textf(err, errlen, "%s: %s (has queued run with this spool?)", path, strerror(e));
			return EXIT_FAIL;
		}
	}
	int rc = qindex_open(idx, dir, true);
	if (rc != 0) {
		textf(err, errlen, "%s: %s", dir, rc == EACCES ? "permission denied (the queue "
		    "commands need root or group postern-admin)" : mdb_strerror(rc));
		return rc == EACCES ? EXIT_DENIED : EXIT_FAIL;
	}
	return EXIT_OK;
}

int qlist_each(struct qindex *idx, const struct qfilter *f, bool (*cb)(const struct qmsg *m, void *arg),
    void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t now = now_ms();
	int rc = mdb_txn_begin(idx->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, idx->msgs, &cur)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	/* ids grow with arrival time: key order is arrival order */
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		struct qmsg m;
		if (k.mv_size == 8 && qrecord_decode(v.mv_data, v.mv_size, &m)) {
			bool go_on = true;
			if (f == NULL || qfilter_match(f, &m, now))
				go_on = cb(&m, arg);
			qmsg_free(&m);
			if (!go_on)
				break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int qlist_get(struct qindex *idx, uint64_t qid, struct qmsg *m)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(idx->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return rc;
	rc = qindex_get(idx, txn, qid, m);
	mdb_txn_abort(txn);
	return rc;
}

/* ---- formatting ---- */

void iso_time(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	putc('"', out);
	while (*p) {
		/* plain ASCII in one write: addresses are mostly nothing else */
		size_t run = 0;
		while (p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
			run++;
		if (run) {
			fwrite(p, 1, run, out);
			p += run;
			continue;
		}
		size_t n = utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", out);
			p++;
		} else if (*p == '"' || *p == '\\') {
			putc('\\', out);
			putc(*p++, out);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p++);
		} else {
			fwrite(p, 1, n, out);
			p += n;
		}
	}
	putc('"', out);
}

/* Text output quotes nothing but must not let a stored string (a remote
 * server's reply) write control characters to a terminal. */
static void safe_text(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t run = 0;
		while (p[run] && !(p[run] < 0x20 || p[run] == 0x7f))
			run++;
		fwrite(p, 1, run, out);
		p += run;
		if (*p) {
			putc('?', out);
			p++;
		}
	}
}

void qshow_text(FILE *out, const struct qmsg *m)
{
	char id[QID_LEN + 1], when[32];
	qid_format(m->qid, id);
	iso_time(m->arrival_ms, when);
	fprintf(out, "%s %8llu %s <", id, (unsigned long long)m->size, when);
	safe_text(out, m->sender);
	fputs(">", out);
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		const struct qrcpt *r = &m->rcpts[i];
		fputs(i ? "; " : " ", out);
		safe_text(out, r->addr);
		fprintf(out, " %s", rcpt_state_name(r->state));
		if (r->last_error[0] && !rcpt_is_final(r)) {
			fputs(" (", out);
			safe_text(out, r->last_error);
			fputs(")", out);
		}
	}
	fputc('\n', out);
}

/* a message's flags by name, for both views */
static const struct { uint8_t bit; const char *name; } flag_names[] = {
	{ QF_8BITMIME, "8bitmime" }, { QF_SMTPUTF8, "smtputf8" }, { QF_DSN, "report" },
	{ QF_WARNED, "delay-warned" },
};
#define NFLAGS (sizeof(flag_names) / sizeof(flag_names[0]))

static void flags_json(FILE *out, uint8_t flags)
{
	bool first = true;
	fputc('[', out);
	for (size_t i = 0; i < NFLAGS; i++)
		if (flags & flag_names[i].bit) {
			fprintf(out, "%s\"%s\"", first ? "" : ",", flag_names[i].name);
			first = false;
		}
	fputc(']', out);
}

void qshow_json(FILE *out, const struct qmsg *m)
{
	char id[QID_LEN + 1], when[32];
	qid_format(m->qid, id);
	iso_time(m->arrival_ms, when);
	fprintf(out, "{\"id\":\"%s\",\"size\":%llu,\"arrival\":\"%s\",\"arrival_ms\":%llu,\"sender\":", id,
	    (unsigned long long)m->size, when, (unsigned long long)m->arrival_ms);
	json_string(out, m->sender);
	fputs(",\"client\":", out);
	json_string(out, m->client);
	fputs(",\"helo\":", out);
	json_string(out, m->helo);
	fputs(",\"flags\":", out);
	flags_json(out, m->flags);
	fputs(",\"recipients\":[", out);
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		const struct qrcpt *r = &m->rcpts[i];
		fputs(i ? ",{\"address\":" : "{\"address\":", out);
		json_string(out, r->addr);
		fprintf(out, ",\"delivery\":\"%s\",\"mailbox\":", r->remote ? "remote" : "local");
		json_string(out, r->mailbox);
		fprintf(out, ",\"state\":\"%s\",\"attempts\":%u", rcpt_state_name(r->state), r->attempts);
		if ((r->state == RS_PENDING || r->state == RS_DEFERRED) && r->next_try_ms) {
			iso_time(r->next_try_ms, when);
			fprintf(out, ",\"next_try\":\"%s\"", when);
		} else {
			fputs(",\"next_try\":null", out);
		}
		fputs(",\"last_error\":", out);
		json_string(out, r->last_error);
		fputc('}', out);
	}
	fputs("]}", out);
}

static void age_text(uint64_t ms, char out[32])
{
	uint64_t s = ms / 1000;
	if (s < 60)
		textf(out, 32, "%llus", (unsigned long long)s);
	else if (s < 3600)
		textf(out, 32, "%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
	else if (s < 86400)
		textf(out, 32, "%lluh%02llum", (unsigned long long)(s / 3600), (unsigned long long)(s % 3600 / 60));
	else
		textf(out, 32, "%llud%02lluh", (unsigned long long)(s / 86400), (unsigned long long)(s % 86400 / 3600));
}

void qshow_envelope(FILE *out, const struct qmsg *m, uint64_t now)
{
	char id[QID_LEN + 1], when[32], age[32];
	qid_format(m->qid, id);
	iso_time(m->arrival_ms, when);
	age_text(now > m->arrival_ms ? now - m->arrival_ms : 0, age);
	fprintf(out, "id: %s\narrival: %s (%s ago)\nsize: %llu\nsender: <", id, when, age,
	    (unsigned long long)m->size);
	safe_text(out, m->sender);
	fputs(">\nclient: ", out);
	safe_text(out, m->client[0] ? m->client : "local");
	if (m->helo[0]) {
		fputs(" helo=", out);
		safe_text(out, m->helo);
	}
	fputs("\nflags:", out);
	for (size_t i = 0; i < NFLAGS; i++)
		if (m->flags & flag_names[i].bit)
			fprintf(out, " %s", flag_names[i].name);
	fputc('\n', out);
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		const struct qrcpt *r = &m->rcpts[i];
		fputs("recipient: <", out);
		safe_text(out, r->addr);
		fprintf(out, "> %s", r->remote ? "remote" : "local:");
		if (!r->remote)
			safe_text(out, r->mailbox);
		fprintf(out, " %s attempts=%u", rcpt_state_name(r->state), r->attempts);
		if ((r->state == RS_PENDING || r->state == RS_DEFERRED) && r->next_try_ms) {
			iso_time(r->next_try_ms, when);
			fprintf(out, " next=%s", when);
		}
		if (r->last_error[0]) {
			fputs(" last=\"", out);
			safe_text(out, r->last_error);
			fputc('"', out);
		}
		fputc('\n', out);
	}
}

/* Postfix's mailq layout: id with '!' when held, size, arrival, sender;
 * then per reason the recipients it applies to. */
void qshow_mailq(FILE *out, const struct qmsg *m)
{
	char id[QID_LEN + 1], when[32];
	time_t t = (time_t)(m->arrival_ms / 1000);
	struct tm tm;
	bool held = false, pending = false;
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		held |= m->rcpts[i].state == RS_HELD;
		pending |= m->rcpts[i].state == RS_PENDING || m->rcpts[i].state == RS_DEFERRED;
	}
	qid_format(m->qid, id);
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm);
	fprintf(out, "%s%c %8llu %s  ", id, held && !pending ? '!' : ' ', (unsigned long long)m->size, when);
	safe_text(out, m->sender[0] ? m->sender : "MAILER-DAEMON");
	fputc('\n', out);
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		const struct qrcpt *r = &m->rcpts[i];
		if (rcpt_is_final(r))
			continue;
		if (r->last_error[0]) {
			fprintf(out, "%47s(", "");
			safe_text(out, r->last_error);
			fputs(")\n", out);
		}
		fprintf(out, "%47s", "");
		safe_text(out, r->addr);
		fputc('\n', out);
	}
	fputc('\n', out);
}

/* ---- shape ---- */

struct shape_row {
	char *domain;
	uint64_t n[SHAPE_BUCKETS];
};

struct shape {
	struct shape_row *rows; /* open addressing on the domain */
	size_t cap, used;
	uint64_t total[SHAPE_BUCKETS];
};

struct shape *shape_new(void)
{
	struct shape *s = calloc(1, sizeof(*s));
	if (s && (s->rows = calloc(1024, sizeof(*s->rows))) == NULL) {
		free(s);
		return NULL;
	}
	if (s)
		s->cap = 1024;
	return s;
}

static uint64_t hash_domain(const char *d)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a, lowercased */
	for (; *d; d++) {
		unsigned char c = (unsigned char)*d;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h = (h ^ c) * 1099511628211ULL;
	}
	return h;
}

static struct shape_row *shape_row(struct shape *s, const char *domain)
{
	if (s->used * 2 >= s->cap) {
		struct shape_row *old = s->rows;
		size_t oldcap = s->cap;
		struct shape_row *n = calloc(oldcap * 2, sizeof(*n));
		if (n == NULL)
			return NULL;
		s->rows = n;
		s->cap = oldcap * 2;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].domain) {
				size_t j = hash_domain(old[i].domain) & (s->cap - 1);
				while (s->rows[j].domain)
					j = (j + 1) & (s->cap - 1);
				s->rows[j] = old[i];
			}
		free(old);
	}
	size_t j = hash_domain(domain) & (s->cap - 1);
	while (s->rows[j].domain && strcasecmp(s->rows[j].domain, domain) != 0)
		j = (j + 1) & (s->cap - 1);
	if (s->rows[j].domain == NULL) {
		if ((s->rows[j].domain = strdup(domain)) == NULL)
			return NULL;
		for (char *p = s->rows[j].domain; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		s->used++;
	}
	return &s->rows[j];
}

/* Bucket 1 holds ages under 5 minutes, then under 10, 20 ... 1280;
 * bucket 10 the rest. */
static size_t age_bucket(uint64_t age_ms)
{
	uint64_t min = age_ms / 60000, limit = 5;
	size_t b = 1;
	while (b < SHAPE_BUCKETS - 1 && min >= limit) {
		limit *= 2;
		b++;
	}
	return b;
}

void shape_add(struct shape *s, const struct qmsg *m, uint64_t now)
{
	size_t b = age_bucket(now > m->arrival_ms ? now - m->arrival_ms : 0);
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		if (rcpt_is_final(&m->rcpts[i]))
			continue;
		struct shape_row *r = shape_row(s, m->rcpts[i].remote ? domain_of(m->rcpts[i].addr) : "(local)");
		if (r == NULL)
			continue;
		r->n[0]++;
		r->n[b]++;
		s->total[0]++;
		s->total[b]++;
	}
}

static int cmp_rows(const void *a, const void *b)
{
	const struct shape_row *x = *(struct shape_row *const *)a, *y = *(struct shape_row *const *)b;
	if (x->n[0] != y->n[0])
		return x->n[0] < y->n[0] ? 1 : -1;
	return strcmp(x->domain, y->domain);
}

void shape_print(FILE *out, const struct shape *s, bool json, size_t top)
{
	static const char *const head[SHAPE_BUCKETS] = { "T", "5", "10", "20", "40", "80", "160", "320",
		"640", "1280", "1280+" };
	struct shape_row **sorted = calloc(s->used ? s->used : 1, sizeof(*sorted));
	size_t n = 0;
	if (sorted == NULL) {
		fputs("posternctl: out of memory\n", stderr);
		return;
	}
	for (size_t i = 0; i < s->cap; i++)
		if (s->rows[i].domain)
			sorted[n++] = &s->rows[i];
	qsort(sorted, n, sizeof(*sorted), cmp_rows);
	if (top && n > top)
		n = top;
	if (json) {
		fputs("{\"buckets_minutes\":[5,10,20,40,80,160,320,640,1280,null],\"total\":", out);
		for (size_t b = 0; b < SHAPE_BUCKETS; b++)
			fprintf(out, "%s%llu", b == 0 ? "" : b == 1 ? ",\"by_age\":[" : ",",
			    (unsigned long long)s->total[b]);
		fputs("],\"domains\":[", out);
		for (size_t i = 0; i < n; i++) {
			fputs(i ? ",{\"domain\":" : "{\"domain\":", out);
			json_string(out, sorted[i]->domain);
			for (size_t b = 0; b < SHAPE_BUCKETS; b++)
				fprintf(out, "%s%llu", b == 0 ? ",\"total\":" : b == 1 ? ",\"by_age\":[" : ",",
				    (unsigned long long)sorted[i]->n[b]);
			fputs("]}", out);
		}
		fputs("]}\n", out);
	} else {
		fprintf(out, "%32s", "");
		for (size_t b = 0; b < SHAPE_BUCKETS; b++)
			fprintf(out, " %6s", head[b]);
		fprintf(out, "\n%32s", "TOTAL");
		for (size_t b = 0; b < SHAPE_BUCKETS; b++)
			fprintf(out, " %6llu", (unsigned long long)s->total[b]);
		fputc('\n', out);
		for (size_t i = 0; i < n; i++) {
			const char *d = sorted[i]->domain;
			size_t len = strlen(d);
			if (len > 32)
				fprintf(out, "...%s", d + len - 29);
			else
				fprintf(out, "%32s", d);
			for (size_t b = 0; b < SHAPE_BUCKETS; b++)
				fprintf(out, " %6llu", (unsigned long long)sorted[i]->n[b]);
			fputc('\n', out);
		}
	}
	free(sorted);
}

void shape_free(struct shape *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->rows[i].domain);
	free(s->rows);
	free(s);
}
