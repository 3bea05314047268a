/*
 * ipc.h: the one framing all postern processes use to talk over Unix
 * sockets: a 12-byte header (type, flags, length, request id) and a
 * payload of typed fields; an fd may ride along (SCM_RIGHTS).
 * The parsing half (header, payload reader) is pure and fuzzed; the
 * channel half runs in any process, with that process's privileges.
 */
#ifndef POSTERN_IPC_H
#define POSTERN_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPC_HDR_LEN 12
#define IPC_MAX_PAYLOAD (1024 * 1024)
#define IPC_F_FD 0x0001 /* one fd travels with this frame */

struct ipc_hdr {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint32_t reqid;
};

enum ipc_parse { IPC_OK, IPC_NEED_MORE, IPC_BAD };

/* Pure: decode a header from the first bytes of buf. IPC_BAD for an
 * unknown flag or a payload length above IPC_MAX_PAYLOAD. */
enum ipc_parse ipc_hdr_parse(const uint8_t *buf, size_t len, struct ipc_hdr *h);
void ipc_hdr_encode(const struct ipc_hdr *h, uint8_t out[IPC_HDR_LEN]);

/* Payload builder: fields in network order, strings as u32 length +
 * bytes. An allocation failure or oversize sets err; check it once. */
struct ipc_buf {
	uint8_t *data;
	size_t len, cap;
	bool err;
};
void ipcb_init(struct ipc_buf *b);
void ipcb_free(struct ipc_buf *b);
void ipcb_u8(struct ipc_buf *b, uint8_t v);
void ipcb_u16(struct ipc_buf *b, uint16_t v);
void ipcb_u32(struct ipc_buf *b, uint32_t v);
void ipcb_u64(struct ipc_buf *b, uint64_t v);
void ipcb_str(struct ipc_buf *b, const char *s, size_t len);
void ipcb_cstr(struct ipc_buf *b, const char *s);

/* Payload reader over untrusted bytes; any short or malformed field
 * sets err and yields zeros / empty strings. */
struct ipc_rd {
	const uint8_t *p;
	size_t left;
	bool err;
};
void ipcr_init(struct ipc_rd *r, const void *p, size_t len);
uint8_t ipcr_u8(struct ipc_rd *r);
uint16_t ipcr_u16(struct ipc_rd *r);
uint32_t ipcr_u32(struct ipc_rd *r);
uint64_t ipcr_u64(struct ipc_rd *r);
/* Copies a string field into out (NUL-terminated); err if it does not
 * fit in outcap-1 bytes or holds a NUL byte. Returns its length. */
size_t ipcr_str(struct ipc_rd *r, char *out, size_t outcap);
/* A string field as raw bytes (NULs allowed), pointing into the
 * payload; err if longer than max. */
const uint8_t *ipcr_bytes(struct ipc_rd *r, size_t max, size_t *len);
/* True when every field read fine and nothing is left over. */
bool ipcr_done(const struct ipc_rd *r);

/* Blocking helpers for simple sequential processes. fd_to_pass is sent
 * and not closed (-1 for none). */
int ipc_send_fd(int sock, uint16_t type, uint32_t reqid, const void *payload,
    size_t len, int fd_to_pass);
/* Reads one whole frame. *payload is malloc'd (caller frees), *fd_out
 * is -1 or a received fd. Returns 1 on a frame, 0 on EOF, -1 on error
 * (including a protocol violation). */
int ipc_recv(int sock, struct ipc_hdr *h, uint8_t **payload, int *fd_out);

/* Peer's uid of a connected Unix socket (SO_PEERCRED). */
int ipc_peer_uid(int sock, uid_t *uid);

/* Event-driven channel (libevent). */
struct event_base;
struct ipc_chan;
typedef void ipc_msg_cb(struct ipc_chan *ch, const struct ipc_hdr *h,
    const uint8_t *payload, int fd, void *arg);
typedef void ipc_close_cb(struct ipc_chan *ch, void *arg);

struct ipc_chan *ipc_chan_new(struct event_base *base, int sock,
    ipc_msg_cb *on_msg, ipc_close_cb *on_close, void *arg);
/* Queues a frame; fd_to_pass (or -1) is owned by the channel from now
 * on and closed once sent. Returns -1 if the channel is broken. */
int ipc_chan_send(struct ipc_chan *ch, uint16_t type, uint32_t reqid,
    const void *payload, size_t len, int fd_to_pass);
int ipc_chan_sendb(struct ipc_chan *ch, uint16_t type, uint32_t reqid,
    const struct ipc_buf *b, int fd_to_pass);
/* Closes the socket and frees everything; safe inside a callback. */
void ipc_chan_free(struct ipc_chan *ch);
int ipc_chan_fd(const struct ipc_chan *ch);

#endif
