/*
 * netserver.c: listener binding (as root, before the privilege drop),
 * client address helpers and the session slot table shared by smtpd's
 * worker and pop3d's login process.
 */
#include "netserver.h"
#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <event2/buffer.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int listener_bind(const struct listen_spec *l)
{
	int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		fatal("socket for %s", l->text);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0)
		fatal("bind %s %s", l->proto, l->text);
	if (listen(fd, 512) < 0)
		fatal("listen %s", l->text);
	return fd;
}

void listener_accept_all(int lfd, void (*on_client)(void *arg, int fd,
    const struct sockaddr_storage *peer), void *arg)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		/* replies are gathered before each write already; Nagle would
		 * only hold back the last TLS record of a flight (session
		 * tickets, then the greeting) for the client's delayed ACK */
		set_nodelay(fd);
		on_client(arg, fd, &ss);
	}
}

enum line_take evbuffer_take_line(struct evbuffer *in, size_t max_content, char *line,
    size_t *len, bool *skip)
{
	for (;;) {
		struct evbuffer_ptr eol = evbuffer_search(in, "\n", 1, NULL);
		if (eol.pos < 0) {
			size_t have = evbuffer_get_length(in);
			/* room for the content and a CR still waiting for its LF */
			if (have <= max_content + 1)
				return LINE_NONE;
			evbuffer_drain(in, have);
			bool first = !*skip;
			*skip = true;
			return first ? LINE_TOO_LONG : LINE_NONE;
		}
		size_t n = (size_t)eol.pos; /* bytes before the LF */
		if (*skip || n > max_content + 1) {
			bool first = !*skip;
			evbuffer_drain(in, n + 1);
			*skip = false;
			if (first)
				return LINE_TOO_LONG;
			continue;
		}
		evbuffer_remove(in, line, n + 1);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n > max_content) {
			explicit_bzero(line, n + 1);
			return LINE_TOO_LONG;
		}
		line[n] = '\0';
		*len = n;
		return LINE_READY;
	}
}

bool sockaddr_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

void sockaddr_ip_text(const struct sockaddr_storage *ss, char out[INET6_ADDRSTRLEN])
{
	out[0] = '?';
	out[1] = '\0';
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, INET6_ADDRSTRLEN);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out, INET6_ADDRSTRLEN);
}

bool sockaddr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

#define SLOT_BITS 17
#define SLOT_MASK ((1u << SLOT_BITS) - 1)

int slots_init(struct slot_table *t, uint32_t n)
{
	if (n > SLOT_MASK)
		n = SLOT_MASK;
	t->slots = calloc(n, sizeof(*t->slots));
	t->gens = calloc(n, sizeof(*t->gens));
	t->nslots = n;
	t->used = 0;
	return t->slots && t->gens ? 0 : -1;
}

void slots_free(struct slot_table *t)
{
	free(t->slots);
	free(t->gens);
	memset(t, 0, sizeof(*t));
}

uint32_t slots_alloc(struct slot_table *t, void *p, uint32_t *reqid)
{
	for (uint32_t i = 0; i < t->nslots; i++) {
		if (t->slots[i] == NULL) {
			t->slots[i] = p;
			t->gens[i] = (uint16_t)((t->gens[i] + 1) & 0x7fff);
			*reqid = ((uint32_t)t->gens[i] << SLOT_BITS) | i;
			t->used++;
			return i;
		}
	}
	return SLOT_NONE;
}

void slots_release(struct slot_table *t, uint32_t slot)
{
	if (slot < t->nslots && t->slots[slot]) {
		t->slots[slot] = NULL;
		t->used--;
	}
}

void *slots_lookup(const struct slot_table *t, uint32_t reqid)
{
	uint32_t slot = reqid & SLOT_MASK;
	if (slot >= t->nslots || t->slots[slot] == NULL || t->gens[slot] != (reqid >> SLOT_BITS))
		return NULL;
	return t->slots[slot];
}
