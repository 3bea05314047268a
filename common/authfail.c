/*
 * authfail.c: failed-login accounting per client address and per user
 * name, in the unprivileged network processes (see authfail.h). Two
 * fixed tables; the entry quiet the longest is reused when one is full.
 */
#include "authfail.h"
#include "netserver.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct af_entry {
	struct sockaddr_storage ip;          /* the address table */
	char user[AUTHFAIL_USER_MAX + 1];    /* the user table */
	uint64_t fails;
	time_t last;
};

struct af_table {
	struct af_entry *e;
	size_t n;
};

struct authfail {
	uint64_t first_ms, limit;
	struct af_table ips, users;
};

struct authfail *authfail_new(uint64_t first_delay_ms, uint64_t limit)
{
	struct authfail *af = calloc(1, sizeof(*af));
	if (af == NULL)
		return NULL;
	af->first_ms = first_delay_ms;
	af->limit = limit;
	af->ips.e = calloc(AUTHFAIL_TABLE_MAX, sizeof(struct af_entry));
	af->users.e = calloc(AUTHFAIL_TABLE_MAX, sizeof(struct af_entry));
	if (af->ips.e == NULL || af->users.e == NULL) {
		authfail_free(af);
		return NULL;
	}
	return af;
}

void authfail_free(struct authfail *af)
{
	if (af == NULL)
		return;
	free(af->ips.e);
	free(af->users.e);
	free(af);
}

/* The entry for ip (or user, when ip is NULL); with create, a new or
 * reused one if there is none. */
static struct af_entry *find(struct af_table *t, const struct sockaddr_storage *ip,
    const char *user, bool create)
{
	time_t now = time(NULL);
	struct af_entry *oldest = NULL;
	for (size_t i = 0; i < t->n; i++) {
		struct af_entry *f = &t->e[i];
		if (now - f->last > AUTHFAIL_FORGET_SEC)
			f->fails = 0;
		if (ip ? sockaddr_same_ip(&f->ip, ip) : strcmp(f->user, user) == 0)
			return f;
		if (oldest == NULL || f->last < oldest->last)
			oldest = f;
	}
	if (!create)
		return NULL;
	struct af_entry *f = t->n < AUTHFAIL_TABLE_MAX ? &t->e[t->n++] : oldest;
	memset(f, 0, sizeof(*f));
	if (ip)
		f->ip = *ip;
	else
		memcpy(f->user, user, strlen(user) + 1);
	return f;
}

bool authfail_blocked(struct authfail *af, const struct sockaddr_storage *ip)
{
	struct af_entry *f = find(&af->ips, ip, NULL, false);
	if (af->limit == 0 || f == NULL || f->fails < af->limit)
		return false;
	/* still trying: the 15 quiet minutes start again */
	f->last = time(NULL);
	return true;
}

uint64_t authfail_record(struct authfail *af, const struct sockaddr_storage *ip, const char *user)
{
	char key[AUTHFAIL_USER_MAX + 1];
	size_t i;
	for (i = 0; i < AUTHFAIL_USER_MAX && user[i]; i++)
		key[i] = (char)tolower((unsigned char)user[i]);
	key[i] = '\0';
	time_t now = time(NULL);
	struct af_entry *fi = find(&af->ips, ip, NULL, true);
	struct af_entry *fu = find(&af->users, NULL, key, true);
	fi->fails++;
	fi->last = now;
	fu->fails++;
	fu->last = now;
	uint64_t n = fi->fails > fu->fails ? fi->fails : fu->fails;
	unsigned step = n - 1 < AUTHFAIL_STEPS ? (unsigned)(n - 1) : AUTHFAIL_STEPS - 1;
	return af->first_ms << step;
}
