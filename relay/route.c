/*
 * route.c: where a destination's mail goes, found through the resolver
 * (dnsc.c) in the remote delivery agent (postern-relay, chrooted):
 * RFC 5321 5.1 for a domain (MX records in preference order, shuffled
 * among equals by mx.c; the implicit MX when the domain has none; RFC
 * 7505's null MX is a bounce), or the configured relayhost; then the
 * A and AAAA records of each host (IPv4 first), and, where the chain
 * so far is DNSSEC-secure, its TLSA records (RFC 7672 2.2): usable
 * secure ones make TLS and a matching certificate mandatory for that
 * host, and a failed TLSA lookup there makes the host unusable.
 */
#include "relay.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#include <arpa/inet.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_TTL_MAX_MS (60 * 1000)   /* re-resolve a busy destination this often */
#define ROUTE_TTL_MIN_MS 1000

struct qctx {
	struct lookup *l;
	int host;                          /* -1: the MX query */
	uint16_t type;
	void *handle;
	bool open;
};

struct lookup {
	struct dest *d;
	struct route *rt;
	struct qctx q[1 + ROUTE_HOSTS * 3];
	size_t nq;
	int pending;
	bool implicit;                     /* no MX: the domain is its own host */
	uint32_t ttl;
	struct {
		struct sockaddr_storage v4[ROUTE_ADDRS], v6[ROUTE_ADDRS];
		size_t n4, n6;
		int answered;                  /* of A and AAAA */
		bool secure;
		bool nxdomain;                 /* both said the name has no address */
		bool tempfail;
	} a[ROUTE_HOSTS];
};

static uint32_t rnd32(void *arg)
{
	(void)arg;
	return arc4random();
}

void route_unref(struct route *rt)
{
	if (rt && --rt->refs == 0)
		free(rt);
}

static void lookup_free(struct lookup *l)
{
	for (size_t i = 0; i < l->nq; i++)
		if (l->q[i].open)
			dnsc_cancel(l->q[i].handle);
	route_unref(l->rt);
	free(l);
}

static void done(struct lookup *l, uint8_t status, const char *error)
{
	struct dest *d = l->d;
	struct route *rt = NULL;
	if (status == DELIVERY_OK) {
		rt = l->rt;
		l->rt = NULL;
		uint64_t ttl = (uint64_t)l->ttl * 1000;
		if (ttl > ROUTE_TTL_MAX_MS)
			ttl = ROUTE_TTL_MAX_MS;
		if (ttl < ROUTE_TTL_MIN_MS)
			ttl = ROUTE_TTL_MIN_MS;
		rt->expires_ms = now_ms() + ttl;
	}
	d->lookup = NULL;
	d->resolving = false;
	lookup_free(l);
	dest_route_done(d, rt, status, error);
}

static void note_ttl(struct lookup *l, uint32_t ttl)
{
	if (ttl < l->ttl)
		l->ttl = ttl;
}

static void on_answer(void *arg, const struct dns_result *res);

/* false if the query could not even be queued (out of memory) */
static bool query(struct lookup *l, int host, uint16_t type, const char *name)
{
	struct qctx *q = &l->q[l->nq++];
	q->l = l;
	q->host = host;
	q->type = type;
	/* counted first, though answers never come inside dnsc_query */
	l->pending++;
	q->open = true;
	q->handle = dnsc_query(type, name, on_answer, q);
	if (q->handle == NULL) {
		q->open = false;
		l->pending--;
	}
	return q->open;
}

static const struct dns_result tempfail = { .status = DNS_TEMPFAIL };

/* Every lookup is in: the route, or why there is none. */
static void finish(struct lookup *l)
{
	struct route *rt = l->rt;
	size_t usable = 0, nx = 0, failed_tlsa = 0, temp = 0;
	for (size_t i = 0; i < rt->nhost; i++) {
		struct route_host *h = &rt->host[i];
		if (h->naddr && !h->dane_fail)
			usable++;
		nx += l->a[i].nxdomain;
		failed_tlsa += h->dane_fail;
		temp += l->a[i].tempfail;
	}
	char err[300];
	if (usable) {
		done(l, DELIVERY_OK, NULL);
		return;
	}
	if (failed_tlsa) {
		textf(err, sizeof(err), "4.7.5 TLSA lookup failed for the DNSSEC-signed MX hosts of %s",
		    l->d->name[0] ? l->d->name : rt->host[0].name);
		done(l, DELIVERY_TEMPFAIL, err);
		return;
	}
	if (l->implicit && nx == rt->nhost) {
		textf(err, sizeof(err), "5.1.2 %s has no MX and no address records", l->d->name);
		done(l, DELIVERY_PERMFAIL, err);
		return;
	}
	textf(err, sizeof(err), "4.4.%d no address found for %s%s", temp ? 3 : 4,
	    l->d->name[0] ? "the mail hosts of " : "relayhost ",
	    l->d->name[0] ? l->d->name : rt->host[0].name);
	done(l, DELIVERY_TEMPFAIL, err);
}

