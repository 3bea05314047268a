/*
 * rdeliver.c: the R_DELIVER codec (see rdeliver.h). Pure; the decoder
 * reads bytes from the queue manager in the remote delivery agent.
 */
#include "rdeliver.h"
#include "qrecord.h"

#include <stdlib.h>
#include <string.h>

void rdeliver_head(struct ipc_buf *b, uint64_t qid, const char *sender, uint8_t flags,
    uint64_t size, uint64_t arrival_ms, uint32_t n)
{
	ipcb_u64(b, qid);
	ipcb_cstr(b, sender);
	ipcb_u8(b, flags);
	ipcb_u64(b, size);
	ipcb_u64(b, arrival_ms);
	ipcb_u32(b, n);
}

void rdeliver_add(struct ipc_buf *b, uint32_t idx, const char *addr)
{
	ipcb_u32(b, idx);
	ipcb_cstr(b, addr);
}

static int cmp_idx(const void *a, const void *b)
{
	uint32_t x = ((const struct rdeliver_rcpt *)a)->idx, y = ((const struct rdeliver_rcpt *)b)->idx;
	return x < y ? -1 : x > y;
}

bool rdeliver_decode(const uint8_t *p, size_t len, struct rdeliver *out)
{
	struct ipc_rd r;
	memset(out, 0, sizeof(*out));
	ipcr_init(&r, p, len);
	out->qid = ipcr_u64(&r);
	ipcr_str(&r, out->sender, sizeof(out->sender));
	out->flags = ipcr_u8(&r);
	out->size = ipcr_u64(&r);
	out->arrival_ms = ipcr_u64(&r);
	uint32_t n = ipcr_u32(&r);
	if (r.err || n == 0 || n > QMSG_MAX_RCPT || (out->flags & ~(QF_8BITMIME | QF_SMTPUTF8)))
		return false;
	/* each recipient takes at least 9 bytes: no allocation beyond the input */
	if ((size_t)n > r.left / 9 || (out->rcpt = calloc(n, sizeof(*out->rcpt))) == NULL)
		return false;
	out->n = n;
	for (uint32_t i = 0; i < n && !r.err; i++) {
		out->rcpt[i].idx = ipcr_u32(&r);
		ipcr_str(&r, out->rcpt[i].addr, sizeof(out->rcpt[i].addr));
		if (out->rcpt[i].idx >= QMSG_MAX_RCPT || strchr(out->rcpt[i].addr, '@') == NULL)
			r.err = true;
	}
	bool ok = ipcr_done(&r);
	if (ok) {
		/* indexes are distinct (checked on a sorted copy: the order is kept) */
		struct rdeliver_rcpt *s = malloc(n * sizeof(*s));
		ok = s != NULL;
		if (ok) {
			memcpy(s, out->rcpt, n * sizeof(*s));
			qsort(s, n, sizeof(*s), cmp_idx);
			for (uint32_t i = 1; i < n && ok; i++)
				ok = s[i].idx != s[i - 1].idx;
			free(s);
		}
	}
	if (!ok)
		rdeliver_free(out);
	return ok;
}

void rdeliver_free(struct rdeliver *r)
{
	free(r->rcpt);
	r->rcpt = NULL;
	r->n = 0;
}
