/*
 * test_tables.c: unit tests for common/tables.c: users_parse and
 * aliases_parse (syntax, comments, limits, "file:line: message"
 * errors), tables_finish (duplicates and cross references), tables_user,
 * tables_resolve (case, user+detail fallback, alias expansion and
 * de-duplication, depth limit, loops -> -1, output limit),
 * read_small_file and rcpt_dest_seen_before.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tables.h"

#define H1 "$6$salt$0123456789abcdefABCDEF./"
#define H2 "$y$j9T$abc$def"

static char err[512];

static int users(struct tables *t, const char *text)
{
	err[0] = '\0';
	return users_parse(text, strlen(text), "users", t, err, sizeof(err));
}

static int aliases(struct tables *t, const char *text)
{
	err[0] = '\0';
	return aliases_parse(text, strlen(text), "aliases", t, err, sizeof(err));
}

/* Builds finished tables from the two texts; fails the test on error. */
static void load(struct tables *t, const char *u, const char *a)
{
	memset(t, 0, sizeof(*t));
	if (users(t, u) != 0 || aliases(t, a) != 0 || tables_finish(t, err, sizeof(err)) != 0)
		print_error("load: %s\n", err);
	assert_string_equal(err, "");
}

static void users_err(const char *text, const char *want)
{
	struct tables t;
	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t, text), -1);
	if (strcmp(err, want) != 0)
		print_error("got '%s', want '%s'\n", err, want);
	assert_string_equal(err, want);
	tables_free(&t);
}

static void aliases_err(const char *text, const char *want)
{
	struct tables t;
	memset(&t, 0, sizeof(t));
	assert_int_equal(aliases(&t, text), -1);
	if (strncmp(err, want, strlen(want)) != 0)
		print_error("got '%s', want '%s'\n", err, want);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	tables_free(&t);
}

static void test_users_parse(void **state)
{
	(void)state;
	struct tables t;
	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t,
	    "# users\n"
	    "\n"
	    "bob:" H1 "\n"
	    "  alice:" H2 "   # comment\r\n"
	    "\tcarol.x_y-z:" H1 "#not-a-comment\r\n"
	    "dave:" H1), 0);
	assert_int_equal(t.nusers, 4);
	assert_int_equal(tables_finish(&t, err, sizeof(err)), 0);
	/* sorted by name */
	assert_string_equal(t.users[0].name, "alice");
	assert_string_equal(t.users[1].name, "bob");
	assert_string_equal(t.users[2].name, "carol.x_y-z");
	assert_string_equal(t.users[3].name, "dave");
	const struct user_entry *u = tables_user(&t, "alice");
	assert_non_null(u);
	assert_string_equal(u->hash, H2);
	u = tables_user(&t, "carol.x_y-z");
	assert_non_null(u);
	assert_string_equal(u->hash, H1 "#not-a-comment");
	assert_null(tables_user(&t, "Alice"));
	assert_null(tables_user(&t, "eve"));
	assert_null(tables_user(&t, ""));
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_null(tables_user(&t, longname));
	tables_free(&t);
	assert_null(t.users);
	assert_int_equal(t.nusers, 0);

	/* appending: a second call adds to the first */
	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t, "a:" H1 "\n"), 0);
	assert_int_equal(users(&t, "b:" H1 "\n"), 0);
	assert_int_equal(t.nusers, 2);
	tables_free(&t);

	/* empty and comment-only files are fine */
	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t, ""), 0);
	assert_int_equal(users(&t, "# nobody\n\n   \n"), 0);
	assert_int_equal(t.nusers, 0);
	assert_int_equal(tables_finish(&t, err, sizeof(err)), 0);
	assert_null(tables_user(&t, "alice"));
	tables_free(&t);
}

