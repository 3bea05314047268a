/*
 * ctl_queue.c: posternctl's queue commands: show (queue, message,
 * envelope), mailq, shape, hold/release/retry/remove/bounce, pause and
 * resume, stats, reload. Listings read the LMDB index read-only
 * (queue_list.c); changes go to queued over run/control.sock, where
 * queued checks the caller's uid (root or group postern-admin). Runs
 * as the administrator; never writes the index or a queue file.
 */
#include "ctl_queue.h"
#include "ctlmsg.h"
#include "ipc.h"
#include "pidfile.h"
#include "privsep.h"
#include "proto.h"
#include "queue_list.h"
#include "tables.h"
#include "usock.h"
#include "util.h"

#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACT_BATCH CTL_IDS_MAX /* ids per C_ACT frame (one index transaction each) */

static const struct config *conf;

/* ---- the control socket ---- */

static int control_connect(void)
{
	char path[4096];
	textf(path, sizeof(path), "%s/%s", conf->spool, CONTROL_SOCKET);
	int fd = usock_connect(path, false, 60);
	if (fd < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM) {
			fprintf(stderr, "posternctl: %s: permission denied (root or group postern-admin only)\n", path);
			exit(EXIT_DENIED);
		}
		fprintf(stderr, "posternctl: %s: %s%s\n", path, strerror(e),
		    e == ENAMETOOLONG ? "" : e == EAGAIN ? " (queued is busy; try again)" :
		    " (is queued running?)");
		exit(EXIT_FAIL);
	}
	return fd;
}

/* One request, one answer. Returns the answer's type; *payload is
 * malloc'd. Exits on a closed or broken connection. */
static uint16_t control_call(int fd, uint16_t type, const struct ipc_buf *b, uint8_t **payload,
    uint32_t *len, int *fd_out)
{
	static uint32_t reqid;
	struct ipc_hdr h;
	int rfd = -1;
	if (ipc_send_fd(fd, type, ++reqid, b ? b->data : NULL, b ? b->len : 0, -1) < 0) {
		fprintf(stderr, "posternctl: sending to queued: %s\n", strerror(errno));
		exit(EXIT_FAIL);
	}
	int r = ipc_recv(fd, &h, payload, &rfd);
	if (r == 0) {
		/* queued closes at once on a caller it does not admit */
		fprintf(stderr, "posternctl: queued closed the connection (root or group postern-admin only)\n");
		exit(EXIT_DENIED);
	}
	if (r < 0) {
		fprintf(stderr, "posternctl: reading from queued: %s\n", strerror(errno));
		exit(EXIT_FAIL);
	}
	if (fd_out)
		*fd_out = rfd;
	else if (rfd >= 0)
		close(rfd);
	*len = h.len;
	if (h.type == C_FAIL) {
		char why[512];
		struct ipc_rd rd;
		ipcr_init(&rd, *payload, h.len);
		ipcr_str(&rd, why, sizeof(why));
		fprintf(stderr, "posternctl: queued: %s\n", rd.err ? "request failed" : why);
		exit(strcmp(why, "no such message") == 0 ? EXIT_NOTFOUND : EXIT_FAIL);
	}
	return h.type;
}

/* A connection for one request: connect, call, close. */
static uint16_t control_request(uint16_t type, const struct ipc_buf *b, uint8_t **payload,
    uint32_t *len, int *fd_out)
{
	int fd = control_connect();
	uint16_t t = control_call(fd, type, b, payload, len, fd_out);
	close(fd);
	return t;
}

/* ---- options shared by the listings and the actions ---- */

struct qopts {
	struct qfilter f;
	bool json, all, filtered;
};

enum { O_JSON = 1000, O_ALL, O_SENDER, O_DOMAIN, O_OLDER, O_NEWER, O_STATE, O_HELP, O_PROM, O_TOP };

