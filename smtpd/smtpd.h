/*
 * smtpd.h: shared state of the SMTP receiver's worker process
 * (postern-smtpd, chrooted to the spool root): listeners, the session
 * table, and the channels to queued and to the auth helper.
 */
#ifndef POSTERN_SMTPD_H
#define POSTERN_SMTPD_H

#include "config.h"
#include "ipc.h"
#include "netserver.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct session;
struct smtpd;

/* What a listener serves: MX (25), submission (587, STARTTLS) or
 * submissions (465, TLS from the first byte). */
enum listen_kind { LK_SMTP, LK_SUBMISSION, LK_SUBMISSIONS };

struct listener {
	struct smtpd *sd;
	int fd;
	enum listen_kind kind;
	struct event *ev;
};

/* distinct reply codes counted (the rest add to the last, "other") */
#define SMTPD_REJECT_KINDS 48

struct smtpd {
	struct config *conf;
	struct event_base *base;
	int listen_fds[CONFIG_MAX_LISTEN];  /* handed to the worker by the monitor */
	struct listener listeners[CONFIG_MAX_LISTEN];
	size_t nlisten;
	SSL_CTX *tls;              /* NULL until the monitor sends the certificate */
	struct authfail *authfail;
	struct ipc_chan *queue;    /* NULL while queued is unreachable */
	uint32_t queue_epoch;      /* bumped on every (re)connection */
	struct event *ev_queue_retry;
	struct ipc_chan *auth;     /* NULL while the auth helper is down */
	struct ipc_chan *ctl;      /* from the supervising parent */
	struct slot_table sessions; /* request ids -> struct session */
	bool stopping;
	uint64_t accepted_msgs;
	/* counters for posternctl stats, pushed to queued each second they
	 * change (Q_STATS) */
	uint64_t sessions_total, auth_ok, auth_failed;
	struct smtpd_reject {
		char reply[16];        /* "550 5.7.1", or the bare code */
		uint64_t n;
	} rejected[SMTPD_REJECT_KINDS];
	size_t nrejected;
	bool stats_dirty;
	uint32_t stats_sessions_sent; /* sessions now, as last pushed */
	struct event *ev_stats;
};

/* smtpd.c */
void smtpd_queue_connect(struct smtpd *sd);
uint32_t smtpd_count_ip(struct smtpd *sd, const struct sockaddr_storage *ss);

/* Counts a 4xx/5xx reply by its code and enhanced status. */
void smtpd_count_reject(struct smtpd *sd, const char *reply, size_t len);

/* session.c */
void session_accept(struct listener *l, int fd, const struct sockaddr_storage *peer);
void session_on_queue(struct session *s, uint16_t type, const uint8_t *p,
    size_t len, int fd);
void session_on_auth(struct session *s, uint16_t type, const uint8_t *p, size_t len);
/* The channel a pending request of this session went out on is gone. */
void session_peer_lost(struct session *s, bool queue);
void session_shutdown(struct session *s);
const struct sockaddr_storage *session_peer(const struct session *s);
bool session_waiting_on(const struct session *s, bool queue);

#endif