static void test_users_errors(void **state)
{
	(void)state;
	users_err("alice\n", "users:1: expected 'name:hash'");
	users_err("a:" H1 "\n\nb " H1 "\n", "users:3: expected 'name:hash'");
	users_err("Alice:" H1 "\n", "users:1: 'Alice' is not a valid user name (1-64 of a-z 0-9 . _ -)");
	users_err(":" H1 "\n", "users:1: '' is not a valid user name (1-64 of a-z 0-9 . _ -)");
	users_err(".x:" H1 "\n", "users:1: '.x' is not a valid user name (1-64 of a-z 0-9 . _ -)");
	users_err("a b:" H1 "\n", "users:1: 'a b' is not a valid user name (1-64 of a-z 0-9 . _ -)");
	users_err("alice:\n", "users:1: bad password hash for 'alice'");
	users_err("alice:   \n", "users:1: bad password hash for 'alice'");
	users_err("alice:a b\n", "users:1: bad password hash for 'alice'");
	users_err("alice:a:b\n", "users:1: bad password hash for 'alice'");
	users_err("alice:a\tb\n", "users:1: bad password hash for 'alice'");
	users_err("alice:a\x7f\n", "users:1: bad password hash for 'alice'");
	users_err("alice:\xc3\xa9\n", "users:1: bad password hash for 'alice'");
	users_err("alice:a\x01\n", "users:1: bad password hash for 'alice'");

	char line[700];
	char name[70];
	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(line, sizeof(line), "%s:" H1 "\n", name);
	struct tables t;
	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t, line), 0);
	assert_string_equal(t.users[0].name, name);
	tables_free(&t);
	memset(name, 'n', 65);
	name[65] = '\0';
	snprintf(line, sizeof(line), "%s:" H1 "\n", name);
	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t, line), -1);
	tables_free(&t);

	/* hash: 255 ok, 256 not */
	char hash[300];
	memset(hash, 'h', 255);
	hash[255] = '\0';
	snprintf(line, sizeof(line), "a:%s\n", hash);
	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t, line), 0);
	assert_string_equal(t.users[0].hash, hash);
	tables_free(&t);
	memset(hash, 'h', 256);
	hash[256] = '\0';
	snprintf(line, sizeof(line), "a:%s\n", hash);
	users_err(line, "users:1: bad password hash for 'a'");

	/* NUL bytes and overlong lines */
	memset(&t, 0, sizeof(t));
	assert_int_equal(users_parse("a:" H1 "\nb:x\0y\n", 8 + sizeof(H1), "users", &t, err, sizeof(err)), -1);
	assert_string_equal(err, "users:2: NUL byte in line");
	tables_free(&t);

	char *big = malloc(TABLE_MAX_LINE + 10);
	assert_non_null(big);
	memset(big, '#', TABLE_MAX_LINE + 10);
	memset(&t, 0, sizeof(t));
	assert_int_equal(users_parse(big, TABLE_MAX_LINE, "users", &t, err, sizeof(err)), 0);
	big[TABLE_MAX_LINE] = '\n';
	assert_int_equal(users_parse(big, TABLE_MAX_LINE + 1, "users", &t, err, sizeof(err)), 0);
	assert_int_equal(users_parse(big, TABLE_MAX_LINE + 2, "users", &t, err, sizeof(err)), 0);
	big[TABLE_MAX_LINE] = '#';
	assert_int_equal(users_parse(big, TABLE_MAX_LINE + 1, "users", &t, err, sizeof(err)), -1);
	assert_string_equal(err, "users:1: line longer than 4096 bytes");
	tables_free(&t);
	free(big);
}

static void test_aliases_parse(void **state)
{
	(void)state;
	struct tables t;
	memset(&t, 0, sizeof(t));
	assert_int_equal(aliases(&t,
	    "# aliases\n"
	    "postmaster: alice\n"
	    "Team :  Alice, BOB ,carol\t\r\n"
	    "x:y,,z, ,\n"
	    "\tabuse:postmaster # comment\n"), 0);
	assert_int_equal(t.naliases, 4);
	const struct alias_entry *a = &t.aliases[1];
	assert_string_equal(a->name, "team");
	assert_int_equal(a->ntargets, 3);
	assert_string_equal(a->targets[0], "alice");
	assert_string_equal(a->targets[1], "bob");
	assert_string_equal(a->targets[2], "carol");
	a = &t.aliases[2];
	assert_string_equal(a->name, "x");
	assert_int_equal(a->ntargets, 2);
	assert_string_equal(a->targets[0], "y");
	assert_string_equal(a->targets[1], "z");
	assert_string_equal(t.aliases[3].name, "abuse");
	assert_int_equal(t.aliases[3].ntargets, 1);
	tables_free(&t);

	/* 64 targets ok, 65 not */
	char line[2048];
	size_t n = (size_t)snprintf(line, sizeof(line), "big:");
	for (int i = 0; i < ALIAS_MAX_TARGETS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "u%d,", i);
	memset(&t, 0, sizeof(t));
	assert_int_equal(aliases(&t, line), 0);
	assert_int_equal(t.aliases[0].ntargets, ALIAS_MAX_TARGETS);
	tables_free(&t);
	snprintf(line + n, sizeof(line) - n, "one-more");
	aliases_err(line, "aliases:1: alias 'big': more than 64 targets");
}

