/*
 * pidfile.c: see pidfile.h. Runs as root in the daemons' supervising
 * parents and in posternctl.
 */
#include "pidfile.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const daemons[] = { "smtpd", "queued", "pop3d", "resolver" };

void pidfile_write(const char *spool, const char *name)
{
	char path[4096], text[32];
	/* queued makes the spool; a daemon started before it makes what
	 * its pid file needs (a sandbox may forbid it: only reload cares) */
	textf(path, sizeof(path), "%s/run", spool);
	(void)mkdir(spool, 0755);
	(void)mkdir(path, 0755);
	textf(path, sizeof(path), "%s/run/%s.pid", spool, name);
	int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (!write_file_replace(path, text, (size_t)n, 0644, (gid_t)-1))
		log_warn("%s: cannot write the pid file (posternctl reload will not find us)", path);
}

static pid_t read_pid(const char *spool, const char *name)
{
	char path[4096], text[32];
	textf(path, sizeof(path), "%s/run/%s.pid", spool, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 1 || text[n - 1] != '\n')
		return -1;
	text[n - 1] = '\0';
	uint64_t v;
	if (!parse_uint(text, 2, 4194304, &v))
		return -1;
	return (pid_t)v;
}

void pidfile_remove(const char *spool, const char *name)
{
	char path[4096];
	if (read_pid(spool, name) != getpid())
		return;
	textf(path, sizeof(path), "%s/run/%s.pid", spool, name);
	unlink(path);
}

/* The process is that daemon still, not a recycled pid. */
static bool is_daemon(pid_t pid, const char *name)
{
	char path[64], comm[32];
	textf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return false;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, name) == 0;
}

bool pidfile_running(const char *spool, const char *name)
{
	pid_t pid = read_pid(spool, name);
	return pid > 0 && is_daemon(pid, name);
}

int pidfile_signal_all(const char *spool, int sig)
{
	int n = 0;
	for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
		pid_t pid = read_pid(spool, daemons[i]);
		if (pid > 0 && is_daemon(pid, daemons[i]) && kill(pid, sig) == 0)
			n++;
	}
	return n;
}
