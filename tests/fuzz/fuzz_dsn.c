/*
 * fuzz_dsn.c: libFuzzer target for queued/dsn.c. The input is cut at
 * NUL bytes into a recipient address, a remote host, a diagnostic, a
 * status and the original headers (all things a remote server or a
 * sender chooses). Checks that the DSN is built, that every line ends
 * in CRLF with no bare CR or LF and at most 998 octets, that the MIME
 * boundary occurs exactly five times, and that no input line becomes a
 * header field of the report's own header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	/* fields separated by NUL; missing ones are empty */
	const char *field[5] = { "", "", "", "", "" };
	size_t nf = 0, start = 0;
	for (size_t i = 0; i <= size && nf < 4; i++) {
		if (i == size || buf[i] == '\0') {
			field[nf++] = buf + start;
			start = i + 1;
		}
	}
	size_t hlen = start <= size ? size - start : 0;
	const char *headers = start <= size ? buf + start : "";
	struct dsn_info info = { "mail.example.test", field[0], "1A2B3C", 1700000000, 1700003600,
		1700432000, { size, size * 31 } };
	struct dsn_rcpt r[2] = {
		{ field[0], (size & 1) ? DSN_DELAYED : DSN_FAILED, field[3], field[1], field[2], size & 2 },
		{ field[1], (size & 1) ? DSN_DELAYED : DSN_FAILED, "5.1.1", NULL, field[0], false },
	};
	size_t len = 0;
	char *t = dsn_build(&info, r, 2, headers, hlen, &len);
	if (t == NULL)
		abort();
	size_t line = 0;
	for (size_t i = 0; i < len; i++) {
		if (t[i] == '\0' || t[i] == '\n')
			abort();
		if (t[i] == '\r') {
			if (i + 1 >= len || t[i + 1] != '\n' || i - line > 998)
				abort();
			line = i + 2;
			i++;
		}
	}
	if (len < 2 || t[len - 1] != '\n')
		abort();
	/* the report's own header ends at the first empty line: the fields
	 * in it are exactly ours */
	const char *end = strstr(t, "\r\n\r\n");
	if (end == NULL)
		abort();
	size_t fields = 0;
	for (const char *p = t; p < end; p = strstr(p, "\r\n") + 2)
		if (p[0] != '\t' && p[0] != ' ')
			fields++;
	if (fields != 8)
		abort();
	const char *b = strstr(t, "report-type=delivery-status;\r\n\tboundary=\"");
	if (b == NULL)
		abort();
	b += strlen("report-type=delivery-status;\r\n\tboundary=\"");
	const char *q = strchr(b, '"');
	char boundary[100];
	if (q == NULL || (size_t)(q - b) >= sizeof(boundary))
		abort();
	memcpy(boundary, b, (size_t)(q - b));
	boundary[q - b] = '\0';
	size_t n = 0;
	for (const char *p = t; (p = strstr(p, boundary)) != NULL; p++)
		n++;
	if (n != 5)
		abort();
	free(t);
	free(buf);
	return 0;
}
