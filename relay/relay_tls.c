/*
 * relay_tls.c: the remote delivery agent's TLS client (OpenSSL 3).
 * Opportunistic STARTTLS (RFC 3207) with TLS 1.2 or newer; the peer's
 * certificate is checked against relay_tls_ca_file and the MX host name
 * for the log line only, as for a "may" policy. Under DANE (RFC 7672:
 * usable TLSA records that came DNSSEC-secure) OpenSSL's own DANE
 * support matches the certificate against the records, with no name
 * check for DANE-EE(3), and a mismatch ends the connection. The CA
 * file is read as root before the chroot; runs as postern-relay.
 */
#include "relay.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <bsd/string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>

SSL_CTX *relay_tls_ctx(const char *cafile)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		fatalx("TLS: cannot create the client context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	/* verification is judged after the handshake, not by aborting it */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (cafile[0] && SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
		ERR_clear_error();
		log_warnx("TLS: cannot read CA certificates from %s: peer certificates will show "
		    "as not verified", cafile);
	}
	if (SSL_CTX_dane_enable(ctx) <= 0)
		fatalx("TLS: no DANE support in this OpenSSL");
	return ctx;
}

static bool is_address(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

SSL *relay_tls_ssl(SSL_CTX *ctx, const struct route_host *h)
{
	SSL *ssl = SSL_new(ctx);
	if (ssl == NULL)
		return NULL;
	bool addr = is_address(h->name);
	if (!addr)
		SSL_set_tlsext_host_name(ssl, h->name);
	if (h->dane) {
		/* the TLSA base domain is the MX host (RFC 7672 3.2.2) */
		if (SSL_dane_enable(ssl, h->name) <= 0)
			goto fail;
		SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
		int usable = 0;
		for (size_t i = 0; i < h->ntlsa; i++)
			if (SSL_dane_tlsa_add(ssl, h->tlsa[i].usage, h->tlsa[i].selector,
			    h->tlsa[i].mtype, h->tlsa[i].data, h->tlsa[i].len) > 0)
				usable++;
		if (usable == 0)
			goto fail;
	} else if (addr) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), h->name) != 1)
			goto fail;
	} else if (SSL_set1_host(ssl, h->name) != 1) {
		goto fail;
	}
	return ssl;
fail:
	ERR_clear_error();
	SSL_free(ssl);
	return NULL;
}

bool relay_tls_check(SSL *ssl, const struct route_host *h, char *out, size_t outlen)
{
	long v = SSL_get_verify_result(ssl);
	const char *how;
	bool ok = true;
	if (h->dane) {
		ok = v == X509_V_OK && SSL_get0_dane_authority(ssl, NULL, NULL) >= 0;
		how = ok ? "dane" : "no";
	} else {
		how = v == X509_V_OK ? "yes" : "no";
	}
	if (v == X509_V_OK)
		textf(out, outlen, "tls=%s cipher=%s verified=%s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl), how);
	else
		textf(out, outlen, "tls=%s cipher=%s verified=%s (%s)", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl), how, X509_verify_cert_error_string(v));
	return ok;
}
