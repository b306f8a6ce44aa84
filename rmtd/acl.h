/*
 * acl.h - the question "may this caller open this name, with these flags?".
 *
 * Identities are named sets of matchers (a Unix user, a peer address or prefix,
 * a TLS certificate subject or fingerprint, or anyone). Rules, in file order,
 * give an identity access to a declared drive or to paths matching a pattern:
 * read-only, read-write or write-once (create new, then only read back), and
 * whether it may create, truncate or append, and change drive settings. The
 * first rule whose identity and target match decides; no matching rule means
 * EACCES.
 */
#ifndef RMTD_ACL_H
#define RMTD_ACL_H

#include <limits.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "path.h"

#define ACL_NAME_MAX     32
#define ACL_TEXT_MAX     256
#define ACL_MATCHERS_MAX 256
#define ACL_RULES_MAX    256

/* Who is asking. Fields that do not apply are NULL. */
struct client_identity {
	const char *user;               /* stdio mode: the Unix user */
	const char *peer;               /* "local", or the address as text */
	const struct sockaddr *address; /* TCP: the peer's address */
	const char *subject;            /* TLS: the client certificate's subject (RFC 2253) */
	const char *fingerprint;        /* TLS: "sha256:" and 64 hex digits */
	bool trusted_plaintext;         /* plaintext TCP on a listener marked as trusted */
};

enum identity_match {
	IDENTITY_ANY,
	IDENTITY_USER,
	IDENTITY_PEER,        /* address or prefix */
	IDENTITY_SUBJECT,     /* a pattern matched component by component (subject.h) */
	IDENTITY_FINGERPRINT, /* sha256:hex */
};

struct identity_matcher {
	char name[ACL_NAME_MAX];
	enum identity_match kind;
	char text[ACL_TEXT_MAX];
	int family;         /* IDENTITY_PEER: AF_INET or AF_INET6 */
	uint8_t prefix[16]; /* IDENTITY_PEER: network bytes */
	int prefix_bits;
};

enum access_mode {
	ACCESS_READ_ONLY,
	ACCESS_READ_WRITE,
	ACCESS_WRITE_ONCE,
};

enum rule_target {
	RULE_DRIVE, /* a declared drive, by name */
	RULE_PATH,  /* canonical paths matching a pattern (fnmatch, '*' stays within a directory) */
};

#define RULE_MAY_CREATE   0x1
#define RULE_MAY_TRUNCATE 0x2
#define RULE_MAY_APPEND   0x4
#define RULE_MAY_SETTINGS 0x8 /* change drive settings that outlive the session */

struct access_rule {
	char identity[ACL_NAME_MAX]; /* an identity name, or "*" for anyone */
	enum rule_target target;
	char pattern[PATH_MAX];
	enum access_mode mode;
	int permissions;     /* RULE_MAY_* */
	uint64_t max_record; /* 0: the server's maximum */
	int line;            /* where it was written, for the log */
};

struct access_rules {
	bool enabled; /* false: no configuration file, path.c's rules alone apply */
	struct identity_matcher matchers[ACL_MATCHERS_MAX];
	int matcher_count;
	struct access_rule rules[ACL_RULES_MAX];
	int rule_count;
};

struct access_decision {
	int flags;                /* the flags to open with */
	uint64_t max_record;      /* 0: the server's maximum */
	int rule_line;            /* the rule that allowed it, 0 when rules are off */
	bool may_change_settings; /* the rule says settings, or rules are off */
};

/* Does the identity called name include this client? */
bool acl_identity_matches(const struct access_rules *rules, const char *name,
                          const struct client_identity *who);

/*
 * Decide an open of a resolved name. Returns 0 and fills *decision, or -EACCES
 * (or -EROFS) with *reason a short text for the client and the log.
 */
int acl_check(const struct access_rules *rules, const struct client_identity *who,
              const struct resolved_path *target, int flags, struct access_decision *decision,
              const char **reason);

/*
 * Parse a SHA-256 fingerprint, "sha256:" (optional) then 64 hexadecimal digits or
 * openssl's AB:CD:... form, into "sha256:" and 64 lower-case digits. 0, or -EINVAL.
 */
int acl_parse_fingerprint(const char *text, char *out, size_t size);

/* 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
bool acl_address_is_loopback(const struct sockaddr *address);

/* Parse "10.0.0.0/8", "::1", "192.168.1.7" into a matcher. 0, or -EINVAL. */
int acl_parse_peer(const char *text, struct identity_matcher *matcher);

#endif
