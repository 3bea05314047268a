/*
 * fuzz_addr.c: libFuzzer target for common/addr.c. The first byte picks
 * the ADDR_ALLOW_* flags, the rest is parsed as a path and as a bare
 * mailbox. Whatever parses must respect the RFC 5321 limits, be ASCII
 * unless UTF-8 was allowed, format without truncation and parse back
 * to the same address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static void check_addr(const struct mailaddr *a, int flags)
{
	size_t ll = strlen(a->local), dl = strlen(a->domain);
	if (a->null) {
		if (ll != 0 || dl != 0 || !(flags & ADDR_ALLOW_NULL))
			abort();
		return;
	}
	if (ll == 0 || ll > ADDR_LOCAL_MAX || dl > ADDR_DOMAIN_MAX)
		abort();
	if (dl == 0 && !(flags & ADDR_ALLOW_POSTMASTER))
		abort();
	if (!(flags & ADDR_ALLOW_UTF8)) {
		for (size_t i = 0; i < ll; i++)
			if ((unsigned char)a->local[i] >= 0x80)
				abort();
		for (size_t i = 0; i < dl; i++)
			if ((unsigned char)a->domain[i] >= 0x80)
				abort();
	}
	for (size_t i = 0; i < dl; i++)
		if (a->domain[i] >= 'A' && a->domain[i] <= 'Z')
			abort();
	/* formatting fits, and what is formatted parses back the same */
	char out[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 2];
	if (!addr_format(a, out, sizeof(out)))
		abort();
	struct mailaddr b;
	if (addr_parse_mailbox(out, strlen(out), flags, &b) != ADDR_OK)
		abort();
	if (strcmp(a->local, b.local) != 0 || strcmp(a->domain, b.domain) != 0 || b.null)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int flags = data[0] & (ADDR_ALLOW_NULL | ADDR_ALLOW_UTF8 | ADDR_ALLOW_POSTMASTER);
	const char *s = (const char *)data + 1;
	size_t len = size - 1;
	struct mailaddr a;
	size_t used = 0;

	enum addr_err e = addr_parse_path(s, len, flags, &a, &used);
	if (addr_strerror(e) == NULL)
		abort();
	if (e == ADDR_OK) {
		if (used < 2 || used > len || used > ADDR_PATH_MAX || s[0] != '<' || s[used - 1] != '>')
			abort();
		check_addr(&a, flags);
		/* the same bytes with nothing after them parse the same way */
		struct mailaddr b;
		size_t used2 = 0;
		if (addr_parse_path(s, used, flags, &b, &used2) != ADDR_OK || used2 != used ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
	}

	e = addr_parse_mailbox(s, len, flags, &a);
	if (e == ADDR_OK) {
		if (a.null)
			abort();
		check_addr(&a, flags);
	}
	return 0;
}
