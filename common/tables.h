/*
 * tables.h: the users file ("name:crypt-hash" lines) and the aliases
 * file ("name: target, target" lines), and recipient resolution over
 * them (user+detail, aliases, recursion limit). Pure parsers over
 * untrusted text; only the auth helper (postern-auth) and posternctl
 * (root) ever read the files themselves.
 */
#ifndef POSTERN_TABLES_H
#define POSTERN_TABLES_H

#include "addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USERNAME_MAX 64
#define HASH_MAX 255
#define TABLE_MAX_ENTRIES 100000
#define TABLE_MAX_LINE 4096
#define TABLE_MAX_FILE (16 * 1024 * 1024)
#define ALIAS_MAX_TARGETS 64
#define RESOLVE_MAX 64    /* mailboxes one recipient may expand to */
#define ALIAS_MAX_DEPTH 8

struct user_entry {
	char name[USERNAME_MAX + 1];
	char hash[HASH_MAX + 1];
};

struct alias_entry {
	char name[USERNAME_MAX + 1];
	char (*targets)[USERNAME_MAX + 1];
	size_t ntargets;
};

struct tables {
	struct user_entry *users; /* sorted by name */
	size_t nusers;
	struct alias_entry *aliases; /* sorted by name */
	size_t naliases;
};

/* Parse into t (appending). -1 with "fname:line: message" on error. */
int users_parse(const char *text, size_t len, const char *fname,
    struct tables *t, char *err, size_t errlen);
int aliases_parse(const char *text, size_t len, const char *fname,
    struct tables *t, char *err, size_t errlen);
/* Sorts and checks cross references (alias targets must be users or
 * aliases; a name cannot be both). */
int tables_finish(struct tables *t, char *err, size_t errlen);
void tables_free(struct tables *t);

const struct user_entry *tables_user(const struct tables *t, const char *name);

/* Resolves a local part (case-insensitive; "user+detail" falls back to
 * "user") into up to RESOLVE_MAX distinct mailbox names. Returns the
 * count, 0 for unknown, -1 for a loop or too many targets. */
int tables_resolve(const struct tables *t, const char *local,
    char out[][USERNAME_MAX + 1], size_t max);

/* A recipient of one message as an envelope takes it: a remote address,
 * or the local mailboxes its address resolved to (smtpd's RCPT, queued's
 * local submissions). */
struct rcpt_dest {
	char addr[ADDR_PATH_MAX + 1];
	bool remote;
	char (*mb)[USERNAME_MAX + 1]; /* local: nmb mailboxes, malloc'd */
	uint32_t nmb;
};

/* Whether d[i]'s j-th mailbox (its address, for a remote one) came
 * earlier in d[0..i]: a message goes to each mailbox and address once. */
bool rcpt_dest_seen_before(const struct rcpt_dest *d, uint32_t i, uint32_t j);

/* Reads a whole file relative to dirfd (or a path if dirfd is AT_FDCWD)
 * into a malloc'd buffer, refusing files above max bytes. */
char *read_small_file(int dirfd, const char *name, size_t max, size_t *len,
    char *err, size_t errlen);

#endif
