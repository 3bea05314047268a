/*
 * test_mx.c: unit tests for relay/mx.c: host name rules (mx_name_valid:
 * LDH labels, lengths, IP addresses), ordering by preference, the
 * shuffle among equal preferences (every order of a group reachable
 * with a scripted rnd, a roughly uniform spread with a seeded one, a
 * rnd that never stops rejecting), duplicates, null MX alone and
 * mixed, invalid names, more hosts than MX_MAX, the implicit MX, and
 * dropping the local host (mx_prune_self).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mx.h"

/* A rnd that returns its script in turn (then zeros). */
struct script {
	const uint32_t *v;
	size_t n, i;
};

static uint32_t script_rnd(void *arg)
{
	struct script *s = arg;
	return s->i < s->n ? s->v[s->i++] : 0;
}

/* xorshift32, seeded */
static uint32_t xs_rnd(void *arg)
{
	uint32_t *x = arg;
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static uint32_t zero_rnd(void *arg)
{
	size_t *calls = arg;
	(*calls)++;
	return 0;
}

static uint32_t max_rnd(void *arg)
{
	(void)arg;
	return UINT32_MAX;
}

static struct mx_rr rr(uint16_t pref, const char *host)
{
	struct mx_rr r = { pref, host, strlen(host) };
	return r;
}

static enum mx_status sel(const struct mx_rr *r, size_t n, struct mx_list *l)
{
	uint32_t seed = 12345;
	enum mx_status st = mx_select(r, n, xs_rnd, &seed, l);
	/* every record is accounted for */
	assert_int_equal(l->n + l->nulls + l->invalid + l->duplicates + l->dropped, n);
	assert_true(l->n <= MX_MAX);
	assert_int_equal(st == MX_OK, l->n > 0);
	for (size_t i = 0; i < l->n; i++) {
		assert_true(mx_name_valid(l->host[i].name, strlen(l->host[i].name)));
		if (i > 0)
			assert_true(l->host[i - 1].pref <= l->host[i].pref);
	}
	return st;
}

static void test_name_valid(void **state)
{
	(void)state;
	char label63[64], label64[65], long253[260], long254[260];
	memset(label63, 'a', 63);
	label63[63] = '\0';
	memset(label64, 'b', 64);
	label64[64] = '\0';
	/* 4 * 63 + 3 dots = 255: trim to 253 and 254 */
	snprintf(long253, sizeof(long253), "%s.%s.%s.%.61s", label63, label63, label63, label63);
	snprintf(long254, sizeof(long254), "%s.%s.%s.%.62s", label63, label63, label63, label63);
	assert_int_equal(strlen(long253), 253);
	assert_int_equal(strlen(long254), 254);

	const char *good[] = { "mx.example.com", "MX1.Example.COM.", "a", "a.b", "a-b.c",
		"3com.com", "xn--bcher-kva.example", "a--b.example", "0.example", "1.2.3.example",
		"mx.example.a1", "mx.example.1a", "localhost", label63, long253 };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!mx_name_valid(good[i], strlen(good[i])))
			print_error("'%s' refused\n", good[i]);
		assert_true(mx_name_valid(good[i], strlen(good[i])));
	}
	/* 253 with its trailing dot is still fine */
	char dotted[300];
	snprintf(dotted, sizeof(dotted), "%s.", long253);
	assert_true(mx_name_valid(dotted, strlen(dotted)));

	const char *bad[] = { "", ".", "..", "a..b", ".a", "a..", "-a.com", "a-.com", "a.-b",
		"a.b-", "a.b-.", "a_b.com", "_dmarc.example.com", "1.2.3.4", "1.2.3.4.",
		"192.0.2.1", "10", "a.123", "[192.0.2.1]", "[IPv6:2001:db8::1]", "::1",
		"2001:db8::1", "a b.com", "a\tb", "caf\xc3\xa9.example", "a.com..", "*.example.com",
		"a/b", "a@b.com", "a.b.c:25", label64, long254 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mx_name_valid(bad[i], strlen(bad[i])))
			print_error("'%s' accepted\n", bad[i]);
		assert_false(mx_name_valid(bad[i], strlen(bad[i])));
	}
	/* NUL inside, and only len bytes counted */
	assert_false(mx_name_valid("a\0b.com", 7));
	assert_false(mx_name_valid("mx.example.com\0", 15));
	assert_true(mx_name_valid("mx.example.com!!", 14));
	assert_false(mx_name_valid("mx.example.com", 0));
	assert_true(mx_name_valid("mx.", 3));
	assert_true(mx_name_valid("mx.-", 2));
}

