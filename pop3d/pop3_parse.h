/*
 * pop3_parse.h: the POP3 command line parser (RFC 1939, RFC 2449) and
 * the AUTH argument parser (RFC 5034) of pop3d's login process
 * (postern-pop3) and mail sessions (postern-vmail). Pure, with explicit
 * length limits; unit-tested and fuzzed.
 */
#ifndef POSTERN_POP3_PARSE_H
#define POSTERN_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 2449 allows 255 octets per command with CRLF; a little slack for
 * long passwords, and still small. */
#define POP3_LINE_MAX 512

enum pop3_cmd {
	P3_USER, P3_PASS, P3_QUIT, P3_STAT, P3_LIST, P3_RETR, P3_DELE,
	P3_NOOP, P3_RSET, P3_TOP, P3_UIDL, P3_CAPA, P3_APOP, P3_AUTH, P3_STLS,
};

enum pop3_parse_err {
	P3E_OK,
	P3E_UNKNOWN,   /* not a command we know */
	P3E_SYNTAX,    /* known command, wrong arguments */
};

struct pop3_command {
	enum pop3_cmd cmd;
	const char *arg;   /* USER/PASS: the rest of the line (into the input) */
	size_t arglen;
	bool has_msg;      /* LIST/UIDL with an argument; always for RETR/DELE/TOP */
	uint32_t msg;      /* message number, 1-based */
	uint32_t lines;    /* TOP: body lines */
};

/* RFC 4422 3.1: a SASL mechanism name has 1 to 20 characters. */
#define POP3_MECH_MAX 20

enum pop3_mech {
	P3M_PLAIN,     /* RFC 4616 */
	P3M_OTHER,     /* well-formed, but not one pop3d offers */
};

struct pop3_auth {
	enum pop3_mech mech;
	const char *mech_name; /* into the argument */
	size_t mech_len;
	const char *ir;        /* the initial response (into the argument), or NULL */
	size_t irlen;
};

/* line: without its CRLF; len <= POP3_LINE_MAX. */
enum pop3_parse_err pop3_parse(const char *line, size_t len, struct pop3_command *out);
const char *pop3_cmd_name(enum pop3_cmd c);

/* The argument of AUTH (RFC 5034 4): "mechanism [initial-response]",
 * words separated by spaces (leading and trailing spaces are
 * tolerated). The mechanism is 1..POP3_MECH_MAX of A-Z a-z 0-9 '-' '_'
 * (case does not matter); the initial response is one word of printable
 * ASCII other than space, checked no further here (sasl_decode does:
 * "=" is an empty response, "*" a cancel). A third word, an empty
 * argument or any other byte is a syntax error: false, and *out is
 * zeroed. arg needs no NUL; len is bounded by the command line. */
bool pop3_parse_auth(const char *arg, size_t len, struct pop3_auth *out);

#endif