static const struct option filter_opts[] = {
	{ "json", no_argument, NULL, O_JSON },
	{ "all", no_argument, NULL, O_ALL },
	{ "sender", required_argument, NULL, O_SENDER },
	{ "domain", required_argument, NULL, O_DOMAIN },
	{ "older-than", required_argument, NULL, O_OLDER },
	{ "newer-than", required_argument, NULL, O_NEWER },
	{ "state", required_argument, NULL, O_STATE },
	{ "top", required_argument, NULL, O_TOP },
	{ "prometheus", no_argument, NULL, O_PROM },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

#define FILTER_HELP \
	"  --sender ADDR    sent by ADDR, by anyone @DOMAIN, or by <> (bounces)\n" \
	"  --domain DOMAIN  with a recipient not yet done at DOMAIN\n" \
	"  --older-than D   arrived at least D ago (30s, 15m, 4h, 2d)\n" \
	"  --newer-than D   arrived less than D ago\n" \
	"  --state STATE    with a recipient pending, deferred, held, bounced or delivered\n"

static void help_exit(const char *text)
{
	fputs(text, stdout);
	exit(EXIT_OK);
}

static void usage_exit(const char *text)
{
	fputs(text, stderr);
	exit(EXIT_USAGE);
}

/* Parses argv (getopt_long, from argv[0] = the subcommand); the
 * allowed option ids are in allowed. Returns the index of the first
 * operand. */
static int parse_opts(int argc, char **argv, struct qopts *o, const char *allowed, const char *help,
    bool *prom, size_t *top)
{
	memset(o, 0, sizeof(*o));
	o->f.state = -1;
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "", filter_opts, NULL)) != -1) {
		if (ch == O_HELP)
			help_exit(help);
		if (ch == '?' || ch < O_JSON || !strchr(allowed, 'a' + (ch - O_JSON))) {
			fprintf(stderr, "posternctl %s: unknown option %s\n", argv[0], argv[optind - 1]);
			usage_exit(help);
		}
		uint64_t v;
		switch (ch) {
		case O_JSON: o->json = true; break;
		case O_ALL: o->all = true; break;
		case O_PROM: *prom = true; break;
		case O_SENDER: o->f.sender = optarg; o->filtered = true; break;
		case O_DOMAIN: o->f.domain = optarg; o->filtered = true; break;
		case O_TOP:
			if (!parse_uint(optarg, 1, 1000000, &v)) {
				fprintf(stderr, "posternctl %s: --top: not a number: %s\n", argv[0], optarg);
				exit(EXIT_USAGE);
			}
			*top = (size_t)v;
			break;
		case O_OLDER:
		case O_NEWER:
			if (!parse_duration_ms(optarg, 3650ULL * 86400000, &v) || v == 0) {
				fprintf(stderr, "posternctl %s: not a duration: %s\n", argv[0], optarg);
				exit(EXIT_USAGE);
			}
			*(ch == O_OLDER ? &o->f.older_ms : &o->f.newer_ms) = v;
			o->filtered = true;
			break;
		case O_STATE:
			if (!qfilter_state(optarg, &o->f.state)) {
				fprintf(stderr, "posternctl %s: unknown state %s (pending, deferred, held, "
				    "bounced, delivered)\n", argv[0], optarg);
				exit(EXIT_USAGE);
			}
			o->filtered = true;
			break;
		}
	}
	return optind;
}

/* allowed-option letters: a json, b all, c sender, d domain, e older,
 * f newer, g state, h help, i prometheus, j top */
#define OPTS_FILTER "cdefg"

static void open_index(struct qindex *idx)
{
	char err[1024];
	int rc = qlist_open(idx, conf->spool, err, sizeof(err));
	if (rc != EXIT_OK) {
		fprintf(stderr, "posternctl: %s\n", err);
		exit(rc);
	}
}

static uint64_t parse_id(const char *s)
{
	uint64_t qid;
	char up[QID_LEN + 1];
	size_t n = strlen(s);
	if (n == QID_LEN) {
		for (size_t i = 0; i < n; i++)
			up[i] = (char)(s[i] >= 'a' && s[i] <= 'f' ? s[i] - 32 : s[i]);
		up[n] = '\0';
	}
	if (n != QID_LEN || !qid_parse(up, n, &qid)) {
		fprintf(stderr, "posternctl: not a queue id: %s (16 hex digits)\n", s);
		exit(EXIT_USAGE);
	}
	return qid;
}

