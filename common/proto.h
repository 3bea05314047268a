/*
 * proto.h: IPC message types between postern processes and the
 * payloads they carry (all encoded with ipc.h's field codec).
 */
#ifndef POSTERN_PROTO_H
#define POSTERN_PROTO_H

#define QUEUE_SOCKET "run/queue.sock" /* relative to the spool root */

enum msg_type {
	/* smtpd -> queued */
	Q_NEW = 100,       /* ()                      -> Q_NEW_OK + fd | Q_FAIL */
	Q_COMMIT,          /* (qid, envelope)         -> Q_COMMIT_OK | Q_FAIL */
	Q_ABORT,           /* (qid)                   no reply */
	/* queued -> smtpd */
	Q_NEW_OK = 150,    /* (u64 qid) + fd of the new queue file */
	Q_COMMIT_OK,       /* (u64 qid) */
	Q_FAIL,            /* (str reason) */

	/* queued -> local delivery agent */
	L_DELIVER = 200,   /* (u64 qid, u32 rcpt, str sender, str mailbox, str rcpt) + fd */
	/* local delivery agent -> queued */
	L_RESULT = 250,    /* (u64 qid, u32 rcpt, u8 status, str detail) */

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
	P_HELPER = 400,    /* () + fd: a (new) connection to the helper */
	/* pop3d login process -> its monitor */
	P_SESSION,         /* (str user, str ticket, str client ip, str pipelined input) + client fd
	                      -> P_SESSION_OK | P_SESSION_FAIL, later P_SESSION_END */
	/* monitor -> pop3d login process (same reqid) */
	P_SESSION_OK,      /* (): the session owns the client now */
	P_SESSION_FAIL,    /* (str reason): tell the client, the login keeps it */
	P_SESSION_END,     /* (): that session has ended (per-IP accounting) */
	/* monitor -> worker (smtpd, pop3d login), at start and on SIGHUP */
	P_TLS,             /* (str certificate chain PEM, str private key PEM) */
};

enum delivery_status {
	DELIVERY_OK = 0,
	DELIVERY_TEMPFAIL = 1,
	DELIVERY_PERMFAIL = 2,
};

#endif
