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

struct listen_spec;

/* Binds and listens (non-blocking, close-on-exec); exits on failure. */
int listener_bind(const struct listen_spec *l);

bool sockaddr_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* The address alone (no port), for logs and Received: lines. */
void sockaddr_ip_text(const struct sockaddr_storage *ss, char out[INET6_ADDRSTRLEN]);
/* 127.0.0.0/8, ::1 and IPv4-mapped 127/8. */
bool sockaddr_is_loopback(const struct sockaddr_storage *ss);

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
