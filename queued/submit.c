/*
 * submit.c: local submissions (see submit.h). Placeholder until the
 * sendmail protocol lands: refuses every connection.
 */
#include "submit.h"

#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

static struct event *ev_accept;

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	(void)arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
}

void submit_init(struct event_base *base, int listen_fd, const struct config *conf)
{
	(void)conf;
	ev_accept = event_new(base, listen_fd, EV_READ | EV_PERSIST, on_accept, NULL);
	event_add(ev_accept, NULL);
}

void submit_on_lookup(uint32_t reqid, uint16_t type, const uint8_t *p, size_t len)
{
	(void)reqid;
	(void)type;
	(void)p;
	(void)len;
}

void submit_lookups_lost(void) {}

void submit_stop(void)
{
	if (ev_accept)
		event_del(ev_accept);
}