/* ---- show queue, mailq ---- */

struct list_state {
	bool json, mailq;
	size_t n;
	uint64_t bytes;
};

static bool list_one(const struct qmsg *m, void *arg)
{
	struct list_state *st = arg;
	if (st->json) {
		fputs(st->n ? ",\n" : "\n", stdout);
		qshow_json(stdout, m);
	} else if (st->mailq) {
		if (st->n == 0)
			printf("%-17s %8s %-19s  %s\n", "-Queue ID-", "--Size--", "----Arrival Time---",
			    "-Sender/Recipient-------");
		qshow_mailq(stdout, m);
	} else {
		qshow_text(stdout, m);
	}
	st->n++;
	st->bytes += m->size;
	return true;
}

static int list_queue(const struct qopts *o, bool mailq)
{
	struct qindex idx;
	struct list_state st = { .json = o->json, .mailq = mailq };
	open_index(&idx);
	if (st.json)
		fputs("[", stdout);
	int rc = qlist_each(&idx, o->filtered ? &o->f : NULL, list_one, &st);
	qindex_close(&idx);
	if (rc != 0) {
		fprintf(stderr, "posternctl: reading the queue index: %s\n", mdb_strerror(rc));
		return EXIT_FAIL;
	}
	if (st.json)
		fputs(st.n ? "\n]\n" : "]\n", stdout);
	else if (mailq && st.n == 0)
		puts("Mail queue is empty");
	else if (mailq)
		printf("-- %llu Kbytes in %zu Request%s.\n", (unsigned long long)((st.bytes + 1023) / 1024), st.n,
		    st.n == 1 ? "" : "s");
	return ferror(stdout) || fflush(stdout) != 0 ? EXIT_FAIL : EXIT_OK;
}

static const char show_help[] =
    "usage: posternctl show queue [--json] [filters]\n"
    "       posternctl show envelope [--json] ID\n"
    "       posternctl show message ID\n"
    "show queue: one line per message: id, size, arrival, <sender>, then each\n"
    "recipient with its state and last error; --json: a JSON array.\n"
    "filters:\n" FILTER_HELP;

static int show_envelope(uint64_t qid, bool json)
{
	struct qindex idx;
	struct qmsg m;
	open_index(&idx);
	int rc = qlist_get(&idx, qid, &m);
	qindex_close(&idx);
	if (rc == MDB_NOTFOUND) {
		char id[QID_LEN + 1];
		qid_format(qid, id);
		fprintf(stderr, "posternctl: %s: no such message\n", id);
		return EXIT_NOTFOUND;
	}
	if (rc != 0) {
		fprintf(stderr, "posternctl: reading the queue index: %s\n", mdb_strerror(rc));
		return EXIT_FAIL;
	}
	if (json) {
		qshow_json(stdout, &m);
		fputc('\n', stdout);
	} else {
		qshow_envelope(stdout, &m, now_ms());
	}
	qmsg_free(&m);
	return EXIT_OK;
}

/* The envelope, a blank line, then the message as queued (the file's
 * descriptor comes from queued: group postern-admin cannot open it). */