static void test_order(void **state)
{
	(void)state;
	struct mx_list l;
	struct mx_rr r[] = { rr(30, "c.example"), rr(10, "a.example"), rr(20, "b.example"),
		rr(0, "zero.example"), rr(65535, "last.example") };
	assert_int_equal(sel(r, 5, &l), MX_OK);
	assert_int_equal(l.n, 5);
	const char *want[] = { "zero.example", "a.example", "b.example", "c.example",
		"last.example" };
	const uint16_t prefs[] = { 0, 10, 20, 30, 65535 };
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(l.host[i].name, want[i]);
		assert_int_equal(l.host[i].pref, prefs[i]);
	}
	assert_int_equal(l.nulls + l.invalid + l.duplicates + l.dropped, 0);
	assert_false(l.null_mixed);
	assert_false(l.self_pruned);
	/* the trailing dot goes; the case stays */
	struct mx_rr d[] = { rr(5, "MX.Example.ORG.") };
	assert_int_equal(sel(d, 1, &l), MX_OK);
	assert_string_equal(l.host[0].name, "MX.Example.ORG");
}

/* The order of three hosts of one preference (behind a better one and
 * before a worse one) for each scripted pair of draws: all 6 orders. */
static void test_shuffle_all_orders(void **state)
{
	(void)state;
	struct mx_rr r[] = { rr(20, "x.example"), rr(10, "best.example"), rr(20, "y.example"),
		rr(30, "worst.example"), rr(20, "z.example") };
	char seen[6][3];
	size_t nseen = 0;
	for (uint32_t a = 0; a < 3; a++) {
		for (uint32_t b = 0; b < 2; b++) {
			/* the multiples of 3 and 2 leave the result alone */
			uint32_t v[2] = { a + 3 * 1000, b + 2 * 77 };
			struct script s = { v, 2, 0 };
			struct mx_list l;
			assert_int_equal(mx_select(r, 5, script_rnd, &s, &l), MX_OK);
			assert_int_equal(s.i, 2); /* one draw per swap, none for groups of one */
			assert_int_equal(l.n, 5);
			assert_string_equal(l.host[0].name, "best.example");
			assert_string_equal(l.host[4].name, "worst.example");
			char order[3];
			for (size_t i = 0; i < 3; i++) {
				assert_int_equal(l.host[1 + i].pref, 20);
				order[i] = l.host[1 + i].name[0];
			}
			for (size_t k = 0; k < nseen; k++)
				assert_memory_not_equal(seen[k], order, 3);
			memcpy(seen[nseen++], order, 3);
		}
	}
	assert_int_equal(nseen, 6);
	for (size_t k = 0; k < 6; k++) {
		/* each a permutation of x, y, z */
		assert_non_null(memchr(seen[k], 'x', 3));
		assert_non_null(memchr(seen[k], 'y', 3));
		assert_non_null(memchr(seen[k], 'z', 3));
	}
}

