/*
 * dns_name.c: DNS name and type rules: which query names the resolver
 * accepts (dns_name_valid), the record types it serves, and the
 * reverse-lookup name of an address. Pure functions, no privileges;
 * used by the resolver worker (postern-dns) on names its clients send,
 * by the rdata parser, and by posternctl.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

bool dns_name_valid(const char *s, size_t len)
{
	size_t label = 0;
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			/* a label: 1..63 characters, no '-' at either end */
			if (label == 0 || label > DNS_LABEL_MAX || s[i - 1] == '-' ||
			    s[i - label] == '-')
				return false;
			label = 0;
		} else if (label_char((unsigned char)s[i])) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

static const struct {
	const char *name;
	uint16_t type;
} types[] = {
	{ "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "MX", DNS_T_MX },
	{ "PTR", DNS_T_PTR }, { "TXT", DNS_T_TXT }, { "TLSA", DNS_T_TLSA },
};

uint16_t dns_type_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0)
			return types[i].type;
	return 0;
}

const char *dns_type_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	return NULL;
}

bool dns_ptr_name(const char *ip, char *out, size_t outlen)
{
	uint8_t a[16];
	size_t off = 0;
	int n;
	if (outlen == 0)
		return false;
	out[0] = '\0';
	if (inet_pton(AF_INET, ip, a) == 1) {
		n = snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return n > 0 && (size_t)n < outlen;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return false;
	static const char hex[] = "0123456789abcdef";
	/* 32 nibbles, least significant first, each followed by a dot */
	if (outlen < 64 + sizeof("ip6.arpa"))
		return false;
	for (int i = 15; i >= 0; i--) {
		out[off++] = hex[a[i] & 0xf];
		out[off++] = '.';
		out[off++] = hex[a[i] >> 4];
		out[off++] = '.';
	}
	memcpy(out + off, "ip6.arpa", sizeof("ip6.arpa"));
	return true;
}
