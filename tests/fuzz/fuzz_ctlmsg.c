/*
 * fuzz_ctlmsg.c: libFuzzer target for common/ctlmsg.c. Every decoder
 * takes the same bytes; what decodes must keep its limits and, for
 * C_ACT and counter lists, re-encode to exactly the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlmsg.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t ids[CTL_IDS_MAX];
	static struct stat_kv kv[STATS_MAX];
	uint8_t action, what;
	uint32_t n;
	bool pause;
	struct ipc_buf b;
	if (ctlmsg_act_decode(data, size, &action, ids, CTL_IDS_MAX, &n)) {
		if (n > CTL_IDS_MAX || action < CTL_HOLD || action > CTL_BOUNCE)
			abort();
		ipcb_init(&b);
		ctlmsg_act_encode(&b, action, ids, n);
		if (b.err || b.len != size || memcmp(b.data, data, size) != 0)
			abort();
		ipcb_free(&b);
	}
	if (ctlmsg_pause_decode(data, size, &what, &pause) &&
	    (size != 2 || what == 0 || (what & ~(CTL_PAUSE_LOCAL | CTL_PAUSE_REMOTE | CTL_PAUSE_ACCEPT))))
		abort();
	int k = ctlmsg_stats_decode(data, size, kv, STATS_MAX);
	if (k >= 0) {
		if (k > STATS_MAX)
			abort();
		for (int i = 0; i < k; i++)
			if (kv[i].name[0] == '\0' || strlen(kv[i].name) > STATS_NAME_MAX ||
			    strcspn(kv[i].name, "\n\r\t\x1b") != strlen(kv[i].name))
				abort();
		ipcb_init(&b);
		ctlmsg_stats_encode(&b, kv, (size_t)k);
		if (b.err || b.len != size || memcmp(b.data, data, size) != 0)
			abort();
		ipcb_free(&b);
		/* what a less trusted sender's list comes to: own names, once each */
		size_t kept = ctlmsg_stats_keep(kv, (size_t)k, "smtpd_", "smtpd_x");
		for (size_t i = 0; i < kept; i++) {
			if (strncmp(kv[i].name, "smtpd_", 6) != 0 || strncmp(kv[i].name, "smtpd_x", 7) == 0)
				abort();
			for (size_t j = 0; j < i; j++)
				if (strcmp(kv[i].name, kv[j].name) == 0)
					abort();
		}
	}
	return 0;
}
