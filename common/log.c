/*
 * log.c: logging to syslog or stderr. Called by every postern process;
 * syslog's socket is opened at log_init (before chroot) with LOG_NDELAY
 * so it still works inside the chroot.
 */
#include "log.h"

#include <bsd/string.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static bool log_stderr = true;
static char log_name[32] = "postern";
static bool log_verbose;

void log_init(const char *progname, bool to_stderr)
{
	strlcpy(log_name, progname, sizeof(log_name));
	log_stderr = to_stderr;
	log_verbose = getenv("POSTERN_DEBUG") != NULL;
	if (!to_stderr)
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_setname(const char *progname)
{
	strlcpy(log_name, progname, sizeof(log_name));
	if (!log_stderr) {
		closelog();
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

void log_clean(char *line, size_t cap, int wanted)
{
	for (unsigned char *p = (unsigned char *)line; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	/* a cut line says so */
	if (wanted >= (int)cap && cap > 4)
		memcpy(line + cap - 4, "...", 4);
}

static void vlog(int prio, const char *fmt, va_list ap, const char *suffix)
    __attribute__((format(printf, 2, 0)));
static void vlog(int prio, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	/* one event, one line: text from peers (a HELO name, a remote
	 * server's reply) cannot start a forged line of its own */
	log_clean(line, sizeof(line), vsnprintf(line, sizeof(line), fmt, ap));
	if (log_stderr) {
		char ts[32];
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s[%d]: %s%s%s\n", ts,
		    now.tv_nsec / 1000000, log_name, (int)getpid(), line,
		    suffix ? ": " : "", suffix ? suffix : "");
		fflush(stderr);
	} else {
		syslog(prio, "%s%s%s", line, suffix ? ": " : "", suffix ? suffix : "");
	}
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;
	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *err = strerror(errno);
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, err);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	const char *err = strerror(errno);
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, err);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
