/*
 * acl.c - identities, rules, and the decision at each open.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "number.h"
#include "subject.h"

int acl_parse_peer(const char *text, struct identity_matcher *matcher)
{
	char address[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t length = slash ? (size_t)(slash - text) : strlen(text);
	int maximum;

	if (length == 0 || length >= sizeof(address))
		return -EINVAL;
	memcpy(address, text, length);
	address[length] = '\0';
	memset(matcher->prefix, 0, sizeof(matcher->prefix));
	if (inet_pton(AF_INET, address, matcher->prefix) == 1) {
		matcher->family = AF_INET;
		maximum = 32;
	} else if (inet_pton(AF_INET6, address, matcher->prefix) == 1) {
		matcher->family = AF_INET6;
		maximum = 128;
	} else {
		return -EINVAL;
	}
	matcher->prefix_bits = maximum;
	if (slash != NULL) {
		int64_t bits;

		if (decimal_parse_range(slash + 1, 0, maximum, &bits) < 0)
			return -EINVAL;
		matcher->prefix_bits = (int)bits;
	}
	return 0;
}

int acl_parse_fingerprint(const char *text, char *out, size_t size)
{
	size_t n = 0;
	bool colons;

	if (size < 8 + 64)
		return -EINVAL;
	if (strncasecmp(text, "sha256:", 7) == 0)
		text += 7;
	/* 64 hexadecimal digits, or 32 pairs with 31 ':' between them as openssl prints. */
	colons = strlen(text) == 64 + 31;
	if (!colons && strlen(text) != 64)
		return -EINVAL;
	strlcpy(out, "sha256:", size);
	for (size_t i = 0; text[i] != '\0'; i++) {
		if (colons && i % 3 == 2) {
			if (text[i] != ':')
				return -EINVAL;
			continue;
		}
		if (!isxdigit((unsigned char)text[i]))
			return -EINVAL;
		out[7 + n++] = (char)tolower((unsigned char)text[i]);
	}
	out[7 + n] = '\0';
	return 0;
}

bool acl_address_is_loopback(const struct sockaddr *address)
{
	if (address->sa_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;

		return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
	}
	if (address->sa_family == AF_INET6) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)address)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(v6) ||
		       (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127);
	}
	return false;
}

static bool prefix_matches(const struct identity_matcher *m, const struct sockaddr *address)
{
	const uint8_t *bytes;
	uint8_t mapped[4];
	int family;

	if (address == NULL)
		return false;
	family = address->sa_family;
	if (family == AF_INET) {
		bytes = (const uint8_t *)&((const struct sockaddr_in *)address)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)address)->sin6_addr;

		bytes = a6->s6_addr;
		/* An IPv4 client on an IPv6 socket (::ffff:a.b.c.d) matches IPv4 prefixes. */
		if (m->family == AF_INET && IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(mapped, a6->s6_addr + 12, 4);
			bytes = mapped;
			family = AF_INET;
		}
	} else {
		return false;
	}
	if (family != m->family)
		return false;
	for (int bit = 0; bit < m->prefix_bits; bit += 8) {
		int take = m->prefix_bits - bit >= 8 ? 8 : m->prefix_bits - bit;
		uint8_t mask = (uint8_t)(0xff << (8 - take));

		if ((bytes[bit / 8] & mask) != (m->prefix[bit / 8] & mask))
			return false;
	}
	return true;
}

static bool matcher_matches(const struct identity_matcher *m, const struct client_identity *who)
{
	switch (m->kind) {
	case IDENTITY_ANY:
		return true;
	case IDENTITY_USER:
		return who->user != NULL && strcmp(who->user, m->text) == 0;
	case IDENTITY_PEER:
		return prefix_matches(m, who->address);
	case IDENTITY_SUBJECT:
		return who->subject != NULL && subject_matches(m->text, who->subject);
	case IDENTITY_FINGERPRINT:
		return who->fingerprint != NULL && strcasecmp(who->fingerprint, m->text) == 0;
	}
	return false;
}

bool acl_identity_matches(const struct access_rules *rules, const char *name,
                          const struct client_identity *who)
{
	if (strcmp(name, "*") == 0)
		return true;
	for (int i = 0; i < rules->matcher_count; i++) {
		const struct identity_matcher *m = &rules->matchers[i];

		if (strcmp(m->name, name) == 0 && matcher_matches(m, who))
			return true;
	}
	return false;
}

static bool target_matches(const struct access_rule *rule, const struct resolved_path *target)
{
	if (rule->target == RULE_DRIVE)
		return target->drive_name[0] != '\0' &&
		       strcmp(rule->pattern, target->drive_name) == 0;
	return fnmatch(rule->pattern, target->canonical, FNM_PATHNAME) == 0;
}

int acl_check(const struct access_rules *rules, const struct client_identity *who,
              const struct resolved_path *target, int flags, struct access_decision *decision,
              const char **reason)
{
	const struct access_rule *rule = NULL;
	bool writing = (flags & O_ACCMODE) != O_RDONLY;

	decision->flags = flags;
	decision->max_record = 0;
	decision->rule_line = 0;
	decision->may_change_settings = !rules->enabled;
	*reason = NULL;
	if (!rules->enabled)
		return 0;
	for (int i = 0; i < rules->rule_count; i++) {
		if (target_matches(&rules->rules[i], target) &&
		    acl_identity_matches(rules, rules->rules[i].identity, who)) {
			rule = &rules->rules[i];
			break;
		}
	}
	if (rule == NULL) {
		*reason = "no rule allows you this device";
		return -EACCES;
	}
	decision->rule_line = rule->line;
	decision->max_record = rule->max_record;
	decision->may_change_settings = (rule->permissions & RULE_MAY_SETTINGS) != 0;
	if (writing && rule->mode == ACCESS_READ_ONLY) {
		*reason = "read-only for you";
		return -EACCES;
	}
	if ((flags & O_CREAT) && !(rule->permissions & RULE_MAY_CREATE)) {
		*reason = "creating files is not allowed for you here";
		return -EACCES;
	}
	if ((flags & O_TRUNC) && !(rule->permissions & RULE_MAY_TRUNCATE)) {
		*reason = "truncating is not allowed for you here";
		return -EACCES;
	}
	if ((flags & O_APPEND) && !(rule->permissions & RULE_MAY_APPEND)) {
		*reason = "appending is not allowed for you here";
		return -EACCES;
	}
	if (writing && rule->mode == ACCESS_WRITE_ONCE) {
		/* Write once: only as the creation of something new; afterwards read it back. */
		if (!(flags & O_CREAT)) {
			*reason = "write-once: only new files may be written";
			return -EACCES;
		}
		decision->flags |= O_EXCL;
		decision->flags &= ~(O_TRUNC | O_APPEND);
	}
	return 0;
}
