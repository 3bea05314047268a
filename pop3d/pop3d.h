/*
 * pop3d.h: the POP3 server's three parts. pop3d.c is the root monitor:
 * it binds the listeners and, on a verified login ticket, forks a mail
 * session. login.c is the event-driven login process (postern-pop3,
 * chrooted to an empty directory) that speaks POP3 up to the login
 * (TLS, STLS, USER/PASS, AUTH PLAIN), asks the auth helper, and relays
 * the bytes of TLS clients to and from their mail sessions. session.c
 * is one user's mail session (postern-vmail, chrooted into that user's
 * Maildir), with maildrop.c doing the files.
 */
#ifndef POSTERN_POP3D_H
#define POSTERN_POP3D_H

#include "config.h"
#include "tables.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POP3_PIPELINED_MAX (16 * 1024) /* input read past PASS, handed on */
#define POP3_MAX_ERRORS 10             /* bad commands before we hang up */

/* login.c */
struct login_args {
	struct config *conf;
	int listen_fds[CONFIG_MAX_LISTEN];
	bool implicit_tls[CONFIG_MAX_LISTEN]; /* pop3s (RFC 8314) rather than pop3 */
	size_t nlisten;
};
int login_main(int ctl, void *arg);

/* session.c: runs as root until it has chrooted into the Maildir */
struct session_args {
	const struct config *conf;
	char user[USERNAME_MAX + 1];
	char ip[64];
	const uint8_t *pipelined; /* commands the client sent behind PASS */
	size_t npipelined;
	int client_fd;
};
int session_main(int sock, void *arg);

/* Both answer CAPA (RFC 2449). The login process adds what applies in
 * the AUTHORIZATION state on that connection: STLS where TLS can still
 * be started, USER and SASL PLAIN where a password may be sent. */
#define CAPA_STLS 0x1
#define CAPA_LOGIN 0x2
void pop3_capa_lines(char *out, size_t outlen, unsigned flags);

#endif
