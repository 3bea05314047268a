/*
 * fuzz_take_line.c: libFuzzer target for common/netserver.c's
 * evbuffer_take_line, the command-line taker of smtpd and pop3d's login
 * process. The input arrives in chunks (sizes from its first byte);
 * every line taken must fit the limit, hold no LF and end without CR,
 * and the buffer must never hold more than the limit allows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "netserver.h"

#define MAXC 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = (size_t)data[0] % 97 + 1;
	struct evbuffer *in = evbuffer_new();
	char line[MAXC + 2];
	bool skip = false;
	for (size_t off = 1; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		evbuffer_add(in, data + off, n);
		for (;;) {
			size_t len = 0;
			enum line_take r = evbuffer_take_line(in, MAXC, line, &len, &skip);
			if (r == LINE_NONE)
				break;
			if (r == LINE_READY) {
				if (len > MAXC || line[len] != '\0' || memchr(line, '\n', len) ||
				    (len > 0 && line[len - 1] == '\r' && len == MAXC + 1))
					abort();
			}
		}
		if (evbuffer_get_length(in) > MAXC + 1)
			abort();
	}
	evbuffer_free(in);
	return 0;
}
