/*
 * fuzz_dns_answer.c: libFuzzer target for resolver/dns_proto.c, the
 * decoding side clients run on the resolver's replies, and the query
 * decoder the resolver runs on its clients' frames. The first byte
 * picks the query type; the rest is a D_ANSWER payload: what decodes
 * must respect every limit and re-encode to exactly the input. The
 * whole input is also fed to dns_query_decode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "proto.h"

static struct dns_rr rr;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_PTR, DNS_T_TXT,
		DNS_T_TLSA };
	uint16_t qt;
	char name[DNS_NAME_BUF];
	enum dns_query_err qe = dns_query_decode(data, size, &qt, name);
	if (qe == DNS_Q_OK && (dns_type_name(qt) == NULL || !dns_name_valid(name, strlen(name))))
		abort();
	if (size < 1)
		return 0;
	uint16_t type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	const uint8_t *p = data + 1;
	size_t len = size - 1;
	struct dns_answer a;
	if (!dns_answer_open(&a, type, p, len))
		return 0;
	if (a.status > DNS_TEMPFAIL || a.n > DNS_MAX_RECORDS || (a.status == DNS_OK) != (a.n > 0))
		abort();
	struct ipc_buf b;
	ipcb_init(&b);
	dns_answer_head(&b, a.status, a.secure, a.ttl);
	int r;
	uint32_t n = 0;
	while ((r = dns_answer_next(&a, &rr)) == 1) {
		if (rr.type != type)
			abort();
		if ((type == DNS_T_MX || type == DNS_T_PTR) && strcmp(rr.name, ".") != 0 &&
		    !dns_name_valid(rr.name, strlen(rr.name)))
			abort();
		dns_answer_add(&b, &rr);
		n++;
	}
	dns_answer_finish(&b, n);
	/* a well-formed answer re-encodes to exactly the same bytes */
	if (r == 0 && (b.err || n != a.n || b.len != len || memcmp(b.data, p, len) != 0))
		abort();
	ipcb_free(&b);
	return 0;
}
