/*
 * posternctl.c: the administrator's command line. Runs as root (or as
 * the developer in an unprivileged setup): manages the users file,
 * checks the configuration, creates the system users and directories
 * postern needs, and asks the resolver (over <spool>/run/dns.sock, as
 * one of its allowed clients) for DNS answers. Never talks to the
 * network itself.
 */
#include "config.h"
#include "ctl_queue.h"
#include "dns.h"
#include "ipc.h"
#include "privsep.h"
#include "proto.h"
#include "tables.h"
#include "tls.h"
#include "usock.h"
#include "util.h"

#include <arpa/inet.h>
#include <bsd/readpassphrase.h>
#include <bsd/string.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *conf_path = "/etc/postern/postern.conf";
static struct config conf;

static void usage_to(FILE *out, int code)
{
	fprintf(out,
	    "usage: posternctl [-f config] check\n"
	    "       posternctl [-f config] setup\n"
	    "       posternctl [-f config] user list\n"
	    "       posternctl [-f config] user add NAME      (password from the terminal or one line of stdin)\n"
	    "       posternctl [-f config] user passwd NAME\n"
	    "       posternctl [-f config] user del NAME\n"
	    "       posternctl [-f config] resolve TYPE NAME  (TYPE: mx a aaaa ptr txt tlsa;\n"
	    "                                                  ptr also takes an address)\n"
	    "queue (root or group postern-admin):\n"
	    "       posternctl [-f config] show queue [--json] [filters]\n"
	    "       posternctl [-f config] show envelope [--json] ID\n"
	    "       posternctl [-f config] show message ID\n"
	    "       posternctl [-f config] mailq [filters]\n"
	    "       posternctl [-f config] shape [--json] [--top N] [filters]\n"
	    "       posternctl [-f config] hold|release|retry|remove|bounce ID... | --all | filters\n"
	    "       posternctl [-f config] pause|resume local|remote|delivery|accept|all\n"
	    "       posternctl [-f config] stats [--json | --prometheus]\n"
	    "       posternctl [-f config] reload\n"
	    "filters: --sender ADDR|@DOMAIN|<> --domain DOMAIN --older-than D --newer-than D --state STATE\n"
	    "every command takes --help; exit status: 0 done, 1 failed, 2 usage, 3 no such\n"
	    "message, 4 permission denied\n");
	exit(code);
}

static void usage(void)
{
	usage_to(stderr, 2);
}

