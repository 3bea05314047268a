/*
 * util.h: small helpers every postern program shares: bounded number,
 * size and duration parsing, queue ids, full writes, fd flags.
 * Pure functions or thin syscall wrappers; no privileges needed.
 */
#ifndef POSTERN_UTIL_H
#define POSTERN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#define QID_LEN 16 /* hex digits of a queue id */

/* "35M", "1024", "10k", "2G" -> bytes. Returns false on syntax error or
 * a value above max. */
bool parse_size(const char *s, uint64_t max, uint64_t *out);
/* "300s", "5m", "4h", "5d", "250ms", bare number = seconds -> milliseconds. */
bool parse_duration_ms(const char *s, uint64_t max_ms, uint64_t *out);
/* Decimal unsigned integer within [min,max]; nothing else allowed. */
bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A fresh queue id: 44 bits of milliseconds, 20 bits of sequence;
 * strictly increasing within a process. */
uint64_t qid_new(void);
void qid_format(uint64_t qid, char out[QID_LEN + 1]);
bool qid_parse(const char *s, size_t len, uint64_t *out);

/* write()/read() the whole buffer, retrying on EINTR and short counts. */
bool write_all(int fd, const void *buf, size_t len);
/* Replaces path's content with buf at once (path.tmp, then rename), a
 * new file of mode, of group gid unless (gid_t)-1. For root's small
 * files in the root-owned run/ (pid files, pop3d's counters); false,
 * with errno, on failure, when nothing changed. */
bool write_file_replace(const char *path, const void *buf, size_t len, mode_t mode, gid_t gid);
int set_nonblock(int fd);
/* TCP_NODELAY on a TCP socket: small commands and replies, often
 * pipelined, are not held back for the peer's delayed ACK. */
void set_nodelay(int fd);
/* snprintf for text that may be cut short without harm (log lines,
 * reasons quoting a remote server): always NUL-terminated. */
void textf(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int set_cloexec(int fd);

uint64_t now_ms(void);
/* Milliseconds (timeouts in the config) as the timeval libevent and
 * setsockopt take. */
struct timeval ms_tv(uint64_t ms);
/* RFC 5322 date for Received: and friends. */
void rfc5322_date(char *out, size_t outlen, time_t t);

/* Checks a local user (mailbox) name: 1..64 of [a-z0-9._-], not starting
 * with '.' or '-'. The same rule everywhere a name becomes a path. */
bool valid_username(const char *s, size_t len);

#endif
