/*
 * mx.h: which hosts to try for a mail domain, from its MX records (RFC
 * 5321 5.1, RFC 7505 null MX): host name checks, duplicates, ordering
 * by preference with a uniform shuffle among equal preferences, the
 * implicit MX, and dropping the local host and worse. Pure functions
 * (randomness comes from the caller); no I/O, no globals, no
 * allocation. postern-relay calls them, unprivileged in its chroot, on
 * records that came from the DNS and so from anyone.
 */
#ifndef POSTERN_MX_H
#define POSTERN_MX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MX_MAX 32          /* hosts in one list */
#define MX_NAME_MAX 253    /* a host name, without its trailing dot */
#define MX_LABEL_MAX 63

/* One MX record as the resolver gave it. host need not be
 * NUL-terminated; len octets are read. "." or "" is a null MX. */
struct mx_rr {
	uint16_t pref;
	const char *host;
	size_t len;
};

struct mx_host {
	uint16_t pref;
	char name[MX_NAME_MAX + 1]; /* as given, without the trailing dot */
};

struct mx_list {
	struct mx_host host[MX_MAX];  /* try in this order */
	size_t n;
	/* what became of the other records: every record is one of these or a host */
	size_t nulls;        /* "." or "" */
	size_t invalid;      /* not a valid host name (mx_name_valid): skipped */
	size_t duplicates;   /* a host seen before: merged, keeping the lower preference */
	size_t dropped;      /* beyond MX_MAX distinct hosts: those of the worst preference */
	bool null_mixed;     /* a null MX among other records (RFC 7505 3 forbids it): ignored */
	bool self_pruned;    /* mx_prune_self removed the local host (and any worse) */
};

enum mx_status {
	MX_OK,     /* host[0..n) to try, n >= 1 */
	MX_NULL,   /* a null MX and nothing else: the domain accepts no mail (bounce, 5.1.10) */
	MX_NONE,   /* no usable host: no records (call mx_implicit for NODATA instead), or
	              every record invalid (or null among invalid ones) */
	MX_SELF,   /* mx_prune_self: the local host has the best preference ("MX points
	              to me": a configuration error) */
};

/* A host name we will connect to: LDH labels of 1-63 octets (letters,
 * digits, '-', not first or last), at most 253 octets, one trailing dot
 * allowed on top, and not an IP address (the last label is not all
 * digits). s need not be NUL-terminated. */
bool mx_name_valid(const char *s, size_t len);

/* The hosts for the n records rr (a whole MX RRset). Invalid names are
 * skipped, duplicates (case and trailing dot aside) merged; the list
 * is in ascending preference, and within one preference in an order
 * drawn uniformly at random with rnd(arg) (which returns 32 random
 * bits). Over MX_MAX distinct hosts, the first of the best preferences
 * are kept. *out is always filled in (n = 0 unless MX_OK). */
enum mx_status mx_select(const struct mx_rr *rr, size_t n, uint32_t (*rnd)(void *),
    void *arg, struct mx_list *out);

/* The implicit MX (RFC 5321 5.1), for a domain whose MX lookup found
 * the name but no MX records (NODATA; NXDOMAIN is a bounce): the
 * domain itself with preference 0. MX_NONE if it is no valid host
 * name (an address literal, say). */
enum mx_status mx_implicit(const char *domain, size_t len, struct mx_list *out);

/* RFC 5321 5.1: if self (the local host's name; case and trailing dot
 * aside) is in the list, drops it and every host whose preference is
 * not strictly better, setting self_pruned. MX_SELF if that leaves
 * none (the list is then empty), MX_OK otherwise, also when self is not
 * in the list. Call it once for each name the local host goes by. */
enum mx_status mx_prune_self(struct mx_list *l, const char *self, size_t len);

#endif
