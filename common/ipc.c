/*
 * ipc.c: framing, payload codec and channels for postern's Unix-socket
 * IPC, with fd passing. Linked into every daemon and posternctl; runs
 * with the caller's privileges. Every byte read here comes from another
 * process and is treated as untrusted: lengths are bounded before use.
 */
#include "ipc.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define IPC_KNOWN_FLAGS IPC_F_FD
#define IPC_MAX_FDS_QUEUED 64

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

enum ipc_parse ipc_hdr_parse(const uint8_t *buf, size_t len, struct ipc_hdr *h)
{
	if (len < IPC_HDR_LEN)
		return IPC_NEED_MORE;
	h->type = get16(buf);
	h->flags = get16(buf + 2);
	h->len = get32(buf + 4);
	h->reqid = get32(buf + 8);
	if ((h->flags & ~IPC_KNOWN_FLAGS) != 0 || h->len > IPC_MAX_PAYLOAD)
		return IPC_BAD;
	return IPC_OK;
}

void ipc_hdr_encode(const struct ipc_hdr *h, uint8_t out[IPC_HDR_LEN])
{
	put16(out, h->type);
	put16(out + 2, h->flags);
	put32(out + 4, h->len);
	put32(out + 8, h->reqid);
}

/* ---- payload builder ---- */

void ipcb_init(struct ipc_buf *b) { memset(b, 0, sizeof(*b)); }
void ipcb_free(struct ipc_buf *b) { free(b->data); memset(b, 0, sizeof(*b)); }

static uint8_t *ipcb_grow(struct ipc_buf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (n > IPC_MAX_PAYLOAD || b->len + n > IPC_MAX_PAYLOAD) {
		b->err = true;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (d == NULL) {
			b->err = true;
			return NULL;
		}
		b->data = d;
		b->cap = cap;
	}
	uint8_t *p = b->data + b->len;
	b->len += n;
	return p;
}

void ipcb_u8(struct ipc_buf *b, uint8_t v)
{
	uint8_t *p = ipcb_grow(b, 1);
	if (p)
		*p = v;
}
void ipcb_u16(struct ipc_buf *b, uint16_t v)
{
	uint8_t *p = ipcb_grow(b, 2);
	if (p)
		put16(p, v);
}
void ipcb_u32(struct ipc_buf *b, uint32_t v)
{
	uint8_t *p = ipcb_grow(b, 4);
	if (p)
		put32(p, v);
}
void ipcb_u64(struct ipc_buf *b, uint64_t v)
{
	ipcb_u32(b, (uint32_t)(v >> 32));
	ipcb_u32(b, (uint32_t)v);
}
void ipcb_str(struct ipc_buf *b, const char *s, size_t len)
{
	if (len > IPC_MAX_PAYLOAD) {
		b->err = true;
		return;
	}
	ipcb_u32(b, (uint32_t)len);
	uint8_t *p = ipcb_grow(b, len);
	if (p && len)
		memcpy(p, s, len);
}
void ipcb_cstr(struct ipc_buf *b, const char *s) { ipcb_str(b, s, strlen(s)); }

/* ---- payload reader ---- */

void ipcr_init(struct ipc_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->left = len;
	r->err = false;
}

