/*
 * proto.h: IPC message types between postern processes and the
 * payloads they carry (all encoded with ipc.h's field codec).
 */
#ifndef POSTERN_PROTO_H
#define POSTERN_PROTO_H

#define QUEUE_SOCKET "run/queue.sock" /* relative to the spool root */
#define DNS_SOCKET "run/dns.sock"     /* the resolver's, relative to the spool root */
#define CONTROL_SOCKET "run/control.sock" /* queued's, for posternctl (root, postern-admin) */
#define SUBMIT_SOCKET "run/submit.sock"   /* queued's, for sendmail (any local user) */
#define OFFLINE_DIR "offline"  /* sendmail's submissions while queued is down (root, 1733) */
#define POP3D_STATS_FILE "run/pop3d.stats" /* pop3d's counters (root:postern-admin 0640),
                                              a counter list as in C_STATS_OK */

enum msg_type {
	/* smtpd -> queued */
	Q_NEW = 100,       /* ()                      -> Q_NEW_OK + fd | Q_FAIL */
	Q_COMMIT,          /* (qid, envelope)         -> Q_COMMIT_OK | Q_FAIL */
	Q_ABORT,           /* (qid)                   no reply */
	Q_STATS,           /* (u32 n, n x (str name, u64 value)): smtpd's counters
	                      (absolute, since it started); no reply */
	/* queued -> smtpd */
	Q_NEW_OK = 150,    /* (u64 qid) + fd of the new queue file */
	Q_COMMIT_OK,       /* (u64 qid) */
	Q_FAIL,            /* (str reason) */

	/* queued -> local delivery agent */
	L_DELIVER = 200,   /* (u64 qid, u32 rcpt, str sender, str mailbox, str rcpt) + fd */
	/* queued -> remote delivery agent: one message's due recipients */
	R_DELIVER = 210,   /* (u64 qid, str sender, u8 flags, u64 size, u64 arrival ms,
	                      u32 n, n x (u32 rcpt, str address)) + fd of the queue file */
	R_DNS_OK,          /* () + fd: a new connection to the resolver (none: unreachable) */
	/* local and remote delivery agents -> queued, one per recipient */
	L_RESULT = 250,    /* (u64 qid, u32 rcpt, u8 status, str detail) */
	/* remote delivery agent -> queued */
	R_DNS = 260,       /* (): connect me to the resolver -> R_DNS_OK */

	/* smtpd -> auth helper */
	A_LOOKUP = 300,    /* (str local part) -> A_LOOKUP_OK | A_LOOKUP_NONE | A_FAIL */
	A_AUTH,            /* (str user, str password) -> A_AUTH_OK | A_AUTH_NO | A_FAIL */
	/* auth helper -> smtpd */
	A_LOOKUP_OK = 350, /* (u32 n, n x str mailbox) */
	A_LOOKUP_NONE,     /* () */
	A_FAIL,            /* (str reason) */
	A_AUTH_OK,         /* (str canonical user, str ticket) */
	A_AUTH_NO,         /* () */

	/* supervising parent -> worker */
	P_HELPER = 400,    /* (u8 which helper: the monitor_spec index) + fd: a (new) connection to it */
	/* pop3d login process -> its monitor */
	P_SESSION,         /* (str user, str ticket, str client ip, str pipelined input) + client fd
	                      -> P_SESSION_OK | P_SESSION_FAIL, later P_SESSION_END */
	/* monitor -> pop3d login process (same reqid) */
	P_SESSION_OK,      /* (): the session owns the client now */
	P_SESSION_FAIL,    /* (str reason): tell the client, the login keeps it */
	P_SESSION_END,     /* (): that session has ended (per-IP accounting) */
	/* monitor -> worker (smtpd, pop3d login), at start and on SIGHUP */
	P_TLS,             /* (str certificate chain PEM, str private key PEM) */
	/* queued's worker -> its monitor: posternctl reload */
	P_RELOAD,          /* (): SIGHUP to every daemon with a pid file in run/; no reply */
	/* monitor -> worker on SIGHUP, once the monitor has parsed it; the
	 * worker passes the same frame on to its helpers (same type) */
	P_CONFIG,          /* the bytes of postern.conf as the payload, raw; no reply */
	/* pop3d login process -> its monitor, each second they change */
	P_STATS,           /* (u32 n, n x (str name, u64 value)): its counters, absolute;
	                      no reply. The monitor writes POP3D_STATS_FILE */