/* Fisher-Yates with a good rnd: each of the 6 orders about 1/6 of the time. */
static void test_shuffle_spread(void **state)
{
	(void)state;
	struct mx_rr r[] = { rr(10, "a.example"), rr(10, "b.example"), rr(10, "c.example") };
	const size_t runs = 60000;
	size_t count[3][3] = { { 0 } }; /* [position][host] */
	size_t perm[27] = { 0 };
	uint32_t seed = 0x9e3779b9;
	for (size_t t = 0; t < runs; t++) {
		struct mx_list l;
		assert_int_equal(mx_select(r, 3, xs_rnd, &seed, &l), MX_OK);
		size_t idx = 0;
		for (size_t i = 0; i < 3; i++) {
			size_t h = (size_t)(l.host[i].name[0] - 'a');
			count[i][h]++;
			idx = idx * 3 + h;
		}
		perm[idx]++;
	}
	size_t distinct = 0;
	for (size_t i = 0; i < 27; i++) {
		if (perm[i] == 0)
			continue;
		distinct++;
		/* 10000 expected; 5 % either way is far beyond chance */
		assert_in_range(perm[i], 9500, 10500);
	}
	assert_int_equal(distinct, 6);
	for (size_t i = 0; i < 3; i++)
		for (size_t h = 0; h < 3; h++)
			assert_in_range(count[i][h], 19400, 20600);
}

/* The rejection loop ends even if rnd only ever gives rejected values. */
static void test_shuffle_bounded(void **state)
{
	(void)state;
	struct mx_rr r[MX_MAX];
	char names[MX_MAX][40];
	for (size_t i = 0; i < MX_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "h%zu.example", i);
		r[i] = rr(10, names[i]);
	}
	struct mx_list l;
	size_t calls = 0;
	assert_int_equal(mx_select(r, MX_MAX, zero_rnd, &calls, &l), MX_OK);
	assert_int_equal(l.n, MX_MAX);
	/* at most 64 draws per swap */
	assert_true(calls <= 64 * (MX_MAX - 1));
	assert_true(calls >= MX_MAX - 1);
	assert_int_equal(mx_select(r, MX_MAX, max_rnd, NULL, &l), MX_OK);
	assert_int_equal(l.n, MX_MAX);
	/* every host is still there exactly once */
	for (size_t i = 0; i < MX_MAX; i++) {
		size_t found = 0;
		for (size_t j = 0; j < l.n; j++)
			found += strcmp(l.host[j].name, names[i]) == 0;
		assert_int_equal(found, 1);
	}
	/* a single host and a group of one never draw */
	struct script s = { NULL, 0, 0 };
	struct mx_rr one[] = { rr(10, "a.example"), rr(20, "b.example") };
	assert_int_equal(mx_select(one, 2, script_rnd, &s, &l), MX_OK);
	assert_int_equal(s.i, 0);
}

static void test_dedup(void **state)
{
	(void)state;
	struct mx_list l;
	struct mx_rr r[] = { rr(20, "MX.example.com."), rr(30, "other.example.com"),
		rr(10, "mx.EXAMPLE.com"), rr(40, "mx.example.com"), rr(30, "OTHER.example.com."),
		rr(25, "mx.example.co") };
	assert_int_equal(sel(r, 6, &l), MX_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.duplicates, 3);
	/* the first spelling, the best preference */
	assert_string_equal(l.host[0].name, "MX.example.com");
	assert_int_equal(l.host[0].pref, 10);
	assert_string_equal(l.host[1].name, "mx.example.co");
	assert_int_equal(l.host[1].pref, 25);
	assert_string_equal(l.host[2].name, "other.example.com");
	assert_int_equal(l.host[2].pref, 30);
	/* the same record twice */
	struct mx_rr twice[] = { rr(10, "a.example"), rr(10, "a.example") };
	assert_int_equal(sel(twice, 2, &l), MX_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.duplicates, 1);
}

