/*
 * dns_rdata.c: parser for the record data libunbound hands over in
 * wire format (ub_result->data[i], len[i]): MX, A, AAAA, PTR, TXT and
 * TLSA. Pure: bytes in, struct dns_rr out. The resolver worker
 * (postern-dns, chrooted) runs it on data that came from the network,
 * so every length is checked before it is used and anything malformed
 * (a compression pointer, a label running past the end, bytes left
 * over) is an error, never an over-read.
 */
#include "dns.h"

#include <string.h>

int dns_wire_name(const uint8_t *p, size_t len, char out[DNS_NAME_BUF])
{
	size_t pos = 0, o = 0;
	out[0] = '\0';
	for (;;) {
		if (pos >= len)
			return -1;               /* ran out before the root label */
		uint8_t l = p[pos++];
		if (l == 0)
			break;
		if (l & 0xc0)
			return -1;               /* compression pointer or extended label */
		/* pos - 1 + 1 + l octets so far, the root octet still to come */
		if ((size_t)l > len - pos || pos + l + 1 > DNS_WIRE_NAME_MAX)
			return -1;
		if (o + (o ? 1 : 0) + l > DNS_NAME_MAX)
			return -1;
		/* a '.' inside a label would read as two labels: only host-name
		 * characters, checked here octet by octet */
		for (size_t i = 0; i < l; i++) {
			uint8_t c = p[pos + i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_'))
				return -1;
		}
		if (o)
			out[o++] = '.';
		memcpy(out + o, p + pos, l);
		o += l;
		pos += l;
	}
	if (pos != len)
		return -1;                       /* bytes after the name */
	if (o == 0) {
		memcpy(out, ".", 2);
		return 0;
	}
	out[o] = '\0';
	/* and the rest of the rule for query names (no '-' at either end
	 * of a label): nothing here may smuggle a dot, a space or a
	 * control character into a log or a command */
	if (!dns_name_valid(out, o)) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

static int name_or_root(const uint8_t *p, size_t len, char out[DNS_NAME_BUF], bool root_ok)
{
	if (dns_wire_name(p, len, out) < 0)
		return -1;
	if (!root_ok && strcmp(out, ".") == 0)
		return -1;
	return 0;
}

int dns_rdata_parse(uint16_t type, const uint8_t *rd, size_t rdlen, struct dns_rr *rr)
{
	rr->type = type;
	rr->pref = 0;
	rr->name[0] = '\0';
	rr->len = 0;
	rr->usage = rr->selector = rr->mtype = 0;
	memset(rr->addr, 0, sizeof(rr->addr));
	if (rd == NULL && rdlen > 0)
		return -1;
	switch (type) {
	case DNS_T_A:
		if (rdlen != 4)
			return -1;
		memcpy(rr->addr, rd, 4);
		return 0;
	case DNS_T_AAAA:
		if (rdlen != 16)
			return -1;
		memcpy(rr->addr, rd, 16);
		return 0;
	case DNS_T_MX:
		/* RFC 1035 3.3.9; "." is RFC 7505's null MX */
		if (rdlen < 3)
			return -1;
		rr->pref = (uint16_t)(rd[0] << 8 | rd[1]);
		return name_or_root(rd + 2, rdlen - 2, rr->name, true);
	case DNS_T_PTR:
		return name_or_root(rd, rdlen, rr->name, false);
	case DNS_T_TXT: {
		/* RFC 1035 3.3.14: one or more <character-string>s */
		size_t pos = 0;
		if (rdlen == 0 || rdlen > DNS_RDATA_MAX)
			return -1;
		while (pos < rdlen) {
			size_t l = rd[pos++];
			if (l > rdlen - pos)
				return -1;
			memcpy(rr->data + rr->len, rd + pos, l);
			rr->len += l;
			pos += l;
		}
		return 0;
	}
	case DNS_T_TLSA:
		/* RFC 6698 2.1: usage, selector, matching type, data */
		if (rdlen < 4 || rdlen > DNS_RDATA_MAX)
			return -1;
		rr->usage = rd[0];
		rr->selector = rd[1];
		rr->mtype = rd[2];
		rr->len = rdlen - 3;
		memcpy(rr->data, rd + 3, rr->len);
		return 0;
	default:
		return -1;
	}
}
