/*
 * test_qrecord.c: unit tests for queued/qrecord.c: qrecord_encode /
 * qrecord_decode round trips, the decoder's refusals (truncated at every
 * byte, trailing bytes, wrong version, oversized or NUL-holding strings,
 * recipient count 0 or above QMSG_MAX_RCPT, bad state or remote flag, a
 * local recipient without a mailbox), qmsg_next_try, rcpt_is_final and
 * rcpt_state_name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qrecord.h"

/* A sample message with n recipients, varied fields. */
static void sample(struct qmsg *m, uint32_t n)
{
	memset(m, 0, sizeof(*m));
	m->qid = 0x0123456789ABCDEFULL;
	m->arrival_ms = 1700000000123ULL;
	m->size = 4242;
	m->flags = QF_8BITMIME | QF_SMTPUTF8;
	snprintf(m->sender, sizeof(m->sender), "alice@example.org");
	snprintf(m->helo, sizeof(m->helo), "client.example.net");
	snprintf(m->client, sizeof(m->client), "192.0.2.7");
	m->nrcpt = n;
	m->rcpts = calloc(n ? n : 1, sizeof(*m->rcpts));
	assert_non_null(m->rcpts);
	for (uint32_t i = 0; i < n; i++) {
		struct qrcpt *r = &m->rcpts[i];
		r->state = (uint8_t)(i % (RS_MAX + 1));
		r->remote = (uint8_t)(i % 3 == 2);
		r->attempts = i * 7;
		r->next_try_ms = 1700000000000ULL + i * 1000;
		snprintf(r->addr, sizeof(r->addr), "rcpt%u@example.%s", i, r->remote ? "net" : "org");
		if (!r->remote)
			snprintf(r->mailbox, sizeof(r->mailbox), "user%u", i);
		if (i % 2)
			snprintf(r->last_error, sizeof(r->last_error), "451 4.3.0 try %u", i);
	}
}

static void assert_qmsg_equal(const struct qmsg *a, const struct qmsg *b)
{
	assert_int_equal(a->qid, b->qid);
	assert_int_equal(a->arrival_ms, b->arrival_ms);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->flags, b->flags);
	assert_string_equal(a->sender, b->sender);
	assert_string_equal(a->helo, b->helo);
	assert_string_equal(a->client, b->client);
	assert_int_equal(a->nrcpt, b->nrcpt);
	for (uint32_t i = 0; i < a->nrcpt; i++) {
		const struct qrcpt *x = &a->rcpts[i], *y = &b->rcpts[i];
		assert_int_equal(x->state, y->state);
		assert_int_equal(x->remote, y->remote);
		assert_int_equal(x->attempts, y->attempts);
		assert_int_equal(x->next_try_ms, y->next_try_ms);
		assert_string_equal(x->addr, y->addr);
		assert_string_equal(x->mailbox, y->mailbox);
		assert_string_equal(x->last_error, y->last_error);
	}
}

static void encode(const struct qmsg *m, struct ipc_buf *b)
{
	ipcb_init(b);
	qrecord_encode(m, b);
	assert_false(b->err);
}

static void test_roundtrip(void **state)
{
	(void)state;
	for (uint32_t n = 1; n <= 12; n++) {
		struct qmsg m, d;
		struct ipc_buf b;
		sample(&m, n);
		encode(&m, &b);
		assert_int_equal(b.data[0], 1); /* version */
		assert_true(qrecord_decode(b.data, b.len, &d));
		assert_qmsg_equal(&m, &d);
		/* and encoding the decoded copy gives the same bytes */
		struct ipc_buf b2;
		encode(&d, &b2);
		assert_int_equal(b2.len, b.len);
		assert_memory_equal(b2.data, b.data, b.len);
		ipcb_free(&b2);
		qmsg_free(&d);
		assert_null(d.rcpts);
		assert_int_equal(d.nrcpt, 0);
		ipcb_free(&b);
		qmsg_free(&m);
	}
}

