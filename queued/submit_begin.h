/*
 * submit_begin.h: the SUB_BEGIN frame of a local submission (submit.h),
 * decoded and checked. Pure and bounded; its input comes from any local
 * user, so it is unit-tested and fuzzed. Runs in the queue manager.
 */
#ifndef POSTERN_SUBMIT_BEGIN_H
#define POSTERN_SUBMIT_BEGIN_H

#include "addr.h"

#include <stddef.h>
#include <stdint.h>

#define SUB_RCPT_MAX 1000       /* recipients of one submission */
/* the largest SUB_BEGIN payload: every address a whole path */
#define SUB_BEGIN_MAX ((SUB_RCPT_MAX + 1) * (4 + ADDR_PATH_MAX) + 4)

enum sub_begin_err {
	SUBB_OK,
	SUBB_PROTO,        /* not (str sender, u32 n, n x str), or n > SUB_RCPT_MAX */
	SUBB_NO_RCPT,      /* n = 0 */
	SUBB_BAD_SENDER,   /* *raw is the sender, *why the reason */
	SUBB_BAD_RCPT,     /* *raw is that recipient, *why the reason */
};

/* Decodes p[0..len). On SUBB_OK: *sender (null when the sender is
 * "", the null sender) and rcpt[0..*n), each a mailbox whose "<path>"
 * fits ADDR_PATH_MAX; rcpt must have room for SUB_RCPT_MAX. On a bad
 * address, raw (ADDR_PATH_MAX + 1 octets) gets it as sent and *why
 * the reason. */
enum sub_begin_err sub_begin_decode(const uint8_t *p, size_t len, struct mailaddr *sender,
    bool *null_sender, struct mailaddr *rcpt, uint32_t *n, char *raw, enum addr_err *why);

#endif