static const uint8_t *ipcr_take(struct ipc_rd *r, size_t n)
{
	if (r->err || r->left < n) {
		r->err = true;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

uint8_t ipcr_u8(struct ipc_rd *r)
{
	const uint8_t *p = ipcr_take(r, 1);
	return p ? *p : 0;
}
uint16_t ipcr_u16(struct ipc_rd *r)
{
	const uint8_t *p = ipcr_take(r, 2);
	return p ? get16(p) : 0;
}
uint32_t ipcr_u32(struct ipc_rd *r)
{
	const uint8_t *p = ipcr_take(r, 4);
	return p ? get32(p) : 0;
}
uint64_t ipcr_u64(struct ipc_rd *r)
{
	/* one take of 8 bytes: a short field yields 0, not a half value */
	const uint8_t *p = ipcr_take(r, 8);
	return p ? (uint64_t)get32(p) << 32 | get32(p + 4) : 0;
}
size_t ipcr_str(struct ipc_rd *r, char *out, size_t outcap)
{
	uint32_t len = ipcr_u32(r);
	const uint8_t *p;
	if (outcap)
		out[0] = '\0';
	if (r->err)
		return 0;
	if (outcap == 0 || len >= outcap || (p = ipcr_take(r, len)) == NULL ||
	    memchr(p, '\0', len) != NULL) {
		r->err = true;
		return 0;
	}
	memcpy(out, p, len);
	out[len] = '\0';
	return len;
}
const uint8_t *ipcr_bytes(struct ipc_rd *r, size_t max, size_t *len)
{
	uint32_t n = ipcr_u32(r);
	const uint8_t *p;
	*len = 0;
	if (r->err)
		return NULL;
	if (n > max || (p = ipcr_take(r, n)) == NULL) {
		r->err = true;
		return NULL;
	}
	*len = n;
	return p;
}
bool ipcr_done(const struct ipc_rd *r) { return !r->err && r->left == 0; }

/* ---- blocking helpers ---- */

static ssize_t send_with_fd(int sock, const void *buf, size_t len, int fd, int flags)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
}

static uint8_t *frame_build(uint16_t type, uint32_t reqid, const void *payload,
    size_t len, bool with_fd, size_t *flen)
{
	struct ipc_hdr h = { type, with_fd ? IPC_F_FD : 0, (uint32_t)len, reqid };
	uint8_t *f;
	if (len > IPC_MAX_PAYLOAD || (f = malloc(IPC_HDR_LEN + len)) == NULL)
		return NULL;
	ipc_hdr_encode(&h, f);
	if (len)
		memcpy(f + IPC_HDR_LEN, payload, len);
	*flen = IPC_HDR_LEN + len;
	return f;
}

int ipc_send_fd(int sock, uint16_t type, uint32_t reqid, const void *payload,
    size_t len, int fd_to_pass)
{
	size_t flen, off = 0;
	uint8_t *f = frame_build(type, reqid, payload, len, fd_to_pass >= 0, &flen);
	if (f == NULL)
		return -1;
	while (off < flen) {
		ssize_t n = send_with_fd(sock, f + off, flen - off,
		    off == 0 ? fd_to_pass : -1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(f);
			return -1;
		}
		off += (size_t)n;
	}
	free(f);
	return 0;
}

/* Reads exactly len bytes; collects any fd into *fd_out (extra fds are
 * closed: a peer may pass at most one per frame). */
static int recv_exact(int sock, uint8_t *buf, size_t len, int *fd_out)
{
	size_t off = 0;
	while (off < len) {
		struct iovec iov = { .iov_base = buf + off, .iov_len = len - off };
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} cm;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
		ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*fd_out < 0)
					*fd_out = fd;
				else
					close(fd);
			}
		}
		if (n == 0)
			return off == 0 ? 0 : -1;
		off += (size_t)n;
	}
	return 1;
}

int ipc_recv(int sock, struct ipc_hdr *h, uint8_t **payload, int *fd_out)
{
	uint8_t hb[IPC_HDR_LEN];
	int fd = -1, r;
	*payload = NULL;
	*fd_out = -1;
	r = recv_exact(sock, hb, sizeof(hb), &fd);
	if (r <= 0)
		goto fail;
	if (ipc_hdr_parse(hb, sizeof(hb), h) != IPC_OK) {
		r = -1;
		goto fail;
	}
	*payload = malloc(h->len ? h->len : 1);
	if (*payload == NULL) {
		r = -1;
		goto fail;
	}
	if (h->len && (r = recv_exact(sock, *payload, h->len, &fd)) <= 0) {
		r = -1;
		goto fail;
	}
	if (((h->flags & IPC_F_FD) != 0) != (fd >= 0)) {
		r = -1;
		goto fail;
	}
	*fd_out = fd;
	return 1;
fail:
	free(*payload);
	*payload = NULL;
	if (fd >= 0)
		close(fd);
	return r;
}