static int show_message(uint64_t qid)
{
	int rc = show_envelope(qid, false);
	if (rc != EXIT_OK)
		return rc;
	fputc('\n', stdout);
	fflush(stdout);
	int mfd = -1;
	struct ipc_buf b;
	uint8_t *p = NULL;
	uint32_t len;
	ipcb_init(&b);
	ipcb_u64(&b, qid);
	control_request(C_MSG, &b, &p, &len, &mfd);
	ipcb_free(&b);
	free(p);
	if (mfd < 0) {
		fprintf(stderr, "posternctl: queued sent no file\n");
		return EXIT_FAIL;
	}
	/* the queue file's CRLF line ends are shown as a terminal's LF */
	char buf[65536], out[65536 + 1];
	ssize_t n;
	bool cr = false, ok = true;
	while (ok && (n = read(mfd, buf, sizeof(buf))) > 0) {
		size_t o = 0;
		for (ssize_t k = 0; k < n; k++) {
			if (cr && buf[k] != '\n')
				out[o++] = '\r';
			cr = buf[k] == '\r';
			if (!cr)
				out[o++] = buf[k];
			if (o >= sizeof(buf)) {
				ok = write_all(STDOUT_FILENO, out, o);
				o = 0;
			}
		}
		ok = ok && write_all(STDOUT_FILENO, out, o);
	}
	if (cr && ok)
		ok = write_all(STDOUT_FILENO, "\r", 1);
	close(mfd);
	return ok && n == 0 ? EXIT_OK : EXIT_FAIL;
}

int ctl_show(int argc, char **argv)
{
	struct qopts o;
	if (argc < 2)
		usage_exit(show_help);
	if (strcmp(argv[1], "--help") == 0)
		help_exit(show_help);
	int i = parse_opts(argc - 1, argv + 1, &o, "a" OPTS_FILTER, show_help, NULL, NULL) + 1;
	if (strcmp(argv[1], "queue") == 0) {
		if (i != argc)
			usage_exit(show_help);
		return list_queue(&o, false);
	}
	if (strcmp(argv[1], "envelope") == 0 || strcmp(argv[1], "message") == 0) {
		bool msg = argv[1][0] == 'm';
		if (i != argc - 1 || o.filtered || (msg && o.json))
			usage_exit(show_help);
		uint64_t qid = parse_id(argv[i]);
		return msg ? show_message(qid) : show_envelope(qid, o.json);
	}
	usage_exit(show_help);
	return EXIT_USAGE;
}

static const char mailq_help[] =
    "usage: posternctl mailq [filters]\n"
    "the queue in the classic mailq layout ('!' after the id: held)\n"
    "filters:\n" FILTER_HELP;

int ctl_mailq(int argc, char **argv)
{
	struct qopts o;
	int i = parse_opts(argc, argv, &o, OPTS_FILTER, mailq_help, NULL, NULL);
	if (i != argc)
		usage_exit(mailq_help);
	return list_queue(&o, true);
}

/* ---- shape ---- */

static const char shape_help[] =
    "usage: posternctl shape [--json] [--top N] [filters]\n"
    "recipients not yet delivered, by destination domain ((local) for local\n"
    "mailboxes) and by the message's age in minutes, as qshape(1) shows them:\n"
    "T is the total, then ages under 5, 10, 20 ... 1280 minutes, and older.\n"
    "filters:\n" FILTER_HELP;

struct shape_state {
	struct shape *s;
	uint64_t now;
};

static bool shape_one(const struct qmsg *m, void *arg)
{
	struct shape_state *st = arg;
	shape_add(st->s, m, st->now);
	return true;
}

int ctl_shape(int argc, char **argv)
{
	struct qopts o;
	size_t top = 0;
	int i = parse_opts(argc, argv, &o, "a" OPTS_FILTER "j", shape_help, NULL, &top);
	if (i != argc)
		usage_exit(shape_help);
	struct qindex idx;
	struct shape_state st = { shape_new(), now_ms() };
	if (st.s == NULL) {
		fprintf(stderr, "posternctl: out of memory\n");
		return EXIT_FAIL;
	}
	open_index(&idx);
	int rc = qlist_each(&idx, o.filtered ? &o.f : NULL, shape_one, &st);
	qindex_close(&idx);
	if (rc != 0) {
		fprintf(stderr, "posternctl: reading the queue index: %s\n", mdb_strerror(rc));
		shape_free(st.s);
		return EXIT_FAIL;
	}
	shape_print(stdout, st.s, o.json, top);
	shape_free(st.s);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* ---- hold, release, retry, remove, bounce ---- */

struct idlist {
	uint64_t *ids;
	size_t n, cap;
	bool oom;
};

static bool collect_one(const struct qmsg *m, void *arg)
{
	struct idlist *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		uint64_t *n = reallocarray(l->ids, cap, sizeof(*n));
		if (n == NULL) {
			l->oom = true;
			return false;
		}
		l->ids = n;
		l->cap = cap;
	}
	l->ids[l->n++] = m->qid;
	return true;
}

