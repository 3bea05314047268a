/*
 * auth.c: the auth helper process. Forked by a daemon's root monitor,
 * it drops to postern-auth chrooted to the config directory, loads the
 * users and aliases files, reloads them when they change, and answers
 * one request at a time over its socketpair.
 */
#include "auth.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "privsep.h"
#include "proto.h"
#include "tables.h"
#include "ticket.h"
#include "util.h"

#include <bsd/string.h>
#include <crypt.h>
#include <ctype.h>
#include <sys/random.h>

#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct auth_state {
	struct config *conf;
	struct tables tables;
	struct timespec users_mtime, aliases_mtime;
	ino_t users_ino, aliases_ino;
	time_t checked;
	bool loaded;
	char dummy_hash[HASH_MAX + 1]; /* checked for unknown users: same time */
	struct crypt_data cd;
};

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* (Re)loads both files; keeps the old tables if the new ones are bad. */
static void load_tables(struct auth_state *st)
{
	struct stat su, sa;
	bool have_aliases = stat(st->conf->aliases_file, &sa) == 0;
	time_t now = time(NULL);
	if (st->loaded && now == st->checked)
		return;
	st->checked = now;
	if (stat(st->conf->users_file, &su) < 0) {
		if (!st->loaded)
			log_warn("users file %s", st->conf->users_file);
		return;
	}
	if (st->loaded && ts_eq(su.st_mtim, st->users_mtime) && su.st_ino == st->users_ino &&
	    (!have_aliases || (ts_eq(sa.st_mtim, st->aliases_mtime) && sa.st_ino == st->aliases_ino)))
		return;
	struct tables t = { 0 };
	char err[512];
	size_t len;
	char *text = read_small_file(AT_FDCWD, st->conf->users_file, TABLE_MAX_FILE, &len, err, sizeof(err));
	if (text == NULL || users_parse(text, len, st->conf->users_file, &t, err, sizeof(err)) < 0) {
		if (text) {
			explicit_bzero(text, len);
			free(text);
		}
		log_warnx("not loading users: %s", err);
		tables_free(&t);
		return;
	}
	explicit_bzero(text, len);
	free(text);
	if (have_aliases) {
		text = read_small_file(AT_FDCWD, st->conf->aliases_file, TABLE_MAX_FILE, &len, err, sizeof(err));
		if (text == NULL || aliases_parse(text, len, st->conf->aliases_file, &t, err, sizeof(err)) < 0) {
			free(text);
			log_warnx("not loading aliases: %s", err);
			tables_free(&t);
			return;
		}
		free(text);
	}
	if (tables_finish(&t, err, sizeof(err)) < 0) {
		log_warnx("not loading users/aliases: %s", err);
		tables_free(&t);
		return;
	}
	tables_free(&st->tables);
	st->tables = t;
	st->users_mtime = su.st_mtim;
	st->users_ino = su.st_ino;
	if (have_aliases) {
		st->aliases_mtime = sa.st_mtim;
		st->aliases_ino = sa.st_ino;
	}
	log_info("loaded %zu user(s), %zu alias(es)", t.nusers, t.naliases);
	st->loaded = true;
}

static void answer_lookup(struct auth_state *st, int sock, uint32_t reqid, struct ipc_rd *r)
{
	char local[USERNAME_MAX * 4 + 1];
	char out[RESOLVE_MAX][USERNAME_MAX + 1];
	struct ipc_buf b;
	ipcr_str(r, local, sizeof(local));
	ipcb_init(&b);
	if (!ipcr_done(r)) {
		/* too long to be any user: simply unknown */
		ipc_send_fd(sock, A_LOOKUP_NONE, reqid, NULL, 0, -1);
		return;
	}
	load_tables(st);
	if (!st->loaded) {
		ipcb_cstr(&b, "user table unavailable");
		ipc_send_fd(sock, A_FAIL, reqid, b.data, b.len, -1);
		ipcb_free(&b);
		return;
	}
	int n = tables_resolve(&st->tables, local, out, RESOLVE_MAX);
	if (n < 0) {
		ipcb_cstr(&b, "alias loop or too many targets");
		ipc_send_fd(sock, A_FAIL, reqid, b.data, b.len, -1);
	} else if (n == 0) {
		ipc_send_fd(sock, A_LOOKUP_NONE, reqid, NULL, 0, -1);
	} else {
		ipcb_u32(&b, (uint32_t)n);
		for (int i = 0; i < n; i++)
			ipcb_cstr(&b, out[i]);
		ipc_send_fd(sock, A_LOOKUP_OK, reqid, b.data, b.len, -1);
	}
	ipcb_free(&b);
}