int ipc_peer_uid(int sock, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -1;
	*uid = cred.uid;
	return 0;
}

/* ---- event-driven channel ---- */

struct out_frame {
	struct out_frame *next;
	uint8_t *data;
	size_t len, off;
	int fd;
};

struct ipc_chan {
	struct event *ev_read, *ev_write;
	int sock;
	ipc_msg_cb *on_msg;
	ipc_close_cb *on_close;
	void *arg;
	uint8_t *in;
	size_t in_len, in_cap;
	int fds[IPC_MAX_FDS_QUEUED];
	size_t nfds;
	struct out_frame *out_head, *out_tail;
	bool in_callback, dead, freed;
};

static void chan_free_now(struct ipc_chan *ch)
{
	event_free(ch->ev_read);
	event_free(ch->ev_write);
	for (size_t i = 0; i < ch->nfds; i++)
		close(ch->fds[i]);
	while (ch->out_head) {
		struct out_frame *o = ch->out_head;
		ch->out_head = o->next;
		if (o->fd >= 0)
			close(o->fd);
		free(o->data);
		free(o);
	}
	if (ch->sock >= 0)
		close(ch->sock);
	free(ch->in);
	free(ch);
}

void ipc_chan_free(struct ipc_chan *ch)
{
	if (ch == NULL)
		return;
	if (ch->in_callback) {
		ch->freed = true;
		event_del(ch->ev_read);
		event_del(ch->ev_write);
		return;
	}
	chan_free_now(ch);
}

int ipc_chan_fd(const struct ipc_chan *ch) { return ch->sock; }

/* Marks the channel broken and tells the owner once. */
static void chan_broken(struct ipc_chan *ch)
{
	if (ch->dead)
		return;
	ch->dead = true;
	event_del(ch->ev_read);
	event_del(ch->ev_write);
	if (ch->on_close)
		ch->on_close(ch, ch->arg);
}

static void chan_flush(struct ipc_chan *ch)
{
	while (ch->out_head) {
		struct out_frame *o = ch->out_head;
		ssize_t n = send_with_fd(ch->sock, o->data + o->off, o->len - o->off,
		    o->off == 0 ? o->fd : -1, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(ch->ev_write, NULL);
				return;
			}
			chan_broken(ch);
			return;
		}
		if (o->off == 0 && o->fd >= 0) {
			close(o->fd);
			o->fd = -1;
		}
		o->off += (size_t)n;
		if (o->off == o->len) {
			ch->out_head = o->next;
			if (ch->out_head == NULL)
				ch->out_tail = NULL;
			free(o->data);
			free(o);
		}
	}
	event_del(ch->ev_write);
}

static void chan_on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ipc_chan *ch = arg;
	ch->in_callback = true;
	chan_flush(ch);
	ch->in_callback = false;
	if (ch->freed)
		chan_free_now(ch);
}

/* Delivers every complete frame in the input buffer. */
static void chan_dispatch(struct ipc_chan *ch)
{
	size_t off = 0;
	while (!ch->dead && !ch->freed) {
		struct ipc_hdr h;
		enum ipc_parse p = ipc_hdr_parse(ch->in + off, ch->in_len - off, &h);
		if (p == IPC_NEED_MORE)
			break;
		if (p == IPC_BAD) {
			chan_broken(ch);
			break;
		}
		if (ch->in_len - off - IPC_HDR_LEN < h.len)
			break;
		int fd = -1;
		if (h.flags & IPC_F_FD) {
			if (ch->nfds == 0) {
				chan_broken(ch);
				break;
			}
			fd = ch->fds[0];
			memmove(ch->fds, ch->fds + 1, (ch->nfds - 1) * sizeof(int));
			ch->nfds--;
		}
		const uint8_t *payload = ch->in + off + IPC_HDR_LEN;
		off += IPC_HDR_LEN + h.len;
		ch->on_msg(ch, &h, payload, fd, ch->arg);
	}
	if (!ch->freed && off > 0) {
		memmove(ch->in, ch->in + off, ch->in_len - off);
		ch->in_len -= off;
	}
}

