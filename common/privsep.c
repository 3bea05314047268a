/*
 * privsep.c: privilege drop with verification, and child spawning.
 * Runs as root in each daemon's start-up (and in its supervising
 * parent); as a non-root user it only changes directory.
 */
#include "privsep.h"
#include "log.h"

#include <bsd/unistd.h>
#include <errno.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

bool privsep_enabled(void) { return geteuid() == 0; }

bool privsep_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(user);
	if (pw == NULL)
		return false;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return true;
}

uid_t privsep_expected_uid(const char *user)
{
	uid_t uid;
	gid_t gid;
	if (!privsep_enabled())
		return geteuid();
	if (!privsep_lookup(user, &uid, &gid))
		fatalx("system user %s does not exist (run 'posternctl setup')", user);
	return uid;
}

/* root, or with root NULL the directory dirfd */
static void drop(const char *user, const char *root, int dirfd)
{
	uid_t uid, ruid, euid, suid;
	gid_t gid, rgid, egid, sgid;

	if (!privsep_enabled()) {
		static bool said;
		if (root ? chdir(root) < 0 : fchdir(dirfd) < 0)
			fatal("chdir %s", root ? root : "(directory)");
		if (!said)
			log_info("running unprivileged (uid %u): no chroot, no uid change",
			    (unsigned)getuid());
		said = true;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			fatal("PR_SET_NO_NEW_PRIVS");
		return;
	}
	if (!privsep_lookup(user, &uid, &gid))
		fatalx("system user %s does not exist (run 'posternctl setup')", user);
	if (uid == 0 || gid == 0)
		fatalx("system user %s must not have uid or gid 0", user);
	/* before the ids change: whoever sees the new uid (a test reading
	 * /proc, an administrator) sees a process that can gain nothing */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fatal("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("PR_SET_DUMPABLE");
	if (root == NULL && fchdir(dirfd) < 0)
		fatal("fchdir");
	if (chroot(root ? root : ".") < 0)
		fatal("chroot %s", root ? root : "(directory)");
	if (chdir("/") < 0)
		fatal("chdir / in chroot");
	if (setgroups(1, &gid) < 0)
		fatal("setgroups");
	if (setresgid(gid, gid, gid) < 0)
		fatal("setresgid");
	if (setresuid(uid, uid, uid) < 0)
		fatal("setresuid");
	/* verify: every id changed, no way back */
	if (getresuid(&ruid, &euid, &suid) < 0 || ruid != uid || euid != uid || suid != uid)
		fatalx("uid drop to %s did not take", user);
	if (getresgid(&rgid, &egid, &sgid) < 0 || rgid != gid || egid != gid || sgid != gid)
		fatalx("gid drop to %s did not take", user);
	gid_t groups[2];
	int ng = getgroups(2, groups);
	if (ng != 1 || groups[0] != gid)
		fatalx("supplementary groups not dropped");
	if (setuid(0) == 0 || seteuid(0) == 0)
		fatalx("could regain root after dropping to %s", user);
	struct stat st;
	if (stat("/", &st) < 0)
		fatal("stat / after chroot");
	/* again: a uid change resets it to fs.suid_dumpable */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("PR_SET_DUMPABLE");
}

void privsep_ensure_dir(const char *base, const char *sub, const char *user, mode_t mode)
{
	char path[PATH_MAX];
	uid_t uid = 0;
	gid_t gid = 0;
	if (snprintf(path, sizeof(path), "%s%s%s", base, sub[0] ? "/" : "", sub) >= (int)sizeof(path))
		fatalx("path too long: %s/%s", base, sub);
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		fatal("mkdir %s", path);
	if (!privsep_enabled())
		return;
	if (user && !privsep_lookup(user, &uid, &gid))
		fatalx("system user %s does not exist (run 'posternctl setup')", user);
	if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0)
		fatal("setting owner and mode of %s", path);
}

void privsep_drop(const char *user, const char *root)
{
	drop(user, root, -1);
}

void privsep_drop_dir(const char *user, int dirfd)
{
	drop(user, NULL, dirfd);
}

void proc_init(int argc, char **argv)
{
	setproctitle_init(argc, argv, environ);
}

void proc_title(const char *title)
{
	setproctitle("-%s", title);
}

pid_t proc_spawn(const char *title, int (*fn)(int sock, void *arg), void *arg,
    int *parent_sock, const int *keep_fds, size_t nkeep)
{
	int sv[2];
	pid_t ppid = getpid();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid > 0) {
		close(sv[1]);
		*parent_sock = sv[0];
		return pid;
	}
	/* child */
	close(sv[0]);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != ppid)
		_exit(1);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/* reload is the monitor's, which passes postern.conf down (P_CONFIG):
	 * a SIGHUP sent to a child by mistake (pkill) must not end it */
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* keep stdio (logs), our end, and what the caller asks for */
	for (int fd = 3; fd < 1024; fd++) {
		bool keep = fd == sv[1];
		for (size_t i = 0; i < nkeep && !keep; i++)
			keep = keep_fds[i] == fd;
		if (!keep)
			close(fd);
	}
	proc_title(title);
	exit(fn(sv[1], arg));
}
