/*
 * sendmail.c: the sendmail command (and mailq), for cron, scripts and
 * programs that send mail the traditional way. Runs as the invoking
 * user with that user's privileges only (it is never setuid or
 * setgid): reads postern.conf for the spool and the host name, reads
 * the message from standard input, completes its header, and hands it
 * to queued's queue manager over <spool>/run/submit.sock (protocol in
 * queued/submit.h), which records the user's uid from the socket's
 * peer credentials. -bp, or the name mailq, runs posternctl mailq.
 */
#include "addr.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "sendmail_parse.h"
#include "submit.h"
#include "submit_client.h"
#include "usock.h"
#include "util.h"

#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/postern/postern.conf"
#define IO_TIMEOUT_S 300          /* connecting, each send, and the answer */
#define READ_CHUNK 65536
#define ADDED_HEADERS_MAX 2048    /* From:, Date:, Message-ID: and a blank line */

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	/* one line, whatever a reason from queued holds */
	log_clean(msg, sizeof(msg), vsnprintf(msg, sizeof(msg), fmt, ap));
	va_end(ap);
	fprintf(stderr, "sendmail: %s\n", msg);
	exit(code);
}

static void usage(void)
{
	die(EX_USAGE, "usage: sendmail [-t] [-i] [-f sender] [-F fullname] [-C config] "
	    "[-bm | -bp] [--] [recipient ...]");
}

/* -bp: posternctl mailq, the posternctl installed next to this program
 * (its real path, through any mailq symlink), else the one on PATH. */
static void run_mailq(const char *confpath) __attribute__((noreturn));
static void run_mailq(const char *confpath)
{
	char self[PATH_MAX], path[PATH_MAX + 16];
	char *av[5];
	int ac = 0;
	av[ac++] = (char *)"posternctl";
	if (confpath) {
		av[ac++] = (char *)"-f";
		av[ac++] = (char *)confpath;
	}
	av[ac++] = (char *)"mailq";
	av[ac] = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			int w = snprintf(path, sizeof(path), "%s/posternctl", self);
			if (w > 0 && (size_t)w < sizeof(path) && access(path, X_OK) == 0)
				execv(path, av);
		}
	}
	execvp("posternctl", av);
	die(EX_UNAVAILABLE, "cannot run posternctl: %s", strerror(errno));
}

/* ---- recipients ---- */

struct rlist {
	char (*v)[SM_ADDR_MAX + 1];
	size_t n;
};

/* Adds the addresses of an address list (a command-line argument, or
 * a header field's value), each completed and checked. */
static void add_list(struct rlist *r, const char *s, size_t len, const char *where,
    const char *defdomain)
{
	size_t before = r->n;
	enum sm_err e = sm_addrlist(s, len, r->v, SUB_RCPT_MAX, &r->n);
	if (e == SM_TOO_MANY)
		die(EX_DATAERR, "too many recipients (at most %d)", SUB_RCPT_MAX);
	if (e != SM_OK)
		die(EX_DATAERR, "%s: %s", where, sm_strerror(e));
	for (size_t i = before; i < r->n; i++) {
		struct mailaddr a;
		enum addr_err ae = sm_complete_addr(r->v[i], defdomain, &a);
		if (ae != ADDR_OK)
			die(EX_DATAERR, "bad recipient address <%s> (%s): %s", r->v[i], where,
			    addr_strerror(ae));
		if (!addr_format(&a, r->v[i], sizeof(r->v[i])))
			die(EX_DATAERR, "recipient address too long (%s)", where);
	}
}

/* Keeps the first of each address. */
static void dedupe(struct rlist *r)
{
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++) {
		size_t j = 0;
		while (j < k && strcmp(r->v[j], r->v[i]) != 0)
			j++;
		if (j == k) {
			if (k != i)
				memcpy(r->v[k], r->v[i], sizeof(r->v[k]));
			k++;
		}
	}
	r->n = k;
}

/* ---- the message ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2)
				die(EX_OSERR, "out of memory");
			cap *= 2;
		}
		uint8_t *np = realloc(b->p, cap);
		if (np == NULL)
			die(EX_OSERR, "out of memory");
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Standard input up to its end, or up to a line holding only "."
 * (dot_ends), as CRLF lines. */
