/*
 * session.c: one user's POP3 mail session (RFC 1939 TRANSACTION and
 * UPDATE states). Forked by pop3d's root monitor once the auth helper
 * has vouched for the login; it makes sure the user's Maildir exists,
 * then chroots into it and drops to postern-vmail before it reads a
 * byte from the client. One client, one process: plain blocking I/O
 * with poll timeouts, replies batched until the client's pipelined
 * commands are all answered. Its socket is the client's own TCP
 * connection, or, for a client under TLS, one end of a socketpair whose
 * other end the login process relays to and from the TLS connection;
 * the session cannot tell the two apart and holds no TLS state.
 */
#include "pop3d.h"
#include "log.h"
#include "maildrop.h"
#include "pop3_parse.h"
#include "privsep.h"
#include "ticket.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_FLUSH (64 * 1024)
#define IN_SIZE (POP3_PIPELINED_MAX + POP3_LINE_MAX + 3)

struct pop3s {
	const struct config *conf;
	const char *user, *ip;
	int fd;
	char in[IN_SIZE];
	size_t inlen;
	char *out;
	size_t outlen;
	bool dead;          /* the client is gone or too slow: stop, no UPDATE */
	bool skip_line;
	unsigned errors;
	uint64_t idle_commands; /* since the last RETR, TOP or DELE */
	struct maildrop md;
	uint64_t retrieved, bytes_out;
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ---- output ---- */

static void flush_out(struct pop3s *s)
{
	size_t off = 0;
	while (off < s->outlen && !s->dead) {
		ssize_t n = write(s->fd, s->out + off, s->outlen - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { s->fd, POLLOUT, 0 };
			int r = poll(&p, 1, (int)s->conf->timeout_pop3_ms);
			if (r > 0 || (r < 0 && errno == EINTR))
				continue;
			log_info("%s [%s]: client stopped reading; closing", s->user, s->ip);
		}
		s->dead = true;
	}
	s->bytes_out += off;
	s->outlen = 0;
}

static void put(struct pop3s *s, const char *p, size_t len)
{
	while (len > 0) {
		size_t room = OUT_FLUSH * 3 - s->outlen;
		size_t n = len < room ? len : room;
		memcpy(s->out + s->outlen, p, n);
		s->outlen += n;
		p += n;
		len -= n;
		if (s->outlen >= OUT_FLUSH)
			flush_out(s);
	}
}

static void reply(struct pop3s *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct pop3s *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	put(s, line, (size_t)n);
}

/* ---- commands ---- */

static struct message *lookup(struct pop3s *s, uint32_t msg)
{
	if (msg == 0 || msg > s->md.n) {
		reply(s, "-ERR There is no message %u", msg);
		s->errors++;
		return NULL;
	}
	struct message *m = &s->md.msgs[msg - 1];
	if (m->deleted) {
		reply(s, "-ERR Message %u is deleted", msg);
		s->errors++;
		return NULL;
	}
	return m;
}

static void count_live(const struct pop3s *s, size_t *n, uint64_t *octets)
{
	*n = 0;
	*octets = 0;
	for (size_t i = 0; i < s->md.n; i++)
		if (!s->md.msgs[i].deleted) {
			(*n)++;
			*octets += s->md.msgs[i].size;
		}
}

/* RETR (lines = UINT64_MAX) and TOP */
static void send_message(struct pop3s *s, uint32_t msg, uint64_t lines)
{
	struct message *m = lookup(s, msg);
	if (m == NULL)
		return;
	int fd = maildrop_open_message(&s->md, msg - 1);
	if (fd < 0) {
		reply(s, "-ERR [SYS/TEMP] Message %u cannot be read now", msg);
		log_warn("%s: opening %s", s->user, m->name);
		return;
	}
	char buf[OUT_FLUSH / 2], wire[OUT_FLUSH];
	struct wire_state w;
	ssize_t n;
	if (lines == UINT64_MAX)
		reply(s, "+OK %llu octets", (unsigned long long)m->size);
	else
		reply(s, "+OK");
	wire_init(&w, true, lines);
	while (!s->dead && !w.done && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* mid-message: the client cannot be told; end the session */
			log_warn("%s: reading %s", s->user, m->name);
			s->dead = true;
			break;
		}
		put(s, wire, wire_encode(&w, buf, (size_t)n, wire));
	}
	close(fd);
	put(s, wire, wire_finish(&w, wire));
	put(s, ".\r\n", 3);
	if (lines == UINT64_MAX) {
		m->retrieved = true;
		s->retrieved++;
	}
	s->idle_commands = 0;
}