static const struct {
	const char *name;
	uint8_t action;
	const char *past, *what;
} actions[] = {
	{ "hold", CTL_HOLD, "held", "keeps the messages' waiting recipients from delivery until released" },
	{ "release", CTL_RELEASE, "released", "makes held recipients due for delivery now" },
	{ "retry", CTL_RETRY, "due now", "makes deferred recipients due for delivery now" },
	{ "remove", CTL_REMOVE, "removed", "deletes the messages from the queue, without a report" },
	{ "bounce", CTL_BOUNCE, "returned to sender", "fails the recipients not yet delivered and "
	    "sends the sender a delivery status notification" },
};

bool ctl_is_action(const char *name)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].name, name) == 0)
			return true;
	return false;
}

int ctl_action(int argc, char **argv)
{
	size_t a = 0;
	while (strcmp(actions[a].name, argv[0]) != 0)
		a++;
	char help[1024];
	textf(help, sizeof(help),
	    "usage: posternctl %s ID...\n"
	    "       posternctl %s --all\n"
	    "       posternctl %s filters...\n"
	    "%s %s; prints how many messages it changed.\n"
	    "Recipients being delivered at that moment are left to finish.\n"
	    "filters:\n" FILTER_HELP, argv[0], argv[0], argv[0], argv[0], actions[a].what);
	struct qopts o;
	int i = parse_opts(argc, argv, &o, "b" OPTS_FILTER, help, NULL, NULL);
	int nids = argc - i;
	if ((nids > 0) + o.all + o.filtered != 1) {
		fprintf(stderr, "posternctl %s: give queue ids, --all, or filters (one of them)\n", argv[0]);
		usage_exit(help);
	}
	struct idlist l = { 0 };
	if (nids > 0) {
		if ((l.ids = calloc((size_t)nids, sizeof(*l.ids))) == NULL)
			return EXIT_FAIL;
		for (int k = 0; k < nids; k++)
			l.ids[l.n++] = parse_id(argv[i + k]);
	} else {
		struct qindex idx;
		open_index(&idx);
		int rc = qlist_each(&idx, o.filtered ? &o.f : NULL, collect_one, &l);
		qindex_close(&idx);
		if (rc != 0 || l.oom) {
			fprintf(stderr, "posternctl: reading the queue index: %s\n",
			    l.oom ? "out of memory" : mdb_strerror(rc));
			free(l.ids);
			return EXIT_FAIL;
		}
	}
	int fd = control_connect();
	uint64_t done = 0;
	for (size_t k = 0; k < l.n; k += ACT_BATCH) {
		size_t n = l.n - k < ACT_BATCH ? l.n - k : ACT_BATCH;
		struct ipc_buf b;
		uint8_t *p = NULL;
		uint32_t len;
		ipcb_init(&b);
		ctlmsg_act_encode(&b, actions[a].action, l.ids + k, (uint32_t)n);
		control_call(fd, C_ACT, &b, &p, &len, NULL);
		ipcb_free(&b);
		struct ipc_rd r;
		ipcr_init(&r, p, len);
		done += ipcr_u32(&r);
		free(p);
	}
	close(fd);
	printf("%llu message%s %s\n", (unsigned long long)done, done == 1 ? "" : "s", actions[a].past);
	free(l.ids);
	/* ids given by hand that changed nothing: say so to a script */
	return nids > 0 && done == 0 ? EXIT_NOTFOUND : EXIT_OK;
}

/* ---- pause, resume ---- */

static const char pause_help[] =
    "usage: posternctl pause|resume local|remote|delivery|accept|all\n"
    "  local     delivery to local mailboxes\n"
    "  remote    delivery to other hosts\n"
    "  delivery  both\n"
    "  accept    taking in new mail (smtpd answers 451 4.3.0; sendmail fails temporarily)\n"
    "  all       all of the above\n"
    "The state lasts until resumed or until queued restarts.\n";

