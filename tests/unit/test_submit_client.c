/*
 * test_submit_client.c: unit tests for queued/submit_client.c's decoder
 * of queued's answer to a submission: SUB_OK with its queue id, each
 * kind of SUB_FAIL, and answers that are not one (cut, too long, of
 * another type), whose reason says so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ipc.h"
#include "proto.h"
#include "submit.h"
#include "submit_client.h"

static enum submit_outcome decode(uint16_t type, const struct ipc_buf *b, uint64_t *qid,
    char *why, size_t whylen)
{
	return submit_answer_decode(type, b->data, b->len, qid, why, whylen);
}

static void test_ok(void **state)
{
	(void)state;
	struct ipc_buf b;
	uint64_t qid = 0;
	char why[128] = "x";
	ipcb_init(&b);
	ipcb_u64(&b, 0x1A2B3C4D5E6F7081ULL);
	assert_int_equal(decode(SUB_OK, &b, &qid, why, sizeof(why)), SUBMIT_OK);
	assert_true(qid == 0x1A2B3C4D5E6F7081ULL);
	assert_string_equal(why, "");
	/* a byte more, or one less, is not an answer */
	ipcb_u8(&b, 0);
	qid = 7;
	assert_int_equal(decode(SUB_OK, &b, &qid, why, sizeof(why)), SUBMIT_PROTO);
	assert_int_equal(qid, 7);
	assert_string_equal(why, "malformed answer from queued");
	assert_int_equal(submit_answer_decode(SUB_OK, b.data, 7, &qid, why, sizeof(why)), SUBMIT_PROTO);
	ipcb_free(&b);
}

static void test_fail_kinds(void **state)
{
	(void)state;
	static const struct { uint8_t kind; enum submit_outcome out; } cases[] = {
		{ SUB_FAIL_TEMP, SUBMIT_TEMP }, { SUB_FAIL_PERM, SUBMIT_PERM },
		{ SUB_FAIL_NOUSER, SUBMIT_NOUSER }, { SUB_FAIL_DATA, SUBMIT_DATA },
		{ 200, SUBMIT_PERM }, /* an unknown kind is permanent */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipc_buf b;
		uint64_t qid = 0;
		char why[128];
		ipcb_init(&b);
		ipcb_u8(&b, cases[i].kind);
		ipcb_cstr(&b, "no such user: bob@example.test\r\nX-Forged: 1");
		assert_int_equal(decode(SUB_FAIL, &b, &qid, why, sizeof(why)), cases[i].out);
		/* one line, whatever queued put in it */
		assert_string_equal(why, "no such user: bob@example.test??X-Forged: 1");
		ipcb_free(&b);
	}
}

static void test_not_an_answer(void **state)
{
	(void)state;
	struct ipc_buf b;
	uint64_t qid = 0;
	char why[16];
	ipcb_init(&b);
	ipcb_u8(&b, SUB_FAIL_PERM);
	assert_int_equal(decode(SUB_FAIL, &b, &qid, why, sizeof(why)), SUBMIT_PROTO);
	assert_int_equal(decode(SUB_BEGIN, &b, &qid, why, sizeof(why)), SUBMIT_PROTO);
	/* cut to its buffer, never past it */
	assert_int_equal(strlen(why), sizeof(why) - 1);
	ipcb_free(&b);
	/* a long reason is cut, still NUL-terminated */
	char big[2000];
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ipcb_init(&b);
	ipcb_u8(&b, SUB_FAIL_TEMP);
	ipcb_cstr(&b, big);
	/* (over the 511 octets a reason may have: not an answer) */
	assert_int_equal(decode(SUB_FAIL, &b, &qid, why, sizeof(why)), SUBMIT_PROTO);
	ipcb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_fail_kinds),
		cmocka_unit_test(test_not_an_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