static void load_config(void)
{
	char err[1024];
	if (config_load(conf_path, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
}

static int open_confdir(void)
{
	int fd = open(conf.confdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "posternctl: %s: %s\n", conf.confdir, strerror(errno));
		exit(1);
	}
	return fd;
}

/* Loads users (and aliases when want_aliases); a missing users file is
 * an empty table. Exits with file:line on a parse error. */
static void load_tables(struct tables *t, bool want_aliases)
{
	char err[1024];
	size_t len;
	int dfd = open_confdir();
	struct stat st;
	memset(t, 0, sizeof(*t));
	if (fstatat(dfd, conf.users_file, &st, 0) == 0) {
		char *text = read_small_file(dfd, conf.users_file, TABLE_MAX_FILE, &len, err, sizeof(err));
		if (text == NULL || users_parse(text, len, conf.users_file, t, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s/%s\n", conf.confdir, err);
			exit(1);
		}
		explicit_bzero(text, len);
		free(text);
	}
	if (want_aliases && fstatat(dfd, conf.aliases_file, &st, 0) == 0) {
		char *text = read_small_file(dfd, conf.aliases_file, TABLE_MAX_FILE, &len, err, sizeof(err));
		if (text == NULL || aliases_parse(text, len, conf.aliases_file, t, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s/%s\n", conf.confdir, err);
			exit(1);
		}
		free(text);
	}
	if (tables_finish(t, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", conf.confdir, err);
		exit(1);
	}
	close(dfd);
}

/* Rewrites the users file atomically: temp file, fsync, rename, and the
 * directory synced; root:postern-auth 0640 when privileged. */
static void save_users(const struct tables *t)
{
	char tmp[NAME_MAX + 1];
	int dfd = open_confdir();
	if (snprintf(tmp, sizeof(tmp), ".%.240s.tmp", conf.users_file) >= (int)sizeof(tmp))
		exit(1);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		fprintf(stderr, "posternctl: %s/%s: %s\n", conf.confdir, tmp, strerror(errno));
		exit(1);
	}
	FILE *f = fdopen(fd, "w");
	fprintf(f, "# postern users: name:crypt(3) hash. Edit with 'posternctl user'.\n");
	for (size_t i = 0; i < t->nusers; i++)
		fprintf(f, "%s:%s\n", t->users[i].name, t->users[i].hash);
	if (fflush(f) != 0 || fsync(fd) < 0) {
		fprintf(stderr, "posternctl: writing %s: %s\n", tmp, strerror(errno));
		exit(1);
	}
	if (privsep_enabled()) {
		uid_t uid;
		gid_t gid;
		if (!privsep_lookup(USER_AUTH, &uid, &gid))
			fprintf(stderr, "posternctl: warning: no system user %s yet: run "
			    "'posternctl setup' so the auth helper can read the users file\n", USER_AUTH);
		else if (fchown(fd, 0, gid) < 0) {
			fprintf(stderr, "posternctl: chown %s: %s\n", tmp, strerror(errno));
			exit(1);
		}
	}
	fchmod(fd, 0640);
	fclose(f);
	if (renameat(dfd, tmp, dfd, conf.users_file) < 0) {
		fprintf(stderr, "posternctl: rename: %s\n", strerror(errno));
		exit(1);
	}
	fsync(dfd);
	close(dfd);
}

static void read_password(char *buf, size_t len)
{
	if (isatty(STDIN_FILENO)) {
		char again[256];
		if (readpassphrase("Password: ", buf, len, RPP_REQUIRE_TTY) == NULL ||
		    readpassphrase("Again: ", again, sizeof(again), RPP_REQUIRE_TTY) == NULL) {
			fprintf(stderr, "posternctl: cannot read password\n");
			exit(1);
		}
		if (strcmp(buf, again) != 0) {
			fprintf(stderr, "posternctl: passwords differ\n");
			exit(1);
		}
		explicit_bzero(again, sizeof(again));
	} else {
		if (fgets(buf, (int)len, stdin) == NULL) {
			fprintf(stderr, "posternctl: no password on standard input\n");
			exit(1);
		}
		buf[strcspn(buf, "\r\n")] = '\0';
	}
	if (buf[0] == '\0') {
		fprintf(stderr, "posternctl: empty password refused\n");
		exit(1);
	}
}

static void hash_password(const char *pw, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL) {
		fprintf(stderr, "posternctl: crypt_gensalt: %s\n", strerror(errno));
		exit(1);
	}
	char *h = crypt_rn(pw, salt, &cd, sizeof(cd));
	if (h == NULL || h[0] == '*' || strlcpy(out, h, outlen) >= outlen) {
		fprintf(stderr, "posternctl: crypt failed\n");
		exit(1);
	}
	explicit_bzero(&cd, sizeof(cd));
}

static int user_change(struct tables *t, int argc, char **argv);

static int cmd_user(int argc, char **argv)
{
	struct tables t;
	if (argc < 1)
		usage();
	load_config();
	load_tables(&t, strcmp(argv[0], "list") != 0);
	int r = user_change(&t, argc, argv);
	tables_free(&t);
	return r;
}

/* One user subcommand over the loaded tables (which the caller frees). */
static int user_change(struct tables *t, int argc, char **argv)
{
	int r = 0;
	if (strcmp(argv[0], "list") == 0) {
		for (size_t i = 0; i < t->nusers; i++)
			printf("%s\n", t->users[i].name);
		return 0;
	}
	if (argc != 2)
		usage();
	const char *name = argv[1];
	if (!valid_username(name, strlen(name))) {
		fprintf(stderr, "posternctl: '%s' is not a valid user name (1-64 of a-z 0-9 . _ -)\n", name);
		return 1;
	}
	const struct user_entry *u = tables_user(t, name);
	if (strcmp(argv[0], "del") == 0) {
		if (u == NULL) {
			fprintf(stderr, "posternctl: no user '%s'\n", name);
			return 1;
		}
		for (size_t a = 0; a < t->naliases; a++)
			for (size_t j = 0; j < t->aliases[a].ntargets; j++)
				if (strcmp(t->aliases[a].targets[j], name) == 0) {
					fprintf(stderr, "posternctl: user '%s' is a target of alias '%s': "
					    "edit %s/%s first\n", name, t->aliases[a].name, conf.confdir,
					    conf.aliases_file);
					return 1;
				}
		size_t i = (size_t)(u - t->users);
		memmove(&t->users[i], &t->users[i + 1], (t->nusers - i - 1) * sizeof(*t->users));
		t->nusers--;
		save_users(t);
		printf("user %s deleted (the Maildir is kept)\n", name);
		return 0;
	}
	bool add = strcmp(argv[0], "add") == 0;
	if (!add && strcmp(argv[0], "passwd") != 0)
		usage();
	if (add && u) {
		fprintf(stderr, "posternctl: user '%s' already exists\n", name);
		return 1;
	}
	if (!add && u == NULL) {
		fprintf(stderr, "posternctl: no user '%s'\n", name);
		return 1;
	}
	if (add) {
		for (size_t i = 0; i < t->naliases; i++)
			if (strcmp(t->aliases[i].name, name) == 0) {
				fprintf(stderr, "posternctl: '%s' is an alias\n", name);
				return 1;
			}
	}
	char pw[256], hash[HASH_MAX + 1];
	read_password(pw, sizeof(pw));
	hash_password(pw, hash, sizeof(hash));
	explicit_bzero(pw, sizeof(pw));
	if (add) {
		struct user_entry *n = reallocarray(t->users, t->nusers + 1, sizeof(*n));
		if (n == NULL)
			return 1;
		t->users = n;
		strlcpy(n[t->nusers].name, name, sizeof(n->name));
		strlcpy(n[t->nusers].hash, hash, sizeof(n->hash));
		t->nusers++;
	} else {
		strlcpy(((struct user_entry *)u)->hash, hash, sizeof(u->hash));
	}
	save_users(t);
	printf("user %s %s\n", name, add ? "added" : "password changed");
	return r;
}

#define CERT_WARN_DAYS 14

/* The certificate and key as smtpd and pop3d would take them: a pair
 * that does not load is an error (a reload would keep the old one, a
 * start would fail); one that has expired or soon will is a warning. */
static bool check_certificate(void)
{
	struct tls_creds c;
	char err[1024], until[32];
	time_t not_after, now = time(NULL);
	if (conf.tls_certificate[0] == '\0')
		return true;
	tls_init();
	if (!tls_creds_usable(conf.tls_certificate, conf.tls_key, &c, &not_after, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return false;
	}
	tls_creds_free(&c);
	struct tm tm;
	if (not_after == (time_t)-1 || gmtime_r(&not_after, &tm) == NULL ||
	    strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm) == 0) {
		printf("%s: certificate and key match; its end date cannot be read\n",
		    conf.tls_certificate);
		return true;
	}
	/* days begun: 2 days and 23 hours left is "in 3 days" */
	long days = (long)((not_after - now + 86399) / 86400);
	if (not_after <= now)
		fprintf(stderr, "posternctl: warning: %s: the certificate expired on %s; clients that "
		    "check it will refuse TLS\n", conf.tls_certificate, until);
	else if (days <= CERT_WARN_DAYS)
		fprintf(stderr, "posternctl: warning: %s: the certificate expires on %s, within %ld day%s\n",
		    conf.tls_certificate, until, days, days == 1 ? "" : "s");
	printf("%s: certificate and key match; valid until %s\n", conf.tls_certificate, until);
	return true;
}

static int cmd_check(void)
{
	struct tables t;
	load_config();
	load_tables(&t, true);
	/* a loop or an over-deep chain only shows as 451 at RCPT time (the
	 * auth helper still serves every other name): say so here */
	int bad = 0;
	for (size_t i = 0; i < t.naliases; i++) {
		char out[RESOLVE_MAX][USERNAME_MAX + 1];
		if (tables_resolve(&t, t.aliases[i].name, out, RESOLVE_MAX) < 0) {
			fprintf(stderr, "%s/%s: alias '%s': loop, more than %d levels, or more than %d mailboxes\n",
			    conf.confdir, conf.aliases_file, t.aliases[i].name, ALIAS_MAX_DEPTH, RESOLVE_MAX);
			bad = 1;
		}
	}
	if (bad || !check_certificate()) {
		tables_free(&t);
		return 1;
	}
	printf("%s: ok (%zu domain(s), %zu listener(s), %zu user(s), %zu alias(es))\n",
	    conf.path, conf.ndomains, conf.nlisten, t.nusers, t.naliases);
	tables_free(&t);
	return 0;
}

static void run(const char *const argv[])
{
	pid_t pid = fork();
	int status;
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "posternctl: %s failed\n", argv[0]);
		exit(1);
	}
}

