/*
 * qrecord.c: queue record codec. Pure; used by queued (postern-queue)
 * and posternctl (read-only).
 */
#include "qrecord.h"

#include <stdlib.h>
#include <string.h>

#define QRECORD_VERSION 1

void qrecord_encode(const struct qmsg *m, struct ipc_buf *b)
{
	ipcb_u8(b, QRECORD_VERSION);
	ipcb_u64(b, m->qid);
	ipcb_u64(b, m->arrival_ms);
	ipcb_u64(b, m->size);
	ipcb_u8(b, m->flags);
	ipcb_cstr(b, m->sender);
	ipcb_cstr(b, m->helo);
	ipcb_cstr(b, m->client);
	ipcb_u32(b, m->nrcpt);
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		const struct qrcpt *r = &m->rcpts[i];
		ipcb_u8(b, r->state);
		ipcb_u8(b, r->remote);
		ipcb_u32(b, r->attempts);
		ipcb_u64(b, r->next_try_ms);
		ipcb_cstr(b, r->addr);
		ipcb_cstr(b, r->mailbox);
		ipcb_cstr(b, r->last_error);
	}
}

void qmsg_free(struct qmsg *m)
{
	free(m->rcpts);
	m->rcpts = NULL;
	m->nrcpt = 0;
}

bool qrecord_decode(const void *p, size_t len, struct qmsg *m)
{
	struct ipc_rd r;
	memset(m, 0, sizeof(*m));
	ipcr_init(&r, p, len);
	if (ipcr_u8(&r) != QRECORD_VERSION)
		return false;
	m->qid = ipcr_u64(&r);
	m->arrival_ms = ipcr_u64(&r);
	m->size = ipcr_u64(&r);
	m->flags = ipcr_u8(&r);
	ipcr_str(&r, m->sender, sizeof(m->sender));
	ipcr_str(&r, m->helo, sizeof(m->helo));
	ipcr_str(&r, m->client, sizeof(m->client));
	uint32_t n = ipcr_u32(&r);
	if (r.err || n == 0 || n > QMSG_MAX_RCPT)
		return false;
	m->rcpts = calloc(n, sizeof(*m->rcpts));
	if (m->rcpts == NULL)
		return false;
	m->nrcpt = n;
	for (uint32_t i = 0; i < n && !r.err; i++) {
		struct qrcpt *q = &m->rcpts[i];
		q->state = ipcr_u8(&r);
		q->remote = ipcr_u8(&r);
		q->attempts = ipcr_u32(&r);
		q->next_try_ms = ipcr_u64(&r);
		ipcr_str(&r, q->addr, sizeof(q->addr));
		ipcr_str(&r, q->mailbox, sizeof(q->mailbox));
		ipcr_str(&r, q->last_error, sizeof(q->last_error));
		if (q->state > RS_MAX || q->remote > 1 || (!q->remote && q->mailbox[0] == '\0'))
			r.err = true;
	}
	if (!ipcr_done(&r)) {
		qmsg_free(m);
		return false;
	}
	return true;
}

bool rcpt_is_final(const struct qrcpt *r)
{
	return r->state == RS_DELIVERED || r->state == RS_BOUNCED;
}

bool qmsg_done(const struct qmsg *m)
{
	for (uint32_t i = 0; i < m->nrcpt; i++)
		if (!rcpt_is_final(&m->rcpts[i]))
			return false;
	return true;
}

bool qmsg_next_try(const struct qmsg *m, uint64_t *when)
{
	bool any = false;
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		const struct qrcpt *r = &m->rcpts[i];
		if (r->state != RS_PENDING && r->state != RS_DEFERRED)
			continue;
		if (!any || r->next_try_ms < *when)
			*when = r->next_try_ms;
		any = true;
	}
	return any;
}

const char *rcpt_state_name(uint8_t state)
{
	static const char *names[] = { "pending", "deferred", "delivered", "bounced", "held" };
	return state <= RS_MAX ? names[state] : "unknown";
}
