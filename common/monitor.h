/*
 * monitor.h: the small root parent of smtpd, queued, pop3d and the
 * resolver. It forks the daemon's worker (which drops to its own user)
 * and one helper (auth helper for smtpd, local delivery agent for
 * queued, plus queued's auth helper and remote delivery agent; the
 * resolver has none), hands the worker a connection to each helper,
 * restarts a helper when it dies, and
 * ends everything when the worker dies or on SIGTERM/SIGINT. pop3d's
 * monitor also takes requests from its worker (start a mail session).
 */
#ifndef POSTERN_MONITOR_H
#define POSTERN_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct ipc_hdr;

#define MONITOR_HELPERS_MAX 3

struct monitor_spec {
	const char *worker_title;
	int (*worker_main)(int ctl_sock, void *arg);
	void *worker_arg;
	/* Helpers, forked after the worker; the worker learns which one a
	 * P_HELPER socket is for from its u8 payload, the index here. A
	 * NULL main ends the list (the resolver has none). Helper 0 alone
	 * gets a fresh login-ticket key (smtpd, pop3d: the auth helper). */
	struct monitor_helper {
		const char *title;
		int (*main)(int sock, void *arg);
		void *arg;
	} helpers[MONITOR_HELPERS_MAX];
	const int *worker_keep_fds;
	size_t worker_nkeep;
	/* Optional (pop3d): a frame the worker sent up; ctl answers it. */
	void (*on_worker_msg)(int ctl, const struct ipc_hdr *h, const uint8_t *payload,
	    int fd, void *arg);
	/* Optional: a child neither worker nor helper exited (a session). */
	void (*on_child_exit)(int ctl, pid_t pid, int status, void *arg);
	/* Optional: called after each pass of the monitor's loop, which
	 * makes one at least every second, until it stops (pop3d's counter
	 * file, queued's offline pickup). */
	void (*on_tick)(time_t now, void *arg);
	void *hook_arg;
	/* smtpd, pop3d: when it names a certificate, the worker gets it as a
	 * P_TLS frame at start and again on every SIGHUP. */
	const struct config *tls_conf;
	/* The running configuration. On SIGHUP the monitor re-reads its
	 * file, takes the live keys (config_take_live) and sends the worker
	 * the file's bytes (P_CONFIG); helpers and sessions forked later
	 * start from the updated copy. */
	struct config *conf;
};

/* A daemon's root start-up: options (-f config, -d log to stderr, -F
 * foreground, the only mode), config, logging. Exits on error with the
 * config's file:line message. */
void daemon_start(int argc, char **argv, const char *name, struct config *conf);

/* Runs until the worker exits or a terminating signal arrives; returns
 * the exit code for main. */
int monitor_run(const struct monitor_spec *spec);

#endif