static void read_message(struct buf *msg, bool dot_ends, uint64_t max)
{
	static uint8_t in[READ_CHUNK], out[SM_FILTER_OUT_MAX(READ_CHUNK)];
	struct sm_filter f;
	sm_filter_init(&f, dot_ends);
	while (!f.done) {
		size_t outlen;
		ssize_t n = read(STDIN_FILENO, in, sizeof(in));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(EX_IOERR, "reading the message: %s", strerror(errno));
		if (n == 0) {
			sm_filter_finish(&f, out, &outlen);
			buf_add(msg, out, outlen);
			break;
		}
		sm_filter_run(&f, in, (size_t)n, out, &outlen);
		if (f.nul)
			die(EX_DATAERR, "the message contains NUL octets");
		if (f.long_line)
			die(EX_DATAERR, "the message has a line longer than %d octets", SM_LINE_MAX);
		if (f.size > max)
			die(EX_DATAERR, "the message is larger than the limit of %llu octets",
			    (unsigned long long)max);
		buf_add(msg, out, outlen);
	}
}

/* The message as it goes to the queue: Bcc: fields removed, From:,
 * Date: and Message-ID: added when missing (at the end of the header
 * section), and an empty line before a body that had none. With -t,
 * the recipients of To:, Cc: and Bcc: are added to r. */
static void prepare(const struct buf *msg, struct buf *out, bool tflag, struct rlist *r,
    const char *from_line, const struct config *conf)
{
	const char *m = (const char *)msg->p;
	struct sm_headers h;
	size_t pos = 0, nl, vo, fl;
	sm_headers_scan(m, msg->len, &h);
	while (pos < h.end && (fl = sm_field_len(m + pos, h.end - pos, &nl, &vo)) > 0) {
		bool to = sm_field_is(m + pos, nl, "To"), cc = sm_field_is(m + pos, nl, "Cc");
		bool bcc = sm_field_is(m + pos, nl, "Bcc");
		if (tflag && (to || cc || bcc)) {
			char where[32];
			snprintf(where, sizeof(where), "the %s: field", to ? "To" : cc ? "Cc" : "Bcc");
			add_list(r, m + pos + vo, fl - vo, where, conf->hostname);
		}
		if (!bcc)
			buf_add(out, m + pos, fl);
		pos += fl;
	}
	char add[ADDED_HEADERS_MAX];
	size_t n = 0;
	if (!h.have_from)
		n = strlen(from_line);
	if (n >= sizeof(add))
		die(EX_SOFTWARE, "From: field too long");
	memcpy(add, from_line, n);
	if (!h.have_date) {
		char date[64];
		rfc5322_date(date, sizeof(date), time(NULL));
		n += (size_t)snprintf(add + n, sizeof(add) - n, "Date: %s\r\n", date);
	}
	if (!h.have_msgid && n < sizeof(add))
		n += (size_t)snprintf(add + n, sizeof(add) - n, "Message-ID: <%llu.%08x%08x@%s>\r\n",
		    (unsigned long long)now_ms(), arc4random(), arc4random(), conf->hostname);
	if (!h.blank && n < sizeof(add))
		n += (size_t)snprintf(add + n, sizeof(add) - n, "\r\n");
	if (n >= sizeof(add))
		die(EX_SOFTWARE, "added header fields too long");
	buf_add(out, add, n);
	buf_add(out, m + h.end, msg->len - h.end);
}

/* ---- talking to queued ---- */

/* The submission as the frames that go over run/submit.sock (submit.h):
 * sent as they are, or kept as they are in offline/ for queued's pickup
 * to send later as this user. */
static void frame_add(struct buf *stream, uint16_t type, struct ipc_buf *payload)
{
	struct ipc_hdr h = { type, 0, (uint32_t)payload->len, 0 };
	uint8_t hdr[IPC_HDR_LEN];
	if (payload->err)
		die(EX_OSERR, "out of memory");
	ipc_hdr_encode(&h, hdr);
	buf_add(stream, hdr, sizeof(hdr));
	buf_add(stream, payload->data, payload->len);
	ipcb_free(payload);
}

static void build_stream(struct buf *stream, const char *sender, const struct rlist *r,
    const struct buf *msg)
{
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, sender);
	ipcb_u32(&b, (uint32_t)r->n);
	for (size_t i = 0; i < r->n; i++)
		ipcb_cstr(&b, r->v[i]);
	frame_add(stream, SUB_BEGIN, &b);
	for (size_t off = 0; off < msg->len; off += SUB_CHUNK_MAX) {
		size_t n = msg->len - off < SUB_CHUNK_MAX ? msg->len - off : SUB_CHUNK_MAX;
		ipcb_init(&b);
		ipcb_str(&b, (const char *)msg->p + off, n);
		frame_add(stream, SUB_DATA, &b);
	}
	ipcb_init(&b);
	frame_add(stream, SUB_END, &b);
}

