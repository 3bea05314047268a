/*
 * queued.c: the queue daemon's root start-up. Reads the config,
 * creates the spool layout with its owners and modes, binds
 * run/queue.sock (owner postern-queue, group postern-smtpd, mode 0660),
 * run/submit.sock (any local user: sendmail) and run/control.sock
 * (root and group postern-admin: posternctl), then runs the monitor, which forks the queue manager (qmgr.c), the
 * local delivery agent (local.c), an auth helper (common/auth.c: the
 * queue manager asks it where a report to a local sender goes) and the
 * remote delivery agent (relay/agent.c), and restarts a helper that
 * dies.
 */
#include "queued.h"
#include "relay.h"
#include "auth.h"
#include "log.h"
#include "ipc.h"
#include "monitor.h"
#include "pickup.h"
#include "pidfile.h"
#include "privsep.h"
#include "proto.h"

#include "usock.h"
#include "util.h"

#include <bsd/string.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct config conf;
static struct queued_ctx ctx;

/* Binds <spool>/<rel> with this owner, group and mode when privileged
 * (owner-only otherwise: development runs under one uid). */
static int bind_socket(const struct config *c, const char *rel, uid_t owner, gid_t group, mode_t mode)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", c->spool, rel) >= (int)sizeof(path))
		fatalx("spool path too long");
	int fd = usock_listen(path);
	if (fd < 0)
		fatal("listening at %s", path);
	if (privsep_enabled()) {
		if (chown(path, owner, group) < 0 || chmod(path, mode) < 0)
			fatal("owner/mode of %s", path);
	} else if (chmod(path, mode == 0666 ? 0666 : 0600) < 0) {
		fatal("chmod %s", path);
	}
	return fd;
}

/* Group postern-admin, when it exists: its members (and users whose
 * primary group it is) may use the control socket and read the index.
 * Resolved here, as root: the queue manager's chroot has no /etc. */
static void find_admins(struct queued_ctx *x)
{
	struct group *gr = privsep_enabled() ? getgrnam(GROUP_ADMIN) : NULL;
	x->admin_gid = gr ? gr->gr_gid : (gid_t)-1;
	x->dev_uid = privsep_enabled() ? (uid_t)-1 : geteuid();
}

/* index/ is readable by postern-admin (posternctl lists the queue from
 * it, read-only): the directory is setgid so LMDB's files get that
 * group; lock.mdb must be writable by readers too (LMDB's reader
 * table), data.mdb is not (qindex.c). Root works on what the queue
 * manager's user owns here: through descriptors opened without
 * following links, and only on its own regular files with one link,
 * so a planted symbolic or hard link cannot hand root's files away. */
static void index_perms(const struct config *c, const struct queued_ctx *x)
{
	char path[PATH_MAX];
	uid_t quid;
	gid_t qgid;
	if (!privsep_enabled())
		return;
	if (!privsep_lookup(USER_QUEUE, &quid, &qgid))
		fatalx("system user %s does not exist (run 'posternctl setup')", USER_QUEUE);
	gid_t g = x->admin_gid == (gid_t)-1 ? qgid : x->admin_gid;
	textf(path, sizeof(path), "%s/index", c->spool);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fchown(dfd, quid, g) < 0 ||
	    fchmod(dfd, x->admin_gid == (gid_t)-1 ? 0700 : 02750) < 0)
		fatal("owner/mode of %s", path);
	static const struct { const char *name; mode_t mode; } files[] = {
		{ "data.mdb", 0640 }, { "lock.mdb", 0660 },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct stat st;
		int fd = openat(dfd, files[i].name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue; /* the first start: qindex.c makes them */
		if (fd < 0 || fstat(fd, &st) < 0)
			fatal("%s/%s", path, files[i].name);
		if (!S_ISREG(st.st_mode) || st.st_uid != quid || st.st_nlink != 1)
			fatalx("%s/%s: not a regular file of %s's with one link; refusing to touch it",
			    path, files[i].name, USER_QUEUE);
		if (fchown(fd, quid, g) < 0 || fchmod(fd, files[i].mode) < 0)
			fatal("owner/mode of %s/%s", path, files[i].name);
		close(fd);
	}
	close(dfd);
}

/* The queue manager asks, for posternctl reload (group postern-admin
 * may not signal root's processes itself). */
static void on_qmgr_msg(int ctl, const struct ipc_hdr *h, const uint8_t *p, int fd, void *arg)
{
	(void)p;
	(void)arg;
	if (fd >= 0)
		close(fd);
	if (h->type != P_RELOAD)
		return;
	/* at most one a second: the queue manager is less trusted than us */
	static time_t last;
	time_t now = time(NULL);
	if (now == last) {
		log_warnx("posternctl reload: asked again within a second; ignored");
		return;
	}
	last = now;
	int n = pidfile_signal_all(conf.spool, SIGHUP);
	log_info("posternctl reload: SIGHUP sent to %d daemon(s)", n);
	(void)ctl;
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
	/* sendmail's submissions while queued is down (pickup.c): anyone
	 * may add a file, nobody may list the directory or touch another's */
	privsep_ensure_dir(conf.spool, OFFLINE_DIR, NULL, 01733);
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
	uid_t quid = 0, suid;
	gid_t qgid, sgid = 0;
	if (privsep_enabled() &&
	    (!privsep_lookup(USER_QUEUE, &quid, &qgid) || !privsep_lookup(USER_SMTPD, &suid, &sgid)))
		fatalx("system users missing (run 'posternctl setup')");
	find_admins(&ctx);
	index_perms(&conf, &ctx);
	ctx.listen_fd = bind_socket(&conf, QUEUE_SOCKET, quid, sgid, 0660);
	/* anyone may submit; the queue manager records who */
	ctx.submit_fd = bind_socket(&conf, SUBMIT_SOCKET, quid, 0, 0666);
	/* root, and group postern-admin when it exists */
	ctx.control_fd = bind_socket(&conf, CONTROL_SOCKET, 0,
	    ctx.admin_gid == (gid_t)-1 ? 0 : ctx.admin_gid, ctx.admin_gid == (gid_t)-1 ? 0600 : 0660);
	int worker_fds[] = { ctx.listen_fd, ctx.submit_fd, ctx.control_fd };
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
		.on_worker_msg = on_qmgr_msg,
		.on_tick = pickup_tick,
		.on_child_exit = pickup_child_exit,
		.hook_arg = &conf,
		.worker_keep_fds = worker_fds,
		.worker_nkeep = 3,
		.conf = &conf,
	};
	return monitor_run(&spec);
}
