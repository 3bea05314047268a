/*
 * privsep.h: the one way a postern process gives up root: chroot,
 * setgroups/setresgid/setresuid, verification of every id, and
 * PR_SET_NO_NEW_PRIVS; plus the fork-a-child helper the daemons use for
 * their privilege-separated parts. Called while still root.
 */
#ifndef POSTERN_PRIVSEP_H
#define POSTERN_PRIVSEP_H

#include <stdbool.h>
#include <sys/types.h>

#define USER_SMTPD "postern-smtpd"
#define USER_QUEUE "postern-queue"
#define USER_VMAIL "postern-vmail"
#define USER_AUTH "postern-auth"
#define USER_POP3 "postern-pop3"
#define USER_DNS "postern-dns"     /* the resolver */
#define USER_RELAY "postern-relay" /* the remote delivery agent */
/* a group, not a user: who may run posternctl's queue commands */
#define GROUP_ADMIN "postern-admin"

/* True when this process can chroot and change uid; false in
 * development (started by a non-root user). */
bool privsep_enabled(void);
/* Looks up a system user; false if missing. */
bool privsep_lookup(const char *user, uid_t *uid, gid_t *gid);
/* Chroots into root (or just chdirs there when unprivileged), drops to
 * user and verifies. Exits the process on any failure: a half-dropped
 * process never runs. */
void privsep_drop(const char *user, const char *root);
/* The same, into an open directory (no path lookup that a symlink
 * could redirect). */
void privsep_drop_dir(const char *user, int dirfd);
/* Makes base/sub (or base when sub is "") exist with exactly this
 * owner (NULL: root) and mode when privileged. Exits on failure. */
void privsep_ensure_dir(const char *base, const char *sub, const char *user, mode_t mode);
/* The uid a peer of ours must have: the named user's when privileged,
 * our own otherwise. */
uid_t privsep_expected_uid(const char *user);

/* Forks a child joined to us by a socketpair. The child sets its
 * process title, asks to die with its parent, closes every fd but its
 * end of the pair and keep_fds, then runs fn and exits with its result.
 * The parent gets the pid and its end in *parent_sock. */
pid_t proc_spawn(const char *title, int (*fn)(int sock, void *arg), void *arg,
    int *parent_sock, const int *keep_fds, size_t nkeep);

/* Saves argv for setproctitle; call first thing in main. */
void proc_init(int argc, char **argv);
void proc_title(const char *title);

#endif
