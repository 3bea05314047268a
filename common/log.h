/*
 * log.h: one line per event, to syslog (mail facility) or stderr.
 * Lines about a message start with its queue id. Used by every daemon,
 * at every privilege level (syslog is opened before chroot).
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdbool.h>

#include <stddef.h>

void log_init(const char *progname, bool to_stderr);
/* What every line goes through (pure; exposed for its unit test):
 * control characters become '?', and a line vsnprintf had to cut
 * (wanted: its return value) ends in "...". */
void log_clean(char *line, size_t cap, int wanted);
/* Changes the name shown (e.g. after fork into a child role). */
void log_setname(const char *progname);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_warnx with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn + exit(1): for start-up errors only, never on a peer's input. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
