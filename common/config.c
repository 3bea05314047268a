/*
 * config.c: parser for postern.conf. Pure parsing plus one bounded file
 * read. Run by every daemon as root before it drops privileges, and by
 * posternctl check.
 */
#include "config.h"
#include "util.h"

#include <arpa/inet.h>
#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ARGS 64

static bool valid_hostname(const char *s);

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->hostname, "localhost", sizeof(c->hostname));
	strlcpy(c->spool, "/var/spool/postern", sizeof(c->spool));
	strlcpy(c->mail_root, "/var/mail/postern", sizeof(c->mail_root));
	strlcpy(c->users_file, "users", sizeof(c->users_file));
	strlcpy(c->aliases_file, "aliases", sizeof(c->aliases_file));
	c->max_message_size = 35ULL * 1024 * 1024;
	c->max_recipients = 100;
	c->max_sessions = 1000;
	c->max_sessions_per_ip = 50;
	c->timeout_command_ms = 300 * 1000;
	c->timeout_data_ms = 180 * 1000;
	c->greeting_delay_ms = 0;
	c->retry_min_ms = 5 * 60 * 1000;
	c->retry_max_ms = 4 * 3600 * 1000;
	c->queue_lifetime_ms = 5ULL * 86400 * 1000;
	c->delay_warning_ms = 4ULL * 3600 * 1000;
	c->delivery_concurrency = 32;
	c->timeout_pop3_ms = 600 * 1000; /* RFC 1939 section 3: at least 10 minutes */
	c->auth_failure_delay_ms = 1000;
	c->pop3_command_limit = 1000;
	c->log_stderr = false;
	c->auth_loopback_plaintext = true;
	c->auth_failure_limit = 20;
	c->submission_hide_client = true;
	c->dns_timeout_ms = 10 * 1000;
	strlcpy(c->dns_trust_anchor, CONFIG_DEFAULT_TRUST_ANCHOR, sizeof(c->dns_trust_anchor));
	strlcpy(c->relay_tls_ca_file, CONFIG_DEFAULT_CA_FILE, sizeof(c->relay_tls_ca_file));
	c->relay_timeout_ms = 300 * 1000; /* RFC 5321 4.5.3.2 asks 5 minutes for most replies */
	c->relay_concurrency = 100;
	c->relay_destination_concurrency = 10;
}

bool sockaddr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len)
{
	char host[64];
	const char *port_s;
	uint64_t port;
	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
			return false;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = '\0';
		port_s = end + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
			return false;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port_s = colon + 1;
	}
	if (!parse_uint(port_s, 1, 65535, &port))
		return false;
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return true;
	}
	/* an IPv6 address needs its brackets: "::1:25" is ambiguous */
	if (s[0] == '[' && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return true;
	}
	return false;
}

bool relayhost_parse(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *h = s, *end, *colon;
	size_t hl;
	uint64_t n = 25;
	if (*s == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return false;
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return false;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			return false; /* IPv6 goes in brackets */
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (colon && !parse_uint(colon + 1, 1, 65535, &n))
		return false;
	if (hl == 0 || hl >= hostlen || hl > 253)
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct in6_addr a6;
	struct in_addr a4;
	bool v6 = inet_pton(AF_INET6, host, &a6) == 1;
	if (v6 && *s != '[')
		return false;
	if (!v6 && inet_pton(AF_INET, host, &a4) != 1 && !valid_hostname(host))
		return false;
	*port = (uint16_t)n;
	return true;
}

bool forward_parse(const char *s, char out[CONFIG_FORWARD_LEN])
{
	char host[INET6_ADDRSTRLEN];
	const char *at, *end;
	uint64_t port = 53;
	uint8_t a[16];
	bool v6 = s[0] == '[';
	if (v6) {
		end = strchr(s, ']');
		if (end == NULL)
			return false;
		s++;
		at = end + 1;
		if (*at != '\0' && *at != '@')
			return false;
	} else {
		at = strchr(s, '@');
		end = at ? at : s + strlen(s);
	}
	if ((size_t)(end - s) == 0 || (size_t)(end - s) >= sizeof(host))
		return false;
	memcpy(host, s, (size_t)(end - s));
	host[end - s] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, a) != 1)
		return false;
	if (at && *at == '@' && !parse_uint(at + 1, 1, 65535, &port))
		return false;
	snprintf(out, CONFIG_FORWARD_LEN, "%s@%u", host, (unsigned)port);
	return true;
}

