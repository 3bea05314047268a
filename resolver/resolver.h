/*
 * resolver.h: what the resolver's root start-up (resolver.c) hands to
 * its worker (worker.c, postern-dns): the config, the bound socket, the
 * uids allowed to use it, the trust anchor and the upstreams, all read
 * as root before the worker chroots.
 */
#ifndef POSTERN_RESOLVER_H
#define POSTERN_RESOLVER_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "dns.h"

#define RESOLVER_MAX_ALLOWED 4
#define RESOLVER_MAX_UPSTREAMS 8

struct resolver_args {
	struct config *conf;
	int listen_fd;                                  /* run/dns.sock */
	uid_t allowed[RESOLVER_MAX_ALLOWED];            /* peers that may query */
	size_t nallowed;
	char ta[DNS_TA_MAX][DNS_TA_LINE_MAX];           /* trust anchor records */
	int nta;                                        /* 0: no validation */
	char upstream[RESOLVER_MAX_UPSTREAMS][DNS_ADDR_TEXT]; /* libunbound "ADDR[@PORT]" */
	size_t nupstream;
};

/* The worker: sets up libunbound as root, chroots to <spool>/empty as
 * postern-dns, then answers D_QUERY frames until SIGTERM. */
int resolver_worker_main(int ctl, void *arg);

#endif
