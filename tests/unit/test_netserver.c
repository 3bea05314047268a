/*
 * test_netserver.c: unit tests for common/netserver.c: the bounded
 * command-line taker (whole lines, CRLF and bare LF, the exact limit,
 * overlong lines with and without their end, reporting once), the
 * loopback test, and the slot table's generation-tagged request ids.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <netinet/in.h>
#include <string.h>

#include "netserver.h"

#define MAXC 8

static enum line_take take(struct evbuffer *in, char *line, size_t *len, bool *skip)
{
	return evbuffer_take_line(in, MAXC, line, len, skip);
}

static void test_take_line(void **state)
{
	(void)state;
	struct evbuffer *in = evbuffer_new();
	char line[MAXC + 2];
	size_t len = 0;
	bool skip = false;

	evbuffer_add(in, "NOOP", 4);
	assert_int_equal(take(in, line, &len, &skip), LINE_NONE);
	evbuffer_add(in, "\r\nSTAT\nQ", 8);
	assert_int_equal(take(in, line, &len, &skip), LINE_READY);
	assert_string_equal(line, "NOOP");
	assert_int_equal(len, 4);
	assert_int_equal(take(in, line, &len, &skip), LINE_READY);
	assert_string_equal(line, "STAT");
	assert_int_equal(take(in, line, &len, &skip), LINE_NONE);
	evbuffer_drain(in, evbuffer_get_length(in));

	/* exactly the limit, with CRLF or LF; a CR may wait for its LF */
	evbuffer_add(in, "12345678\r", 9);
	assert_int_equal(take(in, line, &len, &skip), LINE_NONE);
	evbuffer_add(in, "\n12345678\n", 10);
	assert_int_equal(take(in, line, &len, &skip), LINE_READY);
	assert_string_equal(line, "12345678");
	assert_int_equal(take(in, line, &len, &skip), LINE_READY);
	assert_string_equal(line, "12345678");

	/* one over, with its end: reported, then the next line is fine */
	evbuffer_add(in, "123456789\nok\n", 13);
	assert_int_equal(take(in, line, &len, &skip), LINE_TOO_LONG);
	assert_int_equal(take(in, line, &len, &skip), LINE_READY);
	assert_string_equal(line, "ok");
	evbuffer_add(in, "123456789\r\n", 11);
	assert_int_equal(take(in, line, &len, &skip), LINE_TOO_LONG);

	/* overlong before its end arrives: drained, reported once */
	evbuffer_add(in, "abcdefghij", 10);
	assert_int_equal(take(in, line, &len, &skip), LINE_TOO_LONG);
	assert_int_equal(evbuffer_get_length(in), 0);
	assert_true(skip);
	evbuffer_add(in, "klmnopqrstuvwxyz", 16);
	assert_int_equal(take(in, line, &len, &skip), LINE_NONE);
	evbuffer_add(in, "end\nnext\n", 9);
	assert_int_equal(take(in, line, &len, &skip), LINE_READY);
	assert_string_equal(line, "next");
	assert_false(skip);
	evbuffer_free(in);
}

static void test_loopback(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x7f030201);
	assert_true(sockaddr_is_loopback(&ss));
	sin->sin_addr.s_addr = htonl(0xc0000201);
	assert_false(sockaddr_is_loopback(&ss));
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = in6addr_loopback;
	assert_true(sockaddr_is_loopback(&ss));
	static const uint8_t mapped[16] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff,127,0,0,9 };
	memcpy(&sin6->sin6_addr, mapped, 16);
	assert_true(sockaddr_is_loopback(&ss));
	sin6->sin6_addr.s6_addr[12] = 10;
	assert_false(sockaddr_is_loopback(&ss));
}

static void test_slots(void **state)
{
	(void)state;
	struct slot_table t;
	int a, b, c;
	uint32_t ra, rb, rc;
	assert_int_equal(slots_init(&t, 2), 0);
	uint32_t sa = slots_alloc(&t, &a, &ra);
	assert_int_not_equal(slots_alloc(&t, &b, &rb), SLOT_NONE);
	assert_int_equal(slots_alloc(&t, &c, &rc), SLOT_NONE);
	assert_int_equal(t.used, 2);
	assert_ptr_equal(slots_lookup(&t, ra), &a);
	assert_ptr_equal(slots_lookup(&t, rb), &b);
	slots_release(&t, sa);
	assert_null(slots_lookup(&t, ra));
	/* the slot comes back with a new generation: the old id stays dead */
	assert_int_equal(slots_alloc(&t, &c, &rc), sa);
	assert_int_not_equal(rc, ra);
	assert_null(slots_lookup(&t, ra));
	assert_ptr_equal(slots_lookup(&t, rc), &c);
	slots_release(&t, SLOT_NONE); /* harmless */
	assert_int_equal(t.used, 2);
	slots_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_line),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