bool netmask_parse(const char *s, struct netmask *out)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t bits;
	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->family = AF_INET6;
	else
		return false;
	unsigned maxbits = out->family == AF_INET ? 32 : 128;
	if (slash == NULL)
		bits = maxbits;
	else if (!parse_uint(slash + 1, 0, maxbits, &bits))
		return false;
	out->bits = (unsigned)bits;
	return true;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool netmask_match(const struct netmask *m, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET && m->family == AF_INET)
		return prefix_match(m->addr,
		    (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr, m->bits);
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (m->family == AF_INET6)
			return prefix_match(m->addr, a6, m->bits);
		/* IPv4-mapped IPv6 clients match IPv4 networks */
		static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
		if (memcmp(a6, mapped, 12) == 0)
			return prefix_match(m->addr, a6 + 12, m->bits);
	}
	return false;
}

bool config_is_relay_client(const struct config *c, const struct sockaddr *sa)
{
	for (size_t i = 0; i < c->nrelay_nets; i++)
		if (netmask_match(&c->relay_nets[i], sa))
			return true;
	return false;
}

bool listen_is_smtp(const char *proto)
{
	return strcmp(proto, "smtp") == 0 || strcmp(proto, "submission") == 0 ||
	    strcmp(proto, "submissions") == 0;
}

bool listen_is_implicit_tls(const char *proto)
{
	return strcmp(proto, "submissions") == 0 || strcmp(proto, "pop3s") == 0;
}

bool config_sender_granted(const struct config *c, const char *user, const char *local,
    const char *domain)
{
	for (size_t i = 0; i < c->ngrants; i++) {
		const struct sender_grant *g = &c->grants[i];
		if (strcmp(g->user, user) != 0)
			continue;
		const char *at = strrchr(g->pattern, '@');
		if (strcasecmp(at + 1, domain) != 0)
			continue;
		/* "@domain" grants every address there */
		if (at == g->pattern || (strlen(local) == (size_t)(at - g->pattern) &&
		    strncasecmp(g->pattern, local, (size_t)(at - g->pattern)) == 0))
			return true;
	}
	return false;
}

size_t config_count_listen(const struct config *c, const char *proto)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nlisten; i++)
		if (strcmp(c->listen[i].proto, proto) == 0)
			n++;
	return n;
}

bool config_is_local_domain(const struct config *c, const char *domain)
{
	for (size_t i = 0; i < c->ndomains; i++)
		if (strcasecmp(c->domains[i], domain) == 0)
			return true;
	return false;
}

struct parse_ctx {
	const char *fname;
	size_t line;
	char *err;
	size_t errlen;
};

