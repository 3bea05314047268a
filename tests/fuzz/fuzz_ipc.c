/*
 * fuzz_ipc.c: libFuzzer target for common/ipc.c: ipc_hdr_parse on the
 * input (and ipc_hdr_encode giving the same bytes back), then the
 * payload after the header read with a sequence of typed reads chosen
 * by the header's type and request id. Every field read fine is written
 * again with the builder and must give exactly the bytes consumed; a
 * failed read must yield zero / an empty string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_hdr h;
	enum ipc_parse p = ipc_hdr_parse(data, size, &h);
	if (size < IPC_HDR_LEN) {
		if (p != IPC_NEED_MORE)
			abort();
		return 0;
	}
	if (p == IPC_NEED_MORE)
		abort();
	if (p == IPC_BAD) {
		if ((h.flags & ~IPC_F_FD) == 0 && h.len <= IPC_MAX_PAYLOAD)
			abort();
		return 0;
	}
	if ((h.flags & ~IPC_F_FD) != 0 || h.len > IPC_MAX_PAYLOAD)
		abort();
	uint8_t hb[IPC_HDR_LEN];
	ipc_hdr_encode(&h, hb);
	if (memcmp(hb, data, IPC_HDR_LEN) != 0)
		abort();

	const uint8_t *pl = data + IPC_HDR_LEN;
	size_t plen = size - IPC_HDR_LEN;
	if (plen > h.len)
		plen = h.len;
	struct ipc_rd r;
	struct ipc_buf b;
	ipcr_init(&r, pl, plen);
	ipcb_init(&b);
	/* 16 reads of 3 bits each, from type (high) and reqid (low) */
	uint64_t script = (uint64_t)h.type << 32 | h.reqid;
	static const size_t caps[] = { 1, 16, 300, 0 };
	for (int i = 0; i < 16; i++, script >>= 3) {
		bool was_err = r.err;
		size_t left = r.left;
		char s[300];
		uint64_t v;
		unsigned op = script & 7;
		switch (op) {
		case 0: v = ipcr_u8(&r); if (!r.err) ipcb_u8(&b, (uint8_t)v); break;
		case 1: v = ipcr_u16(&r); if (!r.err) ipcb_u16(&b, (uint16_t)v); break;
		case 2: v = ipcr_u32(&r); if (!r.err) ipcb_u32(&b, (uint32_t)v); break;
		case 3: v = ipcr_u64(&r); if (!r.err) ipcb_u64(&b, v); break;
		default: {
			size_t cap = caps[op - 4];
			memset(s, 'z', sizeof(s));
			v = ipcr_str(&r, s, cap);
			if (cap > 0 && strlen(s) != v)
				abort();
			if (!r.err) {
				if (v >= cap)
					abort();
				ipcb_str(&b, s, v);
			} else if (v != 0 || (cap > 0 && s[0] != '\0')) {
				abort();
			}
			if (cap == 0 && !r.err)
				abort(); /* no room for even the NUL */
			break;
		}
		}
		if (r.err) {
			if (v != 0 || r.left > left)
				abort();
		} else if (was_err) {
			abort(); /* errors are sticky */
		}
	}
	/* what was read fine, written again, is exactly what was consumed */
	if (b.err)
		abort();
	size_t consumed = plen - r.left;
	if (!r.err && (b.len != consumed || (consumed && memcmp(b.data, pl, consumed) != 0)))
		abort();
	if (ipcr_done(&r) != (!r.err && r.left == 0))
		abort();
	ipcb_free(&b);
	return 0;
}
