/*
 * submit_client.h: the client's end of run/submit.sock (submit.h has
 * the protocol): the one answer queued gives to a submission. Used by
 * the sendmail command and by queued's offline pickup, each running as
 * the submitting user.
 */
#ifndef POSTERN_SUBMIT_CLIENT_H
#define POSTERN_SUBMIT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

enum submit_outcome {
	SUBMIT_OK,      /* queued: *qid */
	SUBMIT_TEMP,    /* not queued this time (queued's reason, gone, silent) */
	SUBMIT_PERM,    /* refused */
	SUBMIT_NOUSER,  /* a local recipient is unknown */
	SUBMIT_DATA,    /* a bad address or message */
	SUBMIT_PROTO,   /* an answer that is not one */
};

/* Reads queued's answer on sock (a blocking socket with a receive
 * timeout of timeout_s). send_errno is the errno of a send that failed
 * (0 if all was sent): queued may have answered and closed before the
 * end. Otherwise why gets one line saying what happened. */
enum submit_outcome submit_answer(int sock, int send_errno, int timeout_s, uint64_t *qid,
    char *why, size_t whylen);

/* The decoding alone (pure, unit-tested and fuzzed): a frame of type
 * with payload p of len octets. */
enum submit_outcome submit_answer_decode(uint16_t type, const uint8_t *p, size_t len,
    uint64_t *qid, char *why, size_t whylen);

#endif
