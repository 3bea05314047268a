/*
 * fuzz_rdeliver.c: libFuzzer target for relay/rdeliver.c. Whatever
 * decodes must keep the request's limits and re-encode to exactly the
 * input bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qrecord.h"
#include "rdeliver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rdeliver r;
	if (!rdeliver_decode(data, size, &r)) {
		if (r.rcpt != NULL || r.n != 0)
			abort();
		return 0;
	}
	if (r.n == 0 || r.n > QMSG_MAX_RCPT || r.rcpt == NULL ||
	    (r.flags & ~(QF_8BITMIME | QF_SMTPUTF8)))
		abort();
	struct ipc_buf b;
	ipcb_init(&b);
	rdeliver_head(&b, r.qid, r.sender, r.flags, r.size, r.arrival_ms, r.n);
	for (uint32_t i = 0; i < r.n; i++) {
		if (r.rcpt[i].idx >= QMSG_MAX_RCPT || strchr(r.rcpt[i].addr, '@') == NULL)
			abort();
		for (uint32_t k = 0; k < i; k++)
			if (r.rcpt[k].idx == r.rcpt[i].idx)
				abort();
		rdeliver_add(&b, r.rcpt[i].idx, r.rcpt[i].addr);
	}
	if (b.err || b.len != size || memcmp(b.data, data, size) != 0)
		abort();
	ipcb_free(&b);
	rdeliver_free(&r);
	return 0;
}
