/*
 * fuzz_submit_begin.c: libFuzzer target for queued/submit_begin.c, the
 * SUB_BEGIN frame any local user sends: any input either fails with a
 * reason (a bad address named, NUL-terminated) or gives at most
 * SUB_RCPT_MAX mailboxes, each of whose paths fits, which format back
 * and parse again to themselves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "submit_begin.h"

static struct mailaddr rcpt[SUB_RCPT_MAX];

static void check_mailbox(const struct mailaddr *a)
{
	char s[ADDR_PATH_MAX + 1];
	struct mailaddr b;
	if (!addr_path_fits(a) || !addr_format(a, s, sizeof(s)) ||
	    addr_parse_mailbox(s, strlen(s), 0, &b) != ADDR_OK ||
	    strcmp(a->local, b.local) != 0 || strcmp(a->domain, b.domain) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailaddr sender;
	bool null_sender = false;
	uint32_t n = 0;
	char raw[ADDR_PATH_MAX + 1];
	enum addr_err why = ADDR_OK;
	memset(raw, 0x7f, sizeof(raw));
	enum sub_begin_err e = sub_begin_decode(data, size, &sender, &null_sender, rcpt, &n, raw, &why);
	switch (e) {
	case SUBB_OK:
		if (n == 0 || n > SUB_RCPT_MAX)
			abort();
		if (!null_sender)
			check_mailbox(&sender);
		for (uint32_t i = 0; i < n; i++)
			check_mailbox(&rcpt[i]);
		break;
	case SUBB_BAD_SENDER:
	case SUBB_BAD_RCPT:
		if (why == ADDR_OK || memchr(raw, '\0', sizeof(raw)) == NULL)
			abort();
		break;
	case SUBB_PROTO:
	case SUBB_NO_RCPT:
		break;
	default:
		abort();
	}
	return 0;
}
