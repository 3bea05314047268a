/*
 * local.c: the local delivery agent. Forked by queued's root monitor,
 * it drops to postern-vmail chrooted to the mail root and writes
 * messages into <mailbox>/{tmp,new} Maildirs (Return-Path: and
 * Delivered-To: prepended, CRLF turned into LF). Requests arriving
 * together are delivered as a batch: all files written, then synced,
 * then renamed into new/, then each new/ directory synced once; only
 * then is each result reported to the queue manager.
 */
#include "addr.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "maildir.h"
#include "privsep.h"
#include "proto.h"
#include "queued.h"
#include "tables.h"
#include "util.h"

#include <bsd/string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define BATCH_MAX 64

struct delivery {
	uint32_t reqid;
	uint64_t qid;
	uint32_t rcpt;
	char sender[ADDR_PATH_MAX + 1];
	char mailbox[USERNAME_MAX + 1];
	char addr[ADDR_PATH_MAX + 1];
	int msgfd;        /* the queue file, read-only */
	int outfd;        /* the Maildir file being written */
	char tmp[PATH_MAX];
	char base[256];
	uint64_t size, vsize;
	struct wire_state wire;   /* counts the POP3 size, W= */
	uint8_t status;
	char detail[256];
};

static struct config *conf;
static char host_part[128]; /* hostname made safe for Maildir names */
static unsigned long seq;

static void fail(struct delivery *d, uint8_t status, const char *what)
{
	if (d->status != DELIVERY_OK)
		return;
	d->status = status;
	snprintf(d->detail, sizeof(d->detail), "%s: %s", what, strerror(errno));
	if (d->outfd >= 0) {
		close(d->outfd);
		d->outfd = -1;
		unlink(d->tmp);
	}
}

static uint8_t errno_status(void)
{
	/* nothing about a local write is permanent except a bad mailbox name */
	return DELIVERY_TEMPFAIL;
}

static bool ensure_maildir(const char *mb)
{
	static const char *subs[] = { "", "/tmp", "/new", "/cur" };
	char path[PATH_MAX];
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", mb, subs[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return false;
	}
	return true;
}

/* Appends converted bytes to the Maildir file, counting its size and
 * its POP3 size (W=, the same count pop3d would make). */
static bool emit(struct delivery *d, const char *buf, size_t len)
{
	d->vsize += wire_encode(&d->wire, buf, len, NULL);
	d->size += len;
	if (len && !write_all(d->outfd, buf, len)) {
		fail(d, errno_status(), "writing Maildir file");
		return false;
	}
	return true;
}

/* Writes the Maildir file into tmp/. */
static void write_one(struct delivery *d)
{
	char buf[65536], out[65536 + 1024];
	struct timeval tv;
	if (!valid_username(d->mailbox, strlen(d->mailbox))) {
		d->status = DELIVERY_PERMFAIL;
		snprintf(d->detail, sizeof(d->detail), "invalid mailbox name");
		return;
	}
	if (!ensure_maildir(d->mailbox)) {
		fail(d, errno_status(), "creating Maildir");
		return;
	}
	gettimeofday(&tv, NULL);
	snprintf(d->base, sizeof(d->base), "%lld.M%ldP%dQ%lu.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (int)getpid(), ++seq, host_part);
	snprintf(d->tmp, sizeof(d->tmp), "%s/tmp/%s", d->mailbox, d->base);
	d->outfd = open(d->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (d->outfd < 0) {
		fail(d, errno_status(), "creating file in tmp/");
		return;
	}
	int hl = snprintf(out, sizeof(out), "Return-Path: <%s>\nDelivered-To: %s\n", d->sender, d->addr);
	size_t olen = (size_t)hl;
	d->size = 0;
	d->vsize = 0;
	wire_init(&d->wire, false, UINT64_MAX);
	off_t off = 0;
	bool pending_cr = false;
	for (;;) {
		ssize_t n = pread(d->msgfd, buf, sizeof(buf), off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(d, DELIVERY_TEMPFAIL, "reading queue file");
			return;
		}
		if (n == 0)
			break;
		off += n;
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			if (pending_cr) {
				pending_cr = false;
				if (c != '\n')
					out[olen++] = '\r';
			}
			if (c == '\r') {
				pending_cr = true;
				continue;
			}
			out[olen++] = c;
		}
		if (!emit(d, out, olen))
			return;
		olen = 0;
	}
	if (pending_cr)
		out[olen++] = '\r';
	if (!emit(d, out, olen))
		return;
	d->vsize += wire_finish(&d->wire, NULL);
}

static void deliver_batch(struct delivery *ds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ds[i].status == DELIVERY_OK)
			write_one(&ds[i]);
	for (size_t i = 0; i < n; i++) {
		struct delivery *d = &ds[i];
		if (d->status != DELIVERY_OK)
			continue;
		if (fsync(d->outfd) < 0) {
			fail(d, errno_status(), "syncing Maildir file");
			continue;
		}
		close(d->outfd);
		d->outfd = -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct delivery *d = &ds[i];
		char dst[PATH_MAX];
		if (d->status != DELIVERY_OK)
			continue;
		snprintf(dst, sizeof(dst), "%s/new/%s,S=%llu,W=%llu", d->mailbox, d->base,
		    (unsigned long long)d->size, (unsigned long long)d->vsize);
		if (rename(d->tmp, dst) < 0)
			fail(d, errno_status(), "moving into new/");
	}
	/* one directory sync per mailbox that got mail in this batch */
	for (size_t i = 0; i < n; i++) {
		struct delivery *d = &ds[i];
		bool seen = false;
		if (d->status != DELIVERY_OK)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = ds[j].status == DELIVERY_OK && strcmp(ds[j].mailbox, d->mailbox) == 0;
		if (seen)
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/new", d->mailbox);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) < 0) {
			/* the renames may not survive a crash: let queued retry all */
			int e = errno;
			for (size_t j = i; j < n; j++)
				if (strcmp(ds[j].mailbox, d->mailbox) == 0) {
					errno = e;
					ds[j].status = DELIVERY_OK;
					fail(&ds[j], DELIVERY_TEMPFAIL, "syncing new/");
				}
		}
		if (dfd >= 0)
			close(dfd);
	}
}

