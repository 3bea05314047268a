/*
 * dns_proto.c: the payloads of D_QUERY and D_ANSWER (proto.h) on top
 * of ipc.c's field codec. Pure. The resolver worker (postern-dns)
 * decodes queries from its clients and encodes answers; clients
 * (posternctl, and later the relay agent and smtpd) encode queries and
 * decode answers, which they must treat as untrusted input too: every
 * count and length is bounded and checked.
 */
#include "dns.h"
#include "proto.h"

#include <string.h>

void dns_query_encode(struct ipc_buf *b, uint16_t qtype, const char *name)
{
	ipcb_u16(b, qtype);
	ipcb_cstr(b, name);
}

enum dns_query_err dns_query_decode(const uint8_t *p, size_t len, uint16_t *qtype,
    char name[DNS_NAME_BUF])
{
	struct ipc_rd r;
	ipcr_init(&r, p, len);
	*qtype = ipcr_u16(&r);
	size_t n = ipcr_str(&r, name, DNS_NAME_BUF);
	if (!ipcr_done(&r)) {
		name[0] = '\0';
		return DNS_Q_MALFORMED;
	}
	if (dns_type_name(*qtype) == NULL)
		return DNS_Q_BADTYPE;
	if (!dns_name_valid(name, n))
		return DNS_Q_BADNAME;
	return DNS_Q_OK;
}

/* status u8, secure u8, ttl u32, then n u32 at this offset */
#define N_OFFSET 6

void dns_answer_head(struct ipc_buf *b, uint8_t status, bool secure, uint32_t ttl)
{
	ipcb_u8(b, status);
	ipcb_u8(b, secure ? 1 : 0);
	ipcb_u32(b, ttl);
	ipcb_u32(b, 0);
}

void dns_answer_add(struct ipc_buf *b, const struct dns_rr *rr)
{
	switch (rr->type) {
	case DNS_T_MX:
		ipcb_u16(b, rr->pref);
		ipcb_cstr(b, rr->name);
		break;
	case DNS_T_A:
		ipcb_str(b, (const char *)rr->addr, 4);
		break;
	case DNS_T_AAAA:
		ipcb_str(b, (const char *)rr->addr, 16);
		break;
	case DNS_T_PTR:
		ipcb_cstr(b, rr->name);
		break;
	case DNS_T_TXT:
		ipcb_str(b, (const char *)rr->data, rr->len);
		break;
	case DNS_T_TLSA:
		ipcb_u8(b, rr->usage);
		ipcb_u8(b, rr->selector);
		ipcb_u8(b, rr->mtype);
		ipcb_str(b, (const char *)rr->data, rr->len);
		break;
	default:
		b->err = true;
	}
}

void dns_answer_finish(struct ipc_buf *b, uint32_t n)
{
	if (b->err || b->len < N_OFFSET + 4)
		return;
	b->data[N_OFFSET] = (uint8_t)(n >> 24);
	b->data[N_OFFSET + 1] = (uint8_t)(n >> 16);
	b->data[N_OFFSET + 2] = (uint8_t)(n >> 8);
	b->data[N_OFFSET + 3] = (uint8_t)n;
}

bool dns_answer_open(struct dns_answer *a, uint16_t qtype, const uint8_t *p, size_t len)
{
	memset(a, 0, sizeof(*a));
	ipcr_init(&a->rd, p, len);
	a->qtype = qtype;
	a->status = ipcr_u8(&a->rd);
	uint8_t sec = ipcr_u8(&a->rd);
	a->secure = sec == 1;
	a->ttl = ipcr_u32(&a->rd);
	a->n = ipcr_u32(&a->rd);
	if (a->rd.err || sec > 1 || a->status > DNS_TEMPFAIL || dns_type_name(qtype) == NULL ||
	    a->n > DNS_MAX_RECORDS || (a->status == DNS_OK) != (a->n > 0))
		return false;
	return true;
}

/* A name field of an MX or PTR record: valid, or "." where allowed. */
static bool read_name(struct ipc_rd *r, char out[DNS_NAME_BUF], bool root_ok)
{
	size_t n = ipcr_str(r, out, DNS_NAME_BUF);
	if (r->err)
		return false;
	if (root_ok && strcmp(out, ".") == 0)
		return true;
	/* no trailing dot: the resolver never sends one */
	return n > 0 && out[n - 1] != '.' && dns_name_valid(out, n);
}

int dns_answer_next(struct dns_answer *a, struct dns_rr *rr)
{
	struct ipc_rd *r = &a->rd;
	const uint8_t *p;
	size_t len;
	if (a->done == a->n)
		return ipcr_done(r) ? 0 : -1;
	memset(rr, 0, offsetof(struct dns_rr, data));
	rr->type = a->qtype;
	switch (a->qtype) {
	case DNS_T_MX:
		rr->pref = ipcr_u16(r);
		if (!read_name(r, rr->name, true))
			return -1;
		break;
	case DNS_T_PTR:
		if (!read_name(r, rr->name, false))
			return -1;
		break;
	case DNS_T_A:
	case DNS_T_AAAA: {
		size_t want = a->qtype == DNS_T_A ? 4 : 16;
		p = ipcr_bytes(r, want, &len);
		if (p == NULL || len != want)
			return -1;
		memcpy(rr->addr, p, want);
		break;
	}
	case DNS_T_TLSA:
		rr->usage = ipcr_u8(r);
		rr->selector = ipcr_u8(r);
		rr->mtype = ipcr_u8(r);
		/* fall through: the data, as for TXT */
		/* FALLTHROUGH */
	case DNS_T_TXT:
		p = ipcr_bytes(r, DNS_RDATA_MAX, &len);
		if (p == NULL || (a->qtype == DNS_T_TLSA && len == 0))
			return -1;
		memcpy(rr->data, p, len);
		rr->len = len;
		break;
	default:
		return -1;
	}
	if (r->err)
		return -1;
	a->done++;
	return 1;
}
