/*
 * pop3d.c: the POP3 server's root monitor. main() reads the config,
 * binds the "listen pop3" and "listen pop3s" sockets and makes the
 * login process's empty chroot; the monitor then runs the login
 * process (login.c, postern-pop3) and the auth helper (common/auth.c,
 * postern-auth), and (common/monitor.c) reads the TLS certificate and
 * key as root and passes them to the login process at start and on
 * SIGHUP.
 * When the login process brings a client with a ticket from the auth
 * helper, this process checks the ticket and forks the user's mail
 * session (session.c), which chroots into that user's Maildir as
 * postern-vmail. It parses only bounded IPC frames and never reads a
 * password, a hash or a message.
 */
#include "pop3d.h"
#include "auth.h"
#include "ctlmsg.h"
#include "ipc.h"
#include "log.h"
#include "monitor.h"
#include "netserver.h"
#include "privsep.h"
#include "proto.h"
#include "tables.h"
#include "ticket.h"
#include "util.h"

#include <bsd/string.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct running_session {
	pid_t pid;
	uint32_t reqid;
};

static struct config conf;
static struct login_args largs;
static struct running_session *sessions;
static size_t nsessions;
static uint64_t sessions_total;
static gid_t admin_gid = (gid_t)-1; /* group postern-admin, when it exists */

static void answer(int ctl, uint16_t type, uint32_t reqid, const char *reason)
{
	struct ipc_buf b;
	ipcb_init(&b);
	if (reason)
		ipcb_cstr(&b, reason);
	ipc_send_fd(ctl, type, reqid, b.data, b.len, -1);
	ipcb_free(&b);
}

/* The login process's last counters (P_STATS) and the mail sessions
 * counted here, into run/pop3d.stats for posternctl stats (root and
 * postern-admin). Changes mark the file stale; the monitor's tick
 * writes it at most once a second, so neither a busy server nor a
 * login process that floods P_STATS makes root rewrite it per event. */
static struct stat_kv login_kv[STATS_MAX];
static size_t login_nkv;
static bool stats_stale = true;
static time_t stats_written;

static bool write_stats(void)
{
	static struct stat_kv kv[STATS_MAX];
	size_t n = login_nkv;
	memcpy(kv, login_kv, n * sizeof(kv[0]));
	strlcpy(kv[n].name, "pop3d_sessions_total", sizeof(kv[n].name));
	kv[n++].value = sessions_total;
	strlcpy(kv[n].name, "pop3d_sessions_now", sizeof(kv[n].name));
	kv[n++].value = nsessions;
	struct ipc_buf b;
	char path[PATH_MAX];
	ipcb_init(&b);
	ctlmsg_stats_encode(&b, kv, n);
	textf(path, sizeof(path), "%s/" POP3D_STATS_FILE, conf.spool);
	bool ok = !b.err && write_file_replace(path, b.data, b.len,
	    admin_gid == (gid_t)-1 ? 0600 : 0640, admin_gid);
	if (!ok)
		log_warn("%s", path);
	ipcb_free(&b);
	return ok;
}

static void on_tick(time_t now, void *arg)
{
	(void)arg;
	if (!stats_stale || now == stats_written)
		return;
	stats_written = now;
	/* a failed write (a full disk) is tried again at the next tick */
	stats_stale = !write_stats();
}

/* The login process faces the network: of its list only pop3d_ names
 * are kept, once each, and none of the names counted here. */
static void take_login_stats(const uint8_t *p, size_t len)
{
	static struct stat_kv kv[STATS_MAX];
	int got = ctlmsg_stats_decode(p, len, kv, STATS_MAX - 2);
	if (got < 0) {
		log_warnx("malformed counters from the login process");
		return;
	}
	login_nkv = ctlmsg_stats_keep(kv, (size_t)got, "pop3d_", "pop3d_sessions_");
	memcpy(login_kv, kv, login_nkv * sizeof(kv[0]));
	stats_stale = true;
}

