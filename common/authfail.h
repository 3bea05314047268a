/*
 * authfail.h: memory of failed logins in a network-facing process
 * (smtpd's worker, pop3d's login process; unprivileged). A failure is
 * answered only after a delay that doubles with the failures of that
 * client address and of that user name (whichever is higher), up to 16
 * times the first; an address over the failure limit is refused at
 * once, without asking the auth helper, until it has been quiet for 15
 * minutes. A right password is never delayed, so a user locked out by
 * someone else's guessing still gets in from their own address.
 */
#ifndef POSTERN_AUTHFAIL_H
#define POSTERN_AUTHFAIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define AUTHFAIL_TABLE_MAX 4096   /* addresses, and user names, remembered */
#define AUTHFAIL_FORGET_SEC 900   /* a quiet address or user starts over */
#define AUTHFAIL_STEPS 5          /* delays: 1, 2, 4, 8, 16 times the first */
#define AUTHFAIL_USER_MAX 64      /* bytes of a user name used as its key */

struct authfail;

/* first_delay_ms: the delay after a first failure; limit: failures from
 * one address before it is refused outright (0: never). */
struct authfail *authfail_new(uint64_t first_delay_ms, uint64_t limit);
void authfail_free(struct authfail *af);
/* Whether ip has used up its failures: refuse without checking. */
bool authfail_blocked(struct authfail *af, const struct sockaddr_storage *ip);
/* Records a failure of user (as the client typed it) from ip; returns
 * how long to wait before answering it. */
uint64_t authfail_record(struct authfail *af, const struct sockaddr_storage *ip, const char *user);

#endif