static void chan_on_read(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct ipc_chan *ch = arg;
	ch->in_callback = true;
	for (int rounds = 0; rounds < 16 && !ch->dead && !ch->freed; rounds++) {
		if (ch->in_cap - ch->in_len < 65536) {
			size_t cap = ch->in_cap ? ch->in_cap * 2 : 131072;
			if (cap > 2 * (IPC_MAX_PAYLOAD + IPC_HDR_LEN) + 65536) {
				chan_broken(ch);
				break;
			}
			uint8_t *n = realloc(ch->in, cap);
			if (n == NULL) {
				chan_broken(ch);
				break;
			}
			ch->in = n;
			ch->in_cap = cap;
		}
		struct iovec iov = { .iov_base = ch->in + ch->in_len,
			.iov_len = ch->in_cap - ch->in_len };
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int) * 8)];
		} cm;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				chan_broken(ch);
			break;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int rfd;
				memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (ch->nfds < IPC_MAX_FDS_QUEUED)
					ch->fds[ch->nfds++] = rfd;
				else
					close(rfd);
			}
		}
		if (msg.msg_flags & MSG_CTRUNC) {
			chan_broken(ch);
			break;
		}
		if (n == 0) {
			chan_dispatch(ch);
			chan_broken(ch);
			break;
		}
		ch->in_len += (size_t)n;
		chan_dispatch(ch);
	}
	ch->in_callback = false;
	if (ch->freed)
		chan_free_now(ch);
}

struct ipc_chan *ipc_chan_new(struct event_base *base, int sock,
    ipc_msg_cb *on_msg, ipc_close_cb *on_close, void *arg)
{
	struct ipc_chan *ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return NULL;
	ch->sock = sock;
	ch->on_msg = on_msg;
	ch->on_close = on_close;
	ch->arg = arg;
	ch->ev_read = event_new(base, sock, EV_READ | EV_PERSIST, chan_on_read, ch);
	ch->ev_write = event_new(base, sock, EV_WRITE | EV_PERSIST, chan_on_write, ch);
	if (ch->ev_read == NULL || ch->ev_write == NULL) {
		ch->sock = -1;
		chan_free_now(ch);
		return NULL;
	}
	event_add(ch->ev_read, NULL);
	return ch;
}

int ipc_chan_send(struct ipc_chan *ch, uint16_t type, uint32_t reqid,
    const void *payload, size_t len, int fd_to_pass)
{
	struct out_frame *o;
	if (ch->dead || ch->freed || (o = calloc(1, sizeof(*o))) == NULL) {
		if (fd_to_pass >= 0)
			close(fd_to_pass);
		return -1;
	}
	o->data = frame_build(type, reqid, payload, len, fd_to_pass >= 0, &o->len);
	if (o->data == NULL) {
		free(o);
		if (fd_to_pass >= 0)
			close(fd_to_pass);
		return -1;
	}
	o->fd = fd_to_pass;
	if (ch->out_tail)
		ch->out_tail->next = o;
	else
		ch->out_head = o;
	ch->out_tail = o;
	if (ch->out_head == o) {
		bool was = ch->in_callback;
		ch->in_callback = true;
		chan_flush(ch);
		ch->in_callback = was;
		if (!was && ch->freed) {
			chan_free_now(ch);
			return -1;
		}
	}
	return ch->dead ? -1 : 0;
}

int ipc_chan_sendb(struct ipc_chan *ch, uint16_t type, uint32_t reqid,
    const struct ipc_buf *b, int fd_to_pass)
{
	if (b->err) {
		if (fd_to_pass >= 0)
			close(fd_to_pass);
		return -1;
	}
	return ipc_chan_send(ch, type, reqid, b->data, b->len, fd_to_pass);
}