static void test_aliases_errors(void **state)
{
	(void)state;
	aliases_err("postmaster alice\n", "aliases:1: expected 'name: target, target...'");
	aliases_err("a: b\nc:\n", "aliases:2: alias 'c' has no target");
	aliases_err("a: , ,\n", "aliases:1: alias 'a' has no target");
	aliases_err(": b\n", "aliases:1: '' is not a valid alias name");
	aliases_err("a b: c\n", "aliases:1: 'a b' is not a valid alias name");
	aliases_err("a+b: c\n", "aliases:1: 'a+b' is not a valid alias name");
	aliases_err("-a: c\n", "aliases:1: '-a' is not a valid alias name");
	aliases_err("a: bob@example.com\n",
	    "aliases:1: alias 'a': target 'bob@example.com': only local names are supported");
	aliases_err("a: |/bin/sh\n", "aliases:1: alias 'a': '|/bin/sh' is not a valid local name");
	aliases_err("a: /var/mail/x\n", "aliases:1: alias 'a': '/var/mail/x' is not a valid local name");
	aliases_err("a: b c\n", "aliases:1: alias 'a': 'b c' is not a valid local name");
	aliases_err("a: .b\n", "aliases:1: alias 'a': '.b' is not a valid local name");
	aliases_err("a: b:c\n", "aliases:1: alias 'a': 'b:c' is not a valid local name");
	aliases_err("\n\na: b\nc: \x01\n", "aliases:4: alias 'c': '\x01' is not a valid local name");

	struct tables t;
	memset(&t, 0, sizeof(t));
	assert_int_equal(aliases_parse("a: b\0\n", 6, "aliases", &t, err, sizeof(err)), -1);
	assert_string_equal(err, "aliases:1: NUL byte in line");
	tables_free(&t);
}

static void test_finish(void **state)
{
	(void)state;
	struct tables t;

	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t, "a:" H1 "\nb:" H1 "\na:" H2 "\n"), 0);
	assert_int_equal(tables_finish(&t, err, sizeof(err)), -1);
	assert_string_equal(err, "user 'a' is listed twice");
	tables_free(&t);

	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t, "a:" H1 "\n"), 0);
	assert_int_equal(aliases(&t, "x: a\nX: a\n"), 0);
	assert_int_equal(tables_finish(&t, err, sizeof(err)), -1);
	assert_string_equal(err, "alias 'x' is listed twice");
	tables_free(&t);

	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t, "a:" H1 "\nb:" H1 "\n"), 0);
	assert_int_equal(aliases(&t, "b: a\n"), 0);
	assert_int_equal(tables_finish(&t, err, sizeof(err)), -1);
	assert_string_equal(err, "'b' is both a user and an alias");
	tables_free(&t);

	memset(&t, 0, sizeof(t));
	assert_int_equal(users(&t, "a:" H1 "\n"), 0);
	assert_int_equal(aliases(&t, "x: a, nobody\n"), 0);
	assert_int_equal(tables_finish(&t, err, sizeof(err)), -1);
	assert_string_equal(err, "alias 'x': target 'nobody' is neither a user nor an alias");
	tables_free(&t);

	/* aliases only, pointing at each other: finish accepts (resolve says -1) */
	memset(&t, 0, sizeof(t));
	assert_int_equal(aliases(&t, "x: y\ny: x\n"), 0);
	assert_int_equal(tables_finish(&t, err, sizeof(err)), 0);
	char out[RESOLVE_MAX][USERNAME_MAX + 1];
	assert_int_equal(tables_resolve(&t, "x", out, RESOLVE_MAX), -1);
	tables_free(&t);
}

