/*
 * fuzz_config.c: libFuzzer target for common/config.c: config_parse on
 * the whole input (errors must be "file:..." and NUL-terminated, a good
 * parse must respect every limit), plus netmask_parse / netmask_match
 * and sockaddr_parse on the first line; and config_reload of the input
 * onto a fixed configuration, which must keep every restart-only key
 * and name what it changed in NUL-terminated lists.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static struct config conf, running, before;

static const char base_text[] =
    "domain example.org\nlisten smtp 127.0.0.1:25\nspool /var/spool/postern\n"
    "tls_certificate /etc/c.pem\ntls_key /etc/c.key\n";

static void check_reload(const uint8_t *data, size_t size)
{
	char err[256], changed[64], restart[64];
	if (running.ndomains == 0 &&
	    config_parse(base_text, sizeof(base_text) - 1, "base", &running, err, sizeof(err)) < 0)
		abort();
	memcpy(&before, &running, sizeof(before));
	memset(changed, 0x7f, sizeof(changed));
	memset(restart, 0x7f, sizeof(restart));
	if (config_reload(&running, (const char *)data, size, changed, sizeof(changed), restart,
	    sizeof(restart), err, sizeof(err)) < 0) {
		if (memcmp(&before, &running, sizeof(before)) != 0)
			abort();
		return;
	}
	if (memchr(changed, '\0', sizeof(changed)) == NULL ||
	    memchr(restart, '\0', sizeof(restart)) == NULL ||
	    memcmp(running.listen, before.listen, sizeof(before.listen)) != 0 ||
	    strcmp(running.spool, before.spool) != 0 || strcmp(running.mail_root, before.mail_root) != 0 ||
	    running.max_sessions != before.max_sessions || strcmp(running.relayhost, before.relayhost) != 0)
		abort();
	memcpy(&running, &before, sizeof(running));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	check_reload(data, size);
	memset(err, 0x7f, sizeof(err));
	if (config_parse((const char *)data, size, "fuzz.conf", &conf, err, sizeof(err)) < 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL || strncmp(err, "fuzz.conf", 9) != 0)
			abort();
	} else {
		if (conf.ndomains == 0 || conf.ndomains > CONFIG_MAX_DOMAINS ||
		    conf.nlisten == 0 || conf.nlisten > CONFIG_MAX_LISTEN ||
		    conf.nrelay_nets > CONFIG_MAX_NETS ||
		    conf.retry_min_ms > conf.retry_max_ms ||
		    conf.max_recipients < 1 || conf.max_recipients > 1000 ||
		    conf.max_message_size < 1024 || conf.max_message_size > (2ULL << 30) ||
		    conf.spool[0] != '/' || conf.mail_root[0] != '/' ||
		    strchr(conf.users_file, '/') != NULL || strchr(conf.aliases_file, '/') != NULL)
			abort();
		for (size_t i = 0; i < conf.ndomains; i++)
			if (!config_is_local_domain(&conf, conf.domains[i]))
				abort();
		for (size_t i = 0; i < conf.nlisten; i++) {
			int fam = conf.listen[i].addr.ss_family;
			if ((fam == AF_INET && conf.listen[i].addrlen != sizeof(struct sockaddr_in)) ||
			    (fam == AF_INET6 && conf.listen[i].addrlen != sizeof(struct sockaddr_in6)) ||
			    (fam != AF_INET && fam != AF_INET6))
				abort();
			(void)config_is_relay_client(&conf, (const struct sockaddr *)&conf.listen[i].addr);
		}
	}

	/* the first line, NUL-terminated, as a netmask and a socket address */
	char line[128];
	size_t n = 0;
	while (n < size && n < sizeof(line) - 1 && data[n] != '\n')
		n++;
	memcpy(line, data, n);
	line[n] = '\0';
	struct netmask m;
	if (netmask_parse(line, &m)) {
		if ((m.family == AF_INET && m.bits > 32) || (m.family == AF_INET6 && m.bits > 128) ||
		    (m.family != AF_INET && m.family != AF_INET6))
			abort();
		/* a network contains its own address */
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)m.family;
		if (m.family == AF_INET)
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr, m.addr, 4);
		else
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, m.addr, 16);
		if (!netmask_match(&m, (const struct sockaddr *)&ss))
			abort();
	}
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	if (sockaddr_parse(line, &ss, &sl)) {
		if (ss.ss_family == AF_INET) {
			if (sl != sizeof(struct sockaddr_in) || ((struct sockaddr_in *)&ss)->sin_port == 0)
				abort();
		} else if (ss.ss_family == AF_INET6) {
			if (sl != sizeof(struct sockaddr_in6) || ((struct sockaddr_in6 *)&ss)->sin6_port == 0)
				abort();
		} else {
			abort();
		}
	}
	return 0;
}