/* "Alice" and "alice@example.org" (a local domain) both mean alice.
 * False for anything that cannot be a user name. */
static bool canonical_user(const struct config *conf, const char *in, char out[USERNAME_MAX + 1])
{
	const char *at = strrchr(in, '@');
	size_t len = at ? (size_t)(at - in) : strlen(in);
	if (len == 0 || len > USERNAME_MAX)
		return false;
	if (at && !config_is_local_domain(conf, at + 1))
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[len] = '\0';
	return valid_username(out, len);
}

static bool password_matches(struct auth_state *st, const char *hash, const char *pass)
{
	char *got = crypt_rn(pass, hash, &st->cd, sizeof(st->cd));
	size_t hl = strlen(hash);
	/* a locked ("!", "*") or empty entry never matches, whatever crypt says */
	bool usable = hl >= 13 && hash[0] != '!' && hash[0] != '*';
	bool same = got != NULL && got[0] != '*' && strlen(got) == hl &&
	    CRYPTO_memcmp(got, hash, hl) == 0;
	explicit_bzero(&st->cd, sizeof(st->cd));
	return usable && same;
}

static void answer_auth(struct auth_state *st, int sock, uint32_t reqid, struct ipc_rd *r)
{
	char user[USERNAME_MAX * 4 + 1], pass[AUTH_PASS_MAX + 1];
	char canon[USERNAME_MAX + 1];
	uint8_t ticket[TICKET_LEN];
	struct ipc_buf b;
	ipcr_str(r, user, sizeof(user));
	ipcr_str(r, pass, sizeof(pass));
	bool ok_syntax = ipcr_done(r) && canonical_user(st->conf, user, canon);
	load_tables(st);
	ipcb_init(&b);
	if (!st->loaded) {
		explicit_bzero(pass, sizeof(pass));
		ipcb_cstr(&b, "user table unavailable");
		ipc_send_fd(sock, A_FAIL, reqid, b.data, b.len, -1);
		ipcb_free(&b);
		return;
	}
	const struct user_entry *u = ok_syntax ? tables_user(&st->tables, canon) : NULL;
	/* an unknown user costs the same hash computation as a known one */
	bool ok = password_matches(st, u ? u->hash : st->dummy_hash, pass) && u != NULL;
	explicit_bzero(pass, sizeof(pass));
	if (ok && ticket_issue(canon, ticket)) {
		ipcb_cstr(&b, canon);
		ipcb_str(&b, (const char *)ticket, sizeof(ticket));
		ipc_send_fd(sock, A_AUTH_OK, reqid, b.data, b.len, -1);
	} else {
		ipc_send_fd(sock, A_AUTH_NO, reqid, NULL, 0, -1);
	}
	ipcb_free(&b);
}

static void make_dummy_hash(struct auth_state *st)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], pw[17];
	uint8_t rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
	const char *h = NULL;
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) != NULL)
		h = crypt_rn(pw, salt, &st->cd, sizeof(st->cd));
	strlcpy(st->dummy_hash, h && h[0] != '*' ? h : "!", sizeof(st->dummy_hash));
	explicit_bzero(&st->cd, sizeof(st->cd));
}

int auth_helper_main(int sock, void *arg)
{
	struct auth_state st = { .conf = arg };
	log_setname("postern/auth");
	privsep_drop(USER_AUTH, st.conf->confdir);
	load_tables(&st);
	make_dummy_hash(&st);
	for (;;) {
		struct ipc_hdr h;
		uint8_t *p;
		int fd;
		int r = ipc_recv(sock, &h, &p, &fd);
		if (r <= 0)
			break;
		if (fd >= 0)
			close(fd);
		struct ipc_rd rd;
		ipcr_init(&rd, p, h.len);
		if (h.type == P_CONFIG)
			config_apply_frame(st.conf, p, h.len); /* domains, for user@domain */
		else if (h.type == A_LOOKUP)
			answer_lookup(&st, sock, h.reqid, &rd);
		else if (h.type == A_AUTH)
			answer_auth(&st, sock, h.reqid, &rd);
		else
			log_warnx("unexpected request type %u", h.type);
		if (p)
			explicit_bzero(p, h.len);
		free(p);
	}
	tables_free(&st.tables);
	return 0;
}