static void on_login_request(int ctl, const struct ipc_hdr *h, const uint8_t *p, int fd,
    void *arg)
{
	(void)arg;
	if (h->type == P_STATS && fd < 0) {
		take_login_stats(p, h->len);
		return;
	}
	struct session_args sa = { .conf = &conf, .client_fd = fd };
	struct ipc_rd r;
	size_t tlen;
	if (h->type != P_SESSION || fd < 0) {
		log_warnx("unexpected request %u from the login process", h->type);
		if (fd >= 0)
			close(fd);
		return;
	}
	ipcr_init(&r, p, h->len);
	ipcr_str(&r, sa.user, sizeof(sa.user));
	const uint8_t *ticket = ipcr_bytes(&r, TICKET_LEN, &tlen);
	ipcr_str(&r, sa.ip, sizeof(sa.ip));
	sa.pipelined = ipcr_bytes(&r, POP3_PIPELINED_MAX, &sa.npipelined);
	if (!ipcr_done(&r) || !valid_username(sa.user, strlen(sa.user)) ||
	    !ticket_verify(sa.user, ticket, tlen)) {
		log_warnx("refusing a session request without a valid ticket (user \"%s\")",
		    sa.user);
		answer(ctl, P_SESSION_FAIL, h->reqid, "bad ticket");
		close(fd);
		return;
	}
	if (nsessions >= conf.max_sessions) {
		answer(ctl, P_SESSION_FAIL, h->reqid, "too many sessions");
		close(fd);
		return;
	}
	char title[128];
	int sock;
	textf(title, sizeof(title), "postern-pop3d: session %s [%s]", sa.user, sa.ip);
	pid_t pid = proc_spawn(title, session_main, &sa, &sock, &fd, 1);
	close(fd);
	if (pid < 0) {
		log_warn("fork of a mail session");
		answer(ctl, P_SESSION_FAIL, h->reqid, "cannot fork");
		return;
	}
	close(sock);
	sessions[nsessions].pid = pid;
	sessions[nsessions].reqid = h->reqid;
	nsessions++;
	sessions_total++;
	stats_stale = true;
	answer(ctl, P_SESSION_OK, h->reqid, NULL);
}

static void on_session_exit(int ctl, pid_t pid, int status, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < nsessions; i++) {
		if (sessions[i].pid != pid)
			continue;
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
			log_warnx("mail session %d killed by signal %d", (int)pid, WTERMSIG(status));
		answer(ctl, P_SESSION_END, sessions[i].reqid, NULL);
		sessions[i] = sessions[--nsessions];
		stats_stale = true;
		return;
	}
}

int main(int argc, char **argv)
{
	daemon_start(argc, argv, "pop3d", &conf);
	if (config_count_listen(&conf, "pop3") + config_count_listen(&conf, "pop3s") == 0) {
		fprintf(stderr, "pop3d: %s: no 'listen pop3 ADDRESS:PORT' or "
		    "'listen pop3s ADDRESS:PORT' line\n", conf.path);
		return 1;
	}
	/* fail early on a missing system user, before forking anything */
	(void)privsep_expected_uid(USER_POP3);
	(void)privsep_expected_uid(USER_AUTH);
	(void)privsep_expected_uid(USER_VMAIL);
	umask(077);
	privsep_ensure_dir(conf.spool, "", NULL, 0755);
	privsep_ensure_dir(conf.spool, "empty", NULL, 0555);
	privsep_ensure_dir(conf.mail_root, "", USER_VMAIL, 0700);
	largs.conf = &conf;
	for (size_t i = 0; i < conf.nlisten; i++) {
		const char *proto = conf.listen[i].proto;
		if (strcmp(proto, "pop3") != 0 && strcmp(proto, "pop3s") != 0)
			continue;
		largs.implicit_tls[largs.nlisten] = listen_is_implicit_tls(proto);
		largs.listen_fds[largs.nlisten++] = listener_bind(&conf.listen[i]);
	}
	sessions = calloc(conf.max_sessions, sizeof(*sessions));
	if (sessions == NULL)
		fatalx("out of memory");
	log_info("starting; config %s", conf.path);
	struct monitor_spec spec = {
		.worker_title = "postern-pop3d: login",
		.worker_main = login_main,
		.worker_arg = &largs,
		.helpers = { { "postern-pop3d: auth helper", auth_helper_main, &conf } },
		.worker_keep_fds = largs.listen_fds,
		.worker_nkeep = largs.nlisten,
		.on_worker_msg = on_login_request,
		.on_child_exit = on_session_exit,
		.on_tick = on_tick,
		.tls_conf = &conf,
		.conf = &conf,
	};
	/* (a developer's pop3d, not root, cannot give the file away) */
	struct group *gr = privsep_enabled() ? getgrnam(GROUP_ADMIN) : NULL;
	if (gr != NULL)
		admin_gid = gr->gr_gid;
	int rc = monitor_run(&spec);
	char path[PATH_MAX];
	textf(path, sizeof(path), "%s/" POP3D_STATS_FILE, conf.spool);
	unlink(path); /* a stopped pop3d has no counters */
	return rc;
}
