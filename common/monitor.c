/*
 * monitor.c: supervising parent shared by smtpd, queued, pop3d and
 * the resolver (which has a worker and no helper).
 * Runs as root and parses nothing but bounded IPC frames from its own
 * worker: it forks, waits, forwards signals, passes the helper's socket
 * to the worker and, for pop3d, hands requests to pop3d's hook. It
 * waits with poll on a signalfd (no event library), so its children
 * start with a clean signal state.
 */
#include "monitor.h"
#include "tls.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "pidfile.h"
#include "privsep.h"
#include "proto.h"
#include "ticket.h"
#include "usock.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* daemon_start's, for the pid file */
static const char *daemon_name;
static const char *daemon_spool;

struct monitor {
	const struct monitor_spec *spec;
	pid_t worker;
	int worker_ctl;
	int exit_code;
	bool stopping;
	/* spec->helpers[i], while it has a main */
	struct helper {
		const char *title;
		int (*main)(int sock, void *arg);
		void *arg;
		pid_t pid;
		time_t restart_at; /* 0: no restart pending */
		unsigned failures;
		time_t started;
	} helper[MONITOR_HELPERS_MAX];
	int nhelpers;
};

static bool helpers_alive(const struct monitor *m)
{
	for (int i = 0; i < m->nhelpers; i++)
		if (m->helper[i].pid > 0)
			return true;
	return false;
}

static struct helper *helper_of(struct monitor *m, pid_t pid)
{
	for (int i = 0; i < m->nhelpers; i++)
		if (m->helper[i].pid == pid)
			return &m->helper[i];
	return NULL;
}

static void spawn_helper(struct monitor *m, int i)
{
	struct helper *h = &m->helper[i];
	int sock;
	/* the new helper alone inherits the secret for its login tickets */
	if (i == 0)
		ticket_key_new();
	h->pid = proc_spawn(h->title, h->main, h->arg, &sock, NULL, 0);
	if (h->pid < 0) {
		log_warn("fork %s", h->title);
		h->pid = 0;
		h->restart_at = time(NULL) + 1;
		return;
	}
	h->started = time(NULL);
	h->restart_at = 0;
	/* the payload says which helper it is */
	uint8_t which = (uint8_t)i;
	if (ipc_send_fd(m->worker_ctl, P_HELPER, 0, &which, 1, sock) < 0)
		log_warn("passing helper socket to worker");
	close(sock);
}

/* The worker goes first; its helper (agent, auth) only once the worker
 * is gone, so deliveries and lookups in progress can finish. SIGKILL
 * (the deadline passed) goes to both. */
static void stop_all(struct monitor *m, int sig)
{
	m->stopping = true;
	if (m->worker > 0)
		kill(m->worker, sig);
	for (int i = 0; i < m->nhelpers; i++)
		if (m->helper[i].pid > 0 && (m->worker == 0 || sig == SIGKILL))
			kill(m->helper[i].pid, sig);
}

static void reap_one(struct monitor *m, pid_t pid, int status)
{
	const char *how = WIFSIGNALED(status) ? "killed by signal" : "exited with";
	int code = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
	if (pid == m->worker) {
		m->worker = 0;
		if (!m->stopping) {
			log_warnx("%s %s %d; stopping", m->spec->worker_title, how, code);
			m->exit_code = 1;
		}
		stop_all(m, SIGTERM);
	} else if (helper_of(m, pid) != NULL) {
		struct helper *hp = helper_of(m, pid);
		hp->pid = 0;
		if (!m->stopping) {
			log_warnx("%s %s %d; restarting it", hp->title, how, code);
			/* one that keeps dying at start is restarted more slowly */
			if (time(NULL) - hp->started < 5)
				hp->failures++;
			else
				hp->failures = 0;
			hp->restart_at = time(NULL) + (hp->failures > 3 ? 5 : 0);
		}
	} else if (m->spec->on_child_exit) {
		m->spec->on_child_exit(m->worker_ctl, pid, status, m->spec->hook_arg);
	}
}

static void reap(struct monitor *m)
{
	int status;
	pid_t pid;
	/* the worker first: helpers that end because it died are then
	 * part of the stop, not restarted */
	if (m->worker > 0 && waitpid(m->worker, &status, WNOHANG) == m->worker)
		reap_one(m, m->worker, status);
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		reap_one(m, pid, status);
}

/* One frame from the worker. The worker faces the network, so a frame
 * that does not arrive whole in time is treated as hostile. */
static bool worker_request(struct monitor *m)
{
	struct ipc_hdr h;
	uint8_t *p = NULL;
	int fd = -1;
	int r = ipc_recv(m->worker_ctl, &h, &p, &fd);
	if (r <= 0) {
		if (r < 0 && !m->stopping) {
			log_warnx("bad frame from %s; stopping it", m->spec->worker_title);
			stop_all(m, SIGTERM);
		}
		return false;
	}
	m->spec->on_worker_msg(m->worker_ctl, &h, p, fd, m->spec->hook_arg);
	free(p);
	return true;
}

/* SIGHUP: postern.conf again. A file that does not parse changes
 * nothing (the error says where); otherwise the live keys change here
 * and, through P_CONFIG, in the worker and its helpers. */
