/*
 * queued.h: pieces of the queue daemon: the worker (qmgr.c, postern-
 * queue in the spool root) and the local delivery agent (local.c,
 * postern-vmail in the mail root), both forked by queued.c's monitor.
 */
#ifndef POSTERN_QUEUED_H
#define POSTERN_QUEUED_H

#include "config.h"

#include <sys/types.h>

struct queued_ctx {
	struct config *conf;
	int listen_fd;       /* run/queue.sock, bound by the root parent */
	uid_t smtpd_uid;     /* the only peer allowed on it */
};

/* queued's helpers, in the order its monitor forks them: the index
 * a P_HELPER frame carries */
enum { HELPER_LOCAL = 0, HELPER_AUTH = 1, HELPER_RELAY = 2 };

int qmgr_main(int ctl_sock, void *arg);
int local_main(int sock, void *arg);

#endif