/* queued is not running (or cannot take the connection): the frames go
 * into offline/ (root's, mode 1733: anyone may add a file, nobody else
 * may list, read or remove it), written under a dot name and renamed
 * whole. queued's root process sends each file, as its owner, when it
 * runs again, as Postfix's pickup takes the maildrop. */
static void keep_offline(const struct config *conf, const struct buf *stream, int why)
    __attribute__((noreturn));
static void keep_offline(const struct config *conf, const struct buf *stream, int why)
{
	char dir[PATH_MAX], name[64], tmp[80];
	textf(dir, sizeof(dir), "%s/" OFFLINE_DIR, conf->spool);
	/* O_PATH: the directory may be searched, not read */
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die(EX_UNAVAILABLE, "cannot reach queued (%s), and %s: %s", strerror(why), dir,
		    strerror(errno));
	/* time first, so names sort by age; random bits, so no other user
	 * can take the name first */
	int fd = -1;
	for (int i = 0; i < 8 && fd < 0; i++) {
		char id[QID_LEN + 1];
		qid_format(qid_new(), id);
		textf(name, sizeof(name), "%s.%08X", id, arc4random());
		textf(tmp, sizeof(tmp), ".tmp.%s", name);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		die(EX_UNAVAILABLE, "cannot reach queued (%s), and %s/%s: %s", strerror(why), dir, tmp,
		    strerror(errno));
	/* The second fsync makes the rename durable too on a journaling
	 * file system (it commits the transaction that holds it): the user
	 * may not read the directory, so cannot sync it. */
	if (!write_all(fd, stream->p, stream->len) || fsync(fd) < 0 ||
	    renameat(dfd, tmp, dfd, name) < 0 || fsync(fd) < 0) {
		int e = errno;
		unlinkat(dfd, tmp, 0);
		die(EX_TEMPFAIL, "cannot reach queued (%s), and writing %s/%s: %s", strerror(why), dir,
		    name, strerror(e));
	}
	close(fd);
	int rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd >= 0) { /* root, or a developer's own spool */
		fsync(rfd);
		close(rfd);
	}
	exit(EX_OK);
}

/* Sends the submission and exits with queued's answer. */
static void submit(const struct config *conf, const struct buf *stream) __attribute__((noreturn));
static void submit(const struct config *conf, const struct buf *stream)
{
	char path[PATH_MAX];
	int w = snprintf(path, sizeof(path), "%s/%s", conf->spool, SUBMIT_SOCKET);
	if (w < 0 || (size_t)w >= sizeof(path))
		die(EX_CONFIG, "socket path too long: %s/%s", conf->spool, SUBMIT_SOCKET);
	/* the timeouts first: a full backlog makes connect wait too */
	int fd = usock_connect(path, false, IO_TIMEOUT_S);
	if (fd < 0) {
		switch (errno) {
		case ENAMETOOLONG:
			die(EX_CONFIG, "socket path too long: %s", path);
		case ENOENT:        /* queued never ran */
		case ECONNREFUSED:  /* queued stopped */
		case EAGAIN:        /* queued too busy to take it */
			keep_offline(conf, stream, errno);
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
		case EAFNOSUPPORT: /* a sandbox without unix sockets */
			die(EX_OSERR, "socket for %s: %s", path, strerror(errno));
		default:
			die(EX_UNAVAILABLE, "cannot reach queued at %s: %s", path, strerror(errno));
		}
	}
	int send_errno = write_all(fd, stream->p, stream->len) ? 0 : errno;
	uint64_t qid;
	char why[600];
	switch (submit_answer(fd, send_errno, IO_TIMEOUT_S, &qid, why, sizeof(why))) {
	case SUBMIT_OK: exit(EX_OK);
	case SUBMIT_TEMP: die(EX_TEMPFAIL, "%s; try again later", why);
	case SUBMIT_NOUSER: die(EX_NOUSER, "%s", why);
	case SUBMIT_DATA: die(EX_DATAERR, "%s", why);
	case SUBMIT_PROTO: die(EX_PROTOCOL, "%s", why);
	case SUBMIT_PERM: break;
	}
	die(EX_UNAVAILABLE, "%s", why);
}

