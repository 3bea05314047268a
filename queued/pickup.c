/*
 * pickup.c: sends on the submissions the sendmail command left in
 * <spool>/offline/ while queued was down, as Postfix's pickup takes its
 * maildrop. queued's root monitor looks into the directory at start and
 * every minute and, when a file waits, forks a pickup process (root,
 * not chrooted). Root only looks at the files: each is sent by a
 * process of its own that has become the file's owner (uid, gid and
 * groups), over run/submit.sock like sendmail itself, so queued records
 * that user from the socket's credentials and applies every check it
 * applies to sendmail. The file holds the frames sendmail would have
 * sent; that process removes it once queued has it, or renames it
 * .refused.NAME when queued refuses it.
 */
#include "pickup.h"
#include "config.h"
#include "log.h"
#include "privsep.h"
#include "proto.h"
#include "submit_client.h"
#include "usock.h"
#include "util.h"

#include <bsd/string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#define PICKUP_INTERVAL_S 60
#define PICKUP_BATCH 1000          /* files per pickup process */
#define PICKUP_IO_TIMEOUT_S 300    /* as sendmail's */
#define PICKUP_TMP_MAX_AGE_S 86400 /* a sendmail that died while writing */
#define TMP_PREFIX ".tmp."
#define REFUSED_PREFIX ".refused."

static pid_t pickup_pid;
static time_t next_scan;

/* As the file's owner: the frames to queued, then its answer. The
 * file is removed once queued has the message; kept for the next
 * round if it could not take it now; set aside if it refused it. */
static int send_as_owner(const struct config *conf, int dfd, const char *name, int fd, uid_t uid)
{
	char path[PATH_MAX], why[600];
	textf(path, sizeof(path), "%s/%s", conf->spool, SUBMIT_SOCKET);
	int sock = usock_connect(path, false, PICKUP_IO_TIMEOUT_S);
	if (sock < 0) {
		log_warn("offline/%s: uid=%u: connecting to %s; tried again later", name,
		    (unsigned)uid, path);
		return EX_TEMPFAIL;
	}
	int send_errno = 0;
	static uint8_t buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("offline/%s: reading", name);
			return EX_TEMPFAIL;
		}
		if (n == 0)
			break;
		if (!write_all(sock, buf, (size_t)n)) {
			send_errno = errno;
			break;
		}
	}
	uint64_t qid;
	char id[QID_LEN + 1], aside[NAME_MAX + 1];
	enum submit_outcome out = submit_answer(sock, send_errno, PICKUP_IO_TIMEOUT_S, &qid, why,
	    sizeof(why));
	close(sock);
	switch (out) {
	case SUBMIT_OK:
		qid_format(qid, id);
		if (unlinkat(dfd, name, 0) < 0)
			log_warn("offline/%s: removing it (queued as %s)", name, id);
		log_info("offline/%s: uid=%u: queued as %s", name, (unsigned)uid, id);
		return EX_OK;
	case SUBMIT_TEMP:
		log_warnx("offline/%s: uid=%u: %s; tried again later", name, (unsigned)uid, why);
		return EX_TEMPFAIL;
	default:
		textf(aside, sizeof(aside), REFUSED_PREFIX "%s", name);
		if (renameat(dfd, name, dfd, aside) < 0)
			log_warn("offline/%s: renaming it %s", name, aside);
		log_warnx("offline/%s: uid=%u: refused: %s; kept as offline/%s", name, (unsigned)uid,
		    why, aside);
		return EX_DATAERR;
	}
}

/* One file: root checks what it is and whose, then a child that has
 * become its owner sends it. Returns the child's exit code (EX_*). */
