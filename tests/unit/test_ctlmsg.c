/*
 * test_ctlmsg.c: posternctl's request payloads and the counter lists
 * (common/ctlmsg.c): round trips, and every malformed form refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ctlmsg.h"
#include "proto.h"

static void test_act_round_trip(void **state)
{
	(void)state;
	const uint64_t ids[] = { 1, 0x0123456789abcdefULL, UINT64_MAX };
	uint64_t out[3];
	uint8_t action;
	uint32_t n;
	struct ipc_buf b;
	ipcb_init(&b);
	ctlmsg_act_encode(&b, CTL_BOUNCE, ids, 3);
	assert_true(ctlmsg_act_decode(b.data, b.len, &action, out, 3, &n));
	assert_int_equal(action, CTL_BOUNCE);
	assert_int_equal(n, 3);
	assert_memory_equal(out, ids, sizeof(ids));
	/* more ids than room */
	assert_false(ctlmsg_act_decode(b.data, b.len, &action, out, 2, &n));
	/* cut short, or a byte too many */
	assert_false(ctlmsg_act_decode(b.data, b.len - 1, &action, out, 3, &n));
	ipcb_u8(&b, 0);
	assert_false(ctlmsg_act_decode(b.data, b.len, &action, out, 3, &n));
	ipcb_free(&b);
}

static void test_act_refuses_bad_action_and_huge_count(void **state)
{
	(void)state;
	uint64_t out[1];
	uint8_t action;
	uint32_t n;
	struct ipc_buf b;
	ipcb_init(&b);
	ctlmsg_act_encode(&b, 0, NULL, 0);
	assert_false(ctlmsg_act_decode(b.data, b.len, &action, out, 1, &n));
	ipcb_free(&b);
	ipcb_init(&b);
	ctlmsg_act_encode(&b, CTL_BOUNCE + 1, NULL, 0);
	assert_false(ctlmsg_act_decode(b.data, b.len, &action, out, 1, &n));
	ipcb_free(&b);
	/* an announced count far above the limit, without the ids */
	ipcb_init(&b);
	ipcb_u8(&b, CTL_HOLD);
	ipcb_u32(&b, CTL_IDS_MAX + 1);
	assert_false(ctlmsg_act_decode(b.data, b.len, &action, out, 1, &n));
	ipcb_free(&b);
	/* zero ids is a valid (empty) request */
	ipcb_init(&b);
	ctlmsg_act_encode(&b, CTL_HOLD, NULL, 0);
	assert_true(ctlmsg_act_decode(b.data, b.len, &action, out, 0, &n));
	assert_int_equal(n, 0);
	ipcb_free(&b);
}

static void test_pause(void **state)
{
	(void)state;
	uint8_t what;
	bool pause;
	const uint8_t ok[] = { CTL_PAUSE_LOCAL | CTL_PAUSE_ACCEPT, 1 };
	assert_true(ctlmsg_pause_decode(ok, sizeof(ok), &what, &pause));
	assert_int_equal(what, CTL_PAUSE_LOCAL | CTL_PAUSE_ACCEPT);
	assert_true(pause);
	const uint8_t resume[] = { CTL_PAUSE_REMOTE, 0 };
	assert_true(ctlmsg_pause_decode(resume, sizeof(resume), &what, &pause));
	assert_false(pause);
	const uint8_t none[] = { 0, 1 }, unknown[] = { 8, 1 }, two[] = { 1, 2 }, longer[] = { 1, 1, 0 };
	assert_false(ctlmsg_pause_decode(none, sizeof(none), &what, &pause));
	assert_false(ctlmsg_pause_decode(unknown, sizeof(unknown), &what, &pause));
	assert_false(ctlmsg_pause_decode(two, sizeof(two), &what, &pause));
	assert_false(ctlmsg_pause_decode(longer, sizeof(longer), &what, &pause));
	assert_false(ctlmsg_pause_decode(ok, 1, &what, &pause));
}

static void test_stats(void **state)
{
	(void)state;
	struct stat_kv in[2] = { { "smtpd_sessions_total", 7 },
		{ "smtpd_rejected_total{reply=\"550 5.1.1\"}", UINT64_MAX } };
	struct stat_kv out[STATS_MAX];
	struct ipc_buf b;
	ipcb_init(&b);
	ctlmsg_stats_encode(&b, in, 2);
	assert_int_equal(ctlmsg_stats_decode(b.data, b.len, out, STATS_MAX), 2);
	assert_string_equal(out[1].name, in[1].name);
	assert_true(out[1].value == UINT64_MAX);
	assert_int_equal(ctlmsg_stats_decode(b.data, b.len, out, 1), -1);
	assert_int_equal(ctlmsg_stats_decode(b.data, b.len - 1, out, STATS_MAX), -1);
	ipcb_free(&b);
	/* a name longer than STATS_NAME_MAX, an empty name */
	char longname[STATS_NAME_MAX + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ipcb_init(&b);
	ipcb_u32(&b, 1);
	ipcb_cstr(&b, longname);
	ipcb_u64(&b, 1);
	assert_int_equal(ctlmsg_stats_decode(b.data, b.len, out, STATS_MAX), -1);
	ipcb_free(&b);
	ipcb_init(&b);
	ipcb_u32(&b, 1);
	ipcb_cstr(&b, "");
	ipcb_u64(&b, 1);
	assert_int_equal(ctlmsg_stats_decode(b.data, b.len, out, STATS_MAX), -1);
	ipcb_free(&b);
	/* a terminal escape or a second Prometheus line in a name */
	const char *bad[] = { "smtpd_x\x1b[2J", "smtpd_x 1\npostern_fake", "a\tb" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ipcb_init(&b);
		ipcb_u32(&b, 1);
		ipcb_cstr(&b, bad[i]);
		ipcb_u64(&b, 1);
		assert_int_equal(ctlmsg_stats_decode(b.data, b.len, out, STATS_MAX), -1);
		ipcb_free(&b);
	}
}

/* What a less trusted process sends: its own names only, once each. */
static void test_stats_keep(void **state)
{
	(void)state;
	struct stat_kv kv[] = {
		{ "smtpd_accepted_total", 1 }, { "queued_paused", 7 },
		{ "smtpd_rejected_total{reply=\"550 5.1.1\"}", 2 }, { "smtpd_accepted_total", 9 },
		{ "smtpd", 3 }, { "pop3d_sessions_now", 4 },
	};
	assert_int_equal(ctlmsg_stats_keep(kv, 6, "smtpd_", NULL), 2);
	assert_string_equal(kv[0].name, "smtpd_accepted_total");
	assert_int_equal(kv[0].value, 1);
	assert_string_equal(kv[1].name, "smtpd_rejected_total{reply=\"550 5.1.1\"}");
	struct stat_kv p[] = { { "pop3d_sessions_now", 9 }, { "pop3d_logins_total", 1 } };
	assert_int_equal(ctlmsg_stats_keep(p, 2, "pop3d_", "pop3d_sessions_"), 1);
	assert_string_equal(p[0].name, "pop3d_logins_total");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_act_round_trip),
		cmocka_unit_test(test_act_refuses_bad_action_and_huge_count),
		cmocka_unit_test(test_pause),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_stats_keep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
