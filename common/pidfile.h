/*
 * pidfile.h: each daemon's root process records its pid in
 * <spool>/run/<name>.pid (root-owned, 0644) so that `posternctl reload`
 * (as root, or through queued's root process for group postern-admin)
 * can send the daemons SIGHUP. Root only; nothing here parses input
 * from an unprivileged peer.
 */
#ifndef POSTERN_PIDFILE_H
#define POSTERN_PIDFILE_H

#include <stdbool.h>

/* Writes run/<name>.pid under spool (logs and goes on when it cannot:
 * only reload needs it). */
void pidfile_write(const char *spool, const char *name);
/* Removes it if it still names this process. */
void pidfile_remove(const char *spool, const char *name);
/* Sends sig to every postern daemon whose pid file is there and whose
 * process is still that daemon (/proc/PID/comm); returns how many. */
int pidfile_signal_all(const char *spool, int sig);
/* Whether the daemon's pid file names a live process of that daemon. */
bool pidfile_running(const char *spool, const char *name);

#endif