static void test_roundtrip_extremes(void **state)
{
	(void)state;
	struct qmsg m, d;
	struct ipc_buf b;
	sample(&m, 1);
	m.qid = UINT64_MAX;
	m.arrival_ms = 0;
	m.size = UINT64_MAX;
	m.flags = 0xff;
	/* the null sender, and strings at their longest */
	m.sender[0] = '\0';
	memset(m.helo, 'h', sizeof(m.helo) - 1);
	m.helo[sizeof(m.helo) - 1] = '\0';
	memset(m.client, 'c', sizeof(m.client) - 1);
	m.client[sizeof(m.client) - 1] = '\0';
	struct qrcpt *r = &m.rcpts[0];
	r->state = RS_HELD;
	r->remote = 0;
	r->attempts = UINT32_MAX;
	r->next_try_ms = UINT64_MAX;
	memset(r->addr, 'a', sizeof(r->addr) - 1);
	r->addr[sizeof(r->addr) - 1] = '\0';
	memset(r->mailbox, 'm', sizeof(r->mailbox) - 1);
	r->mailbox[sizeof(r->mailbox) - 1] = '\0';
	memset(r->last_error, 'e', sizeof(r->last_error) - 1);
	r->last_error[sizeof(r->last_error) - 1] = '\0';
	encode(&m, &b);
	assert_true(qrecord_decode(b.data, b.len, &d));
	assert_qmsg_equal(&m, &d);
	qmsg_free(&d);
	ipcb_free(&b);
	qmsg_free(&m);

	/* QMSG_MAX_RCPT recipients */
	sample(&m, QMSG_MAX_RCPT);
	encode(&m, &b);
	assert_true(qrecord_decode(b.data, b.len, &d));
	assert_int_equal(d.nrcpt, QMSG_MAX_RCPT);
	assert_qmsg_equal(&m, &d);
	qmsg_free(&d);
	ipcb_free(&b);
	qmsg_free(&m);
}

static void test_truncated_and_trailing(void **state)
{
	(void)state;
	struct qmsg m, d;
	struct ipc_buf b;
	sample(&m, 3);
	encode(&m, &b);
	for (size_t n = 0; n < b.len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		assert_non_null(cut);
		memcpy(cut, b.data, n);
		memset(&d, 0x5a, sizeof(d));
		assert_false(qrecord_decode(cut, n, &d));
		assert_null(d.rcpts); /* freed, nothing left behind */
		assert_int_equal(d.nrcpt, 0);
		free(cut);
	}
	uint8_t *more = malloc(b.len + 1);
	assert_non_null(more);
	memcpy(more, b.data, b.len);
	more[b.len] = 0;
	assert_false(qrecord_decode(more, b.len + 1, &d));
	assert_null(d.rcpts);
	free(more);
	ipcb_free(&b);
	qmsg_free(&m);
}

/* Hand-built records, field by field. */
struct rec {
	uint8_t version;
	const char *sender, *helo, *client;
	uint32_t nrcpt;       /* as written in the record */
	uint32_t nwritten;    /* recipients actually written */
	uint8_t state, remote;
	const char *addr, *mailbox, *last_error;
	size_t sender_len;    /* 0: strlen */
};

static void build(const struct rec *r, struct ipc_buf *b)
{
	ipcb_init(b);
	ipcb_u8(b, r->version);
	ipcb_u64(b, 1);
	ipcb_u64(b, 2);
	ipcb_u64(b, 3);
	ipcb_u8(b, 0);
	ipcb_str(b, r->sender, r->sender_len ? r->sender_len : strlen(r->sender));
	ipcb_cstr(b, r->helo);
	ipcb_cstr(b, r->client);
	ipcb_u32(b, r->nrcpt);
	for (uint32_t i = 0; i < r->nwritten; i++) {
		ipcb_u8(b, r->state);
		ipcb_u8(b, r->remote);
		ipcb_u32(b, 0);
		ipcb_u64(b, 0);
		ipcb_cstr(b, r->addr);
		ipcb_cstr(b, r->mailbox);
		ipcb_cstr(b, r->last_error);
	}
	assert_false(b->err);
}

static const struct rec good = { 1, "s@example.org", "helo", "192.0.2.1", 1, 1,
	RS_PENDING, 0, "r@example.org", "r", "", 0 };

static bool decodes(const struct rec *r)
{
	struct ipc_buf b;
	struct qmsg d;
	build(r, &b);
	bool ok = qrecord_decode(b.data, b.len, &d);
	if (ok)
		qmsg_free(&d);
	else
		assert_null(d.rcpts);
	ipcb_free(&b);
	return ok;
}

