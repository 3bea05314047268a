/*
 * tables.c: users and aliases files, and local recipient resolution.
 * Called by the auth helper (postern-auth, chrooted to the config
 * directory) and by posternctl (root). Pure parsing over the file text.
 */
#include "tables.h"
#include "util.h"

#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int terr(char *err, size_t errlen, const char *fname, size_t line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int terr(char *err, size_t errlen, const char *fname, size_t line,
    const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%zu: %s", fname, line, msg);
	return -1;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s | 0x20);
}

/* Iterates lines: returns false at end; strips "\r", comments, blanks
 * at both ends. *line is NUL-terminated inside buf. */
struct line_iter {
	const char *text;
	size_t len, pos, lineno;
	char buf[TABLE_MAX_LINE + 1];
};

static int next_line(struct line_iter *it, char **line, const char *fname,
    char *err, size_t errlen)
{
	while (it->pos < it->len) {
		const char *nl = memchr(it->text + it->pos, '\n', it->len - it->pos);
		size_t ll = nl ? (size_t)(nl - (it->text + it->pos)) : it->len - it->pos;
		it->lineno++;
		if (ll > TABLE_MAX_LINE)
			return terr(err, errlen, fname, it->lineno, "line longer than %d bytes", TABLE_MAX_LINE);
		memcpy(it->buf, it->text + it->pos, ll);
		it->buf[ll] = '\0';
		it->pos += ll + (nl ? 1 : 0);
		if (memchr(it->buf, '\0', ll) != NULL)
			return terr(err, errlen, fname, it->lineno, "NUL byte in line");
		char *s = it->buf;
		char *hash = strchr(s, '#');
		/* '#' starts a comment only at the start of a line or after blank:
		 * crypt hashes never contain one, but be exact anyway */
		if (hash && (hash == s || hash[-1] == ' ' || hash[-1] == '\t'))
			*hash = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strlen(s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
			s[--n] = '\0';
		if (n == 0)
			continue;
		*line = s;
		return 1;
	}
	return 0;
}

static bool valid_hash(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > HASH_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] <= ' ' || h[i] == ':' || (unsigned char)h[i] >= 127)
			return false;
	return true;
}

int users_parse(const char *text, size_t len, const char *fname,
    struct tables *t, char *err, size_t errlen)
{
	struct line_iter *it = calloc(1, sizeof(*it));
	char *line;
	int r;
	if (it == NULL)
		return terr(err, errlen, fname, 0, "out of memory");
	it->text = text;
	it->len = len;
	while ((r = next_line(it, &line, fname, err, errlen)) > 0) {
		char *colon = strchr(line, ':');
		if (colon == NULL) {
			r = terr(err, errlen, fname, it->lineno, "expected 'name:hash'");
			break;
		}
		*colon = '\0';
		if (!valid_username(line, strlen(line))) {
			r = terr(err, errlen, fname, it->lineno,
			    "'%s' is not a valid user name (1-64 of a-z 0-9 . _ -)", line);
			break;
		}
		if (!valid_hash(colon + 1)) {
			r = terr(err, errlen, fname, it->lineno, "bad password hash for '%s'", line);
			break;
		}
		if (t->nusers >= TABLE_MAX_ENTRIES) {
			r = terr(err, errlen, fname, it->lineno, "too many users");
			break;
		}
		struct user_entry *u = reallocarray(t->users, t->nusers + 1, sizeof(*u));
		if (u == NULL) {
			r = terr(err, errlen, fname, it->lineno, "out of memory");
			break;
		}
		t->users = u;
		strlcpy(u[t->nusers].name, line, sizeof(u->name));
		strlcpy(u[t->nusers].hash, colon + 1, sizeof(u->hash));
		t->nusers++;
	}
	free(it);
	return r < 0 ? -1 : 0;
}

