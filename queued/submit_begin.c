/*
 * submit_begin.c: see submit_begin.h. Pure; runs in the queue manager
 * (postern-queue, chrooted) over bytes from any local user.
 */
#include "submit_begin.h"
#include "ipc.h"

#include <bsd/string.h>
#include <string.h>

/* One address as sent: a mailbox (ASCII, addr_parse_mailbox) whose
 * path fits. */
static enum addr_err mailbox(const char *s, struct mailaddr *a)
{
	enum addr_err e = addr_parse_mailbox(s, strlen(s), 0, a);
	return e == ADDR_OK && !addr_path_fits(a) ? ADDR_PATH_TOO_LONG : e;
}

enum sub_begin_err sub_begin_decode(const uint8_t *p, size_t len, struct mailaddr *sender,
    bool *null_sender, struct mailaddr *rcpt, uint32_t *n, char *raw, enum addr_err *why)
{
	struct ipc_rd r;
	char s[ADDR_PATH_MAX + 1], bad[ADDR_PATH_MAX + 1] = "";
	enum addr_err bad_why = ADDR_OK;
	ipcr_init(&r, p, len);
	ipcr_str(&r, s, sizeof(s));
	*n = ipcr_u32(&r);
	if (r.err || *n > SUB_RCPT_MAX)
		return SUBB_PROTO;
	/* the frame's shape first (a bad one is a protocol error), then
	 * the sender, then the first bad recipient */
	for (uint32_t i = 0; i < *n; i++) {
		char a[ADDR_PATH_MAX + 1];
		ipcr_str(&r, a, sizeof(a));
		if (r.err)
			return SUBB_PROTO;
		enum addr_err e = mailbox(a, &rcpt[i]);
		if (e != ADDR_OK && bad_why == ADDR_OK) {
			bad_why = e;
			strlcpy(bad, a, sizeof(bad));
		}
	}
	if (!ipcr_done(&r))
		return SUBB_PROTO;
	if (*n == 0)
		return SUBB_NO_RCPT;
	*null_sender = s[0] == '\0';
	if (!*null_sender && (*why = mailbox(s, sender)) != ADDR_OK) {
		strlcpy(raw, s, ADDR_PATH_MAX + 1);
		return SUBB_BAD_SENDER;
	}
	if (bad_why != ADDR_OK) {
		*why = bad_why;
		strlcpy(raw, bad, ADDR_PATH_MAX + 1);
		return SUBB_BAD_RCPT;
	}
	return SUBB_OK;
}
