/*
 * ctlmsg.c: see ctlmsg.h. Pure functions; no privileges.
 */
#include "ctlmsg.h"
#include "proto.h"

#include <string.h>

void ctlmsg_act_encode(struct ipc_buf *b, uint8_t action, const uint64_t *ids, uint32_t n)
{
	ipcb_u8(b, action);
	ipcb_u32(b, n);
	for (uint32_t i = 0; i < n; i++)
		ipcb_u64(b, ids[i]);
}

/* The id count a C_ACT payload announces, or -1 if it is not that many. */
static int64_t act_count(const uint8_t *p, size_t len)
{
	struct ipc_rd r;
	ipcr_init(&r, p, len);
	(void)ipcr_u8(&r);
	uint32_t n = ipcr_u32(&r);
	if (r.err || n > CTL_IDS_MAX || r.left != (size_t)n * 8)
		return -1;
	return n;
}

bool ctlmsg_act_decode(const uint8_t *p, size_t len, uint8_t *action, uint64_t *ids, uint32_t max,
    uint32_t *n)
{
	struct ipc_rd r;
	int64_t count = act_count(p, len);
	if (count < 0 || count > max)
		return false;
	ipcr_init(&r, p, len);
	*action = ipcr_u8(&r);
	*n = ipcr_u32(&r);
	for (uint32_t i = 0; i < *n; i++)
		ids[i] = ipcr_u64(&r);
	return ipcr_done(&r) && *action >= CTL_HOLD && *action <= CTL_BOUNCE;
}

bool ctlmsg_pause_decode(const uint8_t *p, size_t len, uint8_t *what, bool *pause)
{
	struct ipc_rd r;
	ipcr_init(&r, p, len);
	*what = ipcr_u8(&r);
	uint8_t on = ipcr_u8(&r);
	*pause = on == 1;
	return ipcr_done(&r) && *what != 0 && on <= 1 &&
	    (*what & ~(CTL_PAUSE_LOCAL | CTL_PAUSE_REMOTE | CTL_PAUSE_ACCEPT)) == 0;
}

void ctlmsg_stats_encode(struct ipc_buf *b, const struct stat_kv *kv, size_t n)
{
	ipcb_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		ipcb_cstr(b, kv[i].name);
		ipcb_u64(b, kv[i].value);
	}
}

/* Names reach an administrator's terminal and Prometheus: only what
 * "daemon_metric{label=\"value\"}" needs. */
static bool stat_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("_{}=\",. :-", c)))
			return false;
	}
	return true;
}

int ctlmsg_stats_decode(const uint8_t *p, size_t len, struct stat_kv *out, size_t max)
{
	struct ipc_rd r;
	ipcr_init(&r, p, len);
	uint32_t n = ipcr_u32(&r);
	if (r.err || n > max || n > STATS_MAX)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		ipcr_str(&r, out[i].name, sizeof(out[i].name));
		out[i].value = ipcr_u64(&r);
		if (!r.err && !stat_name_ok(out[i].name))
			r.err = true;
	}
	return ipcr_done(&r) ? (int)n : -1;
}

size_t ctlmsg_stats_keep(struct stat_kv *kv, size_t n, const char *prefix, const char *reserved)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		bool keep = strncmp(kv[i].name, prefix, strlen(prefix)) == 0 &&
		    (reserved == NULL || strncmp(kv[i].name, reserved, strlen(reserved)) != 0);
		for (size_t j = 0; keep && j < kept; j++)
			keep = strcmp(kv[j].name, kv[i].name) != 0;
		if (keep)
			kv[kept++] = kv[i];
	}
	return kept;
}
