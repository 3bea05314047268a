/*
 * submit_client.c: reads and decodes queued's answer to a submission on
 * run/submit.sock (see submit_client.h). Runs as the submitting user,
 * in the sendmail command or in queued's offline pickup.
 */
#include "submit_client.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "submit.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum submit_outcome submit_answer(int sock, int send_errno, int timeout_s, uint64_t *qid,
    char *why, size_t whylen)
{
	struct ipc_hdr h;
	uint8_t *p = NULL;
	int rfd = -1;
	int rr = ipc_recv(sock, &h, &p, &rfd);
	if (rr <= 0) {
		int e = rr < 0 ? errno : send_errno;
		if (e == EAGAIN || e == EWOULDBLOCK)
			textf(why, whylen, "no answer from queued within %d seconds", timeout_s);
		else
			textf(why, whylen, "queued closed the connection%s%s; the message was not queued",
			    e ? ": " : "", e ? strerror(e) : "");
		return SUBMIT_TEMP;
	}
	if (rfd >= 0)
		close(rfd);
	enum submit_outcome out = submit_answer_decode(h.type, p, h.len, qid, why, whylen);
	free(p);
	return out;
}

enum submit_outcome submit_answer_decode(uint16_t type, const uint8_t *p, size_t len,
    uint64_t *qid, char *why, size_t whylen)
{
	struct ipc_rd rd;
	ipcr_init(&rd, p, len);
	textf(why, whylen, "malformed answer from queued");
	if (type == SUB_OK) {
		uint64_t id = ipcr_u64(&rd);
		if (!ipcr_done(&rd))
			return SUBMIT_PROTO;
		*qid = id;
		why[0] = '\0';
		return SUBMIT_OK;
	}
	if (type != SUB_FAIL) {
		textf(why, whylen, "unexpected answer from queued");
		return SUBMIT_PROTO;
	}
	char reason[512];
	uint8_t kind = ipcr_u8(&rd);
	ipcr_str(&rd, reason, sizeof(reason));
	if (!ipcr_done(&rd))
		return SUBMIT_PROTO;
	/* one line, whatever queued put in it */
	log_clean(reason, sizeof(reason), 0);
	textf(why, whylen, "%s", reason);
	return kind == SUB_FAIL_TEMP ? SUBMIT_TEMP : kind == SUB_FAIL_NOUSER ? SUBMIT_NOUSER :
	    kind == SUB_FAIL_DATA ? SUBMIT_DATA : SUBMIT_PERM;
}
