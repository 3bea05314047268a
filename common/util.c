/*
 * util.c: bounded parsing of numbers, sizes and durations, queue ids,
 * full writes. Used by every postern program; runs with whatever
 * privileges its caller has and needs none.
 */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (s == NULL || *s == '\0')
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Splits "123abc" into the number and the unit suffix. */
static bool split_number(const char *s, uint64_t *num, const char **unit)
{
	uint64_t v = 0;
	const char *p = s;
	if (s == NULL || *p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*num = v;
	*unit = p;
	return true;
}

static bool mul_checked(uint64_t a, uint64_t b, uint64_t max, uint64_t *out)
{
	if (b != 0 && a > max / b)
		return false;
	*out = a * b;
	return *out <= max;
}

bool parse_size(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t n, mult;
	const char *u;
	if (!split_number(s, &n, &u))
		return false;
	if (*u == '\0')
		mult = 1;
	else if (strcasecmp(u, "k") == 0)
		mult = 1024;
	else if (strcasecmp(u, "m") == 0)
		mult = 1024 * 1024;
	else if (strcasecmp(u, "g") == 0)
		mult = 1024ULL * 1024 * 1024;
	else
		return false;
	return mul_checked(n, mult, max, out);
}

bool parse_duration_ms(const char *s, uint64_t max_ms, uint64_t *out)
{
	uint64_t n, mult;
	const char *u;
	if (!split_number(s, &n, &u))
		return false;
	if (*u == '\0' || strcmp(u, "s") == 0)
		mult = 1000;
	else if (strcmp(u, "ms") == 0)
		mult = 1;
	else if (strcmp(u, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(u, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(u, "d") == 0)
		mult = 86400ULL * 1000;
	else
		return false;
	return mul_checked(n, mult, max_ms, out);
}

struct timeval ms_tv(uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	return tv;
}

uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t qid_new(void)
{
	static uint64_t last;
	uint64_t id = (now_ms() & ((1ULL << 44) - 1)) << 20;
	if (id <= last)
		id = last + 1;
	last = id;
	return id;
}

void qid_format(uint64_t qid, char out[QID_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	for (int i = QID_LEN - 1; i >= 0; i--) {
		out[i] = hex[qid & 0xf];
		qid >>= 4;
	}
	out[QID_LEN] = '\0';
}

bool qid_parse(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len != QID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = (v << 4) | d;
	}
	*out = v;
	return true;
}

bool write_file_replace(const char *path, const void *buf, size_t len, mode_t mode, gid_t gid)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return false;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return false;
	bool ok = write_all(fd, buf, len) && (gid == (gid_t)-1 || fchown(fd, (uid_t)-1, gid) == 0) &&
	    fchmod(fd, mode) == 0;
	int e = errno;
	if (close(fd) < 0 && ok) {
		ok = false;
		e = errno;
	}
	if (ok && rename(tmp, path) == 0)
		return true;
	if (ok)
		e = errno;
	unlink(tmp);
	errno = e;
	return false;
}

bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

void textf(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
}

void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

void rfc5322_date(char *out, size_t outlen, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	if (strftime(out, outlen, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0 && outlen)
		out[0] = '\0';
}

bool valid_username(const char *s, size_t len)
{
	if (len == 0 || len > 64 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}