/* Creates the system users and directories (idempotent). */
static int cmd_setup(void)
{
	static const char *users[] = { USER_SMTPD, USER_QUEUE, USER_VMAIL, USER_AUTH, USER_POP3,
		USER_DNS, USER_RELAY };
	load_config();
	if (!privsep_enabled()) {
		fprintf(stderr, "posternctl: setup needs root\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (getpwnam(users[i]) != NULL)
			continue;
		const char *argv[] = { "/usr/sbin/useradd", "--system", "--user-group",
			"--no-create-home", "--home-dir", "/nonexistent", "--shell",
			"/usr/sbin/nologin", users[i], NULL };
		run(argv);
		printf("created system user %s\n", users[i]);
	}
	if (getgrnam(GROUP_ADMIN) == NULL) {
		const char *argv[] = { "/usr/sbin/groupadd", "--system", GROUP_ADMIN, NULL };
		run(argv);
		printf("created system group %s (its members may use the queue commands)\n", GROUP_ADMIN);
	}
	uid_t uid;
	gid_t gid;
	privsep_lookup(USER_AUTH, &uid, &gid);
	/* the auth helper's chroot: readable, not writable, by it */
	if (chown(conf.confdir, 0, 0) < 0 || chmod(conf.confdir, 0755) < 0)
		fprintf(stderr, "posternctl: %s: %s\n", conf.confdir, strerror(errno));
	int dfd = open_confdir();
	if (fchownat(dfd, conf.users_file, 0, gid, 0) == 0 &&
	    fchmodat(dfd, conf.users_file, 0640, 0) < 0)
		fprintf(stderr, "posternctl: chmod %s: %s\n", conf.users_file, strerror(errno));
	if (fchownat(dfd, conf.aliases_file, 0, 0, 0) == 0 &&
	    fchmodat(dfd, conf.aliases_file, 0644, 0) < 0)
		fprintf(stderr, "posternctl: chmod %s: %s\n", conf.aliases_file, strerror(errno));
	close(dfd);
	printf("setup done; queued creates the spool and mail root on start\n");
	return 0;
}

/* ---- resolve ---- */

enum { RESOLVE_ANSWER = 0, RESOLVE_NEGATIVE = 1, RESOLVE_TEMP = 2, RESOLVE_USAGE = 64 };

static void print_bytes_quoted(const uint8_t *p, size_t len)
{
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] < 32 || p[i] > 126)
			printf("\\%03u", p[i]);
		else
			putchar(p[i]);
	}
	putchar('"');
}

