/*
 * maildrop.c: a user's Maildir as a POP3 maildrop (see maildrop.h).
 * Runs in the mail session as postern-vmail, chrooted into the Maildir:
 * it can reach no other mailbox. Follows Dovecot's conventions so other
 * Maildir tools keep working: new mail moves to cur/ with ":2," when a
 * session opens the maildrop, retrieved mail gets the S (seen) flag.
 */
#include "maildrop.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAILDROP_MAX_MESSAGES 1000000

static void ensure_subdirs(void)
{
	static const char *subs[] = { "tmp", "new", "cur" };
	for (size_t i = 0; i < 3; i++)
		if (mkdir(subs[i], 0700) < 0 && errno != EEXIST)
			log_warn("mkdir %s", subs[i]);
}

/* Dovecot does the same on opening: the mail is no longer new. */
static void move_new_to_cur(void)
{
	DIR *d = opendir("new");
	struct dirent *de;
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct maildir_name mn;
		char src[512], dst[512];
		if (!maildir_name_parse(de->d_name, &mn))
			continue;
		snprintf(src, sizeof(src), "new/%s", de->d_name);
		if (strchr(de->d_name, ':'))
			snprintf(dst, sizeof(dst), "cur/%s", de->d_name);
		else
			snprintf(dst, sizeof(dst), "cur/%s:2,", de->d_name);
		if (rename(src, dst) < 0 && errno != ENOENT)
			log_warn("moving %s to cur/", de->d_name);
	}
	closedir(d);
}

/* RFC 1939 size of a file without ",W=" in its name: read and count. */
static bool measure(int dirfd, const char *name, uint64_t *size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[65536];
	struct wire_state w;
	ssize_t n;
	if (fd < 0)
		return false;
	wire_init(&w, false, UINT64_MAX);
	*size = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*size += wire_encode(&w, buf, (size_t)n, NULL);
	*size += wire_finish(&w, NULL);
	close(fd);
	return n == 0;
}

static int by_arrival(const void *a, const void *b)
{
	const struct message *x = a, *y = b;
	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->usec != y->usec)
		return x->usec < y->usec ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool scan_cur(struct maildrop *md)
{
	DIR *d = fdopendir(dup(md->cur_fd));
	struct dirent *de;
	size_t cap = 0;
	if (d == NULL)
		return false;
	while ((de = readdir(d)) != NULL) {
		struct maildir_name mn;
		struct stat st;
		if (!maildir_name_parse(de->d_name, &mn))
			continue;
		if (de->d_type != DT_REG &&
		    (de->d_type != DT_UNKNOWN ||
		     fstatat(md->cur_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISREG(st.st_mode)))
			continue;
		if (md->n == MAILDROP_MAX_MESSAGES) {
			log_warnx("more than %d messages; listing the first", MAILDROP_MAX_MESSAGES);
			break;
		}
		if (md->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct message *m = reallocarray(md->msgs, ncap, sizeof(*m));
			if (m == NULL)
				goto fail;
			md->msgs = m;
			cap = ncap;
		}
		struct message *m = &md->msgs[md->n];
		memset(m, 0, sizeof(*m));
		if (mn.has_vsize)
			m->size = mn.vsize;
		else if (!measure(md->cur_fd, de->d_name, &m->size))
			continue; /* gone meanwhile */
		m->name = strdup(de->d_name);
		if (m->name == NULL)
			goto fail;
		maildir_uid(de->d_name, mn.unique_len, m->uid);
		m->sec = mn.sec;
		m->usec = mn.usec;
		md->n++;
	}
	closedir(d);
	if (md->n > 1) /* an empty maildrop has no array at all */
		qsort(md->msgs, md->n, sizeof(*md->msgs), by_arrival);
	return true;
fail:
	closedir(d);
	return false;
}

enum maildrop_open_result maildrop_open(struct maildrop *md)
{
	memset(md, 0, sizeof(*md));
	md->cur_fd = -1;
	md->lock_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->lock_fd < 0) {
		log_warn("opening the Maildir");
		return MD_ERROR;
	}
	if (flock(md->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return MD_IN_USE;
		log_warn("locking the Maildir");
		return MD_ERROR;
	}
	ensure_subdirs();
	move_new_to_cur();
	md->cur_fd = open("cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (md->cur_fd < 0) {
		log_warn("opening cur/");
		return MD_ERROR;
	}
	if (!scan_cur(md)) {
		log_warn("listing cur/");
		return MD_ERROR;
	}
	return MD_OK;
}

int maildrop_open_message(struct maildrop *md, size_t i)
{
	if (i >= md->n)
		return -1;
	return openat(md->cur_fd, md->msgs[i].name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

size_t maildrop_update(struct maildrop *md)
{
	size_t failed = 0;
	bool changed = false;
	for (size_t i = 0; i < md->n; i++) {
		struct message *m = &md->msgs[i];
		if (m->deleted) {
			if (unlinkat(md->cur_fd, m->name, 0) < 0 && errno != ENOENT) {
				log_warn("deleting %s", m->name);
				failed++;
			}
			changed = true;
		} else if (m->retrieved) {
			char seen[512];
			if (maildir_add_flag(m->name, 'S', seen, sizeof(seen)) &&
			    strcmp(seen, m->name) != 0 &&
			    renameat(md->cur_fd, m->name, md->cur_fd, seen) < 0 && errno != ENOENT)
				log_warn("setting the seen flag on %s", m->name);
			changed = true;
		}
	}
	if (changed && fsync(md->cur_fd) < 0)
		log_warn("syncing cur/");
	return failed;
}

void maildrop_close(struct maildrop *md)
{
	for (size_t i = 0; i < md->n; i++)
		free(md->msgs[i].name);
	free(md->msgs);
	if (md->cur_fd >= 0)
		close(md->cur_fd);
	if (md->lock_fd >= 0)
		close(md->lock_fd);
	memset(md, 0, sizeof(*md));
	md->cur_fd = md->lock_fd = -1;
}
