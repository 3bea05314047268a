/*
 * tls.h: TLS for the network-facing processes (smtpd's worker, pop3d's
 * login process, and the client side in the remote delivery agent), on OpenSSL 3 and libevent's bufferevent_openssl.
 * The root monitor reads the certificate chain and key files (they
 * stay unreadable to the daemons' users) and passes their PEM text to
 * the worker over its control socket at start and on SIGHUP; the
 * worker builds a server context from memory. Policy: TLS 1.2 and 1.3
 * only, forward-secret AEAD ciphers, no compression, no renegotiation.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct bufferevent;
struct event_base;
struct config;

#define TLS_PEM_MAX (256 * 1024) /* a certificate chain or key file */

struct tls_creds {
	char *cert;      /* PEM: the certificate, then its chain */
	size_t cert_len;
	char *key;       /* PEM private key; wiped on free */
	size_t key_len;
};

/* Once per process before any chroot (loads OpenSSL's configuration). */
void tls_init(void);
/* As root: reads both files (following symlinks, as certificate
 * managers use them). -1 and "path: reason" in err on failure. */
int tls_creds_load(const char *cert_path, const char *key_path, struct tls_creds *out,
    char *err, size_t errlen);
void tls_creds_free(struct tls_creds *c);
/* A server context from PEM text; NULL and a reason (bad PEM, key not
 * matching the certificate) in err. */
SSL_CTX *tls_server_ctx(const char *cert, size_t cert_len, const char *key, size_t key_len,
    char *err, size_t errlen);
/* The files as a daemon takes them at start and on SIGHUP: read, and a
 * server context built from them (the key matches, the PEM parses).
 * false and "path: reason" in err; else *c holds the PEM (free it with
 * tls_creds_free) and *not_after, unless NULL, the certificate's
 * expiry ((time_t)-1 if it cannot be read). */
bool tls_creds_usable(const char *cert_path, const char *key_path, struct tls_creds *c,
    time_t *not_after, char *err, size_t errlen);
/* The context for a P_TLS frame's payload (str cert, str key), which it
 * wipes. */
SSL_CTX *tls_ctx_from_frame(uint8_t *p, size_t len, char *err, size_t errlen);
/* A worker's answer to P_TLS: the context in *slot is replaced by one
 * from the frame (the old one is released; connections keep a
 * reference to theirs), or kept, with a log line, if the frame's
 * certificate does not load. */
void tls_ctx_replace(SSL_CTX **slot, uint8_t *p, size_t len);
/* As root (the monitor): loads conf's certificate and key and sends
 * them to the worker as P_TLS over ctl. false (logged) on failure. */
bool tls_send_creds(int ctl, const struct config *conf);

/* A bufferevent that runs the server side of a TLS handshake on fd and
 * then carries the plaintext; it owns fd and the SSL object. NULL on
 * failure (fd is then closed). */
struct bufferevent *tls_bev_accept(struct event_base *base, int fd, SSL_CTX *ctx);
/* STARTTLS/STLS: the same socket, now under TLS. Everything the plain
 * bufferevent read and did not consume is dropped with it (RFC 3207 4,
 * RFC 2595 2.2: no command sent before the handshake may be acted on,
 * CVE-2011-0411). Frees plain; NULL if the switch failed (socket
 * closed). */
struct bufferevent *tls_bev_starttls(struct bufferevent *plain, SSL_CTX *ctx);
/* The client side of STARTTLS (the remote delivery agent): as
 * tls_bev_starttls, dropping any reply the server sent ahead of the
 * handshake, with ssl (set up by the caller; owned from now on, freed
 * on failure) connecting. */
struct bufferevent *tls_bev_starttls_client(struct bufferevent *plain, SSL *ssl);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" style
 * text for logs and Received: lines; "" on a plain bufferevent. */
void tls_describe(struct bufferevent *bev, char *out, size_t outlen);
/* The protocol version alone ("TLSv1.3"), or NULL on a plain one. */
const char *tls_version(struct bufferevent *bev);
/* Why the last handshake or record failed, for a log line. */
void tls_error_text(struct bufferevent *bev, char *out, size_t outlen);

#endif