static int perr(struct parse_ctx *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int perr(struct parse_ctx *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%zu: %s", p->fname, p->line, msg);
	return -1;
}

enum vkind { V_STR, V_PATH, V_FNAME, V_SIZE, V_DUR, V_COUNT, V_BOOL };
struct keydef {
	const char *name;
	enum vkind kind;
	size_t off;
	size_t size;    /* for strings: buffer size */
	uint64_t min, max;
};

#define OFF(f) offsetof(struct config, f)
static const struct keydef keys[] = {
	{ "hostname", V_STR, OFF(hostname), sizeof(((struct config *)0)->hostname), 0, 0 },
	{ "spool", V_PATH, OFF(spool), PATH_MAX, 0, 0 },
	{ "mail_root", V_PATH, OFF(mail_root), PATH_MAX, 0, 0 },
	{ "users", V_FNAME, OFF(users_file), NAME_MAX + 1, 0, 0 },
	{ "aliases", V_FNAME, OFF(aliases_file), NAME_MAX + 1, 0, 0 },
	{ "max_message_size", V_SIZE, OFF(max_message_size), 0, 1024, 2ULL << 30 },
	{ "max_recipients", V_COUNT, OFF(max_recipients), 0, 1, 1000 },
	{ "max_sessions", V_COUNT, OFF(max_sessions), 0, 1, 100000 },
	{ "max_sessions_per_ip", V_COUNT, OFF(max_sessions_per_ip), 0, 1, 100000 },
	{ "timeout_command", V_DUR, OFF(timeout_command_ms), 0, 1000, 3600 * 1000 },
	{ "timeout_data", V_DUR, OFF(timeout_data_ms), 0, 1000, 3600 * 1000 },
	{ "greeting_delay", V_DUR, OFF(greeting_delay_ms), 0, 0, 60 * 1000 },
	{ "retry_min", V_DUR, OFF(retry_min_ms), 0, 1000, 86400 * 1000 },
	{ "retry_max", V_DUR, OFF(retry_max_ms), 0, 1000, 7 * 86400ULL * 1000 },
	{ "queue_lifetime", V_DUR, OFF(queue_lifetime_ms), 0, 5 * 1000, 60 * 86400ULL * 1000 },
	{ "delay_warning", V_DUR, OFF(delay_warning_ms), 0, 0, 60 * 86400ULL * 1000 },
	{ "delivery_concurrency", V_COUNT, OFF(delivery_concurrency), 0, 1, 1024 },
	{ "timeout_pop3", V_DUR, OFF(timeout_pop3_ms), 0, 1000, 24 * 3600 * 1000 },
	{ "auth_failure_delay", V_DUR, OFF(auth_failure_delay_ms), 0, 0, 60 * 1000 },
	{ "pop3_command_limit", V_COUNT, OFF(pop3_command_limit), 0, 10, 1000000 },
	{ "tls_certificate", V_PATH, OFF(tls_certificate), PATH_MAX, 0, 0 },
	{ "tls_key", V_PATH, OFF(tls_key), PATH_MAX, 0, 0 },
	{ "auth_loopback_plaintext", V_BOOL, OFF(auth_loopback_plaintext), 0, 0, 0 },
	{ "auth_failure_limit", V_COUNT, OFF(auth_failure_limit), 0, 0, 1000000 },
	{ "submission_hide_client", V_BOOL, OFF(submission_hide_client), 0, 0, 0 },
	{ "dns_timeout", V_DUR, OFF(dns_timeout_ms), 0, 500, 300 * 1000 },
	{ "dns_trust_anchor", V_PATH, OFF(dns_trust_anchor), PATH_MAX, 0, 0 },
	{ "relay_tls_ca_file", V_PATH, OFF(relay_tls_ca_file), PATH_MAX, 0, 0 },
	{ "relay_timeout", V_DUR, OFF(relay_timeout_ms), 0, 1000, 3600 * 1000 },
	{ "relay_concurrency", V_COUNT, OFF(relay_concurrency), 0, 1, 10000 },
	{ "relay_destination_concurrency", V_COUNT, OFF(relay_destination_concurrency), 0, 1, 1000 },
	{ "relayhost_user", V_STR, OFF(relayhost_user), sizeof(((struct config *)0)->relayhost_user), 0, 0 },
	{ "relayhost_password_file", V_PATH, OFF(relayhost_password_file), PATH_MAX, 0, 0 },
};

static bool valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

static int set_scalar(struct parse_ctx *p, struct config *c, const struct keydef *k,
    const char *v)
{
	char *base = (char *)c + k->off;
	uint64_t n;
	switch (k->kind) {
	case V_STR:
		if (strlcpy(base, v, k->size) >= k->size)
			return perr(p, "%s: value too long", k->name);
		if (strcmp(k->name, "hostname") == 0 && !valid_hostname(v))
			return perr(p, "hostname: '%s' is not a valid host name", v);
		return 0;
	case V_PATH:
		if ((strcmp(k->name, "dns_trust_anchor") == 0 || strcmp(k->name, "relay_tls_ca_file") == 0) &&
		    strcmp(v, "none") == 0) {
			base[0] = '\0';
			return 0;
		}
		if (v[0] != '/')
			return perr(p, "%s: '%s' must be an absolute path", k->name, v);
		if (strlcpy(base, v, k->size) >= k->size)
			return perr(p, "%s: path too long", k->name);
		return 0;
	case V_FNAME:
		if (strchr(v, '/') != NULL || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
			return perr(p, "%s: '%s' must be a file name in the config directory", k->name, v);
		if (strlcpy(base, v, k->size) >= k->size)
			return perr(p, "%s: name too long", k->name);
		return 0;
	case V_SIZE:
		if (!parse_size(v, k->max, &n) || n < k->min)
			return perr(p, "%s: '%s' is not a size between %llu and %llu bytes (suffix k, M or G allowed)",
			    k->name, v, (unsigned long long)k->min, (unsigned long long)k->max);
		break;
	case V_DUR:
		if (!parse_duration_ms(v, k->max, &n) || n < k->min)
			return perr(p, "%s: '%s' is not a duration in range (units ms, s, m, h, d)", k->name, v);
		break;
	case V_BOOL: {
		bool b;
		if (strcmp(v, "yes") == 0)
			b = true;
		else if (strcmp(v, "no") == 0)
			b = false;
		else
			return perr(p, "%s: expected 'yes' or 'no'", k->name);
		memcpy(base, &b, sizeof(b));
		return 0;
	}
	case V_COUNT:
		if (!parse_uint(v, k->min, k->max, &n))
			return perr(p, "%s: '%s' is not a number from %llu to %llu", k->name, v,
			    (unsigned long long)k->min, (unsigned long long)k->max);
		break;
	}
	memcpy(base, &n, sizeof(n));
	return 0;
}

static int parse_line(struct parse_ctx *p, struct config *c, char **argv, size_t argc,
    uint64_t *seen)
{
	const char *key = argv[0];
	if (strcmp(key, "domain") == 0 || strcmp(key, "domains") == 0) {
		if (argc < 2)
			return perr(p, "%s: needs at least one domain", key);
		for (size_t i = 1; i < argc; i++) {
			if (c->ndomains >= CONFIG_MAX_DOMAINS)
				return perr(p, "too many domains (at most %d)", CONFIG_MAX_DOMAINS);
			if (!valid_hostname(argv[i]))
				return perr(p, "%s: '%s' is not a valid domain", key, argv[i]);
			if (config_is_local_domain(c, argv[i]))
				return perr(p, "%s: '%s' listed twice", key, argv[i]);
			strlcpy(c->domains[c->ndomains], argv[i], sizeof(c->domains[0]));
			for (char *q = c->domains[c->ndomains]; *q; q++)
				if (*q >= 'A' && *q <= 'Z')
					*q = (char)(*q | 0x20);
			c->ndomains++;
		}
		return 0;
	}
	if (strcmp(key, "listen") == 0) {
		if (argc != 3)
			return perr(p, "listen: expected 'listen SERVICE ADDRESS:PORT'");
		if (!listen_is_smtp(argv[1]) && strcmp(argv[1], "pop3") != 0 &&
		    strcmp(argv[1], "pop3s") != 0)
			return perr(p, "listen: unknown service '%s' (known: smtp, submission, "
			    "submissions, pop3, pop3s)", argv[1]);
		if (c->nlisten >= CONFIG_MAX_LISTEN)
			return perr(p, "listen: too many listeners (at most %d)", CONFIG_MAX_LISTEN);
		struct listen_spec *l = &c->listen[c->nlisten];
		if (!sockaddr_parse(argv[2], &l->addr, &l->addrlen))
			return perr(p, "listen: '%s' is not IPv4:PORT or [IPv6]:PORT", argv[2]);
		strlcpy(l->proto, argv[1], sizeof(l->proto));
		strlcpy(l->text, argv[2], sizeof(l->text));
		for (size_t i = 0; i < c->nlisten; i++)
			if (c->listen[i].addrlen == l->addrlen &&
			    memcmp(&c->listen[i].addr, &l->addr, l->addrlen) == 0)
				return perr(p, "listen: %s already used on an earlier line", argv[2]);
		c->nlisten++;
		return 0;
	}
	if (strcmp(key, "sender_grant") == 0) {
		if (argc != 3)
			return perr(p, "sender_grant: expected 'sender_grant USER ADDRESS' or 'sender_grant USER @DOMAIN'");
		if (c->ngrants >= CONFIG_MAX_GRANTS)
			return perr(p, "sender_grant: too many grants (at most %d)", CONFIG_MAX_GRANTS);
		struct sender_grant *g = &c->grants[c->ngrants];
		const char *at = strrchr(argv[2], '@');
		if (!valid_username(argv[1], strlen(argv[1])) || strlen(argv[1]) >= sizeof(g->user))
			return perr(p, "sender_grant: '%s' is not a user name", argv[1]);
		if (at == NULL || !valid_hostname(at + 1) || strlen(argv[2]) >= sizeof(g->pattern) ||
		    memchr(argv[2], '<', strlen(argv[2])) || memchr(argv[2], '>', strlen(argv[2])))
			return perr(p, "sender_grant: '%s' is not an address or @domain", argv[2]);
		strlcpy(g->user, argv[1], sizeof(g->user));
		strlcpy(g->pattern, argv[2], sizeof(g->pattern));
		for (char *q = g->pattern; *q; q++)
			*q = (char)(*q >= 'A' && *q <= 'Z' ? *q | 0x20 : *q);
		c->ngrants++;
		return 0;
	}
	if (strcmp(key, "relayhost") == 0) {
		if (c->relayhost[0])
			return perr(p, "relayhost: given twice");
		if (argc != 2 || !relayhost_parse(argv[1], c->relayhost, sizeof(c->relayhost),
		    &c->relayhost_port))
			return perr(p, "relayhost: expected HOST, HOST:PORT, [HOST]:PORT or [IPv6]:PORT");
		return 0;
	}
	if (strcmp(key, "relay_networks") == 0) {
		if (argc < 2)
			return perr(p, "relay_networks: needs at least one network");
		for (size_t i = 1; i < argc; i++) {
			if (c->nrelay_nets >= CONFIG_MAX_NETS)
				return perr(p, "relay_networks: too many networks (at most %d)", CONFIG_MAX_NETS);
			if (!netmask_parse(argv[i], &c->relay_nets[c->nrelay_nets]))
				return perr(p, "relay_networks: '%s' is not an address or ADDRESS/BITS", argv[i]);
			c->nrelay_nets++;
		}
		return 0;
	}
	if (strcmp(key, "forward") == 0) {
		if (argc < 2)
			return perr(p, "forward: needs at least one ADDRESS[@PORT]");
		for (size_t i = 1; i < argc; i++) {
			if (c->nforward >= CONFIG_MAX_FORWARD)
				return perr(p, "forward: too many upstreams (at most %d)", CONFIG_MAX_FORWARD);
			if (!forward_parse(argv[i], c->forward[c->nforward]))
				return perr(p, "forward: '%s' is not IPv4[@PORT] or [IPv6][@PORT]", argv[i]);
			c->nforward++;
		}
		return 0;
	}
	if (strcmp(key, "dns_insecure_domain") == 0) {
		if (argc < 2)
			return perr(p, "dns_insecure_domain: needs at least one domain");
		for (size_t i = 1; i < argc; i++) {
			if (c->ndns_insecure >= CONFIG_MAX_INSECURE)
				return perr(p, "dns_insecure_domain: too many domains (at most %d)",
				    CONFIG_MAX_INSECURE);
			if (!valid_hostname(argv[i]))
				return perr(p, "dns_insecure_domain: '%s' is not a valid domain", argv[i]);
			strlcpy(c->dns_insecure[c->ndns_insecure++], argv[i], sizeof(c->dns_insecure[0]));
		}
		return 0;
	}
	if (strcmp(key, "log") == 0) {
		/* the bit after the keys table's own */
		if (*seen & (1ULL << 63))
			return perr(p, "log: given twice");
		*seen |= 1ULL << 63;
		if (argc != 2 || (strcmp(argv[1], "stderr") != 0 && strcmp(argv[1], "syslog") != 0))
			return perr(p, "log: expected 'stderr' or 'syslog'");
		c->log_stderr = strcmp(argv[1], "stderr") == 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].name, key) != 0)
			continue;
		if (*seen & (1ULL << i))
			return perr(p, "%s: given twice", key);
		*seen |= 1ULL << i;
		if (argc != 2)
			return perr(p, "%s: expected exactly one value", key);
		return set_scalar(p, c, &keys[i], argv[1]);
	}
	return perr(p, "unknown key '%s'", key);
}