static int pickup_one(const struct config *conf, int dfd, const char *name)
{
	struct stat st, fst;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return EX_OK; /* gone meanwhile */
	if (name[0] == '.') {
		/* a sendmail that died while writing leaves its dot file */
		if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime < time(NULL) - PICKUP_TMP_MAX_AGE_S && unlinkat(dfd, name, 0) == 0)
			log_info("offline/%s: left by a sendmail that did not finish; removed", name);
		return EX_OK;
	}
	/* only a regular file with one link is opened (never a device, a
	 * fifo or a link to another user's file), and it must still be the
	 * one looked at */
	int fd = S_ISREG(st.st_mode) && st.st_nlink == 1 ?
	    openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
	if (fd < 0 || fstat(fd, &fst) < 0 || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev ||
	    !S_ISREG(fst.st_mode) || fst.st_nlink != 1) {
		if (fd >= 0)
			close(fd);
		if (S_ISDIR(st.st_mode) ? unlinkat(dfd, name, AT_REMOVEDIR) == 0 : unlinkat(dfd, name, 0) == 0)
			log_warnx("offline/%s: not a regular file with one link (uid %u); removed", name,
			    (unsigned)st.st_uid);
		return EX_OK;
	}
	uid_t uid = fst.st_uid;
	struct passwd *pw = getpwuid(uid);
	char aside[NAME_MAX + 1];
	if (pw == NULL || (!privsep_enabled() && uid != getuid())) {
		close(fd);
		textf(aside, sizeof(aside), REFUSED_PREFIX "%s", name);
		renameat(dfd, name, dfd, aside);
		log_warnx("offline/%s: owner uid %u %s; kept as offline/%s", name, (unsigned)uid,
		    pw == NULL ? "has no user name" : "is not this developer's queued's", aside);
		return EX_DATAERR;
	}
	gid_t gid = pw->pw_gid;
	char user[64];
	strlcpy(user, pw->pw_name, sizeof(user));
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("offline/%s: fork", name);
		close(fd);
		return EX_TEMPFAIL;
	}
	if (pid == 0) {
		/* this process's memory is root's copy: never readable by the
		 * user it becomes (the kernel also clears it on setuid) */
		prctl(PR_SET_DUMPABLE, 0);
		if (privsep_enabled() && (initgroups(user, gid) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0 || getuid() != uid || geteuid() != uid ||
		    (uid != 0 && setuid(0) == 0))) {
			log_warn("offline/%s: becoming uid %u", name, (unsigned)uid);
			_exit(EX_TEMPFAIL);
		}
		_exit(send_as_owner(conf, dfd, name, fd, uid));
	}
	close(fd);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EX_TEMPFAIL;
	return WIFEXITED(status) ? WEXITSTATUS(status) : EX_TEMPFAIL;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The pickup process: the waiting files, oldest first (sendmail names
 * them by time), until one cannot be sent now. */
static int pickup_main(int sock, void *arg)
{
	const struct config *conf = arg;
	char dir[PATH_MAX];
	char *names[PICKUP_BATCH];
	size_t n = 0;
	close(sock);
	log_setname("postern/pickup");
	textf(dir, sizeof(dir), "%s/" OFFLINE_DIR, conf->spool);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int lfd = dfd >= 0 ? fcntl(dfd, F_DUPFD_CLOEXEC, 0) : -1;
	DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (d == NULL) {
		log_warn("%s", dir);
		return 1;
	}
	struct dirent *de;
	while (n < PICKUP_BATCH && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    (names[n] = strdup(de->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (pickup_one(conf, dfd, names[i]) == EX_TEMPFAIL)
			break; /* queued cannot take mail now: the next round */
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	close(dfd);
	return 0;
}

/* Anything but "." and ".." that is not set aside (.refused.*). */
static bool offline_waiting(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool any = false;
	if (d == NULL)
		return false;
	while (!any && (de = readdir(d)) != NULL)
		any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    strncmp(de->d_name, REFUSED_PREFIX, strlen(REFUSED_PREFIX)) != 0;
	closedir(d);
	return any;
}

void pickup_tick(time_t now, void *arg)
{
	const struct config *conf = arg;
	char dir[PATH_MAX];
	if (pickup_pid > 0 || now < next_scan)
		return;
	next_scan = now + PICKUP_INTERVAL_S;
	textf(dir, sizeof(dir), "%s/" OFFLINE_DIR, conf->spool);
	if (!offline_waiting(dir))
		return;
	int sock;
	pickup_pid = proc_spawn("postern-queued: pickup", pickup_main, (void *)conf, &sock, NULL, 0);
	if (pickup_pid < 0) {
		log_warn("fork of the pickup process");
		pickup_pid = 0;
		return;
	}
	close(sock);
}

void pickup_child_exit(int ctl, pid_t pid, int status, void *arg)
{
	(void)ctl;
	(void)arg;
	if (pid != pickup_pid)
		return;
	pickup_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warnx("the pickup process ended with status %d", status);
}