int aliases_parse(const char *text, size_t len, const char *fname,
    struct tables *t, char *err, size_t errlen)
{
	struct line_iter *it = calloc(1, sizeof(*it));
	char *line;
	int r;
	if (it == NULL)
		return terr(err, errlen, fname, 0, "out of memory");
	it->text = text;
	it->len = len;
	while ((r = next_line(it, &line, fname, err, errlen)) > 0) {
		char *colon = strchr(line, ':');
		if (colon == NULL) {
			r = terr(err, errlen, fname, it->lineno, "expected 'name: target, target...'");
			break;
		}
		*colon = '\0';
		size_t nl = strlen(line);
		while (nl && (line[nl - 1] == ' ' || line[nl - 1] == '\t'))
			line[--nl] = '\0';
		lower(line);
		if (!valid_username(line, nl)) {
			r = terr(err, errlen, fname, it->lineno, "'%s' is not a valid alias name", line);
			break;
		}
		if (t->naliases >= TABLE_MAX_ENTRIES) {
			r = terr(err, errlen, fname, it->lineno, "too many aliases");
			break;
		}
		struct alias_entry *a = reallocarray(t->aliases, t->naliases + 1, sizeof(*a));
		if (a == NULL) {
			r = terr(err, errlen, fname, it->lineno, "out of memory");
			break;
		}
		t->aliases = a;
		a = &t->aliases[t->naliases++];
		memset(a, 0, sizeof(*a));
		strlcpy(a->name, line, sizeof(a->name));
		char *rest = colon + 1, *tok;
		while ((tok = strsep(&rest, ",")) != NULL) {
			while (*tok == ' ' || *tok == '\t')
				tok++;
			size_t tl = strlen(tok);
			while (tl && (tok[tl - 1] == ' ' || tok[tl - 1] == '\t'))
				tok[--tl] = '\0';
			if (tl == 0)
				continue;
			lower(tok);
			if (strchr(tok, '@') != NULL) {
				r = terr(err, errlen, fname, it->lineno,
				    "alias '%s': target '%s': only local names are supported (no remote targets)",
				    a->name, tok);
				goto out;
			}
			if (!valid_username(tok, tl)) {
				r = terr(err, errlen, fname, it->lineno, "alias '%s': '%s' is not a valid local name",
				    a->name, tok);
				goto out;
			}
			if (a->ntargets >= ALIAS_MAX_TARGETS) {
				r = terr(err, errlen, fname, it->lineno, "alias '%s': more than %d targets",
				    a->name, ALIAS_MAX_TARGETS);
				goto out;
			}
			void *nt = reallocarray(a->targets, a->ntargets + 1, sizeof(*a->targets));
			if (nt == NULL) {
				r = terr(err, errlen, fname, it->lineno, "out of memory");
				goto out;
			}
			a->targets = nt;
			strlcpy(a->targets[a->ntargets++], tok, USERNAME_MAX + 1);
		}
		if (a->ntargets == 0) {
			r = terr(err, errlen, fname, it->lineno, "alias '%s' has no target", a->name);
			break;
		}
	}
out:
	free(it);
	return r < 0 ? -1 : 0;
}

static int cmp_user(const void *a, const void *b)
{
	return strcmp(((const struct user_entry *)a)->name, ((const struct user_entry *)b)->name);
}
static int cmp_alias(const void *a, const void *b)
{
	return strcmp(((const struct alias_entry *)a)->name, ((const struct alias_entry *)b)->name);
}

const struct user_entry *tables_user(const struct tables *t, const char *name)
{
	struct user_entry key;
	if (strlcpy(key.name, name, sizeof(key.name)) >= sizeof(key.name) || t->nusers == 0)
		return NULL;
	return bsearch(&key, t->users, t->nusers, sizeof(key), cmp_user);
}

static const struct alias_entry *tables_alias(const struct tables *t, const char *name)
{
	struct alias_entry key;
	if (strlcpy(key.name, name, sizeof(key.name)) >= sizeof(key.name) || t->naliases == 0)
		return NULL;
	return bsearch(&key, t->aliases, t->naliases, sizeof(key), cmp_alias);
}

int tables_finish(struct tables *t, char *err, size_t errlen)
{
	if (t->nusers)
		qsort(t->users, t->nusers, sizeof(*t->users), cmp_user);
	if (t->naliases)
		qsort(t->aliases, t->naliases, sizeof(*t->aliases), cmp_alias);
	for (size_t i = 1; i < t->nusers; i++)
		if (strcmp(t->users[i - 1].name, t->users[i].name) == 0) {
			snprintf(err, errlen, "user '%s' is listed twice", t->users[i].name);
			return -1;
		}
	for (size_t i = 0; i < t->naliases; i++) {
		const struct alias_entry *a = &t->aliases[i];
		if (i > 0 && strcmp(t->aliases[i - 1].name, a->name) == 0) {
			snprintf(err, errlen, "alias '%s' is listed twice", a->name);
			return -1;
		}
		if (tables_user(t, a->name)) {
			snprintf(err, errlen, "'%s' is both a user and an alias", a->name);
			return -1;
		}
		for (size_t j = 0; j < a->ntargets; j++)
			if (!tables_user(t, a->targets[j]) && !tables_alias(t, a->targets[j])) {
				snprintf(err, errlen, "alias '%s': target '%s' is neither a user nor an alias",
				    a->name, a->targets[j]);
				return -1;
			}
	}
	return 0;
}

