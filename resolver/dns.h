/*
 * dns.h: the resolver's pure parts, shared with its clients: DNS name
 * and type rules, record data (rdata) parsing, the D_QUERY/D_ANSWER
 * payload codec, and the start-up file parsers (resolv.conf, trust
 * anchor). Nothing here does I/O or needs privileges; every function
 * takes untrusted bytes with explicit limits and is unit-tested and
 * fuzzed. Linked into the resolver, posternctl and the unit tests.
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

#define DNS_NAME_MAX 253       /* presentation form, without the trailing dot */
#define DNS_NAME_BUF 256       /* a name with its trailing dot and the NUL */
#define DNS_LABEL_MAX 63
#define DNS_WIRE_NAME_MAX 255  /* RFC 1035 3.1, length octets included */
#define DNS_RDATA_MAX 65535
#define DNS_MAX_RECORDS 128    /* records in one D_ANSWER; more are dropped */
#define DNS_ADDR_TEXT 64       /* an upstream address as text */
#define DNS_TA_LINE_MAX 2048   /* one trust-anchor record */
#define DNS_TA_MAX 16          /* trust-anchor records */
#define DNS_TA_FILE_MAX 65536

enum dns_type {
	DNS_T_A = 1,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_TLSA = 52,
};

/* One record, decoded. Which fields are set depends on type. */
struct dns_rr {
	uint16_t type;
	uint16_t pref;                  /* MX preference */
	uint8_t addr[16];               /* A: the first 4 bytes; AAAA: 16 */
	char name[DNS_NAME_BUF];        /* MX exchange ("." for a null MX), PTR target;
	                                   no trailing dot otherwise */
	uint8_t usage, selector, mtype; /* TLSA */
	size_t len;                     /* bytes in data */
	uint8_t data[DNS_RDATA_MAX];    /* TXT: the character-strings joined;
	                                   TLSA: certificate association data */
};

/* ---- names and types (dns_name.c) ---- */

/* A query name: labels of letters, digits, '-' and '_', 1 to 63 each,
 * no label starting or ending with '-', at most 253 characters (one
 * trailing dot allowed on top). s need not be NUL-terminated. */
bool dns_name_valid(const char *s, size_t len);
/* "mx", "A", "aaaa", ... (any case) -> type; 0 if not one we serve. */
uint16_t dns_type_parse(const char *s);
/* "MX", "A", ... or NULL for a type we do not serve. */
const char *dns_type_name(uint16_t type);
/* The reverse-lookup name of an IPv4 or IPv6 address
 * ("2.0.0.127.in-addr.arpa"); false if ip is not an address. */
bool dns_ptr_name(const char *ip, char *out, size_t outlen);

/* ---- record data (dns_rdata.c) ---- */

/* Decodes one uncompressed wire-format name that must fill exactly
 * len bytes into presentation form ("." for the root). -1 for a
 * compression pointer, a bad length, a name over 255 octets, a label
 * that breaks dns_name_valid's rules, or bytes left over. */
int dns_wire_name(const uint8_t *p, size_t len, char out[DNS_NAME_BUF]);
/* Decodes the rdata of one record of type (one of enum dns_type) into
 * rr. Never reads beyond rdlen; -1 for any malformed or truncated
 * field, trailing bytes, or a type we do not serve. */
int dns_rdata_parse(uint16_t type, const uint8_t *rd, size_t rdlen, struct dns_rr *rr);

/* ---- the resolver's IPC payloads (dns_proto.c) ---- */

enum dns_query_err {
	DNS_Q_OK = 0,
	DNS_Q_MALFORMED,   /* fields missing, too long, or left over */
	DNS_Q_BADTYPE,     /* a type we do not serve */
	DNS_Q_BADNAME,     /* fails dns_name_valid */
};
void dns_query_encode(struct ipc_buf *b, uint16_t qtype, const char *name);
enum dns_query_err dns_query_decode(const uint8_t *p, size_t len, uint16_t *qtype,
    char name[DNS_NAME_BUF]);

/* D_ANSWER: head first (n is patched in by dns_answer_finish), then
 * one dns_answer_add per record. */
void dns_answer_head(struct ipc_buf *b, uint8_t status, bool secure, uint32_t ttl);
void dns_answer_add(struct ipc_buf *b, const struct dns_rr *rr);
void dns_answer_finish(struct ipc_buf *b, uint32_t n);

struct dns_answer {
	uint8_t status;   /* enum dns_status */
	bool secure;
	uint32_t ttl;
	uint32_t n;       /* records that follow */
	uint16_t qtype;
	uint32_t done;    /* records read so far */
	struct ipc_rd rd;
};
/* Reads the head of a D_ANSWER to a query of qtype; false if malformed
 * (unknown status, n over DNS_MAX_RECORDS, records with a non-OK status
 * or none with OK). */
bool dns_answer_open(struct dns_answer *a, uint16_t qtype, const uint8_t *p, size_t len);
/* The next record: 1, 0 at the end (having checked nothing is left
 * over), -1 if malformed. */
int dns_answer_next(struct dns_answer *a, struct dns_rr *rr);

/* ---- start-up files (dns_conf.c) ---- */

/* The "nameserver ADDRESS" lines of a resolv.conf text (IPv4 or IPv6,
 * as written, others skipped), at most max. Returns how many. */
size_t dns_resolvconf_parse(const char *text, size_t len, char out[][DNS_ADDR_TEXT], size_t max);
/* The DS and DNSKEY records of a trust-anchor file (zone-file lines;
 * ';' comments and blank lines skipped), one record per line, at most
 * DNS_TA_MAX. Returns how many (at least one), or -1 with
 * "line N: ..." in err. */
int dns_trust_anchor_parse(const char *text, size_t len, char out[][DNS_TA_LINE_MAX],
    char *err, size_t errlen);

#endif
