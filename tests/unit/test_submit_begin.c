/*
 * test_submit_begin.c: unit tests for queued/submit_begin.c, the
 * SUB_BEGIN frame of a local submission: a good frame, the null sender,
 * every protocol error (short, trailing bytes, too many or no
 * recipients, an address too long for its field), bad addresses (the
 * sender before the recipients, the first bad recipient named) and the
 * path limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "submit_begin.h"

static struct mailaddr rcpt[SUB_RCPT_MAX];
static struct mailaddr sender;
static bool null_sender;
static uint32_t n;
static char raw[ADDR_PATH_MAX + 1];
static enum addr_err why;

/* A frame of sender and the NULL-ended recipients, with extra bytes. */
static enum sub_begin_err decode(const char *from, const char *const *to, uint32_t count,
    const char *extra)
{
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_cstr(&b, from);
	ipcb_u32(&b, count);
	for (uint32_t i = 0; to && to[i]; i++)
		ipcb_cstr(&b, to[i]);
	if (extra)
		ipcb_cstr(&b, extra);
	assert_false(b.err);
	raw[0] = '\0';
	why = ADDR_OK;
	enum sub_begin_err e = sub_begin_decode(b.data, b.len, &sender, &null_sender, rcpt, &n, raw, &why);
	ipcb_free(&b);
	return e;
}

static void test_good(void **state)
{
	(void)state;
	const char *to[] = { "Alice@Example.TEST", "\"odd one\"@remote.example", NULL };
	assert_int_equal(decode("cron@host.example", to, 2, NULL), SUBB_OK);
	assert_false(null_sender);
	assert_string_equal(sender.local, "cron");
	assert_int_equal(n, 2);
	assert_string_equal(rcpt[0].local, "Alice");
	assert_string_equal(rcpt[0].domain, "example.test");
	assert_string_equal(rcpt[1].local, "\"odd one\"");
	assert_int_equal(decode("", to, 2, NULL), SUBB_OK);
	assert_true(null_sender);
}

static void test_protocol(void **state)
{
	(void)state;
	const char *to[] = { "a@example.test", NULL };
	assert_int_equal(decode("a@example.test", to, 2, NULL), SUBB_PROTO);  /* one missing */
	assert_int_equal(decode("a@example.test", to, 1, "x"), SUBB_PROTO);   /* one too many */
	assert_int_equal(decode("a@example.test", NULL, SUB_RCPT_MAX + 1, NULL), SUBB_PROTO);
	assert_int_equal(decode("a@example.test", NULL, 0, NULL), SUBB_NO_RCPT);
	assert_int_equal(sub_begin_decode((const uint8_t *)"\0\0", 2, &sender, &null_sender, rcpt, &n,
	    raw, &why), SUBB_PROTO);
	/* a string longer than any path does not fit its field */
	char lng[ADDR_PATH_MAX + 2];
	memset(lng, 'a', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	const char *big[] = { lng, NULL };
	assert_int_equal(decode("a@example.test", big, 1, NULL), SUBB_PROTO);
	/* a frame the shape of which is wrong is a protocol error even
	 * when an earlier address is bad */
	const char *bad[] = { "no at sign", NULL };
	assert_int_equal(decode("a@example.test", bad, 2, NULL), SUBB_PROTO);
}

static void test_bad_addresses(void **state)
{
	(void)state;
	const char *to[] = { "ok@example.test", "bad@", "worse", NULL };
	assert_int_equal(decode("also bad", to, 3, NULL), SUBB_BAD_SENDER);
	assert_string_equal(raw, "also bad");
	assert_int_not_equal(why, ADDR_OK);
	assert_int_equal(decode("a@example.test", to, 3, NULL), SUBB_BAD_RCPT);
	assert_string_equal(raw, "bad@");
	assert_int_not_equal(why, ADDR_OK);
	/* 64 + 1 + 190 + 2 = 257 octets as a path: one too many */
	char addr[ADDR_PATH_MAX + 1];
	memset(addr, 'l', 64);
	addr[64] = '@';
	memset(addr + 65, 'd', 190);
	addr[65 + 190] = '\0';
	for (int i = 65 + 60; i < 65 + 190; i += 61)
		addr[i] = '.';
	const char *fit[] = { addr, NULL };
	assert_int_equal(decode("a@example.test", fit, 1, NULL), SUBB_BAD_RCPT);
	assert_int_equal(why, ADDR_PATH_TOO_LONG);
	addr[65 + 189] = '\0'; /* 256: fits */
	assert_int_equal(decode("a@example.test", fit, 1, NULL), SUBB_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_protocol),
		cmocka_unit_test(test_bad_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