int main(int argc, char **argv)
{
	const char *confpath = NULL, *from = NULL, *fullname = NULL;
	bool tflag = false, iflag = false, mailq = false;
	int ch;
	/* it needs no privileges, and must not lend any: a set-id copy
	 * would read any -C file and speak to queued as someone else */
	if (geteuid() != getuid() || getegid() != getgid())
		die(EX_CONFIG, "must not be installed setuid or setgid");
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : argv[0] ? argv[0] : "sendmail";
	if (strcmp(base, "mailq") == 0)
		mailq = true;
	opterr = 0;
	/* options before the recipients, as sendmail's own; the ones that
	 * mean nothing here are taken and ignored */
	while ((ch = getopt(argc, argv, "+B:C:F:GN:R:UV:b:e:f:h:imno:r:tv")) != -1) {
		switch (ch) {
		case 'C': confpath = optarg; break;
		case 'F': fullname = optarg; break;
		case 'f': case 'r': from = optarg; break;
		case 't': tflag = true; break;
		case 'i': iflag = true; break;
		case 'o':
			if (strcmp(optarg, "i") == 0)
				iflag = true;
			break;
		case 'b':
			if (strcmp(optarg, "p") == 0)
				mailq = true;
			else if (strcmp(optarg, "m") != 0)
				die(EX_USAGE, "-b%s is not supported (only -bm and -bp are)", optarg);
			break;
		case 'B': case 'N': case 'R': case 'V': case 'e': case 'h':
		case 'G': case 'U': case 'm': case 'n': case 'v':
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (mailq)
		run_mailq(confpath); /* with SIGPIPE as it came: mailq | head */
	signal(SIGPIPE, SIG_IGN);

	static struct config conf;
	char err[512];
	if (config_load(confpath ? confpath : DEFAULT_CONFIG, &conf, err, sizeof(err)) < 0)
		die(EX_CONFIG, "%s", err);
	struct passwd *pw = getpwuid(getuid());
	if (pw == NULL)
		die(EX_OSERR, "no user name for uid %u", (unsigned)getuid());

	/* the envelope sender, and the From: a message without one gets */
	char sender[ADDR_PATH_MAX + 1], self[ADDR_PATH_MAX + 1];
	struct mailaddr a;
	enum addr_err ae = sm_complete_addr(pw->pw_name, conf.hostname, &a);
	if (ae != ADDR_OK || !addr_format(&a, self, sizeof(self)))
		die(EX_DATAERR, "your user name does not make an address: %s", addr_strerror(ae));
	if (from) {
		ae = sm_parse_sender(from, conf.hostname, &a);
		if (ae != ADDR_OK || !addr_format(&a, sender, sizeof(sender)))
			die(EX_DATAERR, "bad sender address <%s>: %s", from, addr_strerror(ae));
	} else {
		strlcpy(sender, self, sizeof(sender));
	}
	char name[SM_FULLNAME_MAX + 1], from_line[ADDED_HEADERS_MAX / 2];
	sm_gecos_name(pw->pw_gecos ? pw->pw_gecos : "", pw->pw_name, name, sizeof(name));
	/* As Postfix's cleanup does: the added From: names the envelope
	 * sender (-f), and MAILER-DAEMON, without a name, for the null one.
	 * sm_format_from cuts a long -F name itself, on a character boundary. */
	char daemon_addr[ADDR_PATH_MAX + 1];
	textf(daemon_addr, sizeof(daemon_addr), "MAILER-DAEMON@%s", conf.hostname);
	bool null_sender = sender[0] == '\0';
	if (sm_format_from(null_sender ? "" : fullname ? fullname : name,
	    null_sender ? daemon_addr : sender, from_line, sizeof(from_line)) == 0)
		die(EX_SOFTWARE, "cannot make a From: field");

	struct rlist r = { calloc(SUB_RCPT_MAX, sizeof(*r.v)), 0 };
	if (r.v == NULL)
		die(EX_OSERR, "out of memory");
	for (int i = 0; i < argc; i++)
		add_list(&r, argv[i], strlen(argv[i]), "command line", conf.hostname);
	if (r.n == 0 && !tflag)
		die(EX_USAGE, "no recipients given (name them, or use -t)");

	struct buf in = { 0 }, msg = { 0 };
	read_message(&in, !iflag, conf.max_message_size);
	prepare(&in, &msg, tflag, &r, from_line, &conf);
	free(in.p);
	dedupe(&r);
	if (r.n == 0)
		die(EX_USAGE, "no recipients in the To:, Cc: or Bcc: fields");
	if (msg.len > conf.max_message_size)
		die(EX_DATAERR, "the message is larger than the limit of %llu octets",
		    (unsigned long long)conf.max_message_size);
	struct buf stream = { 0 };
	build_stream(&stream, sender, &r, &msg);
	free(msg.p);
	submit(&conf, &stream);
}
