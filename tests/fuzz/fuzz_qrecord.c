/*
 * fuzz_qrecord.c: libFuzzer target for queued/qrecord.c. Decodes the
 * input; whatever decodes must satisfy the record's limits, re-encode to
 * exactly the input bytes, and decode again to an equal record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qrecord.h"

static bool same(const struct qmsg *a, const struct qmsg *b)
{
	if (a->qid != b->qid || a->arrival_ms != b->arrival_ms || a->size != b->size ||
	    a->flags != b->flags || strcmp(a->sender, b->sender) != 0 ||
	    strcmp(a->helo, b->helo) != 0 || strcmp(a->client, b->client) != 0 ||
	    a->nrcpt != b->nrcpt)
		return false;
	for (uint32_t i = 0; i < a->nrcpt; i++) {
		const struct qrcpt *x = &a->rcpts[i], *y = &b->rcpts[i];
		if (x->state != y->state || x->remote != y->remote || x->attempts != y->attempts ||
		    x->next_try_ms != y->next_try_ms || strcmp(x->addr, y->addr) != 0 ||
		    strcmp(x->mailbox, y->mailbox) != 0 || strcmp(x->last_error, y->last_error) != 0)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmsg m, m2;
	if (!qrecord_decode(data, size, &m)) {
		if (m.rcpts != NULL || m.nrcpt != 0)
			abort();
		return 0;
	}
	if (m.nrcpt == 0 || m.nrcpt > QMSG_MAX_RCPT || m.rcpts == NULL)
		abort();
	for (uint32_t i = 0; i < m.nrcpt; i++) {
		const struct qrcpt *r = &m.rcpts[i];
		if (r->state > RS_MAX || r->remote > 1 || (!r->remote && r->mailbox[0] == '\0'))
			abort();
		if (strcmp(rcpt_state_name(r->state), "unknown") == 0)
			abort();
	}
	uint64_t when = 0;
	bool any = qmsg_next_try(&m, &when);
	bool want = false;
	for (uint32_t i = 0; i < m.nrcpt; i++)
		if (m.rcpts[i].state == RS_PENDING || m.rcpts[i].state == RS_DEFERRED) {
			want = true;
			if (m.rcpts[i].next_try_ms < when)
				abort();
		}
	if (any != want)
		abort();

	struct ipc_buf b;
	ipcb_init(&b);
	qrecord_encode(&m, &b);
	if (b.err || b.len != size || memcmp(b.data, data, size) != 0)
		abort();
	if (!qrecord_decode(b.data, b.len, &m2) || !same(&m, &m2))
		abort();
	qmsg_free(&m2);
	qmsg_free(&m);
	ipcb_free(&b);
	return 0;
}
