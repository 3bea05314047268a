/*
 * tls.c: server-side TLS on OpenSSL 3 and bufferevent_openssl: the
 * context built from PEM text in memory, the socket wrappers for
 * implicit TLS and STARTTLS, and the certificate hand-over from the
 * root monitor (which alone reads the files) to the unprivileged,
 * chrooted network process. See tls.h.
 */
#include "tls.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "tables.h"

#include <bsd/string.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Mozilla's "intermediate" TLS 1.2 list: ECDHE with AEAD only. TLS 1.3
 * suites are OpenSSL's defaults, all AEAD. */
#define TLS12_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

void tls_init(void)
{
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_LOAD_SSL_STRINGS, NULL);
}

static char *read_pem(const char *path, size_t *len, char *err, size_t errlen)
{
	char real[PATH_MAX];
	if (realpath(path, real) == NULL) {
		snprintf(err, errlen, "%s: %m", path);
		return NULL;
	}
	return read_small_file(AT_FDCWD, real, TLS_PEM_MAX, len, err, errlen);
}

int tls_creds_load(const char *cert_path, const char *key_path, struct tls_creds *out,
    char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->cert = read_pem(cert_path, &out->cert_len, err, errlen);
	if (out->cert == NULL)
		return -1;
	out->key = read_pem(key_path, &out->key_len, err, errlen);
	if (out->key == NULL) {
		tls_creds_free(out);
		return -1;
	}
	return 0;
}

void tls_creds_free(struct tls_creds *c)
{
	if (c->key) {
		explicit_bzero(c->key, c->key_len);
		free(c->key);
	}
	free(c->cert);
	memset(c, 0, sizeof(*c));
}

static void ssl_err(char *err, size_t errlen, const char *what)
{
	char buf[256] = "unknown error";
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s", what, buf);
}

bool tls_creds_usable(const char *cert_path, const char *key_path, struct tls_creds *c,
    time_t *not_after, char *err, size_t errlen)
{
	char why[256];
	if (tls_creds_load(cert_path, key_path, c, err, errlen) < 0)
		return false;
	SSL_CTX *ctx = tls_server_ctx(c->cert, c->cert_len, c->key, c->key_len, why, sizeof(why));
	if (ctx == NULL) {
		snprintf(err, errlen, "%s: %s", cert_path, why);
		tls_creds_free(c);
		return false;
	}
	if (not_after) {
		X509 *x = SSL_CTX_get0_certificate(ctx);
		struct tm tm;
		*not_after = x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 ? timegm(&tm) :
		    (time_t)-1;
	}
	SSL_CTX_free(ctx);
	return true;
}