/* A and AAAA of host i are in: its addresses, then maybe its TLSA. */
static void host_addresses(struct lookup *l, int i)
{
	struct route_host *h = &l->rt->host[i];
	for (size_t k = 0; k < l->a[i].n4 && h->naddr < ROUTE_ADDRS; k++)
		h->addr[h->naddr++] = l->a[i].v4[k];
	for (size_t k = 0; k < l->a[i].n6 && h->naddr < ROUTE_ADDRS; k++)
		h->addr[h->naddr++] = l->a[i].v6[k];
	h->addr_secure = l->a[i].secure;
	/* RFC 7672 2.2.2: TLSA only where the MX and the address records
	 * were both validated */
	if (h->naddr && l->rt->mx_secure && h->addr_secure) {
		char name[DNS_NAME_BUF + 16];
		if ((size_t)snprintf(name, sizeof(name), "_%u._tcp.%s", l->rt->port, h->name) >=
		    sizeof(name) || !query(l, i, DNS_T_TLSA, name))
			h->dane_fail = true;
	}
}

static void on_tlsa(struct lookup *l, struct route_host *h, const struct dns_result *res)
{
	if (res->status == DNS_TEMPFAIL) {
		log_warnx("TLSA lookup for %s failed: not delivering there (RFC 7672 2.2)", h->name);
		h->dane_fail = true;
		return;
	}
	if (res->status != DNS_OK || !res->secure)
		return;
	note_ttl(l, res->ttl);
	for (size_t k = 0; k < res->n && h->ntlsa < ROUTE_TLSA; k++) {
		const struct tlsa_rec *t = &res->item[k].tlsa;
		/* RFC 7672 3.1: PKIX-TA(0)/PKIX-EE(1) are unusable for SMTP */
		if ((t->usage != 2 && t->usage != 3) || t->selector > 1 || t->mtype > 2 || t->len == 0)
			continue;
		h->tlsa[h->ntlsa++] = *t;
	}
	h->dane = h->ntlsa > 0;
	if (!h->dane)
		log_info("%s: TLSA records, none usable: no DANE", h->name);
}

static void on_address(struct lookup *l, int i, uint16_t type, const struct dns_result *res)
{
	bool v4 = type == DNS_T_A;
	if (l->a[i].answered == 0) {
		l->a[i].secure = true;
		l->a[i].nxdomain = true;
	}
	l->a[i].answered++;
	/* a failed lookup (bogus included) must not make the host look
	 * unsigned, or an attacker could switch DANE off by breaking one
	 * answer: only answers that came count */
	if (res->status != DNS_TEMPFAIL)
		l->a[i].secure = l->a[i].secure && res->secure;
	if (res->status != DNS_NXDOMAIN && res->status != DNS_NODATA)
		l->a[i].nxdomain = false;
	if (res->status == DNS_TEMPFAIL)
		l->a[i].tempfail = true;
	if (res->status == DNS_OK)
		note_ttl(l, res->ttl);
	for (size_t k = 0; res->status == DNS_OK && k < res->n; k++) {
		struct sockaddr_storage ss = { 0 };
		if (v4 && l->a[i].n4 < ROUTE_ADDRS) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			sin->sin_family = AF_INET;
			sin->sin_port = htons(l->rt->port);
			memcpy(&sin->sin_addr, res->item[k].addr, 4);
			l->a[i].v4[l->a[i].n4++] = ss;
		} else if (!v4 && l->a[i].n6 < ROUTE_ADDRS) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(l->rt->port);
			memcpy(&sin6->sin6_addr, res->item[k].addr, 16);
			l->a[i].v6[l->a[i].n6++] = ss;
		}
	}
	if (l->a[i].answered == 2)
		host_addresses(l, i);
}

static void address_queries(struct lookup *l, int i)
{
	const char *name = l->rt->host[i].name;
	if (!query(l, i, DNS_T_A, name))
		on_address(l, i, DNS_T_A, &tempfail);
	if (!query(l, i, DNS_T_AAAA, name))
		on_address(l, i, DNS_T_AAAA, &tempfail);
}

