/*
 * test_config.c: unit tests for common/config.c: config_parse (every
 * key and its range, "file:line: message" errors, unknown keys,
 * duplicates, comments, line limits, required keys), config_load,
 * netmask_parse / netmask_match / config_is_relay_client,
 * config_is_local_domain and sockaddr_parse; the resolver's keys
 * (forward, dns_timeout, dns_trust_anchor, dns_insecure_domain) and
 * forward_parse, relayhost_parse; what a SIGHUP takes
 * (config_reload.c: config_reload, config_take_live).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "config.h"

#define BASE "domain example.org\nlisten smtp 127.0.0.1:2525\n"

static struct config conf; /* large: keep it off the stack */
static char err[1024];

static int parse(const char *text)
{
	err[0] = '\0';
	return config_parse(text, strlen(text), "test.conf", &conf, err, sizeof(err));
}

static void parse_ok(const char *text)
{
	int r = parse(text);
	if (r != 0)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(r, 0);
}

/* Expects an error whose text starts with want. */
static void parse_err(const char *text, const char *want)
{
	assert_int_equal(parse(text), -1);
	if (strncmp(err, want, strlen(want)) != 0)
		print_error("error '%s', want prefix '%s'\n", err, want);
	assert_true(strncmp(err, want, strlen(want)) == 0);
}

/* BASE plus one more line: the extra line is line 3. */
static int parse_extra(const char *line)
{
	char text[4096];
	snprintf(text, sizeof(text), BASE "%s\n", line);
	return parse(text);
}

static void extra_ok(const char *line)
{
	int r = parse_extra(line);
	if (r != 0)
		print_error("'%s': unexpected error: %s\n", line, err);
	assert_int_equal(r, 0);
}

static void extra_err(const char *line)
{
	int r = parse_extra(line);
	if (r != -1)
		print_error("'%s' was accepted\n", line);
	assert_int_equal(r, -1);
	assert_true(strncmp(err, "test.conf:3: ", 13) == 0);
}

static void test_minimal_and_defaults(void **state)
{
	(void)state;
	parse_ok(BASE);
	assert_int_equal(conf.ndomains, 1);
	assert_string_equal(conf.domains[0], "example.org");
	assert_int_equal(conf.nlisten, 1);
	assert_string_equal(conf.listen[0].proto, "smtp");
	assert_string_equal(conf.listen[0].text, "127.0.0.1:2525");
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&conf.listen[0].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 2525);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(conf.listen[0].addrlen, sizeof(struct sockaddr_in));

	assert_string_equal(conf.hostname, "localhost");
	assert_string_equal(conf.spool, "/var/spool/postern");
	assert_string_equal(conf.mail_root, "/var/mail/postern");
	assert_string_equal(conf.users_file, "users");
	assert_string_equal(conf.aliases_file, "aliases");
	assert_int_equal(conf.max_message_size, 35ULL * 1024 * 1024);
	assert_int_equal(conf.max_recipients, 100);
	assert_int_equal(conf.max_sessions, 1000);
	assert_int_equal(conf.max_sessions_per_ip, 50);
	assert_int_equal(conf.timeout_command_ms, 300000);
	assert_int_equal(conf.timeout_data_ms, 180000);
	assert_int_equal(conf.greeting_delay_ms, 0);
	assert_int_equal(conf.retry_min_ms, 300000);
	assert_int_equal(conf.retry_max_ms, 4ULL * 3600 * 1000);
	assert_int_equal(conf.queue_lifetime_ms, 5ULL * 86400 * 1000);
	assert_int_equal(conf.delivery_concurrency, 32);
	assert_int_equal(conf.timeout_pop3_ms, 600000); /* RFC 1939's ten minutes */
	assert_int_equal(conf.auth_failure_delay_ms, 1000);
	assert_int_equal(conf.pop3_command_limit, 1000);
	assert_true(conf.auth_loopback_plaintext);
	assert_false(conf.log_stderr);
	assert_int_equal(conf.nrelay_nets, 0);
}

static void test_every_key(void **state)
{
	(void)state;
	parse_ok(
	    "# a full configuration\n"
	    "hostname mx.Example.org\n"
	    "domains example.org Example.NET\n"
	    "domain example.com\n"
	    "listen smtp 0.0.0.0:25\n"
	    "listen smtp [::1]:587\n"
	    "listen pop3 127.0.0.1:110\n"
	    "spool /srv/spool\n"
	    "mail_root /srv/mail\n"
	    "users users.db\n"
	    "aliases aliases.db\n"
	    "relay_networks 127.0.0.0/8 ::1 10.1.0.0/16\n"
	    "max_message_size 10M\n"
	    "max_recipients 500\n"
	    "max_sessions 2000\n"
	    "max_sessions_per_ip 7\n"
	    "timeout_command 5m\n"
	    "timeout_data 90s\n"
	    "greeting_delay 1500ms\n"
	    "retry_min 1m\n"
	    "retry_max 2h\n"
	    "queue_lifetime 3d\n"
	    "delivery_concurrency 4\n"
	    "timeout_pop3 20m\n"
	    "auth_failure_delay 2s\n"
	    "pop3_command_limit 50\n"
	    "log stderr\n");
	assert_string_equal(conf.hostname, "mx.Example.org");
	assert_int_equal(conf.ndomains, 3);
	assert_string_equal(conf.domains[0], "example.org");
	assert_string_equal(conf.domains[1], "example.net"); /* lower-cased */
	assert_string_equal(conf.domains[2], "example.com");
	assert_int_equal(conf.nlisten, 3);
	assert_string_equal(conf.listen[2].proto, "pop3");
	assert_int_equal(config_count_listen(&conf, "smtp"), 2);
	assert_int_equal(config_count_listen(&conf, "pop3"), 1);
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&conf.listen[1].addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 587);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_int_equal(conf.listen[1].addrlen, sizeof(struct sockaddr_in6));
	assert_string_equal(conf.listen[1].text, "[::1]:587");
	assert_string_equal(conf.spool, "/srv/spool");
	assert_string_equal(conf.mail_root, "/srv/mail");
	assert_string_equal(conf.users_file, "users.db");
	assert_string_equal(conf.aliases_file, "aliases.db");
	assert_int_equal(conf.nrelay_nets, 3);
	assert_int_equal(conf.relay_nets[0].family, AF_INET);
	assert_int_equal(conf.relay_nets[0].bits, 8);
	assert_int_equal(conf.relay_nets[1].family, AF_INET6);
	assert_int_equal(conf.relay_nets[1].bits, 128);
	assert_int_equal(conf.relay_nets[2].bits, 16);
	assert_int_equal(conf.max_message_size, 10ULL * 1024 * 1024);
	assert_int_equal(conf.max_recipients, 500);
	assert_int_equal(conf.max_sessions, 2000);
	assert_int_equal(conf.max_sessions_per_ip, 7);
	assert_int_equal(conf.timeout_command_ms, 300000);
	assert_int_equal(conf.timeout_data_ms, 90000);
	assert_int_equal(conf.greeting_delay_ms, 1500);
	assert_int_equal(conf.retry_min_ms, 60000);
	assert_int_equal(conf.retry_max_ms, 7200000);
	assert_int_equal(conf.queue_lifetime_ms, 3ULL * 86400 * 1000);
	assert_int_equal(conf.delivery_concurrency, 4);
	assert_int_equal(conf.timeout_pop3_ms, 1200000);
	assert_int_equal(conf.auth_failure_delay_ms, 2000);
	assert_int_equal(conf.pop3_command_limit, 50);
	assert_true(conf.log_stderr);

	extra_ok("log syslog");
	assert_false(conf.log_stderr);
}