	/* client (queued, smtpd, posternctl; the relay agent over a socket
	 * queued connects for it) -> resolver; the
	 * reqid is the client's own and comes back in the reply. Any
	 * number of queries may be in flight on one connection; replies
	 * come in the order answers arrive. Codec: resolver/dns_proto.c */
	D_QUERY = 500,     /* (u16 qtype, str name) -> D_ANSWER | D_ERROR
	                      qtype: MX 15, A 1, AAAA 28, PTR 12, TXT 16, TLSA 52;
	                      name: LDH labels (and '_'), <= 63 per label, <= 253
	                      in all, one trailing dot allowed */
	/* resolver -> client */
	D_ANSWER = 550,    /* (u8 status, u8 secure, u32 ttl, u32 n, n x record)
	                      status: dns_status (OK, NXDOMAIN, NODATA, TEMPFAIL);
	                      n = 0 unless OK, at most DNS_MAX_RECORDS; record by qtype:
	                      MX u16 preference, str exchange ("." for a null MX);
	                      A 4 bytes; AAAA 16 bytes; PTR str name;
	                      TXT str bytes (the character-strings joined);
	                      TLSA u8 usage, u8 selector, u8 matching type, str bytes */
	D_ERROR,           /* (str reason): the query was refused (bad name,
	                      unsupported type, malformed payload); not retried */

	/* posternctl -> queued (control.c), over run/control.sock */
	C_ACT = 600,       /* (u8 action, u32 n, n x u64 qid) -> C_OK (u32 messages changed)
	                      action: ctl_action */
	C_PAUSE,           /* (u8 what: ctl_pause bits, u8 1 pause | 0 resume) -> C_OK (u32 paused bits) */
	C_STATS,           /* () -> C_STATS_OK */
	C_MSG,             /* (u64 qid) -> C_OK () + fd of the queue file (read-only) | C_FAIL */
	C_RELOAD,          /* () -> C_OK () | C_FAIL: the root monitor signals the daemons */
	/* queued -> posternctl */
	C_OK = 650,
	C_FAIL,            /* (str reason) */
	C_STATS_OK,        /* (u32 n, n x (str name, u64 value)) */

	/* sendmail -> queued (submit.c), over run/submit.sock; see submit.h */
	SUB_BEGIN = 700,
	SUB_DATA,
	SUB_END,
	/* queued -> sendmail */
	SUB_OK = 750,       /* (u64 qid) */
	SUB_FAIL,          /* (u8 kind: 0 temporary, 1 permanent, 2 unknown local user, 3 bad address or data; str reason) */
};

enum ctl_action { CTL_HOLD = 1, CTL_RELEASE, CTL_RETRY, CTL_REMOVE, CTL_BOUNCE };
enum ctl_pause { CTL_PAUSE_LOCAL = 1, CTL_PAUSE_REMOTE = 2, CTL_PAUSE_ACCEPT = 4 };

/* D_ANSWER status */
enum dns_status {
	DNS_OK = 0,        /* records follow */
	DNS_NXDOMAIN = 1,  /* the name does not exist: permanent */
	DNS_NODATA = 2,    /* the name exists, without records of this type */
	DNS_TEMPFAIL = 3,  /* SERVFAIL, timeout, DNSSEC bogus, resolver busy: try later */
};

enum delivery_status {
	DELIVERY_OK = 0,
	DELIVERY_TEMPFAIL = 1,
	DELIVERY_PERMFAIL = 2,
};

#endif