int config_parse(const char *text, size_t len, const char *fname,
    struct config *c, char *err, size_t errlen)
{
	struct parse_ctx p = { fname, 0, err, errlen };
	uint64_t seen = 0;
	size_t pos = 0;
	config_defaults(c);
	if (len > CONFIG_MAX_FILE)
		return perr(&p, "file larger than %d bytes", CONFIG_MAX_FILE);
	while (pos < len) {
		char line[CONFIG_MAX_LINE + 1];
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		p.line++;
		if (ll > CONFIG_MAX_LINE)
			return perr(&p, "line longer than %d bytes", CONFIG_MAX_LINE);
		memcpy(line, text + pos, ll);
		line[ll] = '\0';
		pos += ll + (nl ? 1 : 0);
		if (memchr(line, '\0', ll) != NULL)
			return perr(&p, "NUL byte in line");
		char *argv[MAX_ARGS];
		size_t argc = 0;
		char *s = line;
		for (;;) {
			while (*s == ' ' || *s == '\t' || *s == '\r')
				s++;
			if (*s == '\0' || *s == '#')
				break;
			if (argc >= MAX_ARGS)
				return perr(&p, "too many words on one line (at most %d)", MAX_ARGS);
			argv[argc++] = s;
			while (*s && *s != ' ' && *s != '\t' && *s != '\r')
				s++;
			if (*s)
				*s++ = '\0';
		}
		if (argc == 0)
			continue;
		for (size_t i = 0; i < argc; i++)
			for (const char *q = argv[i]; *q; q++)
				if ((unsigned char)*q < 32 || *q == 127)
					return perr(&p, "control character in line");
		if (parse_line(&p, c, argv, argc, &seen) < 0)
			return -1;
	}
	p.line = 0;
	if (c->ndomains == 0) {
		snprintf(err, errlen, "%s: no 'domain' given: postern needs at least one local domain", fname);
		return -1;
	}
	size_t nsmtp = config_count_listen(c, "smtp") + config_count_listen(c, "submission") +
	    config_count_listen(c, "submissions");
	if (nsmtp == 0) {
		snprintf(err, errlen, "%s: no 'listen smtp' (or submission, submissions) given", fname);
		return -1;
	}
	if ((c->tls_certificate[0] == '\0') != (c->tls_key[0] == '\0')) {
		snprintf(err, errlen, "%s: tls_certificate and tls_key go together: give both or neither", fname);
		return -1;
	}
	for (size_t i = 0; i < c->nlisten; i++) {
		if (listen_is_implicit_tls(c->listen[i].proto) && c->tls_certificate[0] == '\0') {
			snprintf(err, errlen, "%s: 'listen %s %s' needs tls_certificate and tls_key",
			    fname, c->listen[i].proto, c->listen[i].text);
			return -1;
		}
	}
	if (c->retry_min_ms > c->retry_max_ms) {
		snprintf(err, errlen, "%s: retry_min is larger than retry_max", fname);
		return -1;
	}
	if ((c->relayhost_user[0] != '\0') != (c->relayhost_password_file[0] != '\0') ||
	    (c->relayhost_user[0] && c->relayhost[0] == '\0')) {
		snprintf(err, errlen, "%s: relayhost_user and relayhost_password_file go together, "
		    "and with relayhost", fname);
		return -1;
	}
	if (c->greeting_delay_ms >= c->timeout_command_ms) {
		snprintf(err, errlen, "%s: greeting_delay must be shorter than timeout_command", fname);
		return -1;
	}
	return 0;
}

char *config_read(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_size > CONFIG_MAX_FILE) {
		snprintf(err, errlen, "%s: file larger than %d bytes", path, CONFIG_MAX_FILE);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	*len = got;
	return buf;
}

int config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	size_t got;
	char *buf = config_read(path, &got, err, errlen);
	if (buf == NULL)
		return -1;
	int r = config_parse(buf, got, path, c, err, errlen);
	free(buf);
	if (r < 0)
		return -1;
	char abs[PATH_MAX], dir[PATH_MAX];
	if (realpath(path, abs) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	strlcpy(c->path, abs, sizeof(c->path));
	strlcpy(dir, abs, sizeof(dir));
	strlcpy(c->confdir, dirname(dir), sizeof(c->confdir));
	return 0;
}