static void reload(struct monitor *m)
{
	struct config *conf = m->spec->conf;
	char err[1024], changed[1024], restart[1024];
	size_t len;
	if (conf == NULL)
		return;
	char *text = config_read(conf->path, &len, err, sizeof(err));
	if (text == NULL || config_reload(conf, text, len, changed, sizeof(changed), restart,
	    sizeof(restart), err, sizeof(err)) < 0) {
		log_warnx("SIGHUP: %s; the running configuration stays", err);
		free(text);
		return;
	}
	/* A frame cut short (the worker stuck past the send timeout) would
	 * leave the stream out of step: then the daemon stops, and its
	 * supervisor starts it with the new file. */
	if (ipc_send_fd(m->worker_ctl, P_CONFIG, 0, text, len, -1) < 0) {
		log_warn("SIGHUP: passing the configuration to %s; stopping", m->spec->worker_title);
		m->exit_code = 1;
		stop_all(m, SIGTERM);
	} else {
		log_info("SIGHUP: %s reloaded; changed: %s%s%s", conf->path,
		    changed[0] ? changed : "nothing", restart[0] ? "; needs a restart to change: " : "",
		    restart);
	}
	free(text);
}

int monitor_run(const struct monitor_spec *spec)
{
	struct monitor m = { .spec = spec };
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	/* blocked here; proc_spawn's children unblock them */
	sigprocmask(SIG_BLOCK, &set, &old);

	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		fatal("signalfd");
	bool tls = spec->tls_conf && spec->tls_conf->tls_certificate[0];
	if (tls) {
		/* fail at start, with the reason, rather than at the first client */
		struct tls_creds c;
		char err[512];
		tls_init();
		if (!tls_creds_usable(spec->tls_conf->tls_certificate, spec->tls_conf->tls_key, &c,
		    NULL, err, sizeof(err)))
			fatalx("TLS: %s", err);
		tls_creds_free(&c);
	}
	m.worker = proc_spawn(spec->worker_title, spec->worker_main, spec->worker_arg,
	    &m.worker_ctl, spec->worker_keep_fds, spec->worker_nkeep);
	if (m.worker < 0)
		fatal("fork %s", spec->worker_title);
	usock_timeouts(m.worker_ctl, 2);
	bool ctl_open = spec->on_worker_msg != NULL;
	for (size_t i = 0; i < spec->worker_nkeep; i++)
		close(spec->worker_keep_fds[i]);
	if (tls && !tls_send_creds(m.worker_ctl, spec->tls_conf))
		fatalx("TLS: cannot start");
	/* the resolver has no helper; queued has three (local and remote
	 * delivery agents, auth helper) */
	while (m.nhelpers < MONITOR_HELPERS_MAX && spec->helpers[m.nhelpers].main) {
		const struct monitor_helper *h = &spec->helpers[m.nhelpers];
		m.helper[m.nhelpers] = (struct helper){ h->title, h->main, h->arg, 0, 0, 0, 0 };
		spawn_helper(&m, m.nhelpers++);
	}

	if (daemon_name)
		pidfile_write(daemon_spool, daemon_name);
	time_t stop_deadline = 0;
	while (m.worker > 0 || helpers_alive(&m)) {
		struct pollfd pfd[2] = { { sfd, POLLIN, 0 }, { m.worker_ctl, POLLIN, 0 } };
		int sig = 0;
		if (poll(pfd, ctl_open ? 2 : 1, 1000) > 0) {
			struct signalfd_siginfo si;
			if (pfd[0].revents & POLLIN && read(sfd, &si, sizeof(si)) == sizeof(si))
				sig = (int)si.ssi_signo;
			if (ctl_open && pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
				ctl_open = worker_request(&m);
		}
		if (sig == SIGCHLD) {
			reap(&m);
		} else if (sig == SIGTERM || sig == SIGINT) {
			if (!m.stopping)
				log_info("signal %d: stopping", sig);
			stop_all(&m, SIGTERM);
		} else if (sig == SIGHUP && m.worker > 0 && !m.stopping) {
			reload(&m);
			if (tls && !m.stopping) {
				log_info("SIGHUP: reloading %s", spec->tls_conf->tls_certificate);
				tls_send_creds(m.worker_ctl, spec->tls_conf);
			}
		}
		reap(&m);
		time_t now = time(NULL);
		if (m.stopping) {
			if (stop_deadline == 0)
				stop_deadline = now + 15;
			else if (now >= stop_deadline)
				stop_all(&m, SIGKILL);
		} else {
			if (spec->on_tick)
				spec->on_tick(now, spec->hook_arg);
			for (int i = 0; i < m.nhelpers; i++)
				if (m.helper[i].pid == 0 && m.helper[i].restart_at && now >= m.helper[i].restart_at)
					spawn_helper(&m, i);
		}
	}
	close(m.worker_ctl);
	close(sfd);
	if (daemon_name)
		pidfile_remove(daemon_spool, daemon_name);
	log_info("stopped");
	return m.exit_code;
}

void daemon_start(int argc, char **argv, const char *name, struct config *conf)
{
	const char *path = "/etc/postern/postern.conf";
	char err[1024], ident[64];
	bool debug = false;
	int ch;

	proc_init(argc, argv);
	/* one fd per session and per open queue file: take all we may */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	while ((ch = getopt(argc, argv, "df:F")) != -1) {
		switch (ch) {
		case 'd': debug = true; break;
		case 'f': path = optarg; break;
		case 'F': break; /* always in the foreground, for a supervisor */
		default:
			fprintf(stderr, "usage: %s [-dF] [-f config]\n", name);
			exit(2);
		}
	}
	if (config_load(path, conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", name, err);
		exit(1);
	}
	snprintf(ident, sizeof(ident), "postern/%s", name);
	daemon_name = name;
	daemon_spool = conf->spool;
	log_init(ident, debug || conf->log_stderr);
}