static void set_host_part(void)
{
	size_t j = 0;
	for (const char *h = conf->hostname; *h && j < sizeof(host_part) - 1; h++)
		host_part[j++] = (*h == '/' || *h == ':' || *h == ',') ? '_' : *h;
	host_part[j] = '\0';
}

enum { REQ_EOF, REQ_DELIVERY, REQ_NONE };

/* One frame from the queue manager into d: REQ_DELIVERY (d holds a
 * request, or its failure), REQ_NONE (it was P_CONFIG), REQ_EOF. */
static int read_request(int sock, struct delivery *d)
{
	struct ipc_hdr h;
	uint8_t *p;
	int fd;
	memset(d, 0, sizeof(*d));
	d->outfd = -1;
	d->msgfd = -1;
	if (ipc_recv(sock, &h, &p, &fd) <= 0)
		return REQ_EOF;
	if (h.type == P_CONFIG) {
		/* only hostname matters here, in the Maildir file names */
		if (fd >= 0)
			close(fd);
		config_apply_frame(conf, p, h.len);
		set_host_part();
		free(p);
		return REQ_NONE;
	}
	struct ipc_rd r;
	ipcr_init(&r, p, h.len);
	d->reqid = h.reqid;
	d->qid = ipcr_u64(&r);
	d->rcpt = ipcr_u32(&r);
	ipcr_str(&r, d->sender, sizeof(d->sender));
	ipcr_str(&r, d->mailbox, sizeof(d->mailbox));
	ipcr_str(&r, d->addr, sizeof(d->addr));
	d->msgfd = fd;
	if (h.type != L_DELIVER || !ipcr_done(&r) || fd < 0) {
		d->status = DELIVERY_TEMPFAIL;
		snprintf(d->detail, sizeof(d->detail), "malformed delivery request");
	}
	free(p);
	return REQ_DELIVERY;
}

int local_main(int sock, void *arg)
{
	static struct delivery batch[BATCH_MAX];
	conf = arg;
	log_setname("postern/local");
	set_host_part();
	privsep_drop(USER_VMAIL, conf->mail_root);
	umask(077);
	for (;;) {
		size_t n = 0;
		int r = read_request(sock, &batch[n]);
		if (r == REQ_EOF)
			break;
		if (r == REQ_NONE)
			continue;
		n++;
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		while (n < BATCH_MAX && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
			r = read_request(sock, &batch[n]);
			if (r == REQ_EOF)
				break;
			if (r == REQ_DELIVERY)
				n++;
		}
		deliver_batch(batch, n);
		for (size_t i = 0; i < n; i++) {
			struct delivery *d = &batch[i];
			struct ipc_buf b;
			/* the queue manager logs the outcome, with the delay */
			ipcb_init(&b);
			ipcb_u64(&b, d->qid);
			ipcb_u32(&b, d->rcpt);
			ipcb_u8(&b, d->status);
			ipcb_cstr(&b, d->detail);
			int sent = ipc_send_fd(sock, L_RESULT, d->reqid, b.data, b.len, -1);
			ipcb_free(&b);
			if (d->msgfd >= 0)
				close(d->msgfd);
			if (sent < 0)
				return 1;
		}
	}
	return 0;
}
