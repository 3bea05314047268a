/*
 * relay.h: the remote delivery agent (postern-relay, chrooted to the
 * empty directory <spool>/empty), forked by queued's root monitor and
 * driven by the queue manager over a socketpair. Its parts:
 * agent.c (jobs from queued, destinations, concurrency, results),
 * route.c (MX, addresses and TLSA through the resolver), dnsc.c (the
 * resolver connection, which queued opens for it), client.c (one SMTP
 * client connection) and relay_tls.c (client TLS, DANE).
 */
#ifndef POSTERN_RELAY_H
#define POSTERN_RELAY_H

#include "addr.h"
#include "config.h"
#include "dns.h"
#include "mx.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

int relay_main(int sock, void *arg);

/* ---- jobs: one message's recipients at one destination ---- */

struct rjob_rcpt {
	uint32_t idx;                  /* the recipient's index in the queued message */
	char addr[ADDR_PATH_MAX + 1];
	bool accepted;                 /* RCPT got 2xx in the transaction under way */
	bool done;                     /* its result has been sent */
};

struct rjob {
	TAILQ_ENTRY(rjob) entry;
	uint64_t qid;
	char sender[ADDR_PATH_MAX + 1];
	uint8_t flags;                 /* QF_8BITMIME, QF_SMTPUTF8 */
	uint64_t size;                 /* the queue file's size */
	uint64_t arrival_ms;
	int fd;                        /* the queue file, read-only */
	uint32_t nrcpt;
	struct rjob_rcpt *rcpt;
};
TAILQ_HEAD(rjob_list, rjob);

/* The outcome of one recipient. detail is "550 5.1.1 reply text" for a
 * remote reply, "4.4.1 why" (an enhanced code first) for our own. */
void job_result(struct rjob *j, struct rjob_rcpt *r, uint8_t status, const char *detail,
    const char *relay, const char *tls);
/* Every recipient of j still open gets the same result. */
void job_result_all(struct rjob *j, uint8_t status, const char *detail, const char *relay,
    const char *tls);
void job_free(struct rjob *j);

/* ---- routes: where a destination's mail goes ---- */

#define ROUTE_ADDRS 8      /* addresses per host */
#define ROUTE_HOSTS 10     /* hosts looked up per destination */
#define ROUTE_TLSA 8       /* usable TLSA records per host */
#define TLSA_DATA_MAX 512

struct tlsa_rec {
	uint8_t usage, selector, mtype;
	uint16_t len;
	uint8_t data[TLSA_DATA_MAX];
};

struct route_host {
	char name[DNS_NAME_BUF];   /* the MX host, or the relayhost as written */
	uint16_t pref;
	struct sockaddr_storage addr[ROUTE_ADDRS];
	size_t naddr;
	bool dane;                 /* TLSA records are DNSSEC-secure: TLS and a match required */
	bool dane_fail;            /* the TLSA lookup failed: no delivery to this host */
	struct tlsa_rec tlsa[ROUTE_TLSA];
	size_t ntlsa;
	bool addr_secure;          /* its A and AAAA answers (those that came) were validated */
};

struct route {
	int refs;
	struct route_host host[ROUTE_HOSTS];
	size_t nhost;
	uint16_t port;
	bool mx_secure;
	uint64_t expires_ms;
};

struct dest;
/* Resolves d's route (d->name, or the relayhost); calls
 * dest_route_done(d, route or NULL, status, error) when done. */
void route_start(struct dest *d);
void route_unref(struct route *rt);

/* ---- destinations ---- */

struct conn;
struct dest {
	LIST_ENTRY(dest) entry;
	char name[DNS_NAME_BUF];       /* lowercased domain; "" for the relayhost */
	struct rjob_list jobs;         /* waiting for a connection */
	size_t njobs;
	int nconns;                    /* connections of this destination, in any state */
	struct route *rt;              /* NULL until resolved */
	bool resolving;
	void *lookup;                  /* route.c's state while resolving */
};

void dest_route_done(struct dest *d, struct route *rt, uint8_t status, const char *error);
/* A connection is ready for a job: the next one of d, or NULL. */
struct rjob *dest_next_job(struct dest *d);
/* One of d's connections ended (it is freed); route_exhausted: it
 * found no address that would take mail, for the reason error, the
 * last one tried being last_peer ("host[addr]:port", "" if none). */
void dest_conn_gone(struct dest *d, bool route_exhausted, const char *error,
    const char *last_peer);

/* ---- the SMTP client ---- */

struct relay_env {
	struct config *conf;              /* P_CONFIG updates it (agent.c) */
	struct event_base *base;
	SSL_CTX *tls;
	char password[256];           /* relayhost's, read before chroot */
	int nconns;                    /* all connections */
	bool stopping;
};
extern struct relay_env relay;

struct conn *conn_new(struct dest *d, struct route *rt);
/* An idle connection takes a job (and keeps it until it ends). */
void conn_take(struct conn *c, struct rjob *j);
/* An idle connection of d, if there is one. */
struct conn *conn_idle_of(struct dest *d);
/* Ends every connection (jobs deferred), at exit. */
void conn_free_all(void);

/* ---- TLS (relay_tls.c) ---- */

SSL_CTX *relay_tls_ctx(const char *cafile);
/* The SSL object for a connection to host (a name, or an address for a
 * relayhost given as one): SNI, the name to check, and under DANE the
 * TLSA records. NULL on failure. */
SSL *relay_tls_ssl(SSL_CTX *ctx, const struct route_host *h);
/* After the handshake: "tls=TLSv1.3 cipher=... verified=yes|no|dane"
 * in out; returns whether the peer is authenticated as DANE requires
 * (always true when the host has no DANE records). */
bool relay_tls_check(SSL *ssl, const struct route_host *h, char *out, size_t outlen);

/* ---- the resolver (dnsc.c) ---- */

/* One record of an answer, compact: TXT is not asked for, and TLSA
 * data longer than TLSA_DATA_MAX (a whole certificate) is skipped. */
struct dns_item {
	uint16_t pref;                 /* MX */
	char name[DNS_NAME_BUF];       /* MX exchange, "." for a null MX */
	uint8_t addr[16];              /* A: 4 bytes, AAAA: 16 */
	struct tlsa_rec tlsa;
};
struct dns_result {
	uint8_t status;                /* enum dns_status */
	bool secure;
	uint32_t ttl;
	size_t n;
	struct dns_item *item;
};
typedef void (*dns_cb)(void *arg, const struct dns_result *res);
/* Queries qtype name; cb runs exactly once, later, unless cancelled.
 * Returns a handle for dnsc_cancel. */
void *dnsc_query(uint16_t qtype, const char *name, dns_cb cb, void *arg);
void dnsc_cancel(void *handle);
void dnsc_init(struct event_base *base, const struct config *conf, void (*ask)(void));
/* queued's answer to R_DNS: a connected socket, or -1. */
void dnsc_connected(int fd);

#endif