/* The hosts to look up are known: their A and AAAA queries. */
static void hosts_known(struct lookup *l, const struct mx_list *ml)
{
	struct route *rt = l->rt;
	for (size_t i = 0; i < ml->n && rt->nhost < ROUTE_HOSTS; i++) {
		struct route_host *h = &rt->host[rt->nhost++];
		strlcpy(h->name, ml->host[i].name, sizeof(h->name));
		h->pref = ml->host[i].pref;
	}
	for (size_t i = 0; i < rt->nhost; i++)
		address_queries(l, (int)i);
}

/* true if it ended the lookup (l is freed then) */
static bool on_mx(struct lookup *l, const struct dns_result *res)
{
	const char *dom = l->d->name;
	char err[300];
	struct mx_list ml;
	enum mx_status st;
	l->rt->mx_secure = res->secure;
	switch (res->status) {
	case DNS_OK: {
		struct mx_rr rr[DNS_MAX_RECORDS];
		for (size_t i = 0; i < res->n && i < DNS_MAX_RECORDS; i++)
			rr[i] = (struct mx_rr){ res->item[i].pref, res->item[i].name, strlen(res->item[i].name) };
		note_ttl(l, res->ttl);
		st = mx_select(rr, res->n, rnd32, NULL, &ml);
		break;
	}
	case DNS_NODATA:
		l->implicit = true;
		st = mx_implicit(dom, strlen(dom), &ml);
		break;
	case DNS_NXDOMAIN:
		textf(err, sizeof(err), "5.1.2 domain %s does not exist (DNS: no such domain)", dom);
		done(l, DELIVERY_PERMFAIL, err);
		return true;
	default:
		textf(err, sizeof(err), "4.4.3 the DNS lookup of the MX records of %s failed", dom);
		done(l, DELIVERY_TEMPFAIL, err);
		return true;
	}
	if (st == MX_NULL) {
		textf(err, sizeof(err), "5.1.10 domain %s accepts no mail (null MX, RFC 7505)", dom);
		done(l, DELIVERY_PERMFAIL, err);
		return true;
	}
	if (st == MX_OK)
		st = mx_prune_self(&ml, relay.conf->hostname, strlen(relay.conf->hostname));
	if (st == MX_SELF) {
		textf(err, sizeof(err), "5.4.6 mail for %s loops back to myself (%s is its best MX)",
		    dom, relay.conf->hostname);
		done(l, DELIVERY_PERMFAIL, err);
		return true;
	}
	if (st != MX_OK) {
		textf(err, sizeof(err), "4.4.4 no usable MX host for %s", dom);
		done(l, DELIVERY_TEMPFAIL, err);
		return true;
	}
	hosts_known(l, &ml);
	return false;
}

static void on_answer(void *arg, const struct dns_result *res)
{
	struct qctx *q = arg;
	struct lookup *l = q->l;
	bool ended = false;
	q->open = false;
	l->pending--;
	if (q->host < 0)
		ended = on_mx(l, res); /* which may free l */
	else if (q->type == DNS_T_TLSA)
		on_tlsa(l, &l->rt->host[q->host], res);
	else
		on_address(l, q->host, q->type, res);
	if (!ended && l->pending == 0)
		finish(l);
}

void route_start(struct dest *d)
{
	struct lookup *l = calloc(1, sizeof(*l));
	struct route *rt = calloc(1, sizeof(*rt));
	if (l == NULL || rt == NULL) {
		free(l);
		free(rt);
		dest_route_done(d, NULL, DELIVERY_TEMPFAIL, "4.3.0 out of memory");
		return;
	}
	rt->refs = 1;
	rt->port = relay.conf->relayhost[0] ? relay.conf->relayhost_port : 25;
	l->rt = rt;
	l->d = d;
	l->ttl = UINT32_MAX;
	d->lookup = l;
	d->resolving = true;
	if (d->name[0]) {
		if (!query(l, -1, DNS_T_MX, d->name))
			done(l, DELIVERY_TEMPFAIL, "4.3.0 out of memory");
		return;
	}
	/* the relayhost: an address as it is, or a name's addresses */
	struct route_host *h = &rt->host[rt->nhost++];
	strlcpy(h->name, relay.conf->relayhost, sizeof(h->name));
	struct sockaddr_in *sin = (struct sockaddr_in *)&h->addr[0];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&h->addr[0];
	if (inet_pton(AF_INET, h->name, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(rt->port);
		h->naddr = 1;
	} else if (inet_pton(AF_INET6, h->name, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(rt->port);
		h->naddr = 1;
	}
	if (h->naddr) {
		l->ttl = ROUTE_TTL_MAX_MS / 1000;
		done(l, DELIVERY_OK, NULL);
		return;
	}
	/* a relayhost's name is its own "MX": DANE if its records are signed */
	rt->mx_secure = true;
	address_queries(l, 0);
	if (l->pending == 0)
		finish(l);
}
