/*
 * fuzz_submit_answer.c: libFuzzer target for queued/submit_client.c's
 * decoder of queued's answer to a submission (the first two input
 * octets choose the frame type): any input gives a known outcome, and
 * a reason that is one NUL-terminated line within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "submit_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[64];
	uint64_t qid = 0;
	if (size < 1)
		return 0;
	/* mostly the two types queued sends, sometimes another */
	uint16_t type = data[0] < 100 ? SUB_OK : data[0] < 200 ? SUB_FAIL : (uint16_t)(data[0] << 4);
	memset(why, 0x7f, sizeof(why));
	enum submit_outcome out = submit_answer_decode(type, data + 1, size - 1, &qid, why, sizeof(why));
	if (out > SUBMIT_PROTO || memchr(why, '\0', sizeof(why)) == NULL)
		abort();
	for (const char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	if (out == SUBMIT_OK && (type != SUB_OK || size - 1 != 8 || why[0] != '\0'))
		abort();
	return 0;
}