static void test_null_mx(void **state)
{
	(void)state;
	struct mx_list l;
	struct mx_rr dot[] = { rr(0, ".") };
	assert_int_equal(sel(dot, 1, &l), MX_NULL);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.nulls, 1);
	assert_false(l.null_mixed);
	struct mx_rr empty[] = { rr(0, "") };
	assert_int_equal(sel(empty, 1, &l), MX_NULL);
	struct mx_rr nullptr_host[] = { { 0, NULL, 0 } };
	assert_int_equal(sel(nullptr_host, 1, &l), MX_NULL);
	/* a preference other than 0 is still a null MX */
	struct mx_rr pref10[] = { rr(10, ".") };
	assert_int_equal(sel(pref10, 1, &l), MX_NULL);
	/* the same null MX twice */
	struct mx_rr two[] = { rr(0, "."), rr(0, "") };
	assert_int_equal(sel(two, 2, &l), MX_NULL);
	assert_int_equal(l.nulls, 2);
	assert_false(l.null_mixed);
	/* ".." is not "." */
	struct mx_rr dots[] = { rr(0, "..") };
	assert_int_equal(sel(dots, 1, &l), MX_NONE);
	assert_int_equal(l.invalid, 1);
}

static void test_null_mixed(void **state)
{
	(void)state;
	struct mx_list l;
	struct mx_rr r[] = { rr(0, "."), rr(10, "mx.example.com") };
	assert_int_equal(sel(r, 2, &l), MX_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.host[0].name, "mx.example.com");
	assert_true(l.null_mixed);
	assert_int_equal(l.nulls, 1);
	struct mx_rr r2[] = { rr(10, "mx.example.com"), rr(0, ""), rr(20, "."),
		rr(5, "mx2.example.com") };
	assert_int_equal(sel(r2, 4, &l), MX_OK);
	assert_int_equal(l.n, 2);
	assert_true(l.null_mixed);
	assert_int_equal(l.nulls, 2);
	assert_string_equal(l.host[0].name, "mx2.example.com");
	/* with only invalid others: nothing usable, and not a null MX */
	struct mx_rr r3[] = { rr(0, "."), rr(10, "192.0.2.1") };
	assert_int_equal(sel(r3, 2, &l), MX_NONE);
	assert_true(l.null_mixed);
	assert_int_equal(l.invalid, 1);
}

static void test_invalid_skipped(void **state)
{
	(void)state;
	struct mx_list l;
	struct mx_rr r[] = { rr(10, "192.0.2.1"), rr(20, "good.example"), rr(5, "bad_name.example"),
		rr(1, "[192.0.2.1]"), rr(30, "also-good.example."), rr(0, "-x.example"),
		rr(0, "2001:db8::1") };
	assert_int_equal(sel(r, 7, &l), MX_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.invalid, 5);
	assert_string_equal(l.host[0].name, "good.example");
	assert_string_equal(l.host[1].name, "also-good.example");
	/* all invalid */
	assert_int_equal(sel(r, 1, &l), MX_NONE);
	assert_int_equal(l.invalid, 1);
	assert_int_equal(l.n, 0);
	/* host not NUL-terminated: only len bytes */
	struct mx_rr cut[] = { { 10, "mx.example.com garbage", 14 } };
	assert_int_equal(sel(cut, 1, &l), MX_OK);
	assert_string_equal(l.host[0].name, "mx.example.com");
	struct mx_rr nul[] = { { 10, "mx\0.example.com", 15 } };
	assert_int_equal(sel(nul, 1, &l), MX_NONE);
	/* too long to be a name */
	char huge[600];
	memset(huge, 'a', sizeof(huge));
	struct mx_rr big[] = { { 10, huge, sizeof(huge) } };
	assert_int_equal(sel(big, 1, &l), MX_NONE);
	assert_int_equal(l.invalid, 1);
}

static void test_empty(void **state)
{
	(void)state;
	struct mx_list l;
	memset(&l, 0x55, sizeof(l));
	assert_int_equal(mx_select(NULL, 0, max_rnd, NULL, &l), MX_NONE);
	assert_int_equal(l.n, 0);
	assert_false(l.null_mixed);
}

