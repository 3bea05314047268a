/*
 * auth.h: the auth helper (postern-auth, chrooted to the config
 * directory). It alone reads the users and aliases files; its parent
 * daemon asks it over a socketpair whether a recipient exists (and
 * which mailboxes it resolves to) and, in later protocols, whether a
 * password is right. Only answers leave it, never a hash.
 */
#ifndef POSTERN_AUTH_H
#define POSTERN_AUTH_H

/* Process body for proc_spawn: arg is the daemon's struct config. */
int auth_helper_main(int sock, void *arg);

#endif
