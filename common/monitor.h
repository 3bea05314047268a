/*
 * monitor.h: the small root parent of smtpd and queued. It forks the
 * daemon's worker (which drops to its own user) and one helper (auth
 * helper for smtpd, local delivery agent for queued), hands the worker
 * a connection to the helper, restarts the helper when it dies, and
 * ends everything when the worker dies or on SIGTERM/SIGINT.
 */
#ifndef POSTERN_MONITOR_H
#define POSTERN_MONITOR_H

#include <stddef.h>

struct config;

struct monitor_spec {
	const char *worker_title;
	int (*worker_main)(int ctl_sock, void *arg);
	const char *helper_title;
	int (*helper_main)(int sock, void *arg);
	void *worker_arg;
	void *helper_arg;
	const int *worker_keep_fds;
	size_t worker_nkeep;
};

/* A daemon's root start-up: options (-f config, -d log to stderr, -F
 * foreground, the only mode), config, logging. Exits on error with the
 * config's file:line message. */
void daemon_start(int argc, char **argv, const char *name, struct config *conf);

/* Runs until the worker exits or a terminating signal arrives; returns
 * the exit code for main. */
int monitor_run(const struct monitor_spec *spec);

#endif