static void test_implicit(void **state)
{
	(void)state;
	struct mx_list l;
	memset(&l, 0x55, sizeof(l));
	assert_int_equal(mx_implicit("example.com", 11, &l), MX_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.host[0].pref, 0);
	assert_string_equal(l.host[0].name, "example.com");
	assert_int_equal(l.nulls + l.invalid + l.duplicates + l.dropped, 0);
	assert_false(l.null_mixed || l.self_pruned);
	assert_int_equal(mx_implicit("Example.COM.", 12, &l), MX_OK);
	assert_string_equal(l.host[0].name, "Example.COM");
	const char *bad[] = { "", ".", "[192.0.2.1]", "192.0.2.1", "a..b", "x_y.example",
		"[IPv6:::1]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mx_implicit(bad[i], strlen(bad[i]), &l), MX_NONE);
		assert_int_equal(l.n, 0);
		assert_int_equal(l.invalid, 1);
	}
	assert_int_equal(mx_implicit(NULL, 0, &l), MX_NONE);
	/* only len bytes */
	assert_int_equal(mx_implicit("example.comXXX", 11, &l), MX_OK);
	assert_string_equal(l.host[0].name, "example.com");
}

/* More distinct hosts than MX_MAX: the best preferences stay, the first
 * seen of a preference split by the cut. */
static void test_overflow(void **state)
{
	(void)state;
	enum { N = MX_MAX + 16 };
	struct mx_rr r[N];
	char names[N][40];
	/* prefs: descending, so every later record is better than the kept ones */
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "h%02zu.example", i);
		r[i] = rr((uint16_t)(1000 - i), names[i]);
	}
	struct mx_list l;
	assert_int_equal(sel(r, N, &l), MX_OK);
	assert_int_equal(l.n, MX_MAX);
	assert_int_equal(l.dropped, 16);
	for (size_t i = 0; i < MX_MAX; i++)
		assert_int_equal(l.host[i].pref, 1000 - (N - 1) + i);

	/* all of one preference: the first MX_MAX stay */
	for (size_t i = 0; i < N; i++)
		r[i].pref = 10;
	assert_int_equal(sel(r, N, &l), MX_OK);
	assert_int_equal(l.n, MX_MAX);
	assert_int_equal(l.dropped, 16);
	for (size_t i = 0; i < MX_MAX; i++) {
		unsigned k;
		assert_int_equal(sscanf(l.host[i].name, "h%u.example", &k), 1);
		assert_true(k < MX_MAX);
	}

	/* a cut through a preference: 20 at 10, 20 at 20, then 8 at 5; the
	 * first 4 of the 20s survive */
	for (size_t i = 0; i < N; i++)
		r[i].pref = i < 20 ? 10 : i < 40 ? 20 : 5;
	assert_int_equal(sel(r, N, &l), MX_OK);
	assert_int_equal(l.n, MX_MAX);
	assert_int_equal(l.dropped, 16);
	size_t at5 = 0, at10 = 0, at20 = 0;
	for (size_t i = 0; i < MX_MAX; i++) {
		unsigned k;
		assert_int_equal(sscanf(l.host[i].name, "h%u.example", &k), 1);
		if (l.host[i].pref == 5) {
			at5++;
			assert_true(k >= 40);
		} else if (l.host[i].pref == 10) {
			at10++;
			assert_true(k < 20);
		} else {
			at20++;
			assert_true(k >= 20 && k < 24);
		}
	}
	assert_int_equal(at5, 8);
	assert_int_equal(at10, 20);
	assert_int_equal(at20, 4);

	/* duplicates beyond the cap still merge, and improve the preference */
	for (size_t i = 0; i < MX_MAX; i++)
		r[i].pref = 50;
	r[MX_MAX] = rr(1, names[3]);
	assert_int_equal(sel(r, MX_MAX + 1, &l), MX_OK);
	assert_int_equal(l.n, MX_MAX);
	assert_int_equal(l.duplicates, 1);
	assert_int_equal(l.dropped, 0);
	assert_string_equal(l.host[0].name, names[3]);
	assert_int_equal(l.host[0].pref, 1);
}

