/*
 * fuzz_tables.c: libFuzzer target for common/tables.c. The input is cut
 * at NUL bytes into a users file, an aliases file and local parts to
 * resolve. Parsed names must be valid, and a resolution must give at
 * most max distinct existing users, or 0, or -1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tables.h"
#include "util.h"

/* Next NUL-separated piece of the input. */
static const char *piece(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *s = *p;
	const uint8_t *z = memchr(s, '\0', (size_t)(end - s));
	*len = (size_t)((z ? z : end) - s);
	*p = z ? z + 1 : end;
	return (const char *)s;
}

static void check_resolve(const struct tables *t, const char *local, size_t max)
{
	char out[RESOLVE_MAX][USERNAME_MAX + 1];
	int n = tables_resolve(t, local, out, max);
	if (n < -1 || n > (int)max)
		abort();
	for (int i = 0; i < n; i++) {
		if (tables_user(t, out[i]) == NULL)
			abort();
		for (int j = 0; j < i; j++)
			if (strcmp(out[i], out[j]) == 0)
				abort();
	}
	/* with more room the answer cannot get worse */
	if (max < RESOLVE_MAX && n >= 0) {
		int m = tables_resolve(t, local, out, RESOLVE_MAX);
		if (m != n)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	size_t ul, al;
	const char *u = piece(&p, end, &ul);
	const char *a = piece(&p, end, &al);
	struct tables t;
	char err[256];
	memset(&t, 0, sizeof(t));
	if (users_parse(u, ul, "users", &t, err, sizeof(err)) < 0 ||
	    aliases_parse(a, al, "aliases", &t, err, sizeof(err)) < 0) {
		if (strncmp(err, "users:", 6) != 0 && strncmp(err, "aliases:", 8) != 0)
			abort();
		tables_free(&t);
		return 0;
	}
	for (size_t i = 0; i < t.nusers; i++)
		if (!valid_username(t.users[i].name, strlen(t.users[i].name)))
			abort();
	for (size_t i = 0; i < t.naliases; i++) {
		if (!valid_username(t.aliases[i].name, strlen(t.aliases[i].name)) ||
		    t.aliases[i].ntargets == 0 || t.aliases[i].ntargets > ALIAS_MAX_TARGETS)
			abort();
		for (size_t j = 0; j < t.aliases[i].ntargets; j++)
			if (!valid_username(t.aliases[i].targets[j], strlen(t.aliases[i].targets[j])))
				abort();
	}
	if (tables_finish(&t, err, sizeof(err)) < 0) {
		tables_free(&t);
		return 0;
	}
	/* every name in the tables, then the local parts given */
	for (size_t i = 0; i < t.nusers && i < 32; i++)
		check_resolve(&t, t.users[i].name, RESOLVE_MAX);
	for (size_t i = 0; i < t.naliases && i < 32; i++) {
		check_resolve(&t, t.aliases[i].name, RESOLVE_MAX);
		check_resolve(&t, t.aliases[i].name, 2);
	}
	for (int k = 0; k < 8 && p < end; k++) {
		size_t ll;
		const char *l = piece(&p, end, &ll);
		char local[128];
		if (ll >= sizeof(local))
			ll = sizeof(local) - 1;
		memcpy(local, l, ll);
		local[ll] = '\0';
		check_resolve(&t, local, RESOLVE_MAX);
		check_resolve(&t, local, 1);
	}
	tables_free(&t);
	return 0;
}
