/*
 * resolver.c: the DNS daemon's root start-up. Reads the config, the
 * trust anchor (dns_trust_anchor, Debian's /usr/share/dns/root.key by
 * default) and, unless "forward" lines name the upstreams,
 * /etc/resolv.conf; makes <spool>/run and <spool>/empty if missing;
 * binds run/dns.sock (root, mode 0666: the worker checks every peer's
 * uid); then runs the monitor (common/monitor.c), which forks the
 * worker (worker.c) and has no helper. Clients: queued, smtpd, the
 * relay agent and posternctl, over run/dns.sock. Runs as root until the
 * fork; the worker drops to postern-dns in <spool>/empty.
 */
#include "resolver.h"
#include "log.h"
#include "monitor.h"
#include "privsep.h"
#include "proto.h"
#include "tables.h"
#include "usock.h"

#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESOLV_CONF "/etc/resolv.conf"

static struct config conf;
static struct resolver_args args;

static int bind_dns_socket(const struct config *c)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", c->spool, DNS_SOCKET) >= (int)sizeof(path))
		fatalx("spool path too long");
	int fd = usock_listen(path);
	if (fd < 0)
		fatal("listening at %s", path);
	/* Several users (postern-queue, -smtpd, -relay, root) connect and
	 * a process keeps only its own group after privsep_drop, so no one
	 * group can admit them all: the file is open to connect, and the
	 * worker refuses every peer uid not on its list. Unprivileged
	 * (development) the caller alone may connect. */
	if (chmod(path, privsep_enabled() ? 0666 : 0600) < 0)
		fatal("chmod %s", path);
	return fd;
}

static void add_allowed(const char *user)
{
	uid_t uid = privsep_expected_uid(user);
	for (size_t i = 0; i < args.nallowed; i++)
		if (args.allowed[i] == uid)
			return;
	args.allowed[args.nallowed++] = uid;
}

/* A small file named by a path that may be a symlink (resolv.conf
 * often is; read_small_file itself never follows one). */
static char *read_text(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	char real[PATH_MAX];
	if (realpath(path, real) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	return read_small_file(AT_FDCWD, real, max, len, err, errlen);
}

static void load_trust_anchor(void)
{
	char err[512];
	size_t len;
	if (conf.dns_trust_anchor[0] == '\0') {
		log_info("DNSSEC validation off (dns_trust_anchor none)");
		return;
	}
	char *text = read_text(conf.dns_trust_anchor, DNS_TA_FILE_MAX, &len, err, sizeof(err));
	if (text == NULL)
		fatalx("dns_trust_anchor %s: %s (install dns-root-data, or set "
		    "'dns_trust_anchor none' to turn DNSSEC validation off)",
		    conf.dns_trust_anchor, err);
	args.nta = dns_trust_anchor_parse(text, len, args.ta, err, sizeof(err));
	free(text);
	if (args.nta < 0)
		fatalx("dns_trust_anchor %s: %s", conf.dns_trust_anchor, err);
	log_info("DNSSEC validation on: %d trust anchor record(s) from %s", args.nta,
	    conf.dns_trust_anchor);
}

static void load_upstreams(void)
{
	char err[512];
	size_t len;
	if (conf.nforward > 0) {
		for (size_t i = 0; i < conf.nforward; i++)
			strlcpy(args.upstream[i], conf.forward[i], sizeof(args.upstream[i]));
		args.nupstream = conf.nforward;
	} else {
		char *text = read_text(RESOLV_CONF, 65536, &len, err, sizeof(err));
		if (text == NULL)
			fatalx("no 'forward' in %s, and %s: %s", conf.path, RESOLV_CONF, err);
		args.nupstream = dns_resolvconf_parse(text, len, args.upstream,
		    RESOLVER_MAX_UPSTREAMS);
		free(text);
		if (args.nupstream == 0)
			fatalx("no 'forward' in %s and no usable nameserver in %s", conf.path,
			    RESOLV_CONF);
	}
	char list[RESOLVER_MAX_UPSTREAMS * (DNS_ADDR_TEXT + 1)] = "";
	for (size_t i = 0; i < args.nupstream; i++) {
		if (i)
			strlcat(list, " ", sizeof(list));
		strlcat(list, args.upstream[i], sizeof(list));
	}
	log_info("upstream%s (%s): %s", args.nupstream == 1 ? "" : "s",
	    conf.nforward ? "forward" : RESOLV_CONF, list);
}

int main(int argc, char **argv)
{
	daemon_start(argc, argv, "resolver", &conf);
	/* fail early on a missing system user, before forking anything */
	(void)privsep_expected_uid(USER_DNS);
	if (privsep_enabled()) {
		args.allowed[args.nallowed++] = 0; /* posternctl resolve */
		add_allowed(USER_QUEUE);
		add_allowed(USER_SMTPD);
		/* not postern-relay: its connections are opened by the queue
		 * manager (postern-queue) and passed to it */
	} else {
		args.allowed[args.nallowed++] = geteuid();
	}
	umask(077);
	privsep_ensure_dir(conf.spool, "", NULL, 0755);
	privsep_ensure_dir(conf.spool, "run", NULL, 0755);
	privsep_ensure_dir(conf.spool, "empty", NULL, 0555);
	load_trust_anchor();
	load_upstreams();
	args.conf = &conf;
	args.listen_fd = bind_dns_socket(&conf);
	log_info("starting; config %s", conf.path);
	struct monitor_spec spec = {
		.worker_title = "postern-resolver: worker",
		.worker_main = resolver_worker_main,
		.worker_arg = &args,
		.worker_keep_fds = &args.listen_fd,
		.worker_nkeep = 1,
		.conf = &conf,
	};
	return monitor_run(&spec);
}
