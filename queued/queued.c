/*
 * queued.c: the queue daemon's root start-up. Reads the config,
 * creates the spool layout with its owners and modes, binds
 * run/queue.sock (owner postern-queue, group postern-smtpd, mode 0660),
 * then runs the monitor, which forks the queue manager (qmgr.c), the
 * local delivery agent (local.c), an auth helper (common/auth.c: the
 * queue manager asks it where a report to a local sender goes) and the
 * remote delivery agent (relay/agent.c), and restarts a helper that
 * dies.
 */
#include "queued.h"
#include "relay.h"
#include "auth.h"
#include "log.h"
#include "monitor.h"
#include "privsep.h"
#include "proto.h"

#include <bsd/string.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static struct config conf;
static struct queued_ctx ctx;

static int bind_queue_socket(const struct config *c)
{
	char path[PATH_MAX];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;
	if (snprintf(path, sizeof(path), "%s/%s", c->spool, QUEUE_SOCKET) >= (int)sizeof(path))
		fatalx("spool path too long");
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >= sizeof(sun.sun_path))
		fatalx("socket path too long: %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		fatal("unlink %s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("socket");
	mode_t old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("bind %s", path);
	umask(old);
	if (privsep_enabled()) {
		uid_t quid, suid;
		gid_t qgid, sgid;
		if (!privsep_lookup(USER_QUEUE, &quid, &qgid) || !privsep_lookup(USER_SMTPD, &suid, &sgid))
			fatalx("system users missing (run 'posternctl setup')");
		if (chown(path, quid, sgid) < 0 || chmod(path, 0660) < 0)
			fatal("owner/mode of %s", path);
	} else if (chmod(path, 0600) < 0) {
		fatal("chmod %s", path);
	}
	if (listen(fd, 128) < 0)
		fatal("listen %s", path);
	return fd;
}

int main(int argc, char **argv)
{
	daemon_start(argc, argv, "queued", &conf);
	umask(077);
	privsep_ensure_dir(conf.spool, "", NULL, 0755);
	privsep_ensure_dir(conf.spool, "run", NULL, 0755);
	privsep_ensure_dir(conf.spool, "empty", NULL, 0555); /* the remote agent's chroot */
	privsep_ensure_dir(conf.spool, "queue", USER_QUEUE, 0700);
	privsep_ensure_dir(conf.spool, "index", USER_QUEUE, 0700);
	privsep_ensure_dir(conf.mail_root, "", USER_VMAIL, 0700);
	ctx.conf = &conf;
	ctx.smtpd_uid = privsep_expected_uid(USER_SMTPD);
	(void)privsep_expected_uid(USER_QUEUE);
	(void)privsep_expected_uid(USER_VMAIL);
	(void)privsep_expected_uid(USER_AUTH);
	(void)privsep_expected_uid(USER_RELAY);
	/* the remote agent reads it as it starts; a missing file stops
	 * queued here, with the reason, instead of a helper restart loop */
	if (conf.relayhost_password_file[0] && access(conf.relayhost_password_file, R_OK) < 0)
		fatal("relayhost_password_file %s", conf.relayhost_password_file);
	ctx.listen_fd = bind_queue_socket(&conf);
	log_info("starting; config %s", conf.path);
	struct monitor_spec spec = {
		.worker_title = "postern-queued: queue manager",
		.worker_main = qmgr_main,
		.worker_arg = &ctx,
		/* the indexes are queued.h's HELPER_* */
		.helpers = {
			[HELPER_LOCAL] = { "postern-queued: local delivery", local_main, &conf },
			[HELPER_AUTH] = { "postern-queued: auth helper", auth_helper_main, &conf },
			[HELPER_RELAY] = { "postern-queued: remote delivery", relay_main, &conf },
		},
		.worker_keep_fds = &ctx.listen_fd,
		.worker_nkeep = 1,
	};
	return monitor_run(&spec);
}
