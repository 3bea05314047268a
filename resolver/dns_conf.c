/*
 * dns_conf.c: parsers for the two files the resolver reads as root
 * before it chroots: /etc/resolv.conf (its default upstreams) and the
 * DNSSEC trust anchor (Debian's /usr/share/dns/root.key). Pure: text
 * in, bounded arrays out; libunbound never opens either file itself.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* The next line of text (without its newline) into line, at most
 * cap-1 bytes; *too_long when it did not fit. Returns false at the
 * end. */
static bool next_line(const char *text, size_t len, size_t *pos, char *line, size_t cap,
    bool *too_long)
{
	if (*pos >= len)
		return false;
	const char *s = text + *pos;
	const char *nl = memchr(s, '\n', len - *pos);
	size_t ll = nl ? (size_t)(nl - s) : len - *pos;
	*pos += ll + (nl ? 1 : 0);
	*too_long = ll >= cap;
	if (*too_long)
		ll = cap - 1;
	memcpy(line, s, ll);
	line[ll] = '\0';
	/* a NUL inside ends the line there */
	return true;
}

static char *skip_space(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

/* The next whitespace-separated word of *s, NUL-terminated in place. */
static char *word(char **s)
{
	char *w = skip_space(*s), *e = w;
	while (*e && *e != ' ' && *e != '\t' && *e != '\r')
		e++;
	*s = *e ? e + 1 : e;
	*e = '\0';
	return w;
}

size_t dns_resolvconf_parse(const char *text, size_t len, char out[][DNS_ADDR_TEXT], size_t max)
{
	size_t pos = 0, n = 0;
	char line[512];
	bool too_long;
	while (n < max && next_line(text, len, &pos, line, sizeof(line), &too_long)) {
		char *s = line;
		if (too_long || strcmp(word(&s), "nameserver") != 0)
			continue;
		char *addr = word(&s);
		uint8_t a[16];
		if (strlen(addr) >= DNS_ADDR_TEXT ||
		    (inet_pton(AF_INET, addr, a) != 1 && inet_pton(AF_INET6, addr, a) != 1))
			continue;       /* e.g. a scoped fe80::1%eth0: skipped */
		snprintf(out[n++], DNS_ADDR_TEXT, "%s", addr);
	}
	return n;
}

int dns_trust_anchor_parse(const char *text, size_t len, char out[][DNS_TA_LINE_MAX],
    char *err, size_t errlen)
{
	size_t pos = 0, lineno = 0;
	int n = 0;
	char line[DNS_TA_LINE_MAX];
	bool too_long;
	err[0] = '\0';
	while (next_line(text, len, &pos, line, sizeof(line), &too_long)) {
		lineno++;
		if (too_long) {
			snprintf(err, errlen, "line %zu: longer than %d bytes", lineno, DNS_TA_LINE_MAX - 1);
			return -1;
		}
		char *semi = strchr(line, ';');
		if (semi)
			*semi = '\0';
		for (char *q = line; *q; q++) {
			if ((unsigned char)*q < 32 && *q != '\t' && *q != '\r') {
				snprintf(err, errlen, "line %zu: control character", lineno);
				return -1;
			}
			if (*q == '(' || *q == ')' || *q == '"') {
				snprintf(err, errlen, "line %zu: parentheses and quotes are not "
				    "supported: one record per line", lineno);
				return -1;
			}
		}
		/* owner [ttl] [class] type rdata: the type is among the first
		 * four words */
		char copy[DNS_TA_LINE_MAX], *s = copy;
		memcpy(copy, line, sizeof(copy));
		if (*word(&s) == '\0')
			continue;
		bool ok = false;
		for (int i = 0; i < 3 && !ok; i++) {
			const char *w = word(&s);
			ok = strcmp(w, "DS") == 0 || strcmp(w, "DNSKEY") == 0;
		}
		if (!ok || *skip_space(s) == '\0') {
			snprintf(err, errlen, "line %zu: not a DS or DNSKEY record", lineno);
			return -1;
		}
		if (n >= DNS_TA_MAX) {
			snprintf(err, errlen, "line %zu: more than %d records", lineno, DNS_TA_MAX);
			return -1;
		}
		/* trailing blanks off; the comment is gone already */
		size_t l = strlen(line);
		while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
			line[--l] = '\0';
		memcpy(out[n++], line, l + 1);
	}
	if (n == 0) {
		snprintf(err, errlen, "no DS or DNSKEY record");
		return -1;
	}
	return n;
}
