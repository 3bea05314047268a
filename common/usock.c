/*
 * usock.c: unix-domain stream sockets by path, connect and listen, for
 * every postern program (see usock.h). Runs with its caller's
 * privileges.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#include "usock.h"

static bool fill_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return false;
	}
	return true;
}

bool usock_timeouts(int fd, time_t timeout_s)
{
	struct timeval tv = { timeout_s, 0 };
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0;
}

int usock_connect(const char *path, bool nonblock, time_t timeout_s)
{
	struct sockaddr_un sun;
	if (!fill_addr(&sun, path))
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	if ((timeout_s > 0 && !usock_timeouts(fd, timeout_s)) ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int usock_listen(const char *path)
{
	struct sockaddr_un sun;
	if (!fill_addr(&sun, path))
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* no moment at which the socket is open to others */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
