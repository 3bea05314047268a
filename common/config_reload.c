/*
 * config_reload.c: what a SIGHUP changes. The root monitor re-reads
 * postern.conf and passes its bytes down (P_CONFIG) to its worker,
 * which passes them on to its helpers; every process that holds a copy
 * of the configuration parses them with config_parse and takes the keys
 * that can change while it runs. Keys that decide sockets, directories,
 * files opened at start, privileges or tables sized at start keep their
 * running value and are named, so the log can say which changes need a
 * restart. Because a process takes only live keys from the bytes, a
 * helper gains nothing from its (less trusted) worker forging them: no
 * user, socket or file a helper opens comes from a reload (the live
 * tls_certificate and tls_key paths are opened by the root monitor
 * alone, from its own read of the file). Pure but for
 * config_apply_frame's log line; runs in any process.
 */
#include "config.h"
#include "log.h"

#include <bsd/string.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum reload_kind {
	LIVE,    /* taken at once */
	RESTART, /* kept until the daemon restarts */
	TLS,     /* live while TLS stays on; turning it on or off needs a restart */
};

struct reload_key {
	const char *name; /* as written in postern.conf */
	size_t off, size;
	enum reload_kind kind;
};

#define KEY(name, field, kind) \
	{ name, offsetof(struct config, field), sizeof(((struct config *)0)->field), kind }

/* Every field of struct config but path and confdir (which name the
 * file itself). A list and its count share one name. */
static const struct reload_key keys[] = {
	KEY("hostname", hostname, LIVE),
	KEY("domain", domains, LIVE),
	KEY("domain", ndomains, LIVE),
	KEY("listen", listen, RESTART),
	KEY("listen", nlisten, RESTART),
	KEY("spool", spool, RESTART),
	KEY("mail_root", mail_root, RESTART),
	KEY("users", users_file, RESTART),
	KEY("aliases", aliases_file, RESTART),
	KEY("relay_networks", relay_nets, LIVE),
	KEY("relay_networks", nrelay_nets, LIVE),
	KEY("max_message_size", max_message_size, LIVE),
	KEY("max_recipients", max_recipients, LIVE),
	KEY("max_sessions", max_sessions, RESTART),
	KEY("max_sessions_per_ip", max_sessions_per_ip, LIVE),
	KEY("timeout_command", timeout_command_ms, LIVE),
	KEY("timeout_data", timeout_data_ms, LIVE),
	KEY("greeting_delay", greeting_delay_ms, LIVE),
	KEY("retry_min", retry_min_ms, LIVE),
	KEY("retry_max", retry_max_ms, LIVE),
	KEY("queue_lifetime", queue_lifetime_ms, LIVE),
	KEY("delay_warning", delay_warning_ms, LIVE),
	KEY("delivery_concurrency", delivery_concurrency, LIVE),
	KEY("timeout_pop3", timeout_pop3_ms, LIVE),
	KEY("auth_failure_delay", auth_failure_delay_ms, RESTART),
	KEY("pop3_command_limit", pop3_command_limit, LIVE),
	KEY("log", log_stderr, RESTART),
	KEY("tls_certificate", tls_certificate, TLS),
	KEY("tls_key", tls_key, TLS),
	KEY("auth_loopback_plaintext", auth_loopback_plaintext, LIVE),
	KEY("auth_failure_limit", auth_failure_limit, RESTART),
	KEY("submission_hide_client", submission_hide_client, LIVE),
	KEY("sender_grant", grants, LIVE),
	KEY("sender_grant", ngrants, LIVE),
	KEY("forward", forward, RESTART),
	KEY("forward", nforward, RESTART),
	KEY("dns_timeout", dns_timeout_ms, LIVE),
	KEY("dns_trust_anchor", dns_trust_anchor, RESTART),
	KEY("dns_insecure_domain", dns_insecure, RESTART),
	KEY("dns_insecure_domain", ndns_insecure, RESTART),
	KEY("relay_tls_ca_file", relay_tls_ca_file, RESTART),
	KEY("relay_timeout", relay_timeout_ms, LIVE),
	KEY("relay_concurrency", relay_concurrency, LIVE),
	KEY("relay_destination_concurrency", relay_destination_concurrency, LIVE),
	KEY("relayhost", relayhost, RESTART),
	KEY("relayhost", relayhost_port, RESTART),
	KEY("relayhost_user", relayhost_user, RESTART),
	KEY("relayhost_password_file", relayhost_password_file, RESTART),
};

/* Appends name to the list in out unless it ends it already (a list and
 * its count). A list that does not fit ends in "...", never cut silently. */
static void add_name(char *out, size_t outlen, const char *name)
{
	if (outlen == 0)
		return;
	size_t have = strlen(out), nl = strlen(name);
	if (have >= nl && strcmp(out + have - nl, name) == 0 &&
	    (have == nl || out[have - nl - 1] == ' '))
		return;
	if (have > 0 && strlcat(out, ", ", outlen) >= outlen)
		goto full;
	if (strlcat(out, name, outlen) >= outlen)
		goto full;
	return;
full:
	if (outlen > 4)
		strlcpy(out + outlen - 4, "...", 4);
}

void config_take_live(struct config *cur, const struct config *fresh, char *changed,
    size_t changedlen, char *restart, size_t restartlen)
{
	bool tls_stays = cur->tls_certificate[0] && fresh->tls_certificate[0];
	if (changedlen)
		changed[0] = '\0';
	if (restartlen)
		restart[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct reload_key *k = &keys[i];
		char *to = (char *)cur + k->off;
		const char *from = (const char *)fresh + k->off;
		if (memcmp(to, from, k->size) == 0)
			continue;
		if (k->kind == LIVE || (k->kind == TLS && tls_stays)) {
			memcpy(to, from, k->size);
			add_name(changed, changedlen, k->name);
		} else {
			add_name(restart, restartlen, k->name);
		}
	}
}

int config_reload(struct config *cur, const char *text, size_t len, char *changed,
    size_t changedlen, char *restart, size_t restartlen, char *err, size_t errlen)
{
	struct config *fresh = malloc(sizeof(*fresh));
	if (fresh == NULL) {
		strlcpy(err, "out of memory", errlen);
		return -1;
	}
	int r = config_parse(text, len, cur->path, fresh, err, errlen);
	if (r == 0)
		config_take_live(cur, fresh, changed, changedlen, restart, restartlen);
	free(fresh);
	return r;
}

void config_apply_frame(struct config *conf, const uint8_t *p, size_t len)
{
	char err[1024], changed[1024], restart[1024];
	/* the monitor parsed these very bytes: failing here means memory */
	if (config_reload(conf, (const char *)p, len, changed, sizeof(changed), restart,
	    sizeof(restart), err, sizeof(err)) < 0)
		log_warnx("new configuration not taken: %s", err);
	else if (changed[0])
		log_debug("configuration reloaded; changed: %s", changed);
}