static void print_rr(const struct dns_rr *rr)
{
	char addr[INET6_ADDRSTRLEN];
	printf("%s ", dns_type_name(rr->type));
	switch (rr->type) {
	case DNS_T_MX:
		printf("%u %s\n", rr->pref, rr->name);
		break;
	case DNS_T_A:
	case DNS_T_AAAA:
		inet_ntop(rr->type == DNS_T_A ? AF_INET : AF_INET6, rr->addr, addr, sizeof(addr));
		printf("%s\n", addr);
		break;
	case DNS_T_PTR:
		printf("%s\n", rr->name);
		break;
	case DNS_T_TXT:
		print_bytes_quoted(rr->data, rr->len);
		putchar('\n');
		break;
	case DNS_T_TLSA:
		printf("%u %u %u ", rr->usage, rr->selector, rr->mtype);
		for (size_t i = 0; i < rr->len; i++)
			printf("%02x", rr->data[i]);
		putchar('\n');
		break;
	}
}

static int resolver_connect(void)
{
	char path[PATH_MAX];
	textf(path, sizeof(path), "%s/%s", conf.spool, DNS_SOCKET);
	/* the resolver answers every query within dns_timeout */
	int fd = usock_connect(path, false, (time_t)(conf.dns_timeout_ms / 1000) + 5);
	if (fd < 0)
		fprintf(stderr, "posternctl: resolver unreachable at %s: %s\n", path, strerror(errno));
	return fd;
}

static const char *status_name(uint8_t s)
{
	static const char *names[] = { "OK", "NXDOMAIN", "NODATA", "TEMPFAIL" };
	return s <= DNS_TEMPFAIL ? names[s] : "?";
}

