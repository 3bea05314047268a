/*
 * usock.h: unix-domain stream sockets by path: connect (daemons to
 * each other's sockets in the spool, posternctl and sendmail to
 * queued's) and bind-and-listen (queued's and the resolver's sockets).
 * Thin syscall wrappers; they need the privileges the path asks for.
 */
#ifndef POSTERN_USOCK_H
#define POSTERN_USOCK_H

#include <stdbool.h>
#include <sys/types.h>

/* A close-on-exec stream connection to the socket at path, SOCK_NONBLOCK
 * if nonblock. timeout_s > 0 sets send and receive timeouts first, so a
 * full backlog stops connect after that long too (EAGAIN). Returns the
 * descriptor, or -1 with errno (ENAMETOOLONG: the path does not fit). */
int usock_connect(const char *path, bool nonblock, time_t timeout_s);

/* Send and receive timeouts on a blocking socket; false with errno. */
bool usock_timeouts(int fd, time_t timeout_s);

/* A close-on-exec, non-blocking listener at path, replacing a socket
 * left there; the file is made mode 0600, and the caller opens it up
 * (chown, chmod). Returns the descriptor, or -1 with errno. */
int usock_listen(const char *path);

#endif