SSL_CTX *tls_server_ctx(const char *cert, size_t cert_len, const char *key, size_t key_len,
    char *err, size_t errlen)
{
	if (cert_len > TLS_PEM_MAX || key_len > TLS_PEM_MAX) {
		snprintf(err, errlen, "certificate or key larger than %d bytes", TLS_PEM_MAX);
		return NULL;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	BIO *cb = BIO_new_mem_buf(cert, (int)cert_len);
	BIO *kb = BIO_new_mem_buf(key, (int)key_len);
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	if (ctx == NULL || cb == NULL || kb == NULL) {
		ssl_err(err, errlen, "TLS setup");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* OpenSSL 3 refuses client-initiated renegotiation by default */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		ssl_err(err, errlen, "cipher list");
		goto fail;
	}
	if ((x = PEM_read_bio_X509_AUX(cb, NULL, NULL, NULL)) == NULL) {
		ssl_err(err, errlen, "certificate");
		goto fail;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		ssl_err(err, errlen, "certificate");
		goto fail;
	}
	X509 *ca;
	while ((ca = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			ssl_err(err, errlen, "certificate chain");
			goto fail;
		}
	}
	ERR_clear_error(); /* the end of the chain reads as an error */
	if ((pk = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) == NULL) {
		ssl_err(err, errlen, "private key");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, "private key does not match the certificate");
		goto fail;
	}
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(cb);
	BIO_free(kb);
	return ctx;
fail:
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(cb);
	BIO_free(kb);
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_ctx_from_frame(uint8_t *p, size_t len, char *err, size_t errlen)
{
	struct ipc_rd r;
	size_t cl, kl;
	ipcr_init(&r, p, len);
	const uint8_t *cert = ipcr_bytes(&r, TLS_PEM_MAX, &cl);
	const uint8_t *key = ipcr_bytes(&r, TLS_PEM_MAX, &kl);
	SSL_CTX *ctx = NULL;
	if (!ipcr_done(&r))
		snprintf(err, errlen, "malformed certificate frame");
	else
		ctx = tls_server_ctx((const char *)cert, cl, (const char *)key, kl, err, errlen);
	explicit_bzero(p, len);
	return ctx;
}

void tls_ctx_replace(SSL_CTX **slot, uint8_t *p, size_t len)
{
	char err[512];
	SSL_CTX *ctx = tls_ctx_from_frame(p, len, err, sizeof(err));
	if (ctx == NULL) {
		log_warnx("TLS: %s; keeping the certificate in use", err);
		return;
	}
	if (*slot)
		log_info("TLS: certificate reloaded");
	SSL_CTX_free(*slot);
	*slot = ctx;
}

bool tls_send_creds(int ctl, const struct config *conf)
{
	struct tls_creds c;
	char err[512];
	if (!tls_creds_usable(conf->tls_certificate, conf->tls_key, &c, NULL, err, sizeof(err))) {
		log_warnx("TLS: %s; keeping the certificate in use", err);
		return false;
	}
	struct ipc_buf b;
	ipcb_init(&b);
	ipcb_str(&b, c.cert, c.cert_len);
	ipcb_str(&b, c.key, c.key_len);
	tls_creds_free(&c);
	bool ok = !b.err && ipc_send_fd(ctl, P_TLS, 0, b.data, b.len, -1) == 0;
	if (b.data)
		explicit_bzero(b.data, b.len);
	ipcb_free(&b);
	if (!ok)
		log_warnx("TLS: could not pass the certificate to the worker");
	return ok;
}

/* A bufferevent running ssl over fd; owns both, and frees both on failure. */
static struct bufferevent *bev_over_ssl(struct event_base *base, int fd, SSL *ssl,
    enum bufferevent_ssl_state state)
{
	if (ssl == NULL) {
		ERR_clear_error();
		close(fd);
		return NULL;
	}
	struct bufferevent *bev = bufferevent_openssl_socket_new(base, fd, ssl, state,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	/* a peer that closes without close_notify has still closed */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct bufferevent *tls_bev_accept(struct event_base *base, int fd, SSL_CTX *ctx)
{
	return bev_over_ssl(base, fd, SSL_new(ctx), BUFFEREVENT_SSL_ACCEPTING);
}

/* The socket of plain, without plain and what it read but nobody took. */
static int take_socket(struct bufferevent *plain)
{
	int fd = dup(bufferevent_getfd(plain));
	bufferevent_free(plain);
	return fd;
}

struct bufferevent *tls_bev_starttls(struct bufferevent *plain, SSL_CTX *ctx)
{
	struct event_base *base = bufferevent_get_base(plain);
	int fd = take_socket(plain);
	if (fd < 0)
		return NULL;
	return tls_bev_accept(base, fd, ctx);
}

struct bufferevent *tls_bev_starttls_client(struct bufferevent *plain, SSL *ssl)
{
	struct event_base *base = bufferevent_get_base(plain);
	int fd = take_socket(plain);
	if (fd < 0) {
		SSL_free(ssl);
		return NULL;
	}
	return bev_over_ssl(base, fd, ssl, BUFFEREVENT_SSL_CONNECTING);
}

const char *tls_version(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	return ssl ? SSL_get_version(ssl) : NULL;
}

void tls_describe(struct bufferevent *bev, char *out, size_t outlen)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	if (ssl == NULL) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	int alg = 0;
	int bits = SSL_get_cipher_bits(ssl, &alg);
	snprintf(out, outlen, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl), bits, alg);
}

void tls_error_text(struct bufferevent *bev, char *out, size_t outlen)
{
	unsigned long e = bufferevent_get_openssl_error(bev);
	if (e == 0) {
		strlcpy(out, "connection closed", outlen);
		return;
	}
	ERR_error_string_n(e, out, outlen);
	while (bufferevent_get_openssl_error(bev) != 0)
		;
}