void tables_free(struct tables *t)
{
	if (t->users)
		explicit_bzero(t->users, t->nusers * sizeof(*t->users));
	free(t->users);
	for (size_t i = 0; i < t->naliases; i++)
		free(t->aliases[i].targets);
	free(t->aliases);
	memset(t, 0, sizeof(*t));
}

/* mark[i] for alias i: 0 not reached yet, 1 on the current path (so
 * reaching it again is a loop), else 2 + its height (the most levels of
 * aliases from it down to a user). An alias reached again through
 * another path adds no new mailbox and is not walked again, which keeps
 * resolution linear in the size of the tables; its height still has to
 * fit under ALIAS_MAX_DEPTH from where it is reached now. */
static int expand(const struct tables *t, const char *name, int depth,
    char out[][USERNAME_MAX + 1], size_t max, size_t *n, uint8_t *mark,
    int *height)
{
	*height = 0;
	if (tables_user(t, name)) {
		for (size_t i = 0; i < *n; i++)
			if (strcmp(out[i], name) == 0)
				return 0;
		if (*n >= max)
			return -1;
		strlcpy(out[(*n)++], name, USERNAME_MAX + 1);
		return 0;
	}
	const struct alias_entry *a = tables_alias(t, name);
	if (a == NULL)
		return 1;
	size_t ai = (size_t)(a - t->aliases);
	if (mark[ai] == 1)
		return -1;
	if (mark[ai] >= 2) {
		*height = mark[ai] - 2;
		return depth + *height > ALIAS_MAX_DEPTH ? -1 : 0;
	}
	if (depth >= ALIAS_MAX_DEPTH)
		return -1;
	mark[ai] = 1;
	int h = 0, th;
	for (size_t i = 0; i < a->ntargets; i++) {
		if (expand(t, a->targets[i], depth + 1, out, max, n, mark, &th) < 0)
			return -1;
		if (th > h)
			h = th;
	}
	*height = h + 1;
	mark[ai] = (uint8_t)(2 + *height);
	return 0;
}

int tables_resolve(const struct tables *t, const char *local,
    char out[][USERNAME_MAX + 1], size_t max)
{
	char name[USERNAME_MAX + 1];
	size_t n = 0;
	int height;
	if (strlcpy(name, local, sizeof(name)) >= sizeof(name))
		return 0;
	lower(name);
	uint8_t *mark = calloc(t->naliases ? t->naliases : 1, 1);
	if (mark == NULL)
		return -1;
	int r = expand(t, name, 0, out, max, &n, mark, &height);
	if (r == 1) {
		char *plus = strchr(name, '+');
		if (plus == NULL || plus == name) {
			free(mark);
			return 0;
		}
		*plus = '\0';
		r = expand(t, name, 0, out, max, &n, mark, &height);
		if (r == 1) {
			free(mark);
			return 0;
		}
	}
	free(mark);
	return r < 0 ? -1 : (int)n;
}

char *read_small_file(int dirfd, const char *name, size_t max, size_t *len,
    char *err, size_t errlen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *buf;
	size_t got = 0;
	ssize_t n;
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: not a regular file of at most %zu bytes", name, max);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

bool rcpt_dest_seen_before(const struct rcpt_dest *d, uint32_t i, uint32_t j)
{
	const struct rcpt_dest *r = &d[i];
	for (uint32_t k = 0; k <= i; k++) {
		const struct rcpt_dest *o = &d[k];
		if (o->remote != r->remote)
			continue;
		if (r->remote) {
			if (k < i && strcasecmp(o->addr, r->addr) == 0)
				return true;
			continue;
		}
		for (uint32_t m = 0; m < (k == i ? j : o->nmb); m++)
			if (strcmp(o->mb[m], r->mb[j]) == 0)
				return true;
	}
	return false;
}
