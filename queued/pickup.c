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
 * sent; that process's exit code tells root to remove it (queued has
 * it), keep it (not now) or rename it .refused.NAME (refused).
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
#include <signal.h>
#include <time.h>
#include <sysexits.h>
#include <unistd.h>

#define PICKUP_INTERVAL_S 60
#define PICKUP_BATCH 1000          /* files per pickup process */
#define PICKUP_PER_UID 100         /* of which one user's, so none crowds out the rest */
#define PICKUP_UIDS 1024           /* users with files in one round */
#define PICKUP_IO_TIMEOUT_S 300    /* as sendmail's */
/* connect and answer may each take PICKUP_IO_TIMEOUT_S; a child that
 * takes longer (its owner stopped it, say) is killed */
#define PICKUP_CHILD_MAX_S (2 * PICKUP_IO_TIMEOUT_S + 60)
#define PICKUP_TMP_MAX_AGE_S 86400 /* a sendmail that died while writing */
#define PICKUP_NAME_MAX 160        /* sendmail's names are 25 octets; set aside, 200 at most */
#define TMP_PREFIX ".tmp."
#define REFUSED_PREFIX ".refused."
/* a child's exit: the file was sent, refused or set aside (EX_OK,
 * EX_DATAERR), could not be sent now (EX_TEMPFAIL), or queued's socket
 * cannot be reached, which ends the round (EX_UNAVAILABLE) */

static pid_t pickup_pid;
static time_t next_scan;
static time_t started; /* queued's start: what waited through an outage is not old */

/* name -> .refused.name, never over a file already there (root does
 * not heed the sticky bit): then a fresh name of the same form. */
static void set_aside(int dfd, const char *name, char *aside, size_t asidelen)
{
	textf(aside, asidelen, REFUSED_PREFIX "%s", name);
	for (int i = 0; i < 4; i++) {
		if (renameat2(dfd, name, dfd, aside, RENAME_NOREPLACE) == 0)
			return;
		if (errno != EEXIST)
			break;
		char id[QID_LEN + 1];
		qid_format(qid_new(), id);
		textf(aside, asidelen, REFUSED_PREFIX "%s.%s", id, name);
	}
	log_warn("offline/%s: setting it aside", name);
}

/* As the file's owner: the frames to queued, then its answer, as an
 * exit code for root, which removes the file (EX_OK), keeps it for the
 * next round (EX_TEMPFAIL, EX_UNAVAILABLE) or sets it aside
 * (EX_DATAERR). This process holds no descriptor but the file's. */
