/*
 * ticket.h: proof that the auth helper said yes. The root monitor
 * makes a fresh secret before it forks each auth helper (the helper
 * inherits it; the network-facing worker, forked earlier, never has
 * it). The helper hands out a ticket with each successful login; the
 * monitor starts a mail session only for a ticket it can verify, so a
 * compromised login process cannot open a mailbox without a password.
 * Tickets are bound to the user, expire after TICKET_LIFETIME_MS and
 * are accepted once each (a counter, checked against the last 64).
 */
#ifndef POSTERN_TICKET_H
#define POSTERN_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TICKET_LEN 48 /* u64 counter, u64 expiry, HMAC-SHA256 */
#define TICKET_LIFETIME_MS 30000

/* New secret; earlier tickets stop verifying. Called in the monitor. */
void ticket_key_new(void);
/* In the auth helper. Returns false if there is no secret. */
bool ticket_issue(const char *user, uint8_t out[TICKET_LEN]);
/* In the monitor: right secret, right user, not expired, not replayed. */
bool ticket_verify(const char *user, const uint8_t *t, size_t len);

#endif
