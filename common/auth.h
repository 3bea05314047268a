/*
 * auth.h: the auth helper (postern-auth, chrooted to the config
 * directory). It alone reads the users and aliases files; its parent
 * daemon asks it over a socketpair whether a recipient exists (and
 * which mailboxes it resolves to) and whether a password is right (then
 * with the canonical user name and a ticket for the monitor, ticket.h). Only answers leave it, never a hash.
 */
#ifndef POSTERN_AUTH_H
#define POSTERN_AUTH_H

#define AUTH_PASS_MAX 512 /* longest password accepted */

/* Process body for proc_spawn: arg is the daemon's struct config. */
int auth_helper_main(int sock, void *arg);

#endif