static void cmd_list(struct pop3s *s, const struct pop3_command *c, bool uidl)
{
	if (c->has_msg) {
		struct message *m = lookup(s, c->msg);
		if (m == NULL)
			return;
		if (uidl)
			reply(s, "+OK %u %s", c->msg, m->uid);
		else
			reply(s, "+OK %u %llu", c->msg, (unsigned long long)m->size);
		return;
	}
	size_t n;
	uint64_t octets;
	count_live(s, &n, &octets);
	if (uidl)
		reply(s, "+OK");
	else
		reply(s, "+OK %zu messages (%llu octets)", n, (unsigned long long)octets);
	for (size_t i = 0; i < s->md.n; i++) {
		const struct message *m = &s->md.msgs[i];
		if (m->deleted)
			continue;
		if (uidl)
			reply(s, "%zu %s", i + 1, m->uid);
		else
			reply(s, "%zu %llu", i + 1, (unsigned long long)m->size);
	}
	put(s, ".\r\n", 3);
}

static void cmd_quit(struct pop3s *s)
{
	size_t kept = 0, deleted = 0;
	for (size_t i = 0; i < s->md.n; i++) {
		if (s->md.msgs[i].deleted)
			deleted++;
		else
			kept++;
	}
	size_t failed = maildrop_update(&s->md);
	/* the lock goes before the reply: a client that logs in again as
	 * soon as it reads +OK (a second fetchmail poll) finds it free */
	maildrop_close(&s->md);
	log_info("%s [%s]: quit: retrieved %llu, deleted %zu, kept %zu, %llu bytes sent",
	    s->user, s->ip, (unsigned long long)s->retrieved, deleted - failed, kept + failed,
	    (unsigned long long)s->bytes_out);
	if (failed)
		reply(s, "-ERR [SYS/TEMP] %zu message(s) could not be deleted", failed);
	else
		reply(s, "+OK Logging out, %zu message(s) left", kept);
}

/* Returns false when the session ends. */
static bool dispatch(struct pop3s *s, const char *line, size_t len)
{
	struct pop3_command c;
	enum pop3_parse_err e = pop3_parse(line, len, &c);
	if (e == P3E_UNKNOWN) {
		reply(s, "-ERR Unknown command");
		s->errors++;
		return true;
	}
	if (e == P3E_SYNTAX) {
		reply(s, "-ERR Syntax error in arguments of %s", pop3_cmd_name(c.cmd));
		s->errors++;
		return true;
	}
	if (++s->idle_commands > s->conf->pop3_command_limit) {
		reply(s, "-ERR Too many commands without retrieving or deleting mail; closing");
		log_info("%s [%s]: %llu commands without a retrieval; closed", s->user, s->ip,
		    (unsigned long long)s->conf->pop3_command_limit);
		return false;
	}
	size_t n;
	uint64_t octets;
	struct message *m;
	char capa[256];
	switch (c.cmd) {
	case P3_STAT:
		count_live(s, &n, &octets);
		reply(s, "+OK %zu %llu", n, (unsigned long long)octets);
		break;
	case P3_LIST:
		cmd_list(s, &c, false);
		break;
	case P3_UIDL:
		cmd_list(s, &c, true);
		break;
	case P3_RETR:
		send_message(s, c.msg, UINT64_MAX);
		break;
	case P3_TOP:
		send_message(s, c.msg, c.lines);
		break;
	case P3_DELE:
		if ((m = lookup(s, c.msg)) != NULL) {
			m->deleted = true;
			s->idle_commands = 0; /* deleting is progress too */
			reply(s, "+OK Message %u marked for deletion", c.msg);
		}
		break;
	case P3_RSET:
		for (size_t i = 0; i < s->md.n; i++)
			s->md.msgs[i].deleted = false;
		count_live(s, &n, &octets);
		reply(s, "+OK %zu messages (%llu octets)", n, (unsigned long long)octets);
		break;
	case P3_NOOP:
		reply(s, "+OK");
		break;
	case P3_CAPA:
		pop3_capa_lines(capa, sizeof(capa), 0); /* TRANSACTION: no STLS, USER, SASL */
		put(s, capa, strlen(capa));
		break;
	case P3_QUIT:
		cmd_quit(s);
		return false;
	default:
		reply(s, "-ERR Already logged in");
		s->errors++;
		break;
	}
	return true;
}

/* ---- input ---- */

