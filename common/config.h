/*
 * config.h: postern.conf, one readable file of "key value" lines.
 * The parser is pure (text in, struct out, "file:line: message" on
 * error) and fuzzed; daemons call config_load as root before chroot.
 */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONFIG_MAX_DOMAINS 64
#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_NETS 64
#define CONFIG_MAX_LINE 1024
#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_GRANTS 256
#define CONFIG_MAX_FORWARD 8          /* "forward" upstreams, all lines together */
#define CONFIG_MAX_INSECURE 16        /* "dns_insecure_domain" names */
#define CONFIG_FORWARD_LEN 64         /* "ADDRESS@PORT" as libunbound takes it */
#define CONFIG_DEFAULT_TRUST_ANCHOR "/usr/share/dns/root.key" /* Debian's dns-root-data */
#define CONFIG_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt" /* Debian's ca-certificates */

struct listen_spec {
	char proto[16];                /* smtp, submission, submissions, pop3, pop3s */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[80];                 /* as written, for logs */
};

/* "sender_grant USER ADDRESS|@DOMAIN": USER may submit mail with that
 * envelope sender (on top of their own addresses and aliases). */
struct sender_grant {
	char user[65];
	char pattern[256];             /* lowercased; "@domain" or "local@domain" */
};

struct netmask {
	int family;
	uint8_t addr[16];
	unsigned bits;
};

struct config {
	char path[PATH_MAX];      /* the file read */
	char confdir[PATH_MAX];   /* its directory: users and aliases live here */
	char hostname[256];
	char domains[CONFIG_MAX_DOMAINS][256];
	size_t ndomains;
	struct listen_spec listen[CONFIG_MAX_LISTEN];
	size_t nlisten;
	char spool[PATH_MAX];
	char mail_root[PATH_MAX];
	char users_file[NAME_MAX + 1];   /* name inside confdir */
	char aliases_file[NAME_MAX + 1]; /* name inside confdir */
	struct netmask relay_nets[CONFIG_MAX_NETS];
	size_t nrelay_nets;
	uint64_t max_message_size;
	uint64_t max_recipients;
	uint64_t max_sessions;
	uint64_t max_sessions_per_ip;
	uint64_t timeout_command_ms;
	uint64_t timeout_data_ms;
	uint64_t greeting_delay_ms;
	uint64_t retry_min_ms;
	uint64_t retry_max_ms;
	uint64_t queue_lifetime_ms;
	uint64_t delay_warning_ms;      /* a delay warning after this long; 0: none */
	uint64_t delivery_concurrency;
	uint64_t timeout_pop3_ms;       /* POP3 idle timeout */
	uint64_t auth_failure_delay_ms; /* first delay after a failed login, doubling per IP */
	uint64_t pop3_command_limit;    /* commands in a row without RETR/TOP */
	bool log_stderr;
	char tls_certificate[PATH_MAX]; /* "" when TLS is not configured */
	char tls_key[PATH_MAX];
	bool auth_loopback_plaintext;   /* passwords without TLS from loopback clients */
	uint64_t auth_failure_limit;    /* failed logins per address before refusing at once */
	bool submission_hide_client;    /* Received: on submission names no client address */
	struct sender_grant grants[CONFIG_MAX_GRANTS];
	size_t ngrants;
	/* resolver: upstreams as "ADDRESS@PORT" (IPv6 without brackets);
	 * none given: the nameservers of /etc/resolv.conf */
	char forward[CONFIG_MAX_FORWARD][CONFIG_FORWARD_LEN];
	size_t nforward;
	uint64_t dns_timeout_ms;          /* per query, then a temporary failure */
	char dns_trust_anchor[PATH_MAX];  /* DS/DNSKEY file; "" = "none": no validation */
	char dns_insecure[CONFIG_MAX_INSECURE][256]; /* no DNSSEC chain expected below these */
	size_t ndns_insecure;
	/* remote delivery (postern-relay) */
	char relay_tls_ca_file[PATH_MAX];     /* CAs to verify MX certificates; "" = none */
	uint64_t relay_timeout_ms;            /* connecting, and waiting for each reply */
	uint64_t relay_concurrency;           /* connections in all */
	uint64_t relay_destination_concurrency; /* connections to one destination */
	char relayhost[256];                  /* "" = MX routing; else a host name or address */
	uint16_t relayhost_port;
	char relayhost_user[256];             /* AUTH PLAIN to the relayhost, "" = none */
	char relayhost_password_file[PATH_MAX];
};

void config_defaults(struct config *c);
/* Parses text (not NUL-terminated). On error returns -1 and writes
 * "fname:line: message" into err. */
int config_parse(const char *text, size_t len, const char *fname,
    struct config *c, char *err, size_t errlen);
/* Reads and parses the file at path (at most CONFIG_MAX_FILE bytes). */
int config_load(const char *path, struct config *c, char *err, size_t errlen);
/* The file's bytes (malloc'd, *len of them, at most CONFIG_MAX_FILE);
 * NULL with "path: reason" in err. */
char *config_read(const char *path, size_t *len, char *err, size_t errlen);

/* SIGHUP (config_reload.c). Takes into cur the keys of fresh that can
 * change while a daemon runs and keeps the others (listen, spool,
 * mail_root, users, aliases, max_sessions, the resolver's and the
 * relayhost's settings, ...). changed gets the names of the keys it
 * took ("domain, max_message_size"), restart those that differ but were
 * kept; "" for none. */
void config_take_live(struct config *cur, const struct config *fresh, char *changed,
    size_t changedlen, char *restart, size_t restartlen);
/* config_parse of text (errors name cur->path), then config_take_live;
 * -1 with "file:line: message" in err when it does not parse, and cur
 * unchanged. */
int config_reload(struct config *cur, const char *text, size_t len, char *changed,
    size_t changedlen, char *restart, size_t restartlen, char *err, size_t errlen);
/* A worker's or helper's side of P_CONFIG: config_reload, logging a
 * failure (the monitor parsed the same bytes, so only memory fails). */
void config_apply_frame(struct config *conf, const uint8_t *p, size_t len);

bool config_is_local_domain(const struct config *c, const char *domain);
/* Whether the listener kind speaks SMTP (smtp, submission, submissions)
 * or starts with TLS (submissions, pop3s). */
bool listen_is_smtp(const char *proto);
bool listen_is_implicit_tls(const char *proto);
/* Whether conf grants user the sender address local@domain (beyond
 * their own addresses; see sender_grant). */
bool config_sender_granted(const struct config *c, const char *user, const char *local,
    const char *domain);
/* How many "listen PROTO ..." lines there are. */
size_t config_count_listen(const struct config *c, const char *proto);
/* True if the address is inside one of relay_nets. */
bool config_is_relay_client(const struct config *c, const struct sockaddr *sa);
bool netmask_parse(const char *s, struct netmask *out);
bool netmask_match(const struct netmask *m, const struct sockaddr *sa);
bool sockaddr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len);
/* A "forward" upstream: IPv4 or [IPv6], optionally "@PORT" (default
 * 53), into libunbound's "ADDRESS@PORT". */
bool forward_parse(const char *s, char out[CONFIG_FORWARD_LEN]);
/* "relayhost" values: HOST, HOST:PORT, [HOST]:PORT or [IPv6]:PORT, HOST
 * a host name or an IPv4 address (IPv6 only in brackets); port 25 when
 * none is given. host gets the name or address without brackets. */
bool relayhost_parse(const char *s, char *host, size_t hostlen, uint16_t *port);

#endif