static struct tables T; /* the tables the resolve tests share */

static int setup_tables(void **state)
{
	(void)state;
	load(&T,
	    "alice:" H1 "\n"
	    "bob:" H1 "\n"
	    "carol:" H1 "\n"
	    "dave:" H1 "\n",
	    "postmaster: alice\n"
	    "abuse: postmaster\n"
	    "team: alice, bob, Carol\n"
	    "all: team, dave, alice, postmaster, team\n"
	    "ops: abuse, team, dave\n"
	    "loop1: loop2\n"
	    "loop2: loop1\n"
	    "self: self\n"
	    "partloop: alice, loop1\n"
	    "c0: c1\nc1: c2\nc2: c3\nc3: c4\nc4: c5\nc5: c6\nc6: c7\nc7: bob\n"
	    "d0: d1\nd1: d2\nd2: d3\nd3: d4\nd4: d5\nd5: d6\nd6: d7\nd7: d8\nd8: bob\n"
	    /* x1 (two levels) reached first near the top, then again deeper */
	    "x1: y1\ny1: bob\n"
	    "m0: x1, m1\nm1: m2\nm2: m3\nm3: m4\nm4: m5\nm5: m6\nm6: x1\n"
	    "n0: x1, m2\n"
	    "k0: m1, x1\n");
	return 0;
}

static int teardown_tables(void **state)
{
	(void)state;
	tables_free(&T);
	return 0;
}

/* Resolves local and checks the result is exactly the given list. */
static void resolves_to(const char *local, int want, const char *const *names)
{
	char out[RESOLVE_MAX][USERNAME_MAX + 1];
	memset(out, 0, sizeof(out));
	int n = tables_resolve(&T, local, out, RESOLVE_MAX);
	if (n != want)
		print_error("resolve '%s': %d, want %d\n", local, n, want);
	assert_int_equal(n, want);
	for (int i = 0; i < want; i++)
		assert_string_equal(out[i], names[i]);
}

static void test_resolve_users(void **state)
{
	(void)state;
	resolves_to("alice", 1, (const char *[]){ "alice" });
	resolves_to("ALICE", 1, (const char *[]){ "alice" });
	resolves_to("Bob", 1, (const char *[]){ "bob" });
	resolves_to("alice+news", 1, (const char *[]){ "alice" });
	resolves_to("Alice+News+More", 1, (const char *[]){ "alice" });
	resolves_to("alice+", 1, (const char *[]){ "alice" });
	resolves_to("nobody", 0, NULL);
	resolves_to("nobody+x", 0, NULL);
	resolves_to("+alice", 0, NULL);
	resolves_to("", 0, NULL);
	resolves_to("alice@example.com", 0, NULL);
	resolves_to("ali", 0, NULL);
	resolves_to("alicex", 0, NULL);
	resolves_to("\"alice\"", 0, NULL);

	/* a local part longer than any name is simply unknown */
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	resolves_to(longname, 0, NULL);
	memcpy(longname, "alice+", 6);
	resolves_to(longname, 0, NULL);
}

static void test_resolve_aliases(void **state)
{
	(void)state;
	resolves_to("postmaster", 1, (const char *[]){ "alice" });
	resolves_to("PostMaster", 1, (const char *[]){ "alice" });
	resolves_to("abuse", 1, (const char *[]){ "alice" });
	resolves_to("abuse+spam", 1, (const char *[]){ "alice" });
	resolves_to("team", 3, (const char *[]){ "alice", "bob", "carol" });
	resolves_to("team+x", 3, (const char *[]){ "alice", "bob", "carol" });
	/* every mailbox once, in first-seen order */
	resolves_to("all", 4, (const char *[]){ "alice", "bob", "carol", "dave" });
	resolves_to("ops", 4, (const char *[]){ "alice", "bob", "carol", "dave" });
	/* 8 levels of aliases are fine, 9 are not */
	resolves_to("c0", 1, (const char *[]){ "bob" });
	resolves_to("c7", 1, (const char *[]){ "bob" });
	resolves_to("d1", 1, (const char *[]){ "bob" });
	resolves_to("d0", -1, NULL);
	resolves_to("d0+x", -1, NULL);
	/* an alias met again deeper down must still fit under the limit */
	resolves_to("m0", -1, NULL); /* x1 at depth 7: y1 at 8 */
	resolves_to("k0", -1, NULL);
	resolves_to("n0", 1, (const char *[]){ "bob" }); /* x1 at depth 6 at most */
	resolves_to("m1", 1, (const char *[]){ "bob" });
}

