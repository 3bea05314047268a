/*
 * test_ticket.c: unit tests for common/ticket.c, the login tickets the
 * auth helper gives and pop3d's monitor checks: no secret, no ticket;
 * a ticket opens a session for its own user once, also out of order;
 * tampering, a wrong length, another user, a replay, a ticket 64 or
 * more behind the newest, and one from before a new secret are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ticket.h"

static void test_tickets(void **state)
{
	(void)state;
	uint8_t t1[TICKET_LEN], t2[TICKET_LEN], bad[TICKET_LEN];

	/* before the monitor made a secret there is nothing to sign with */
	assert_false(ticket_issue("alice", t1));
	assert_false(ticket_verify("alice", t1, sizeof(t1)));

	ticket_key_new();
	assert_true(ticket_issue("alice", t1));
	memcpy(bad, t1, sizeof(bad));
	bad[TICKET_LEN - 1] ^= 1;
	assert_false(ticket_verify("alice", bad, sizeof(bad)));
	memcpy(bad, t1, sizeof(bad));
	bad[9] ^= 0x80; /* a later expiry */
	assert_false(ticket_verify("alice", bad, sizeof(bad)));
	assert_false(ticket_verify("alice", t1, sizeof(t1) - 1));
	assert_false(ticket_verify("bob", t1, sizeof(t1)));
	assert_false(ticket_verify("alic", t1, sizeof(t1)));
	assert_true(ticket_verify("alice", t1, sizeof(t1)));
	/* once only */
	assert_false(ticket_verify("alice", t1, sizeof(t1)));

	/* out of order is fine, twice is not */
	assert_true(ticket_issue("bob", t1));
	assert_true(ticket_issue("carol", t2));
	assert_true(ticket_verify("carol", t2, sizeof(t2)));
	assert_true(ticket_verify("bob", t1, sizeof(t1)));
	assert_false(ticket_verify("bob", t1, sizeof(t1)));
	assert_false(ticket_verify("carol", t2, sizeof(t2)));

	/* a ticket 64 or more behind the newest one accepted is refused */
	uint8_t old[TICKET_LEN], old2[TICKET_LEN];
	assert_true(ticket_issue("erin", old));
	assert_true(ticket_issue("erin", old2));
	for (int i = 0; i < 63; i++)
		assert_true(ticket_issue("frank", t1));
	assert_true(ticket_verify("frank", t1, sizeof(t1)));
	assert_true(ticket_verify("erin", old2, sizeof(old2))); /* 63 behind */
	assert_false(ticket_verify("erin", old, sizeof(old)));  /* 64 behind */

	assert_true(ticket_issue("dave", t1));
	ticket_key_new();
	assert_false(ticket_verify("dave", t1, sizeof(t1)));
	assert_true(ticket_issue("dave", t2));
	assert_true(ticket_verify("dave", t2, sizeof(t2)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tickets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