int ctl_pause(int argc, char **argv, bool pause)
{
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		help_exit(pause_help);
	if (argc != 2)
		usage_exit(pause_help);
	static const struct { const char *name; uint8_t bits; } what[] = {
		{ "local", CTL_PAUSE_LOCAL }, { "remote", CTL_PAUSE_REMOTE },
		{ "delivery", CTL_PAUSE_LOCAL | CTL_PAUSE_REMOTE }, { "accept", CTL_PAUSE_ACCEPT },
		{ "all", CTL_PAUSE_LOCAL | CTL_PAUSE_REMOTE | CTL_PAUSE_ACCEPT },
	};
	size_t k = 0;
	while (k < sizeof(what) / sizeof(what[0]) && strcmp(what[k].name, argv[1]) != 0)
		k++;
	if (k == sizeof(what) / sizeof(what[0]))
		usage_exit(pause_help);
	struct ipc_buf b;
	uint8_t *p = NULL;
	uint32_t len;
	ipcb_init(&b);
	ipcb_u8(&b, what[k].bits);
	ipcb_u8(&b, pause);
	control_request(C_PAUSE, &b, &p, &len, NULL);
	ipcb_free(&b);
	struct ipc_rd r;
	ipcr_init(&r, p, len);
	uint32_t now = ipcr_u32(&r);
	free(p);
	printf("paused:%s%s%s%s\n", now & CTL_PAUSE_LOCAL ? " local" : "", now & CTL_PAUSE_REMOTE ? " remote" : "",
	    now & CTL_PAUSE_ACCEPT ? " accept" : "", now ? "" : " nothing");
	return EXIT_OK;
}

/* ---- stats ---- */

static const char stats_help[] =
    "usage: posternctl stats [--json | --prometheus]\n"
    "counters since each daemon started (smtpd: sessions, accepted messages,\n"
    "authentications, refusals by reply code; queued: messages taken in,\n"
    "deliveries, deferrals, bounces, pause state; pop3d, when it runs:\n"
    "connections, logins, mail sessions), and the queue's content now by\n"
    "recipient state.\n";

struct queue_count {
	uint64_t messages, bytes, rcpt[RS_MAX + 1];
};

static bool count_one(const struct qmsg *m, void *arg)
{
	struct queue_count *c = arg;
	c->messages++;
	c->bytes += m->size;
	for (uint32_t i = 0; i < m->nrcpt; i++)
		c->rcpt[m->rcpts[i].state]++;
	return true;
}

/* "smtpd_rejected_total{reply=\"550\"}" -> base name and labels */
static void split_name(const char *name, char *base, size_t baselen, const char **labels)
{
	const char *brace = strchr(name, '{');
	size_t n = brace ? (size_t)(brace - name) : strlen(name);
	if (n >= baselen)
		n = baselen - 1;
	memcpy(base, name, n);
	base[n] = '\0';
	*labels = brace ? brace : "";
}

/* pop3d's counters, which its root process writes to run/pop3d.stats:
 * how many went into kv; 0 when pop3d does not run, or with a warning
 * when the file cannot be read (the other counters are still worth
 * printing). */
static size_t pop3d_stats(struct stat_kv *kv, size_t max)
{
	char path[PATH_MAX], err[512];
	size_t len;
	if (!pidfile_running(conf->spool, "pop3d"))
		return 0;
	textf(path, sizeof(path), "%s/%s", conf->spool, POP3D_STATS_FILE);
	char *text = read_small_file(AT_FDCWD, path, 64 * 1024, &len, err, sizeof(err));
	if (text == NULL && errno == ENOENT)
		return 0; /* not written yet: pop3d is starting */
	if (text == NULL) {
		fprintf(stderr, "posternctl: warning: pop3d's counters: %s\n", err);
		return 0;
	}
	int got = ctlmsg_stats_decode((const uint8_t *)text, len, kv, max);
	free(text);
	if (got < 0) {
		fprintf(stderr, "posternctl: warning: %s: not a counter list\n", path);
		return 0;
	}
	return (size_t)got;
}