static void test_layout(void **state)
{
	(void)state;
	/* comments, blank lines, tabs, CRLF, no final newline */
	parse_ok("\n# comment\n   \n\t# indented comment\r\n"
	    "domain\texample.org   # trailing comment\r\n"
	    "\t listen  smtp \t 127.0.0.1:25\r\n"
	    "max_recipients 9");
	assert_string_equal(conf.domains[0], "example.org");
	assert_int_equal(conf.max_recipients, 9);
	/* a '#' inside a word is not a comment */
	parse_err(BASE "hostname a#b\n", "test.conf:3: hostname:");
	/* an empty text has no domain */
	parse_err("", "test.conf: no 'domain' given");
}

static void test_errors_have_file_and_line(void **state)
{
	(void)state;
	parse_err(BASE "\n# c\nbogus_key 1\n", "test.conf:5: unknown key 'bogus_key'");
	parse_err("bogus 1\n" BASE, "test.conf:1: unknown key 'bogus'");
	parse_err("Domain example.org\n", "test.conf:1: unknown key 'Domain'");
	parse_err(BASE "max_recipients 5\nmax_recipients 6\n", "test.conf:4: max_recipients: given twice");
	parse_err(BASE "max_recipients 5 6\n", "test.conf:3: max_recipients: expected exactly one value");
	parse_err(BASE "max_recipients\n", "test.conf:3: max_recipients: expected exactly one value");
	parse_err(BASE "domain example.net EXAMPLE.org\n", "test.conf:3: domain: 'EXAMPLE.org' listed twice");
	parse_err(BASE "domain\n", "test.conf:3: domain: needs at least one domain");
	parse_err(BASE "max_recipients 0\n",
	    "test.conf:3: max_recipients: '0' is not a number from 1 to 1000");
	parse_err(BASE "listen smtp 127.0.0.1\n",
	    "test.conf:3: listen: '127.0.0.1' is not IPv4:PORT or [IPv6]:PORT");

	/* the error buffer is never overrun, even when small */
	char small[16];
	memset(small, 'x', sizeof(small));
	const char *t = "a_very_long_unknown_key_name 1\n";
	assert_int_equal(config_parse(t, strlen(t), "test.conf", &conf, small, sizeof(small)), -1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_string_equal(small, "test.conf:1: un");
}

static void test_scalar_ranges(void **state)
{
	(void)state;
	static const struct { const char *line; bool ok; } cases[] = {
		{ "max_message_size 1024", true }, { "max_message_size 1k", true },
		{ "max_message_size 1023", false }, { "max_message_size 2G", true },
		{ "max_message_size 2049M", false }, { "max_message_size 3G", false },
		{ "max_message_size 0", false }, { "max_message_size 10X", false },
		{ "max_message_size -1", false }, { "max_message_size 1.5M", false },
		{ "max_recipients 1", true }, { "max_recipients 1000", true },
		{ "max_recipients 0", false }, { "max_recipients 1001", false },
		{ "max_recipients 10k", false }, { "max_recipients -5", false },
		{ "max_sessions 1", true }, { "max_sessions 100000", true },
		{ "max_sessions 0", false }, { "max_sessions 100001", false },
		{ "max_sessions_per_ip 1", true }, { "max_sessions_per_ip 100000", true },
		{ "max_sessions_per_ip 0", false }, { "max_sessions_per_ip 100001", false },
		{ "timeout_command 1s", true }, { "timeout_command 1000ms", true },
		{ "timeout_command 999ms", false }, { "timeout_command 1h", true },
		{ "timeout_command 3601s", false }, { "timeout_command 61m", false },
		{ "timeout_command 0", false }, { "timeout_command 5x", false },
		{ "timeout_data 1", true }, { "timeout_data 60m", true },
		{ "timeout_data 2h", false }, { "timeout_data 0s", false },
		{ "greeting_delay 0", true }, { "greeting_delay 60s", true },
		{ "greeting_delay 60001ms", false }, { "greeting_delay 1m", true },
		{ "greeting_delay 2m", false },
		{ "retry_min 1s", true }, { "retry_min 999ms", false },
		{ "retry_min 1d", false }, /* above the default retry_max: see below */
		{ "retry_min 25h", false },
		{ "retry_max 1s", false }, /* below the default retry_min */
		{ "retry_max 5m", true }, { "retry_max 7d", true },
		{ "retry_max 8d", false }, { "retry_max 0", false },
		{ "queue_lifetime 5s", true }, { "queue_lifetime 4s", false },
		{ "delay_warning 0", true }, { "delay_warning 4h", true }, { "delay_warning 61d", false },
		{ "queue_lifetime 60d", true }, { "queue_lifetime 61d", false },
		{ "queue_lifetime 5d", true },
		{ "delivery_concurrency 1", true }, { "delivery_concurrency 1024", true },
		{ "delivery_concurrency 0", false }, { "delivery_concurrency 1025", false },
		{ "timeout_pop3 1s", true }, { "timeout_pop3 999ms", false },
		{ "timeout_pop3 24h", true }, { "timeout_pop3 25h", false },
		{ "auth_failure_delay 0", true }, { "auth_failure_delay 60s", true },
		{ "auth_failure_delay 61s", false }, { "auth_failure_delay x", false },
		{ "pop3_command_limit 10", true }, { "pop3_command_limit 9", false },
		{ "pop3_command_limit 1000000", true }, { "pop3_command_limit 1000001", false },
		{ "log stderr", true }, { "log syslog", true }, { "log file", false },
		{ "log", false }, { "log stderr syslog", false }, { "log STDERR", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse_extra(cases[i].line);
		if ((r == 0) != cases[i].ok)
			print_error("'%s': got %d (%s)\n", cases[i].line, r, err);
		assert_int_equal(r == 0, cases[i].ok);
	}
	/* the limits themselves land in the struct */
	extra_ok("max_message_size 2G");
	assert_int_equal(conf.max_message_size, 2ULL << 30);
	extra_ok("queue_lifetime 60d");
	assert_int_equal(conf.queue_lifetime_ms, 60ULL * 86400 * 1000);

	/* retry_min may not exceed retry_max, whichever order they come in */
	parse_ok(BASE "retry_min 1d\nretry_max 1d\n");
	assert_int_equal(conf.retry_min_ms, 86400000);
	parse_err(BASE "retry_max 1h\nretry_min 2h\n", "test.conf: retry_min is larger than retry_max");
	parse_err(BASE "retry_min 1d\n", "test.conf: retry_min is larger than retry_max");
}

static void test_strings_and_paths(void **state)
{
	(void)state;
	extra_ok("hostname mail.example.org");
	assert_string_equal(conf.hostname, "mail.example.org");
	extra_ok("hostname localhost");
	extra_ok("hostname a-b.c9");
	extra_err("hostname mail..example.org");
	extra_err("hostname .example.org");
	extra_err("hostname example.org.");
	extra_err("hostname exa_mple.org");
	extra_err("hostname ex\xc3\xa4mple.org");
	extra_err("hostname [127.0.0.1]");
	extra_err("hostname a b");
	char line[600], label[70];
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(line, sizeof(line), "hostname %s.org", label);
	extra_ok(line);
	snprintf(line, sizeof(line), "hostname a%s.org", label);
	extra_err(line);
	/* at most 253 octets */
	snprintf(line, sizeof(line), "hostname %s.%s.%s.%.61s", label, label, label, label);
	extra_ok(line);
	snprintf(line, sizeof(line), "hostname %s.%s.%s.%.62s", label, label, label, label);
	extra_err(line);

	extra_ok("spool /");
	extra_err("spool relative/path");
	extra_err("spool ./x");
	extra_err("mail_root ~/mail");
	char longpath[PATH_MAX + 8];
	memset(longpath, 'p', sizeof(longpath));
	longpath[0] = '/';
	longpath[PATH_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "spool %.500s", longpath);
	extra_ok(line); /* 500 bytes: fine */

	extra_ok("users my-users");
	assert_string_equal(conf.users_file, "my-users");
	extra_err("users /etc/shadow");
	extra_err("users ../users");
	extra_err("users sub/users");
	extra_err("users .");
	extra_err("users ..");
	extra_err("aliases a/b");
	extra_ok("aliases ...");
	char name[300];
	memset(name, 'n', sizeof(name));
	name[NAME_MAX] = '\0';
	snprintf(line, sizeof(line), "aliases %s", name);
	extra_ok(line);
	name[NAME_MAX] = 'n';
	name[NAME_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "aliases %s", name);
	extra_err(line);
}

static void test_domains(void **state)
{
	(void)state;
	extra_err("domain bad_domain.org");
	extra_err("domain example.org."); /* trailing dot */
	extra_err("domain Example.ORG");  /* twice, case-insensitively */
	parse_err("domain a.example a.example\n", "test.conf:1: domain: 'a.example' listed twice");

	/* at most CONFIG_MAX_DOMAINS */
	char text[8192];
	size_t n = 0;
	/* (a line holds at most 64 words: two lines of 32) */
	n += (size_t)snprintf(text + n, sizeof(text) - n, "listen smtp 127.0.0.1:25\n");
	for (int i = 0; i < CONFIG_MAX_DOMAINS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s d%d.example%s",
		    i % 32 == 0 ? "domains" : "", i, i % 32 == 31 ? "\n" : "");
	parse_ok(text);
	assert_int_equal(conf.ndomains, CONFIG_MAX_DOMAINS);
	assert_string_equal(conf.domains[CONFIG_MAX_DOMAINS - 1], "d63.example");
	snprintf(text + n, sizeof(text) - n, "domain one-more.example\n");
	parse_err(text, "test.conf:4: too many domains");

	parse_ok(BASE "domain Sub.Example.NET\n");
	assert_true(config_is_local_domain(&conf, "example.org"));
	assert_true(config_is_local_domain(&conf, "EXAMPLE.ORG"));
	assert_true(config_is_local_domain(&conf, "sub.example.net"));
	assert_false(config_is_local_domain(&conf, "example.net"));
	assert_false(config_is_local_domain(&conf, "org"));
	assert_false(config_is_local_domain(&conf, ""));
}

static void test_listen(void **state)
{
	(void)state;
	extra_ok("listen smtp [::]:25");
	assert_int_equal(conf.nlisten, 2);
	extra_ok("listen smtp 0.0.0.0:65535");
	extra_err("listen smtp 0.0.0.0:0");
	extra_err("listen smtp 0.0.0.0:65536");
	extra_err("listen smtp 0.0.0.0:");
	extra_err("listen smtp :25");
	extra_err("listen smtp localhost:25");
	extra_err("listen smtp [::1]");
	extra_err("listen smtp [::1]25");
	extra_err("listen smtp [nothost]:25");
	extra_err("listen smtp ::1:25");      /* IPv6 needs brackets */
	extra_err("listen smtp ::1");
	extra_err("listen smtp 1.2.3.4:25x");
	extra_err("listen smtp 1.2.3.4:+25");
	extra_ok("listen pop3 1.2.3.4:110");
	assert_string_equal(conf.listen[1].proto, "pop3");
	extra_err("listen imap 1.2.3.4:143");
	extra_err("listen SMTP 1.2.3.4:25");
	/* one address, one service */
	extra_err("listen pop3 127.0.0.1:2525");
	extra_ok("listen pop3 127.0.0.2:2525");
	extra_err("listen smtp");
	extra_err("listen 1.2.3.4:25");
	extra_err("listen smtp 1.2.3.4:25 extra");

	/* at most CONFIG_MAX_LISTEN */
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof(text), "domain example.org\n");
	for (int i = 0; i < CONFIG_MAX_LISTEN; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "listen smtp 127.0.0.1:%d\n", 2500 + i);
	parse_ok(text);
	assert_int_equal(conf.nlisten, CONFIG_MAX_LISTEN);
	snprintf(text + n, sizeof(text) - n, "listen smtp 127.0.0.1:9\n");
	parse_err(text, "test.conf:10: listen: too many listeners");

	parse_err("domain example.org\n", "test.conf: no 'listen smtp' (or submission, submissions) given");
	parse_err("domain example.org\nlisten pop3 127.0.0.1:110\n", "test.conf: no 'listen smtp'");
	/* a submission-only host is fine */
	parse_ok("domain example.org\nlisten submission 127.0.0.1:587\n");
	assert_true(listen_is_smtp(conf.listen[0].proto));
	assert_false(listen_is_implicit_tls(conf.listen[0].proto));
	/* TLS from the first byte needs a certificate */
	parse_err("domain example.org\nlisten submissions 127.0.0.1:465\n",
	    "test.conf: 'listen submissions 127.0.0.1:465' needs tls_certificate and tls_key");
	parse_err("domain example.org\nlisten smtp 127.0.0.1:25\nlisten pop3s 127.0.0.1:995\n",
	    "test.conf: 'listen pop3s 127.0.0.1:995' needs tls_certificate and tls_key");
	parse_ok("domain example.org\nlisten submissions 127.0.0.1:465\nlisten pop3s 127.0.0.1:995\n"
	    "tls_certificate /etc/ssl/c.pem\ntls_key /etc/ssl/k.pem\n");
	assert_true(listen_is_implicit_tls(conf.listen[0].proto));
	assert_true(listen_is_implicit_tls(conf.listen[1].proto));
	assert_false(listen_is_smtp(conf.listen[1].proto));
	assert_string_equal(conf.tls_certificate, "/etc/ssl/c.pem");
	assert_string_equal(conf.tls_key, "/etc/ssl/k.pem");
	parse_err(BASE "tls_certificate /etc/ssl/c.pem\n", "test.conf: tls_certificate and tls_key go together");
	parse_err(BASE "tls_key /etc/ssl/k.pem\n", "test.conf: tls_certificate and tls_key go together");
	extra_err("tls_certificate relative.pem");
	extra_err("listen smtps 127.0.0.1:465");
}

static void test_tls_and_auth_keys(void **state)
{
	(void)state;
	parse_ok(BASE);
	assert_string_equal(conf.tls_certificate, "");
	assert_true(conf.auth_loopback_plaintext);
	assert_int_equal(conf.auth_failure_limit, 20);
	assert_true(conf.submission_hide_client);
	extra_ok("auth_loopback_plaintext no\nsubmission_hide_client no\nauth_failure_limit 0");
	assert_false(conf.auth_loopback_plaintext);
	assert_false(conf.submission_hide_client);
	assert_int_equal(conf.auth_failure_limit, 0);
	extra_err("auth_loopback_plaintext maybe");
	extra_err("auth_loopback_plaintext YES");
	extra_err("auth_loopback_plaintext");
	extra_err("auth_failure_limit 1000001");
	parse_err(BASE "submission_hide_client no\nsubmission_hide_client yes\n",
	    "test.conf:4: submission_hide_client: given twice");
}

static void test_sender_grants(void **state)
{
	(void)state;
	extra_ok("sender_grant alice @Partner.Example\nsender_grant bob News@example.org");
	assert_int_equal(conf.ngrants, 2);
	assert_string_equal(conf.grants[0].pattern, "@partner.example");
	assert_true(config_sender_granted(&conf, "alice", "anyone", "partner.example"));
	assert_true(config_sender_granted(&conf, "alice", "x", "PARTNER.example"));
	assert_false(config_sender_granted(&conf, "alice", "x", "sub.partner.example"));
	assert_false(config_sender_granted(&conf, "bob", "anyone", "partner.example"));
	assert_true(config_sender_granted(&conf, "bob", "news", "example.org"));
	assert_true(config_sender_granted(&conf, "bob", "NEWS", "example.org"));
	assert_false(config_sender_granted(&conf, "bob", "new", "example.org"));
	assert_false(config_sender_granted(&conf, "bob", "newsx", "example.org"));
	assert_false(config_sender_granted(&conf, "alice", "news", "example.org"));
	extra_err("sender_grant alice");
	extra_err("sender_grant alice partner.example");      /* no @ */
	extra_err("sender_grant alice @");
	extra_err("sender_grant alice @bad_domain");
	extra_err("sender_grant Alice! @partner.example");
	extra_err("sender_grant alice <x@partner.example>");
	extra_err("sender_grant alice x@partner.example extra");
	/* bounded */
	char text[65536];
	size_t n = (size_t)snprintf(text, sizeof(text), BASE);
	for (int i = 0; i <= CONFIG_MAX_GRANTS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "sender_grant alice u%d@example.org\n", i);
	parse_err(text, "test.conf:");
	assert_non_null(strstr(err, "too many grants"));
}

static void test_relay_networks(void **state)
{
	(void)state;
	extra_ok("relay_networks 192.0.2.0/24 2001:db8::/32 198.51.100.7");
	assert_int_equal(conf.nrelay_nets, 3);
	extra_err("relay_networks");
	extra_err("relay_networks 192.0.2.0/33");
	extra_err("relay_networks 2001:db8::/129");
	extra_err("relay_networks example.org");
	extra_err("relay_networks 192.0.2.0/24,10.0.0.0/8");

	char text[8192];
	/* relay_networks may be repeated; the total is bounded */
	size_t n = (size_t)snprintf(text, sizeof(text), BASE);
	for (int i = 0; i < CONFIG_MAX_NETS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s 10.0.%d.0/24%s",
		    i % 32 == 0 ? "relay_networks" : "", i, i % 32 == 31 ? "\n" : "");
	parse_ok(text);
	assert_int_equal(conf.nrelay_nets, CONFIG_MAX_NETS);
	snprintf(text + n, sizeof(text) - n, "relay_networks 10.9.9.9\n");
	parse_err(text, "test.conf:5: relay_networks: too many networks");

	parse_ok(BASE "relay_networks 192.0.2.0/24\nrelay_networks ::1\n");
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET, "192.0.2.77", &sin.sin_addr);
	assert_true(config_is_relay_client(&conf, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "192.0.3.1", &sin.sin_addr);
	assert_false(config_is_relay_client(&conf, (struct sockaddr *)&sin));
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	assert_true(config_is_relay_client(&conf, (struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "::ffff:192.0.2.5", &sin6.sin6_addr);
	assert_true(config_is_relay_client(&conf, (struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "::2", &sin6.sin6_addr);
	assert_false(config_is_relay_client(&conf, (struct sockaddr *)&sin6));
	parse_ok(BASE);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_false(config_is_relay_client(&conf, (struct sockaddr *)&sin));
}

static void test_line_limits(void **state)
{
	(void)state;
	static char text[CONFIG_MAX_FILE + 64];
	size_t n;

	/* a line of exactly CONFIG_MAX_LINE bytes is fine, one more is not */
	n = (size_t)snprintf(text, sizeof(text), BASE "#");
	memset(text + n, 'c', CONFIG_MAX_LINE - 1);
	n += CONFIG_MAX_LINE - 1;
	text[n++] = '\n';
	text[n] = '\0';
	parse_ok(text);
	n = (size_t)snprintf(text, sizeof(text), BASE "#");
	memset(text + n, 'c', CONFIG_MAX_LINE);
	n += CONFIG_MAX_LINE;
	text[n++] = '\n';
	text[n] = '\0';
	parse_err(text, "test.conf:3: line longer than 1024 bytes");
	/* the same without a final newline */
	text[n - 1] = '\0';
	parse_err(text, "test.conf:3: line longer than 1024 bytes");

	/* NUL and control characters */
	const char nul[] = "domain example.org\nlisten smtp 127.0.0.1:25\nhostname a\0b\n";
	assert_int_equal(config_parse(nul, sizeof(nul) - 1, "test.conf", &conf, err, sizeof(err)), -1);
	assert_string_equal(err, "test.conf:3: NUL byte in line");
	const char nul2[] = "\0";
	assert_int_equal(config_parse(nul2, 1, "test.conf", &conf, err, sizeof(err)), -1);
	assert_string_equal(err, "test.conf:1: NUL byte in line");
	parse_err(BASE "hostname a\x01" "b\n", "test.conf:3: control character in line");
	parse_err(BASE "hostname ab\x7f\n", "test.conf:3: control character in line");
	parse_err(BASE "hostname a\x1b[0m\n", "test.conf:3: control character in line");
	parse_err(BASE "\x0c\n", "test.conf:3: control character in line");
	/* a lone CR is blank, not a control character */
	parse_ok(BASE "\r\n\r\r\n");

	/* too many words */
	n = (size_t)snprintf(text, sizeof(text), BASE "relay_networks");
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " ::%d", i + 1);
	snprintf(text + n, sizeof(text) - n, "\n");
	parse_err(text, "test.conf:3: too many words on one line (at most 64)");

	/* the whole file is bounded */
	memset(text, '\n', CONFIG_MAX_FILE + 1);
	memcpy(text, BASE, strlen(BASE));
	assert_int_equal(config_parse(text, CONFIG_MAX_FILE, "test.conf", &conf, err, sizeof(err)), 0);
	assert_int_equal(config_parse(text, CONFIG_MAX_FILE + 1, "test.conf", &conf, err, sizeof(err)), -1);
	assert_true(strstr(err, "file larger than") != NULL);
}

static void test_netmask(void **state)
{
	(void)state;
	struct netmask m;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	assert_true(netmask_parse("10.0.0.0/8", &m));
	assert_int_equal(m.family, AF_INET);
	assert_int_equal(m.bits, 8);
	inet_pton(AF_INET, "10.255.1.2", &sin.sin_addr);
	assert_true(netmask_match(&m, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "11.0.0.0", &sin.sin_addr);
	assert_false(netmask_match(&m, (struct sockaddr *)&sin));
	/* the mapped form of an IPv4 client matches an IPv4 network */
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);
	assert_true(netmask_match(&m, (struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "::ffff:11.1.2.3", &sin6.sin6_addr);
	assert_false(netmask_match(&m, (struct sockaddr *)&sin6));
	/* but not the IPv4-compatible or other IPv6 forms */
	inet_pton(AF_INET6, "::10.1.2.3", &sin6.sin6_addr);
	assert_false(netmask_match(&m, (struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "a00::", &sin6.sin6_addr);
	assert_false(netmask_match(&m, (struct sockaddr *)&sin6));

	/* bits that are not a multiple of 8 */
	assert_true(netmask_parse("192.0.2.64/27", &m));
	inet_pton(AF_INET, "192.0.2.95", &sin.sin_addr);
	assert_true(netmask_match(&m, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "192.0.2.96", &sin.sin_addr);
	assert_false(netmask_match(&m, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "192.0.2.63", &sin.sin_addr);
	assert_false(netmask_match(&m, (struct sockaddr *)&sin));

	/* a single host, and everything */
	assert_true(netmask_parse("192.0.2.1", &m));
	assert_int_equal(m.bits, 32);
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	assert_true(netmask_match(&m, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "192.0.2.2", &sin.sin_addr);
	assert_false(netmask_match(&m, (struct sockaddr *)&sin));
	assert_true(netmask_parse("0.0.0.0/0", &m));
	assert_true(netmask_match(&m, (struct sockaddr *)&sin));
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	assert_false(netmask_match(&m, (struct sockaddr *)&sin6)); /* families differ */

	/* IPv6 */
	assert_true(netmask_parse("2001:db8::/33", &m));
	assert_int_equal(m.family, AF_INET6);
	assert_int_equal(m.bits, 33);
	inet_pton(AF_INET6, "2001:db8:7fff::1", &sin6.sin6_addr);
	assert_true(netmask_match(&m, (struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "2001:db8:8000::1", &sin6.sin6_addr);
	assert_false(netmask_match(&m, (struct sockaddr *)&sin6));
	inet_pton(AF_INET, "32.1.13.184", &sin.sin_addr);
	assert_false(netmask_match(&m, (struct sockaddr *)&sin));
	assert_true(netmask_parse("::/0", &m));
	assert_true(netmask_match(&m, (struct sockaddr *)&sin6));
	assert_false(netmask_match(&m, (struct sockaddr *)&sin));
	assert_true(netmask_parse("::1", &m));
	assert_int_equal(m.bits, 128);
	assert_true(netmask_parse("2001:db8::1/128", &m));

	/* an unknown family never matches */
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_true(netmask_parse("0.0.0.0/0", &m));
	assert_false(netmask_match(&m, (struct sockaddr *)&ss));

	const char *bad[] = { "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/8x", "10.0.0/8", "10.0.0.0.0",
		"::/129", "example.org", "10.0.0.0 /8", " 10.0.0.0", "10.0.0.0/ 8",
		"10.0.0.0/08a", "[::1]", "::1/", "1::2::3",
		"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001/8" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (netmask_parse(bad[i], &m))
			print_error("netmask '%s' accepted\n", bad[i]);
		assert_false(netmask_parse(bad[i], &m));
	}
}

static void test_sockaddr(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len = 0;
	assert_true(sockaddr_parse("127.0.0.1:25", &ss, &len));
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 25);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(len, sizeof(struct sockaddr_in));

	assert_true(sockaddr_parse("[2001:db8::5]:65535", &ss, &len));
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_int_equal(sin6->sin6_addr.s6_addr[15], 5);
	assert_int_equal(sin6->sin6_addr.s6_addr[0], 0x20);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_true(sockaddr_parse("[::]:1", &ss, &len));
	assert_true(sockaddr_parse("0.0.0.0:1", &ss, &len));

	const char *bad[] = { "", ":", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:99999999999999999999", "127.0.0.1:-1",
		"127.0.0.1: 25", "127.0.0.1:25 ", "localhost:25", ":25", "127.0.0.1:2:5",
		"[::1]", "[::1]:", "[::1]25", "[::1:25", "::1]:25", "[]:25", "[example]:25",
		/* without brackets an IPv6 address and its port cannot be told apart */
		"::1:25", "::1", "::", "2001:db8::1:25", "::ffff:127.0.0.1:25",
		"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]:25",
		"1234567890123456789012345678901234567890123456789012345678901234567890:25" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sockaddr_parse(bad[i], &ss, &len))
			print_error("sockaddr '%s' accepted\n", bad[i]);
		assert_false(sockaddr_parse(bad[i], &ss, &len));
	}
}

static void test_resolver_keys(void **state)
{
	(void)state;
	parse_ok(BASE);
	assert_int_equal(conf.nforward, 0);                 /* resolv.conf then */
	assert_int_equal(conf.dns_timeout_ms, 10000);
	assert_string_equal(conf.dns_trust_anchor, "/usr/share/dns/root.key");
	assert_int_equal(conf.ndns_insecure, 0);

	extra_ok("forward 127.0.0.1 127.0.0.2@5353 [::1] [2001:db8::53]@1053");
	assert_int_equal(conf.nforward, 4);
	assert_string_equal(conf.forward[0], "127.0.0.1@53");
	assert_string_equal(conf.forward[1], "127.0.0.2@5353");
	assert_string_equal(conf.forward[2], "::1@53");
	assert_string_equal(conf.forward[3], "2001:db8::53@1053");
	/* repeatable, up to 8 in all */
	parse_ok(BASE "forward 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4\n"
	    "forward 10.0.0.5 10.0.0.6\nforward 10.0.0.7 10.0.0.8\n");
	assert_int_equal(conf.nforward, 8);
	assert_string_equal(conf.forward[7], "10.0.0.8@53");
	parse_err(BASE "forward 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5\n"
	    "forward 10.0.0.6 10.0.0.7 10.0.0.8 10.0.0.9\n",
	    "test.conf:4: forward: too many upstreams (at most 8)");
	extra_err("forward");
	extra_err("forward localhost");
	extra_err("forward ::1");                 /* IPv6 needs brackets */
	extra_err("forward [::1");
	extra_err("forward [::1]53");
	extra_err("forward [127.0.0.1]");
	extra_err("forward 127.0.0.1@");
	extra_err("forward 127.0.0.1@0");
	extra_err("forward 127.0.0.1@65536");
	extra_err("forward 127.0.0.1@53x");
	extra_err("forward 127.0.0.1:53");
	extra_err("forward 300.0.0.1");
	extra_err("forward @53");
	extra_err("forward []@53");

	extra_ok("dns_timeout 2s");
	assert_int_equal(conf.dns_timeout_ms, 2000);
	extra_ok("dns_timeout 500ms");
	extra_ok("dns_timeout 5m");
	extra_err("dns_timeout 499ms");
	extra_err("dns_timeout 301s");
	extra_err("dns_timeout soon");

	extra_ok("dns_trust_anchor none");
	assert_string_equal(conf.dns_trust_anchor, "");
	extra_ok("dns_trust_anchor /etc/postern/root.key");
	assert_string_equal(conf.dns_trust_anchor, "/etc/postern/root.key");
	extra_err("dns_trust_anchor root.key");
	extra_err("dns_trust_anchor");
	parse_err(BASE "dns_trust_anchor none\ndns_trust_anchor none\n",
	    "test.conf:4: dns_trust_anchor: given twice");

	extra_ok("dns_insecure_domain example.test corp.example");
	assert_int_equal(conf.ndns_insecure, 2);
	assert_string_equal(conf.dns_insecure[1], "corp.example");
	extra_err("dns_insecure_domain");
	extra_err("dns_insecure_domain bad_name.example");
	extra_err("dns_insecure_domain a..b");
	char text[2048] = BASE "dns_insecure_domain";
	for (int i = 0; i < 17; i++) {
		char d[16];
		snprintf(d, sizeof(d), " d%d.test", i);
		strncat(text, d, sizeof(text) - strlen(text) - 1);
	}
	strncat(text, "\n", sizeof(text) - strlen(text) - 1);
	parse_err(text, "test.conf:3: dns_insecure_domain: too many domains (at most 16)");
}

static void test_relay_keys(void **state)
{
	(void)state;
	parse_ok(BASE);
	assert_string_equal(conf.relayhost, "");
	assert_string_equal(conf.relay_tls_ca_file, "/etc/ssl/certs/ca-certificates.crt");
	assert_int_equal(conf.relay_timeout_ms, 300000);
	assert_int_equal(conf.relay_concurrency, 100);
	assert_int_equal(conf.relay_destination_concurrency, 10);

	extra_ok("relayhost smtp.example.net");
	assert_string_equal(conf.relayhost, "smtp.example.net");
	assert_int_equal(conf.relayhost_port, 25);
	extra_ok("relayhost smtp.example.net:587");
	assert_int_equal(conf.relayhost_port, 587);
	extra_ok("relayhost [smtp.example.net]:2525");
	assert_string_equal(conf.relayhost, "smtp.example.net");
	assert_int_equal(conf.relayhost_port, 2525);
	extra_ok("relayhost 192.0.2.1:465");
	assert_string_equal(conf.relayhost, "192.0.2.1");
	extra_ok("relayhost [2001:db8::25]:587");
	assert_string_equal(conf.relayhost, "2001:db8::25");
	assert_int_equal(conf.relayhost_port, 587);
	extra_ok("relayhost [::1]");
	assert_int_equal(conf.relayhost_port, 25);
	extra_err("relayhost");
	extra_err("relayhost a b");
	extra_err("relayhost 2001:db8::25");     /* IPv6 needs brackets */
	extra_err("relayhost host:0");
	extra_err("relayhost host:65536");
	extra_err("relayhost host:");
	extra_err("relayhost :25");
	extra_err("relayhost [host");
	extra_err("relayhost [host]x");
	extra_err("relayhost bad_name.example");
	parse_err(BASE "relayhost a.example\nrelayhost b.example\n",
	    "test.conf:4: relayhost: given twice");

	extra_ok("relayhost smtp.example.net\nrelayhost_user me\n"
	    "relayhost_password_file /etc/postern/relay-password");
	assert_string_equal(conf.relayhost_user, "me");
	assert_string_equal(conf.relayhost_password_file, "/etc/postern/relay-password");
	parse_err(BASE "relayhost_user me\nrelayhost_password_file /p\n",
	    "test.conf: relayhost_user and relayhost_password_file go together, and with relayhost");
	parse_err(BASE "relayhost h.example\nrelayhost_user me\n",
	    "test.conf: relayhost_user and relayhost_password_file go together, and with relayhost");
	extra_err("relayhost_password_file relative");

	extra_ok("relay_tls_ca_file none");
	assert_string_equal(conf.relay_tls_ca_file, "");
	extra_ok("relay_tls_ca_file /etc/postern/ca.pem");
	extra_err("relay_tls_ca_file ca.pem");
	extra_ok("relay_timeout 3s");
	assert_int_equal(conf.relay_timeout_ms, 3000);
	extra_err("relay_timeout 500ms");
	extra_err("relay_timeout 2h");
	extra_ok("relay_concurrency 1");
	extra_err("relay_concurrency 0");
	extra_err("relay_concurrency 10001");
	extra_ok("relay_destination_concurrency 1000");
	assert_int_equal(conf.relay_destination_concurrency, 1000);
	extra_err("relay_destination_concurrency 0");
}

static void test_forward_parse(void **state)
{
	(void)state;
	char out[CONFIG_FORWARD_LEN];
	assert_true(forward_parse("192.0.2.1", out));
	assert_string_equal(out, "192.0.2.1@53");
	assert_true(forward_parse("[fe80::1]@65535", out));
	assert_string_equal(out, "fe80::1@65535");
	assert_true(forward_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]@65535", out));
	assert_false(forward_parse("", out));
	assert_false(forward_parse("[", out));
	assert_false(forward_parse("[]", out));
	assert_false(forward_parse("1.2.3.4@53@53", out));
	assert_false(forward_parse("1.2.3.4 ", out));
}

static void test_load(void **state)
{
	(void)state;
	char dir[] = "/tmp/postern-test-XXXXXX";
	char path[256], link[256], want[PATH_MAX];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/postern.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(BASE "max_recipients 12\n", f);
	fclose(f);

	assert_int_equal(config_load(path, &conf, err, sizeof(err)), 0);
	assert_int_equal(conf.max_recipients, 12);
	assert_non_null(realpath(dir, want));
	assert_string_equal(conf.confdir, want);
	snprintf(want + strlen(want), sizeof(want) - strlen(want), "/postern.conf");
	assert_string_equal(conf.path, want);

	/* a symbolic link is refused (O_NOFOLLOW) */
	snprintf(link, sizeof(link), "%s/link.conf", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(config_load(link, &conf, err, sizeof(err)), -1);
	assert_true(strncmp(err, link, strlen(link)) == 0);
	unlink(link);

	/* a directory, a missing file, and a parse error naming the path */
	assert_int_equal(config_load(dir, &conf, err, sizeof(err)), -1);
	snprintf(link, sizeof(link), "%s/missing.conf", dir);
	assert_int_equal(config_load(link, &conf, err, sizeof(err)), -1);
	assert_true(strstr(err, "No such file") != NULL);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(BASE "nonsense yes\n", f);
	fclose(f);
	assert_int_equal(config_load(path, &conf, err, sizeof(err)), -1);
	char msg[600];
	snprintf(msg, sizeof(msg), "%s:3: unknown key 'nonsense'", path);
	assert_string_equal(err, msg);
	unlink(path);
	rmdir(dir);
}

/* config_reload: live keys change, the others keep their running value
 * and are named; a file that does not parse changes nothing. */
static struct config fresh;

static void reload(const char *text, char *changed, char *restart, size_t len)
{
	err[0] = '\0';
	int r = config_reload(&conf, text, strlen(text), changed, len, restart, len, err, sizeof(err));
	if (r != 0)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(r, 0);
}

static void test_reload(void **state)
{
	(void)state;
	char changed[512], restart[512];
	parse_ok(BASE "max_message_size 10M\nspool /var/spool/a\n");
	strlcpy(conf.path, "/etc/postern/postern.conf", sizeof(conf.path));
	strlcpy(conf.confdir, "/etc/postern", sizeof(conf.confdir));

	/* the same file: nothing to say */
	reload(BASE "max_message_size 10M\nspool /var/spool/a\n", changed, restart, sizeof(changed));
	assert_string_equal(changed, "");
	assert_string_equal(restart, "");

	reload("domain example.org\ndomain example.net\nlisten smtp 127.0.0.1:2526\n"
	    "max_message_size 1M\nspool /var/spool/b\nrelayhost smarthost.example\n"
	    "sender_grant alice @example.net\nrelay_networks 10.0.0.0/8\n"
	    "max_sessions 7\nretry_min 1m\n", changed, restart, sizeof(changed));
	assert_string_equal(changed, "domain, relay_networks, max_message_size, retry_min, sender_grant");
	assert_string_equal(restart, "listen, spool, max_sessions, relayhost");
	/* taken */
	assert_int_equal(conf.ndomains, 2);
	assert_true(config_is_local_domain(&conf, "example.net"));
	assert_int_equal(conf.max_message_size, 1024 * 1024);
	assert_int_equal(conf.retry_min_ms, 60 * 1000);
	assert_true(config_sender_granted(&conf, "alice", "bob", "example.net"));
	assert_int_equal(conf.nrelay_nets, 1);
	/* kept */
	assert_string_equal(conf.spool, "/var/spool/a");
	assert_int_equal(ntohs(((struct sockaddr_in *)&conf.listen[0].addr)->sin_port), 2525);
	assert_string_equal(conf.relayhost, "");
	assert_int_equal(conf.max_sessions, 1000);
	assert_string_equal(conf.path, "/etc/postern/postern.conf");
	assert_string_equal(conf.confdir, "/etc/postern");

	/* a bad file: "file:line: message", and nothing changes */
	memcpy(&fresh, &conf, sizeof(fresh));
	const char *bad = BASE "max_message_size 1M\nmax_recipients 0\n";
	assert_int_equal(config_reload(&conf, bad, strlen(bad), changed, sizeof(changed), restart,
	    sizeof(restart), err, sizeof(err)), -1);
	assert_true(strncmp(err, "/etc/postern/postern.conf:4: ", 29) == 0);
	assert_memory_equal(&fresh, &conf, sizeof(conf));
}

static void test_reload_tls(void **state)
{
	(void)state;
	char changed[512], restart[512];
	/* TLS on: another certificate is taken */
	parse_ok(BASE "tls_certificate /etc/a.pem\ntls_key /etc/a.key\n");
	reload(BASE "tls_certificate /etc/b.pem\ntls_key /etc/b.key\n", changed, restart,
	    sizeof(changed));
	assert_string_equal(changed, "tls_certificate, tls_key");
	assert_string_equal(restart, "");
	assert_string_equal(conf.tls_certificate, "/etc/b.pem");
	/* turning it off, or on, needs a restart: listeners depend on it */
	reload(BASE, changed, restart, sizeof(changed));
	assert_string_equal(changed, "");
	assert_string_equal(restart, "tls_certificate, tls_key");
	assert_string_equal(conf.tls_certificate, "/etc/b.pem");
	parse_ok(BASE);
	reload(BASE "tls_certificate /etc/b.pem\ntls_key /etc/b.key\n", changed, restart,
	    sizeof(changed));
	assert_string_equal(restart, "tls_certificate, tls_key");
	assert_string_equal(conf.tls_certificate, "");
}

/* A list of names that does not fit ends in "...", never cut silently. */
static void test_reload_names_cut(void **state)
{
	(void)state;
	char changed[16], restart[16];
	parse_ok(BASE);
	memcpy(&fresh, &conf, sizeof(fresh));
	fresh.max_message_size = 2048;
	fresh.max_recipients = 5;
	fresh.timeout_command_ms = 5000;
	fresh.spool[1] = 'x';
	config_take_live(&conf, &fresh, changed, sizeof(changed), restart, sizeof(restart));
	assert_string_equal(changed, "max_message_...");
	assert_string_equal(restart, "spool");
	assert_int_equal(conf.timeout_command_ms, 5000);
}

/* Every field of struct config is either taken on reload or named as
 * needing a restart: a field added without a decision in
 * config_reload.c's table would be neither. Each 4th byte is changed
 * in turn (path and confdir, the file's own name, excepted); only
 * padding, shorter than 8 bytes, may go unnoticed. */
static struct config cur2, fresh2, base2;

static void test_reload_covers_every_field(void **state)
{
	(void)state;
	char changed[1024], restart[1024];
	parse_ok(BASE);
	memcpy(&base2, &conf, sizeof(base2));
	memcpy(&cur2, &base2, sizeof(cur2));
	memcpy(&fresh2, &base2, sizeof(fresh2));
	uint8_t *c = (uint8_t *)&cur2, *f = (uint8_t *)&fresh2, *b = (uint8_t *)&base2;
	size_t own_end = offsetof(struct config, confdir) + sizeof(base2.confdir);
	size_t run = 0, longest = 0, at = 0;
	assert_int_equal(offsetof(struct config, path), 0);
	for (size_t o = own_end; o < sizeof(struct config); o += 4) {
		f[o] ^= 0x5a;
		config_take_live(&cur2, &fresh2, changed, sizeof(changed), restart, sizeof(restart));
		f[o] = b[o];
		c[o] = b[o];
		if (changed[0] || restart[0]) {
			run = 0;
		} else if ((run += 4) > longest) {
			longest = run;
			at = o;
		}
	}
	if (longest >= 8)
		print_error("bytes %zu..%zu of struct config are in no reload key\n", at + 4 - longest, at);
	assert_true(longest < 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_and_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_errors_have_file_and_line),
		cmocka_unit_test(test_scalar_ranges),
		cmocka_unit_test(test_strings_and_paths),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_tls_and_auth_keys),
		cmocka_unit_test(test_sender_grants),
		cmocka_unit_test(test_relay_networks),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_netmask),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_resolver_keys),
		cmocka_unit_test(test_relay_keys),
		cmocka_unit_test(test_forward_parse),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_reload_tls),
		cmocka_unit_test(test_reload_names_cut),
		cmocka_unit_test(test_reload_covers_every_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
