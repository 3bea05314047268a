/*
 * netserver.h: what the network-facing daemons (smtpd, the pop3d login
 * process) share: binding listeners as root before the privilege drop,
 * client address helpers, and the session slot table that maps IPC
 * request ids back to sessions (a generation in each id keeps a late
 * answer from reaching a newer session in the same slot).
 */
#ifndef POSTERN_NETSERVER_H
#define POSTERN_NETSERVER_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct evbuffer;
struct listen_spec;

/* Binds and listens (non-blocking, close-on-exec); exits on failure. */
int listener_bind(const struct listen_spec *l);

bool sockaddr_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* The address alone (no port), for logs and Received: lines. */
void sockaddr_ip_text(const struct sockaddr_storage *ss, char out[INET6_ADDRSTRLEN]);
/* 127.0.0.0/8, ::1 and IPv4-mapped 127/8. */
bool sockaddr_is_loopback(const struct sockaddr_storage *ss);

/* Accepts up to 64 pending clients on a non-blocking listener and hands
 * each (non-blocking, close-on-exec) to on_client. */
void listener_accept_all(int lfd, void (*on_client)(void *arg, int fd,
    const struct sockaddr_storage *peer), void *arg);

enum line_take { LINE_READY, LINE_NONE, LINE_TOO_LONG };
/* Takes the next command line out of in: its content, without LF and
 * one CR before it, into line (room for max_content + 2 bytes; NUL-
 * terminated). A line with more than max_content bytes is drained, also
 * when its end has not arrived yet, and reported as LINE_TOO_LONG once;
 * *skip carries "inside an overlong line" between calls. LINE_NONE: no
 * whole line yet. */
enum line_take evbuffer_take_line(struct evbuffer *in, size_t max_content, char *line,
    size_t *len, bool *skip);

#define SLOT_NONE UINT32_MAX

struct slot_table {
	void **slots;
	uint16_t *gens;
	uint32_t nslots;
	uint32_t used;
};

int slots_init(struct slot_table *t, uint32_t n);
void slots_free(struct slot_table *t);
/* Takes a free slot for p; returns it (SLOT_NONE when full) and the
 * request id that finds p again in *reqid. */
uint32_t slots_alloc(struct slot_table *t, void *p, uint32_t *reqid);
void slots_release(struct slot_table *t, uint32_t slot);
/* The owner of a request id, or NULL if it has gone since. */
void *slots_lookup(const struct slot_table *t, uint32_t reqid);

#endif