int ctl_stats(int argc, char **argv)
{
	struct qopts o;
	bool prom = false;
	int i = parse_opts(argc, argv, &o, "ai", stats_help, &prom, NULL);
	if (i != argc || (o.json && prom))
		usage_exit(stats_help);
	struct queue_count qc = { 0 };
	struct qindex idx;
	open_index(&idx);
	int rc = qlist_each(&idx, NULL, count_one, &qc);
	qindex_close(&idx);
	if (rc != 0) {
		fprintf(stderr, "posternctl: reading the queue index: %s\n", mdb_strerror(rc));
		return EXIT_FAIL;
	}
	uint8_t *p = NULL;
	uint32_t len;
	control_request(C_STATS, NULL, &p, &len, NULL);
	static struct stat_kv kv[2 * STATS_MAX + RS_MAX + 3];
	int got = ctlmsg_stats_decode(p, len, kv, STATS_MAX);
	free(p);
	if (got < 0) {
		fprintf(stderr, "posternctl: malformed answer from queued\n");
		return EXIT_FAIL;
	}
	size_t n = (size_t)got;
	n += pop3d_stats(kv + n, STATS_MAX);
	/* the queue's content, counted here from the index */
	textf(kv[n].name, sizeof(kv[n].name), "queue_messages");
	kv[n++].value = qc.messages;
	textf(kv[n].name, sizeof(kv[n].name), "queue_bytes");
	kv[n++].value = qc.bytes;
	for (int s = 0; s <= RS_MAX; s++) {
		textf(kv[n].name, sizeof(kv[n].name), "queue_recipients{state=\"%s\"}", rcpt_state_name((uint8_t)s));
		kv[n++].value = qc.rcpt[s];
	}
	if (o.json) {
		fputs("{", stdout);
		for (size_t k = 0; k < n; k++) {
			fputs(k ? ",\n " : "\n ", stdout);
			json_string(stdout, kv[k].name);
			printf(": %llu", (unsigned long long)kv[k].value);
		}
		fputs("\n}\n", stdout);
	} else {
		char last[128] = "";
		for (size_t k = 0; k < n; k++) {
			const char *name = kv[k].name, *labels;
			uint64_t v = kv[k].value;
			char base[128];
			if (!prom) {
				printf("%s %llu\n", name, (unsigned long long)v);
				continue;
			}
			split_name(name, base, sizeof(base), &labels);
			if (strcmp(base, last) != 0) {
				bool counter = strlen(base) > 6 && strcmp(base + strlen(base) - 6, "_total") == 0;
				printf("# TYPE postern_%s %s\n", base, counter ? "counter" : "gauge");
				strlcpy(last, base, sizeof(last));
			}
			printf("postern_%s%s %llu\n", base, labels, (unsigned long long)v);
		}
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* ---- reload ---- */

int ctl_reload(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fputs("usage: posternctl reload\nchecks the configuration, then has every postern daemon "
		    "reload it (SIGHUP)\n", argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? EXIT_OK : EXIT_USAGE;
	}
	if (geteuid() == 0) {
		int n = pidfile_signal_all(conf->spool, SIGHUP);
		if (n == 0) {
			fprintf(stderr, "posternctl: no running postern daemon found (pid files in %s/run)\n",
			    conf->spool);
			return EXIT_FAIL;
		}
		printf("reload: signalled %d daemon%s\n", n, n == 1 ? "" : "s");
		return EXIT_OK;
	}
	/* group postern-admin: queued's root process signals for us */
	uint8_t *p = NULL;
	uint32_t len;
	control_request(C_RELOAD, NULL, &p, &len, NULL);
	free(p);
	puts("reload: requested through queued");
	return EXIT_OK;
}

void ctl_queue_init(const struct config *c)
{
	conf = c;
}