static void test_field_checks(void **state)
{
	(void)state;
	struct rec r;
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	r = good;
	assert_true(decodes(&r));
	r.version = 0;
	assert_false(decodes(&r));
	r.version = 2;
	assert_false(decodes(&r));

	/* string limits: sender 256, helo 255, client 63, addr 256,
	 * mailbox 64, last_error 255 octets */
	r = good; r.sender = big; r.sender_len = ADDR_PATH_MAX;
	assert_true(decodes(&r));
	r.sender_len = ADDR_PATH_MAX + 1;
	assert_false(decodes(&r));
	r = good; big[255] = '\0'; r.helo = big;
	assert_true(decodes(&r));
	big[255] = 'x'; big[256] = '\0';
	assert_false(decodes(&r));
	big[256] = 'x';
	r = good; big[63] = '\0'; r.client = big;
	assert_true(decodes(&r));
	big[63] = 'x'; big[64] = '\0';
	assert_false(decodes(&r));
	big[64] = 'x';
	r = good; big[ADDR_PATH_MAX] = '\0'; r.addr = big;
	assert_true(decodes(&r));
	big[ADDR_PATH_MAX] = 'x'; big[ADDR_PATH_MAX + 1] = '\0';
	assert_false(decodes(&r));
	big[ADDR_PATH_MAX + 1] = 'x';
	r = good; big[USERNAME_MAX] = '\0'; r.mailbox = big;
	assert_true(decodes(&r));
	big[USERNAME_MAX] = 'x'; big[USERNAME_MAX + 1] = '\0';
	assert_false(decodes(&r));
	big[USERNAME_MAX + 1] = 'x';
	r = good; big[QERR_MAX] = '\0'; r.last_error = big;
	assert_true(decodes(&r));
	big[QERR_MAX] = 'x'; big[QERR_MAX + 1] = '\0';
	assert_false(decodes(&r));
	big[QERR_MAX + 1] = 'x';

	/* a NUL inside a string */
	r = good; r.sender = "a\0b"; r.sender_len = 3;
	assert_false(decodes(&r));

	/* recipient count: 0, too many, more than written, fewer than written */
	r = good; r.nrcpt = 0; r.nwritten = 0;
	assert_false(decodes(&r));
	r = good; r.nrcpt = QMSG_MAX_RCPT + 1; r.nwritten = 1;
	assert_false(decodes(&r));
	r = good; r.nrcpt = UINT32_MAX; r.nwritten = 1;
	assert_false(decodes(&r));
	r = good; r.nrcpt = 2; r.nwritten = 1;
	assert_false(decodes(&r));
	r = good; r.nrcpt = 1; r.nwritten = 2;
	assert_false(decodes(&r));
	r = good; r.nrcpt = 3; r.nwritten = 3;
	assert_true(decodes(&r));

	/* recipient fields */
	for (int s = 0; s <= 255; s++) {
		r = good;
		r.state = (uint8_t)s;
		assert_int_equal(decodes(&r), s <= RS_MAX);
	}
	r = good; r.remote = 1; r.mailbox = "";
	assert_true(decodes(&r));      /* remote: no mailbox needed */
	r = good; r.remote = 2; r.mailbox = "r";
	assert_false(decodes(&r));
	r = good; r.remote = 0xff;
	assert_false(decodes(&r));
	r = good; r.remote = 0; r.mailbox = "";
	assert_false(decodes(&r));     /* local: a mailbox is required */
}

static void test_next_try(void **state)
{
	(void)state;
	struct qmsg m;
	uint64_t when = 12345;
	sample(&m, 5);
	for (uint32_t i = 0; i < 5; i++)
		m.rcpts[i].state = RS_DELIVERED;
	m.rcpts[1].state = RS_BOUNCED;
	m.rcpts[2].state = RS_HELD;
	m.rcpts[2].next_try_ms = 1;
	assert_false(qmsg_next_try(&m, &when));
	assert_int_equal(when, 12345);

	m.rcpts[3].state = RS_DEFERRED;
	m.rcpts[3].next_try_ms = 5000;
	assert_true(qmsg_next_try(&m, &when));
	assert_int_equal(when, 5000);
	m.rcpts[4].state = RS_PENDING;
	m.rcpts[4].next_try_ms = 7000;
	assert_true(qmsg_next_try(&m, &when));
	assert_int_equal(when, 5000);
	m.rcpts[4].next_try_ms = 0; /* pending, due now */
	assert_true(qmsg_next_try(&m, &when));
	assert_int_equal(when, 0);
	m.rcpts[0].state = RS_DEFERRED;
	m.rcpts[0].next_try_ms = UINT64_MAX;
	m.rcpts[4].next_try_ms = UINT64_MAX;
	assert_true(qmsg_next_try(&m, &when));
	assert_int_equal(when, 5000);
	qmsg_free(&m);

	struct qmsg empty;
	memset(&empty, 0, sizeof(empty));
	assert_false(qmsg_next_try(&empty, &when));
}

static void test_states(void **state)
{
	(void)state;
	struct qrcpt r;
	memset(&r, 0, sizeof(r));
	static const struct { uint8_t s; bool final; const char *name; } t[] = {
		{ RS_PENDING, false, "pending" }, { RS_DEFERRED, false, "deferred" },
		{ RS_DELIVERED, true, "delivered" }, { RS_BOUNCED, true, "bounced" },
		{ RS_HELD, false, "held" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r.state = t[i].s;
		assert_int_equal(rcpt_is_final(&r), t[i].final);
		assert_string_equal(rcpt_state_name(t[i].s), t[i].name);
	}
	assert_string_equal(rcpt_state_name(RS_MAX + 1), "unknown");
	assert_string_equal(rcpt_state_name(255), "unknown");
	r.state = 200;
	assert_false(rcpt_is_final(&r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_extremes),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_field_checks),
		cmocka_unit_test(test_next_try),
		cmocka_unit_test(test_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