static int send_as_owner(const struct config *conf, const char *name, int fd, uid_t uid)
{
	char path[PATH_MAX], why[600];
	textf(path, sizeof(path), "%s/%s", conf->spool, SUBMIT_SOCKET);
	int sock = usock_connect(path, false, PICKUP_IO_TIMEOUT_S);
	if (sock < 0) {
		log_warn("offline/%s: uid=%u: connecting to %s; tried again later", name,
		    (unsigned)uid, path);
		return EX_UNAVAILABLE;
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
	char id[QID_LEN + 1];
	enum submit_outcome out = submit_answer(sock, send_errno, PICKUP_IO_TIMEOUT_S, &qid, why,
	    sizeof(why));
	close(sock);
	switch (out) {
	case SUBMIT_OK:
		qid_format(qid, id);
		log_info("offline/%s: uid=%u: queued as %s", name, (unsigned)uid, id);
		return EX_OK;
	case SUBMIT_TEMP:
		log_warnx("offline/%s: uid=%u: %s; tried again later", name, (unsigned)uid, why);
		return EX_TEMPFAIL;
	default:
		log_warnx("offline/%s: uid=%u: refused: %s", name, (unsigned)uid, why);
		return EX_DATAERR;
	}
}

/* Waits for the child sending a file, at most PICKUP_CHILD_MAX_S: its
 * owner may stop it or make it linger, and no user may hold up the
 * others' mail. */
static int wait_child(pid_t pid, const char *name)
{
	int status;
	for (int ticks = 0; ticks < PICKUP_CHILD_MAX_S * 20; ticks++) {
		pid_t r = waitpid(pid, &status, WNOHANG | WUNTRACED);
		if (r == pid && WIFSTOPPED(status))
			break;
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : EX_TEMPFAIL;
		if (r < 0 && errno != EINTR)
			return EX_TEMPFAIL;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	log_warnx("offline/%s: its sender stopped or took too long; killed, tried again later", name);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		continue;
	return EX_TEMPFAIL;
}

/* What a name in offline/ is: a file to send, a sendmail's file in
 * progress, one set aside, or junk nobody's sendmail makes. */
enum offline_kind { OK_SEND, OK_TMP, OK_REFUSED, OK_JUNK };

static enum offline_kind kind_of(const char *name)
{
	if (strncmp(name, REFUSED_PREFIX, strlen(REFUSED_PREFIX)) == 0)
		return OK_REFUSED;
	if (strlen(name) > PICKUP_NAME_MAX)
		return OK_JUNK;
	if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
		return OK_TMP;
	return name[0] == '.' ? OK_JUNK : OK_SEND;
}

/* This round's users (a small open-addressed table): how many of the
 * batch's files are theirs, and whether one could not go now, which
 * leaves their others for the next round. */
struct round_user {
	uid_t uid;
	unsigned files;
	bool used, waiting;
};

static struct round_user *round_user(struct round_user *t, uid_t uid)
{
	for (size_t i = 0, h = (size_t)uid * 2654435761u % PICKUP_UIDS; i < PICKUP_UIDS;
	    i++, h = (h + 1) % PICKUP_UIDS) {
		if (!t[h].used)
			t[h] = (struct round_user){ .uid = uid, .used = true };
		if (t[h].uid == uid)
			return &t[h];
	}
	return NULL; /* more users than a round takes: the next round */
}

/* What is not to be sent: a file a sendmail left while writing is
 * removed after a day; a name sendmail never makes, or what is not a
 * regular file of one link, at once (a directory if empty); files set
 * aside stay. */
static void tidy(int dfd, const char *name, enum offline_kind kind)
{
	struct stat st;
	if (kind == OK_REFUSED || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (kind == OK_TMP && S_ISREG(st.st_mode) && st.st_mtime >= time(NULL) - PICKUP_TMP_MAX_AGE_S)
		return;
	if (unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0)
		log_info("offline/%s: %s (uid %u); removed", name,
		    !S_ISREG(st.st_mode) || st.st_nlink != 1 ? "not a regular file with one link" :
		    kind == OK_TMP ? "left by a sendmail that did not finish" :
		    "not a name sendmail makes", (unsigned)st.st_uid);
}

/* One file: root checks what it is and whose, then a child that has
 * become its owner sends it. Returns the child's exit code (EX_*). */
static int pickup_one(const struct config *conf, int dfd, const char *name)
{
	struct stat st, fst;
	char aside[NAME_MAX + 1];
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return EX_OK; /* gone meanwhile */
	/* only a regular file with one link is opened (never a device, a
	 * fifo or a link to another user's file): anything else is junk */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		tidy(dfd, name, OK_JUNK);
		return EX_OK;
	}
	/* and it must still be the one looked at (else the next round) */
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return EX_OK;
	if (fstat(fd, &fst) < 0 || fst.st_ino != st.st_ino || fst.st_dev != st.st_dev ||
	    !S_ISREG(fst.st_mode) || fst.st_nlink != 1) {
		close(fd);
		return EX_OK;
	}
	uid_t uid = fst.st_uid;
	/* counted from when queued could first have sent it; a time in the
	 * future is new */
	time_t age = time(NULL) - (fst.st_mtime > started ? fst.st_mtime : started);
	if (age > 0 && (uint64_t)age * 1000 > conf->queue_lifetime_ms) {
		close(fd);
		set_aside(dfd, name, aside, sizeof(aside));
		log_warnx("offline/%s: uid=%u: not sent within queue_lifetime; kept as offline/%s",
		    name, (unsigned)uid, aside);
		return EX_DATAERR;
	}
	errno = 0;
	struct passwd *pw = getpwuid(uid);
	if (pw == NULL && errno != 0 && errno != ENOENT && errno != ESRCH) {
		log_warn("offline/%s: looking up uid %u; tried again later", name, (unsigned)uid);
		close(fd);
		return EX_TEMPFAIL;
	}
	char user[256];
	if (pw == NULL || strlcpy(user, pw->pw_name, sizeof(user)) >= sizeof(user) ||
	    (!privsep_enabled() && uid != getuid())) {
		close(fd);
		set_aside(dfd, name, aside, sizeof(aside));
		log_warnx("offline/%s: owner uid %u %s; kept as offline/%s", name, (unsigned)uid,
		    pw == NULL ? "has no user name" : privsep_enabled() ? "has an over-long name" :
		    "is not this developer's queued's", aside);
		return EX_DATAERR;
	}
	gid_t gid = pw->pw_gid;
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("offline/%s: fork", name);
		close(fd);
		return EX_TEMPFAIL;
	}
	if (pid == 0) {
		close(dfd);
		/* this process's memory is root's copy: never to be read by
		 * the user it becomes; a uid change sets dumpable to
		 * fs.suid_dumpable, so once more after it */
		if (privsep_enabled() && (prctl(PR_SET_DUMPABLE, 0) < 0 || initgroups(user, gid) < 0 ||
		    setgid(gid) < 0 || setuid(uid) < 0 || getuid() != uid || geteuid() != uid ||
		    (uid != 0 && setuid(0) == 0) || prctl(PR_SET_DUMPABLE, 0) < 0)) {
			log_warn("offline/%s: becoming uid %u", name, (unsigned)uid);
			_exit(EX_TEMPFAIL);
		}
		_exit(send_as_owner(conf, name, fd, uid));
	}
	close(fd);
	int r = wait_child(pid, name);
	/* on what is still the file looked at: its owner may have put
	 * another of theirs in its place meanwhile */
	struct stat now;
	bool same = fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now.st_ino == fst.st_ino && now.st_dev == fst.st_dev;
	if (r == EX_OK && same && unlinkat(dfd, name, 0) < 0)
		log_warn("offline/%s: removing it", name);
	if (r == EX_DATAERR && same) {
		set_aside(dfd, name, aside, sizeof(aside));
		log_warnx("offline/%s: kept as offline/%s", name, aside);
	}
	return r;
}

/* (a batch entry starts with its name) */
static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The pickup process: the waiting files, oldest first (sendmail names
 * them by time), until queued's socket cannot be reached. */
static int pickup_main(int sock, void *arg)
{
	const struct config *conf = arg;
	char dir[PATH_MAX];
	struct { char *name; struct round_user *user; } batch[PICKUP_BATCH];
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
	/* every entry is seen each round: what is not to be sent is tidied
	 * here and takes no place in the batch */
	static struct round_user users[PICKUP_UIDS];
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		enum offline_kind kind = kind_of(de->d_name);
		/* (a directory, say: tidy removes it if it is empty) */
		if (kind == OK_SEND && (!S_ISREG(st.st_mode) || st.st_nlink != 1))
			kind = OK_JUNK;
		if (kind != OK_SEND) {
			tidy(dfd, de->d_name, kind);
			continue;
		}
		struct round_user *u = round_user(users, st.st_uid);
		if (n < PICKUP_BATCH && u && u->files < PICKUP_PER_UID &&
		    (batch[n].name = strdup(de->d_name)) != NULL) {
			batch[n++].user = u;
			u->files++;
		}
	}
	closedir(d);
	qsort(batch, n, sizeof(batch[0]), cmp_names);
	/* one user's file that cannot go now holds up no one else's */
	for (size_t i = 0; i < n; i++) {
		if (batch[i].user->waiting)
			continue;
		int r = pickup_one(conf, dfd, batch[i].name);
		if (r == EX_UNAVAILABLE)
			break;
		batch[i].user->waiting = r == EX_TEMPFAIL;
	}
	for (size_t i = 0; i < n; i++)
		free(batch[i].name);
	close(dfd);
	return 0;
}

/* A name to send or to tidy (not one set aside) waits in offline/. */
static bool offline_waiting(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool any = false;
	if (d == NULL)
		return false;
	/* (a directory that is not empty stays, and wakes nobody) */
	while (!any && (de = readdir(d)) != NULL) {
		struct stat st;
		any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    kind_of(de->d_name) != OK_REFUSED && de->d_type != DT_DIR &&
		    (de->d_type != DT_UNKNOWN ||
		    (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)));
	}
	closedir(d);
	return any;
}

void pickup_tick(time_t now, void *arg)
{
	const struct config *conf = arg;
	char dir[PATH_MAX];
	if (started == 0)
		started = now;
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