/* posternctl resolve TYPE NAME: one query, the answer on stdout. */
static int cmd_resolve(int argc, char **argv)
{
	char name[DNS_NAME_BUF];
	static struct dns_rr rr; /* 64 KiB */
	uint16_t qtype = argc == 2 ? dns_type_parse(argv[0]) : 0;
	if (qtype == 0) {
		if (argc == 2)
			fprintf(stderr, "posternctl: unsupported type '%s'\n", argv[0]);
		fprintf(stderr, "usage: posternctl [-f config] resolve TYPE NAME "
		    "(TYPE: mx a aaaa ptr txt tlsa)\n");
		return RESOLVE_USAGE;
	}
	/* "resolve ptr 127.0.0.2" means its reverse name */
	if (!(qtype == DNS_T_PTR && dns_ptr_name(argv[1], name, sizeof(name)))) {
		if (strlcpy(name, argv[1], sizeof(name)) >= sizeof(name) ||
		    !dns_name_valid(name, strlen(name))) {
			fprintf(stderr, "posternctl: '%s' is not a valid DNS name\n", argv[1]);
			return RESOLVE_USAGE;
		}
	}
	char err[1024];
	if (config_load(conf_path, &conf, err, sizeof(err)) < 0) {
		/* not 1: that means NXDOMAIN/NODATA here */
		fprintf(stderr, "%s\n", err);
		return RESOLVE_TEMP;
	}
	int fd = resolver_connect();
	if (fd < 0)
		return RESOLVE_TEMP;
	struct ipc_buf b;
	ipcb_init(&b);
	dns_query_encode(&b, qtype, name);
	struct ipc_hdr h;
	uint8_t *p = NULL;
	int rfd = -1;
	int r = b.err ? -1 : ipc_send_fd(fd, D_QUERY, 1, b.data, b.len, -1);
	ipcb_free(&b);
	if (r == 0)
		r = ipc_recv(fd, &h, &p, &rfd);
	close(fd);
	if (rfd >= 0)
		close(rfd);
	if (r <= 0 || h.reqid != 1) {
		fprintf(stderr, "posternctl: no answer from the resolver (%s)\n",
		    r < 0 ? (errno == EAGAIN ? "timed out" : strerror(errno)) :
		    r == 0 ? "connection closed: not an allowed user?" : "wrong request id");
		free(p);
		return RESOLVE_TEMP;
	}
	if (h.type == D_ERROR) {
		char reason[256];
		struct ipc_rd rd;
		ipcr_init(&rd, p, h.len);
		ipcr_str(&rd, reason, sizeof(reason));
		fprintf(stderr, "posternctl: the resolver refused the query: %s\n",
		    ipcr_done(&rd) ? reason : "(malformed reply)");
		free(p);
		return RESOLVE_TEMP;
	}
	struct dns_answer a;
	if (h.type != D_ANSWER || !dns_answer_open(&a, qtype, p, h.len)) {
		fprintf(stderr, "posternctl: malformed answer from the resolver\n");
		free(p);
		return RESOLVE_TEMP;
	}
	printf("status %s ttl %u %s\n", status_name(a.status), a.ttl,
	    a.secure ? "secure" : "insecure");
	while ((r = dns_answer_next(&a, &rr)) > 0)
		print_rr(&rr);
	free(p);
	if (r < 0) {
		fprintf(stderr, "posternctl: malformed record in the resolver's answer\n");
		return RESOLVE_TEMP;
	}
	switch (a.status) {
	case DNS_OK: return RESOLVE_ANSWER;
	case DNS_NXDOMAIN:
	case DNS_NODATA: return RESOLVE_NEGATIVE;
	default: return RESOLVE_TEMP;
	}
}

int main(int argc, char **argv)
{
	int ch;
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	while ((ch = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		if (ch == 'f')
			conf_path = optarg;
		else if (ch == 'h')
			usage_to(stdout, 0);
		else
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (argc == 2 && strcmp(argv[1], "--help") == 0 &&
	    (strcmp(argv[0], "check") == 0 || strcmp(argv[0], "setup") == 0 ||
	    strcmp(argv[0], "user") == 0 || strcmp(argv[0], "resolve") == 0))
		usage_to(stdout, 0);
	if (strcmp(argv[0], "check") == 0)
		return cmd_check();
	if (strcmp(argv[0], "setup") == 0)
		return cmd_setup();
	if (strcmp(argv[0], "user") == 0)
		return cmd_user(argc - 1, argv + 1);
	if (strcmp(argv[0], "resolve") == 0)
		return cmd_resolve(argc - 1, argv + 1);
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0)
		usage_to(stdout, 0);
	/* the queue commands */
	load_config();
	ctl_queue_init(&conf);
	if (strcmp(argv[0], "show") == 0)
		return ctl_show(argc, argv);
	if (strcmp(argv[0], "mailq") == 0)
		return ctl_mailq(argc, argv);
	if (strcmp(argv[0], "shape") == 0)
		return ctl_shape(argc, argv);
	if (ctl_is_action(argv[0]))
		return ctl_action(argc, argv);
	if (strcmp(argv[0], "pause") == 0 || strcmp(argv[0], "resume") == 0)
		return ctl_pause(argc, argv, argv[0][0] == 'p');
	if (strcmp(argv[0], "stats") == 0)
		return ctl_stats(argc, argv);
	if (strcmp(argv[0], "reload") == 0) {
		/* the users file is for root (and the auth helper) only;
		 * postern.conf itself was checked by load_config above */
		if (argc == 1 && geteuid() == 0 && cmd_check() != 0)
			return 1;
		return ctl_reload(argc, argv);
	}
	usage();
}
