/*
 * test_rdeliver.c: the R_DELIVER codec between the queue manager and
 * the remote delivery agent: a round trip, and every malformed form
 * refused without leaving anything allocated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "qrecord.h"
#include "rdeliver.h"

static void build(struct ipc_buf *b, uint8_t flags, uint32_t n, const uint32_t *idx,
    const char *const *addr)
{
	ipcb_init(b);
	rdeliver_head(b, 0x1122334455667788ULL, "alice@example.test", flags, 4096, 1700000000000ULL, n);
	for (uint32_t i = 0; i < n; i++)
		rdeliver_add(b, idx[i], addr[i]);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct ipc_buf b;
	struct rdeliver r;
	const uint32_t idx[] = { 3, 0, 7 };
	const char *addr[] = { "bob@example.org", "carol@example.net", "dave@example.org" };
	build(&b, QF_8BITMIME, 3, idx, addr);
	assert_true(rdeliver_decode(b.data, b.len, &r));
	assert_true(r.qid == 0x1122334455667788ULL);
	assert_string_equal(r.sender, "alice@example.test");
	assert_int_equal(r.flags, QF_8BITMIME);
	assert_int_equal(r.size, 4096);
	assert_true(r.arrival_ms == 1700000000000ULL);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.rcpt[0].idx, 3);
	assert_string_equal(r.rcpt[2].addr, "dave@example.org");
	rdeliver_free(&r);
	/* every proper prefix is refused */
	for (size_t cut = 0; cut < b.len; cut++) {
		assert_false(rdeliver_decode(b.data, cut, &r));
		assert_null(r.rcpt);
	}
	ipcb_free(&b);
}

static void test_refused(void **state)
{
	(void)state;
	struct ipc_buf b;
	struct rdeliver r;
	const uint32_t idx[] = { 1, 1 };
	const uint32_t big[] = { QMSG_MAX_RCPT };
	const char *addr[] = { "bob@example.org", "carol@example.org" };
	const char *noat[] = { "bob" };
	build(&b, 0, 2, idx, addr);              /* an index twice */
	assert_false(rdeliver_decode(b.data, b.len, &r));
	assert_null(r.rcpt);
	ipcb_free(&b);
	build(&b, 0, 1, big, addr);              /* index out of range */
	assert_false(rdeliver_decode(b.data, b.len, &r));
	ipcb_free(&b);
	build(&b, 0, 1, idx, noat);              /* no domain */
	assert_false(rdeliver_decode(b.data, b.len, &r));
	ipcb_free(&b);
	build(&b, 0x80, 1, idx, addr);           /* unknown flag */
	assert_false(rdeliver_decode(b.data, b.len, &r));
	ipcb_free(&b);
	build(&b, 0, 0, idx, addr);              /* no recipient */
	assert_false(rdeliver_decode(b.data, b.len, &r));
	ipcb_free(&b);
	build(&b, 0, 1, idx, addr);              /* trailing byte */
	ipcb_u8(&b, 0);
	assert_false(rdeliver_decode(b.data, b.len, &r));
	ipcb_free(&b);
	/* a huge count with no data behind it allocates nothing */
	ipcb_init(&b);
	rdeliver_head(&b, 1, "", 0, 1, 1, QMSG_MAX_RCPT);
	assert_false(rdeliver_decode(b.data, b.len, &r));
	assert_null(r.rcpt);
	ipcb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