static struct mx_list list_of(const char *const *names, const uint16_t *prefs, size_t n)
{
	struct mx_list l;
	memset(&l, 0, sizeof(l));
	for (size_t i = 0; i < n; i++) {
		l.host[i].pref = prefs[i];
		snprintf(l.host[i].name, sizeof(l.host[i].name), "%s", names[i]);
	}
	l.n = n;
	return l;
}

static void test_prune_self(void **state)
{
	(void)state;
	const char *names[] = { "a.example", "b.example", "me.example", "c.example", "d.example" };
	const uint16_t prefs[] = { 10, 10, 20, 20, 30 };
	struct mx_list l = list_of(names, prefs, 5);
	/* not in the list: untouched */
	assert_int_equal(mx_prune_self(&l, "other.example", 13), MX_OK);
	assert_int_equal(l.n, 5);
	assert_false(l.self_pruned);
	assert_int_equal(mx_prune_self(&l, "me.example.co", 13), MX_OK);
	assert_int_equal(mx_prune_self(&l, "e.example", 9), MX_OK);
	assert_int_equal(l.n, 5);
	/* in it: only strictly better ones stay (c.example, same preference, goes) */
	assert_int_equal(mx_prune_self(&l, "ME.Example.", 11), MX_OK);
	assert_int_equal(l.n, 2);
	assert_true(l.self_pruned);
	assert_string_equal(l.host[0].name, "a.example");
	assert_string_equal(l.host[1].name, "b.example");
	/* pruning again changes nothing */
	assert_int_equal(mx_prune_self(&l, "me.example", 10), MX_OK);
	assert_int_equal(l.n, 2);

	/* the best preference is mine: nothing left */
	const uint16_t prefs2[] = { 10, 10, 5, 20, 30 };
	l = list_of(names, prefs2, 5);
	assert_int_equal(mx_prune_self(&l, "me.example", 10), MX_SELF);
	assert_int_equal(l.n, 0);
	assert_true(l.self_pruned);
	/* sharing the best preference is no better */
	const uint16_t prefs3[] = { 10, 10, 10, 20, 30 };
	l = list_of(names, prefs3, 5);
	assert_int_equal(mx_prune_self(&l, "me.example", 10), MX_SELF);
	assert_int_equal(l.n, 0);
	/* the last host */
	l = list_of(names, prefs, 5);
	assert_int_equal(mx_prune_self(&l, "d.example", 9), MX_OK);
	assert_int_equal(l.n, 4);
	/* empty list, empty name */
	struct mx_list e;
	memset(&e, 0, sizeof(e));
	assert_int_equal(mx_prune_self(&e, "me.example", 10), MX_NONE);
	l = list_of(names, prefs, 5);
	assert_int_equal(mx_prune_self(&l, "", 0), MX_OK);
	assert_int_equal(mx_prune_self(&l, ".", 1), MX_OK);
	assert_int_equal(l.n, 5);

	/* from mx_select and mx_implicit */
	struct mx_rr r[] = { rr(10, "mx1.example.net"), rr(20, "relay.example.org"),
		rr(20, "mx2.example.net"), rr(30, "mx3.example.net") };
	uint32_t seed = 7;
	assert_int_equal(mx_select(r, 4, xs_rnd, &seed, &l), MX_OK);
	assert_int_equal(mx_prune_self(&l, "RELAY.example.org.", 18), MX_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.host[0].name, "mx1.example.net");
	assert_int_equal(mx_implicit("relay.example.org", 17, &l), MX_OK);
	assert_int_equal(mx_prune_self(&l, "relay.example.org", 17), MX_SELF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_shuffle_all_orders),
		cmocka_unit_test(test_shuffle_spread),
		cmocka_unit_test(test_shuffle_bounded),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_null_mixed),
		cmocka_unit_test(test_invalid_skipped),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_implicit),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_prune_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