static void test_resolve_loops(void **state)
{
	(void)state;
	resolves_to("loop1", -1, NULL);
	resolves_to("loop2", -1, NULL);
	resolves_to("self", -1, NULL);
	resolves_to("self+x", -1, NULL);
	resolves_to("partloop", -1, NULL);
}

static void test_resolve_max(void **state)
{
	(void)state;
	char out[RESOLVE_MAX][USERNAME_MAX + 1];
	assert_int_equal(tables_resolve(&T, "team", out, 3), 3);
	assert_int_equal(tables_resolve(&T, "team", out, 2), -1);
	assert_int_equal(tables_resolve(&T, "all", out, 4), 4);
	assert_int_equal(tables_resolve(&T, "all", out, 3), -1);
	assert_int_equal(tables_resolve(&T, "alice", out, 1), 1);
	assert_int_equal(tables_resolve(&T, "alice", out, 0), -1);
	assert_int_equal(tables_resolve(&T, "nobody", out, 0), 0);

	/* RESOLVE_MAX distinct users through one alias, then one more */
	struct tables t;
	char *u = malloc(100 * 80), *a = malloc(100 * 10 + 100);
	assert_non_null(u);
	assert_non_null(a);
	size_t un = 0, an = (size_t)snprintf(a, 100, "many:");
	for (int i = 0; i <= RESOLVE_MAX; i++) {
		un += (size_t)snprintf(u + un, 80, "u%d:" H1 "\n", i);
		if (i < RESOLVE_MAX)
			an += (size_t)snprintf(a + an, 10, "%su%d", i ? "," : "", i);
	}
	an += (size_t)snprintf(a + an, 100, "\nmore: many, u%d\n", RESOLVE_MAX);
	load(&t, u, a);
	assert_int_equal(tables_resolve(&t, "many", out, RESOLVE_MAX), RESOLVE_MAX);
	assert_string_equal(out[0], "u0");
	assert_string_equal(out[RESOLVE_MAX - 1], "u63");
	assert_int_equal(tables_resolve(&t, "more", out, RESOLVE_MAX), -1);
	tables_free(&t);
	free(u);
	free(a);
}

static void test_resolve_fanout(void **state)
{
	(void)state;
	/* a wide, deep alias graph with no loop must resolve quickly: every
	 * alias is expanded once, not once per path to it */
	char *a = malloc(64 * 1024);
	assert_non_null(a);
	size_t n = 0;
	const int levels = 8, width = 16;
	for (int l = 0; l < levels; l++)
		for (int i = 0; i < width; i++) {
			n += (size_t)snprintf(a + n, 64 * 1024 - n, "l%di%d:", l, i);
			for (int j = 0; j < width; j++)
				n += (size_t)snprintf(a + n, 64 * 1024 - n, "%s%s%di%d", j ? "," : "",
				    l + 1 < levels ? "l" : "u", l + 1 < levels ? l + 1 : 0, j);
			n += (size_t)snprintf(a + n, 64 * 1024 - n, "\n");
		}
	struct tables t;
	char u[1024];
	size_t un = 0;
	for (int j = 0; j < width; j++)
		un += (size_t)snprintf(u + un, sizeof(u) - un, "u0i%d:" H1 "\n", j);
	load(&t, u, a);
	char out[RESOLVE_MAX][USERNAME_MAX + 1];
	/* 16^8 paths: walking each one would take hours; SIGALRM ends the
	 * test program (a failure) if resolve is that slow */
	alarm(10);
	/* l0..l7 are 8 levels of aliases: within the depth limit */
	assert_int_equal(tables_resolve(&t, "l0i0", out, RESOLVE_MAX), width);
	assert_int_equal(tables_resolve(&t, "l7i3", out, RESOLVE_MAX), width);
	alarm(0);
	tables_free(&t);
	free(a);
}

