/*
 * fuzz_dns_name.c: libFuzzer target for resolver/dns_name.c and
 * resolver/dns_conf.c: name validation (a valid name has no byte
 * outside the rules and fits the limits), reverse names of whatever
 * parses as an address, the type table, and the resolv.conf and
 * trust-anchor parsers on the whole input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

static char addrs[8][DNS_ADDR_TEXT];
static char ta[DNS_TA_MAX][DNS_TA_LINE_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	if (dns_name_valid(s, size)) {
		size_t n = size;
		if (n > 0 && s[n - 1] == '.')
			n--;
		if (n == 0 || n > DNS_NAME_MAX || s[0] == '.' || s[0] == '-')
			abort();
		for (size_t i = 0; i < n; i++) {
			char c = s[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
				abort();
			if (c == '.' && (s[i + 1] == '.' || s[i - 1] == '-' || s[i + 1] == '-'))
				abort();
		}
	}
	/* the first line as a C string: a type name and an address */
	char line[128];
	size_t l = 0;
	while (l < size && l < sizeof(line) - 1 && data[l] != '\n' && data[l] != '\0')
		l++;
	memcpy(line, data, l);
	line[l] = '\0';
	uint16_t t = dns_type_parse(line);
	if (t != 0 && dns_type_name(t) == NULL)
		abort();
	char ptr[DNS_NAME_BUF];
	if (dns_ptr_name(line, ptr, sizeof(ptr)) && !dns_name_valid(ptr, strlen(ptr)))
		abort();

	size_t n = dns_resolvconf_parse(s, size, addrs, 8);
	if (n > 8)
		abort();
	for (size_t i = 0; i < n; i++)
		if (memchr(addrs[i], '\0', DNS_ADDR_TEXT) == NULL || addrs[i][0] == '\0')
			abort();
	char err[256];
	memset(err, 0x7f, sizeof(err));
	int k = dns_trust_anchor_parse(s, size, ta, err, sizeof(err));
	if (k < 0 ? memchr(err, '\0', sizeof(err)) == NULL : (k == 0 || k > DNS_TA_MAX))
		abort();
	for (int i = 0; i < k; i++)
		if (strstr(ta[i], "DS") == NULL && strstr(ta[i], "DNSKEY") == NULL)
			abort();
	return 0;
}
