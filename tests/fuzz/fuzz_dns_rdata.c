/*
 * fuzz_dns_rdata.c: libFuzzer target for resolver/dns_rdata.c. The
 * first byte picks the record type, the rest is its rdata: whatever
 * parses must respect the limits (names valid or ".", TXT no longer
 * than the rdata, TLSA data present), encode into a D_ANSWER that
 * decodes to the same record, and ASan catches any over-read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "proto.h"

static struct dns_rr rr, back;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_PTR, DNS_T_TXT,
		DNS_T_TLSA, 6, 0 };
	if (size < 1)
		return 0;
	uint16_t type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	/* an exact-size copy, so ASan sees a read past the end */
	size_t len = size - 1;
	uint8_t *rd = malloc(len ? len : 1);
	if (rd == NULL)
		return 0;
	memcpy(rd, data + 1, len);
	char name[DNS_NAME_BUF];
	if (dns_wire_name(rd, len, name) == 0) {
		size_t n = strlen(name);
		if (n > DNS_NAME_MAX || (strcmp(name, ".") != 0 && !dns_name_valid(name, n)))
			abort();
	}
	int r = dns_rdata_parse(type, rd, len, &rr);
	free(rd);
	if (r < 0)
		return 0;
	if (dns_type_name(type) == NULL || rr.type != type)
		abort();
	switch (type) {
	case DNS_T_A: if (len != 4) abort(); break;
	case DNS_T_AAAA: if (len != 16) abort(); break;
	case DNS_T_MX:
	case DNS_T_PTR:
		if (strcmp(rr.name, ".") != 0 && !dns_name_valid(rr.name, strlen(rr.name)))
			abort();
		if (type == DNS_T_PTR && strcmp(rr.name, ".") == 0)
			abort();
		break;
	case DNS_T_TXT: if (rr.len >= len) abort(); break;
	case DNS_T_TLSA: if (rr.len == 0 || rr.len != len - 3) abort(); break;
	}
	struct ipc_buf b;
	struct dns_answer a;
	ipcb_init(&b);
	dns_answer_head(&b, DNS_OK, false, 1);
	dns_answer_add(&b, &rr);
	dns_answer_finish(&b, 1);
	if (b.err || !dns_answer_open(&a, type, b.data, b.len) || dns_answer_next(&a, &back) != 1 ||
	    dns_answer_next(&a, &back) != 0)
		abort();
	if (back.pref != rr.pref || strcmp(back.name, rr.name) != 0 || back.len != rr.len ||
	    memcmp(back.data, rr.data, rr.len) != 0 || memcmp(back.addr, rr.addr, 16) != 0 ||
	    back.usage != rr.usage || back.selector != rr.selector || back.mtype != rr.mtype)
		abort();
	ipcb_free(&b);
	return 0;
}