static void test_read_small_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/postern-tables-XXXXXX";
	char path[256];
	size_t len = 99;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("alice:" H1 "\n", f);
	fclose(f);

	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	char *buf = read_small_file(dfd, "users", 1000, &len, err, sizeof(err));
	assert_non_null(buf);
	assert_int_equal(len, strlen("alice:" H1 "\n"));
	assert_string_equal(buf, "alice:" H1 "\n"); /* NUL-terminated */
	free(buf);
	buf = read_small_file(AT_FDCWD, path, 1000, &len, err, sizeof(err));
	assert_non_null(buf);
	free(buf);
	/* exactly max is fine, one byte less is not */
	buf = read_small_file(dfd, "users", strlen("alice:" H1 "\n"), &len, err, sizeof(err));
	assert_non_null(buf);
	free(buf);
	assert_null(read_small_file(dfd, "users", strlen("alice:" H1 "\n") - 1, &len, err, sizeof(err)));
	char want[100];
	snprintf(want, sizeof(want), "users: not a regular file of at most %zu bytes",
	    strlen("alice:" H1 "\n") - 1);
	assert_string_equal(err, want);
	assert_null(read_small_file(dfd, "missing", 1000, &len, err, sizeof(err)));
	assert_null(read_small_file(dfd, ".", 1000, &len, err, sizeof(err)));
	assert_int_equal(symlinkat("users", dfd, "link"), 0);
	assert_null(read_small_file(dfd, "link", 1000, &len, err, sizeof(err)));
	unlinkat(dfd, "link", 0);
	unlinkat(dfd, "users", 0);
	close(dfd);
	rmdir(dir);
}

/* One delivery per mailbox and per remote address (case-blind), the
 * first recipient that leads there naming it. */
static void test_rcpt_dest_seen_before(void **state)
{
	(void)state;
	char mb0[2][USERNAME_MAX + 1] = { "alice", "bob" };
	char mb2[3][USERNAME_MAX + 1] = { "carol", "bob", "carol" };
	struct rcpt_dest d[4] = {
		{ "team@example.org", false, mb0, 2 },
		{ "x@remote.example", true, NULL, 0 },
		{ "all@example.org", false, mb2, 3 },
		{ "X@Remote.Example", true, NULL, 0 },
	};
	assert_false(rcpt_dest_seen_before(d, 0, 0));
	assert_false(rcpt_dest_seen_before(d, 0, 1));
	assert_false(rcpt_dest_seen_before(d, 1, 0));
	assert_false(rcpt_dest_seen_before(d, 2, 0)); /* carol: first */
	assert_true(rcpt_dest_seen_before(d, 2, 1));  /* bob: via team */
	assert_true(rcpt_dest_seen_before(d, 2, 2));  /* carol again, same recipient */
	assert_true(rcpt_dest_seen_before(d, 3, 0));  /* the remote address again */
	/* a local mailbox and a remote address never match each other */
	char mb4[1][USERNAME_MAX + 1] = { "x@remote.example" };
	struct rcpt_dest e[2] = { { "x@remote.example", true, NULL, 0 },
		{ "y@example.org", false, mb4, 1 } };
	assert_false(rcpt_dest_seen_before(e, 1, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users_parse),
		cmocka_unit_test(test_users_errors),
		cmocka_unit_test(test_aliases_parse),
		cmocka_unit_test(test_aliases_errors),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_resolve_users),
		cmocka_unit_test(test_resolve_aliases),
		cmocka_unit_test(test_resolve_loops),
		cmocka_unit_test(test_resolve_max),
		cmocka_unit_test(test_resolve_fanout),
		cmocka_unit_test(test_read_small_file),
		cmocka_unit_test(test_rcpt_dest_seen_before),
	};
	return cmocka_run_group_tests(tests, setup_tables, teardown_tables);
}