/* Reads more input; false when the session must end (no UPDATE). */
static bool read_more(struct pop3s *s)
{
	flush_out(s);
	while (!s->dead) {
		if (stop_requested) {
			reply(s, "-ERR [SYS/TEMP] Server shutting down");
			flush_out(s);
			return false;
		}
		struct pollfd p = { s->fd, POLLIN, 0 };
		int r = poll(&p, 1, (int)s->conf->timeout_pop3_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			log_info("%s [%s]: idle timeout", s->user, s->ip);
			reply(s, "-ERR Disconnected for inactivity");
			flush_out(s);
			return false;
		}
		ssize_t n = read(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen);
		if (n > 0) {
			s->inlen += (size_t)n;
			return true;
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		log_info("%s [%s]: connection closed without QUIT; nothing deleted", s->user, s->ip);
		return false;
	}
	return false;
}

static void serve(struct pop3s *s)
{
	for (;;) {
		if (s->dead)
			return;
		if (s->errors >= POP3_MAX_ERRORS) {
			reply(s, "-ERR Too many errors, closing connection");
			flush_out(s);
			return;
		}
		char *nl = memchr(s->in, '\n', s->inlen);
		if (nl == NULL) {
			if (s->inlen > POP3_LINE_MAX + 2) {
				if (!s->skip_line) {
					reply(s, "-ERR Line too long");
					s->errors++;
				}
				s->skip_line = true;
				s->inlen = 0;
			}
			if (!read_more(s))
				return;
			continue;
		}
		size_t len = (size_t)(nl - s->in) + 1;
		char line[POP3_LINE_MAX + 3];
		bool too_long = s->skip_line || len > POP3_LINE_MAX + 2;
		if (!too_long)
			memcpy(line, s->in, len);
		memmove(s->in, s->in + len, s->inlen - len);
		s->inlen -= len;
		if (too_long) {
			if (!s->skip_line) {
				reply(s, "-ERR Line too long");
				s->errors++;
			}
			s->skip_line = false;
			continue;
		}
		len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		if (len > POP3_LINE_MAX) {
			reply(s, "-ERR Line too long");
			s->errors++;
			continue;
		}
		if (!dispatch(s, line, len)) {
			flush_out(s);
			return;
		}
	}
}

/* As root: the user's Maildir, made if missing, opened without
 * following a symlink and checked to belong to postern-vmail. */
static int open_maildir(const struct config *conf, const char *user)
{
	uid_t vuid = geteuid();
	gid_t vgid = getegid();
	if (privsep_enabled() && !privsep_lookup(USER_VMAIL, &vuid, &vgid))
		return -1;
	int root = open(conf->mail_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		log_warn("opening mail root %s", conf->mail_root);
		return -1;
	}
	if (mkdirat(root, user, 0700) == 0) {
		if (fchownat(root, user, vuid, vgid, AT_SYMLINK_NOFOLLOW) < 0)
			log_warn("chown of new Maildir %s", user);
	} else if (errno != EEXIST) {
		log_warn("creating Maildir %s", user);
	}
	int fd = openat(root, user, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	close(root);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != vuid) {
		log_warnx("Maildir of %s is missing, not a directory, or not owned by %s",
		    user, USER_VMAIL);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int session_main(int sock, void *arg)
{
	struct session_args *a = arg;
	static struct pop3s s;
	close(sock);
	/* only the monitor may check tickets; this process faces the client */
	ticket_key_new();
	log_setname("postern/pop3d");
	s.conf = a->conf;
	s.user = a->user;
	s.ip = a->ip;
	s.fd = a->client_fd;
	s.out = malloc(OUT_FLUSH * 3);
	if (!valid_username(a->user, strlen(a->user)) || s.out == NULL)
		return 1;
	int dir = open_maildir(a->conf, a->user);
	if (dir < 0) {
		reply(&s, "-ERR [SYS/TEMP] Mailbox unavailable, try again later");
		flush_out(&s);
		return 1;
	}
	privsep_drop_dir(USER_VMAIL, dir);
	close(dir);
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: poll wakes up */
	sigaction(SIGINT, &sa, NULL);
	set_nonblock(s.fd);
	memcpy(s.in, a->pipelined, a->npipelined);
	s.inlen = a->npipelined;

	switch (maildrop_open(&s.md)) {
	case MD_IN_USE:
		log_info("%s [%s]: maildrop in use by another session", s.user, s.ip);
		reply(&s, "-ERR [IN-USE] Mailbox is locked by another POP3 session");
		flush_out(&s);
		return 0;
	case MD_ERROR:
		reply(&s, "-ERR [SYS/TEMP] Mailbox cannot be opened now, try again later");
		flush_out(&s);
		return 1;
	case MD_OK:
		break;
	}
	size_t n;
	uint64_t octets;
	count_live(&s, &n, &octets);
	log_info("%s [%s]: logged in, %zu message(s), %llu octets", s.user, s.ip, n,
	    (unsigned long long)octets);
	reply(&s, "+OK Logged in, %zu messages (%llu octets)", n, (unsigned long long)octets);
	serve(&s);
	maildrop_close(&s.md);
	close(s.fd);
	free(s.out);
	return 0;
}
