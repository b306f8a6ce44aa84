/*
 * config.c - reading /etc/rmtd.conf: one statement per line, words separated by
 * blanks, "double quotes" around words with blanks, # to the end of the line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "number.h"
#include "subject.h"

#define WORDS_MAX      16
#define LINE_MAX_BYTES 4096

struct parser {
	const char *name;
	int line;
	char *error;
	size_t error_size;
	bool open_spools;
	struct config *config;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (p->line > 0)
		snprintf(p->error, p->error_size, "%s:%d: %s", p->name, p->line, message);
	else
		snprintf(p->error, p->error_size, "%s: %s", p->name, message);
	return -1;
}

/* Split a line into words in place. Returns the count, or -1 (error set). */
static int split_words(struct parser *p, char *line, char **words)
{
	int count = 0;
	char *r = line, *w;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\r')
			r++;
		if (*r == '\0' || *r == '#')
			return count;
		if (count == WORDS_MAX)
			return fail(p, "too many words");
		words[count++] = w = r;
		if (*r == '"') {
			r++;
			while (*r != '"') {
				if (*r == '\0')
					return fail(p, "unterminated quoted string");
				if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
					r++;
				*w++ = *r++;
			}
			r++;
			if (*r != '\0' && *r != ' ' && *r != '\t' && *r != '#' && *r != '\r')
				return fail(p, "a quoted string must end its word");
		} else {
			while (*r != '\0' && *r != ' ' && *r != '\t' && *r != '\r' && *r != '#')
				*w++ = *r++;
		}
		if (*r == '#') {
			*w = '\0';
			return count;
		}
		if (*r != '\0')
			r++;
		*w = '\0';
	}
}

static int parse_number(struct parser *p, const char *word, long minimum, long maximum, long *out)
{
	int64_t value;

	if (decimal_parse_range(word, minimum, maximum, &value) < 0)
		return fail(p, "\"%s\": expected a number from %ld to %ld", word, minimum, maximum);
	*out = (long)value;
	return 0;
}

static int parse_size(struct parser *p, const char *word, int64_t maximum, int64_t *out)
{
	uint64_t value;

	if (decimal_parse_size(word, strlen(word), &value) < 0 || value == 0 ||
	    value > (uint64_t)maximum)
		return fail(p,
		            "\"%s\": expected a size from 1 to %lld bytes (K, M, G or T allowed)",
		            word, (long long)maximum);
	*out = (int64_t)value;
	return 0;
}

static int copy_word(struct parser *p, char *out, size_t size, const char *word, const char *what)
{
	if (strlen(word) >= size)
		return fail(p, "%s too long", what);
	strlcpy(out, word, size);
	return 0;
}

static int copy_path(struct parser *p, char *out, size_t size, const char *word, const char *what)
{
	if (word[0] != '/')
		return fail(p, "%s must be an absolute path", what);
	return copy_word(p, out, size, word, what);
}

/*
 * A numeric loopback address, or "localhost": judged as an address, never by its
 * spelling ("127.evil.example" is a name). No name is looked up here; the daemon
 * checks what every listen address resolves to before it binds (server.c).
 */
static bool is_loopback_address(const char *address)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM};
	struct addrinfo *results;
	char host[128];
	const char *colon;
	bool loopback;

	if (address[0] == '[') {
		const char *close = strchr(address, ']');

		if (close == NULL)
			return false;
		snprintf(host, sizeof(host), "%.*s", (int)(close - address - 1), address + 1);
	} else if ((colon = strrchr(address, ':')) != NULL) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - address), address);
	} else {
		return true; /* a bare port listens on loopback */
	}
	if (host[0] == '\0' || strcmp(host, "localhost") == 0)
		return true;
	if (getaddrinfo(host, NULL, &hints, &results) != 0)
		return false;
	loopback = true;
	for (const struct addrinfo *ai = results; ai != NULL; ai = ai->ai_next)
		loopback = loopback && acl_address_is_loopback(ai->ai_addr);
	freeaddrinfo(results);
	return loopback;
}

static int statement_listen(struct parser *p, char **words, int count)
{
	struct config *c = p->config;
	struct listen_spec *spec;

	if (count < 2 || count > 3)
		return fail(p, "usage: listen ADDRESS:PORT [tls | plaintext-trusted]");
	if (c->listen_count == CONFIG_LISTEN_MAX)
		return fail(p, "too many listen statements (at most %d)", CONFIG_LISTEN_MAX);
	spec = &c->listens[c->listen_count];
	memset(spec, 0, sizeof(*spec));
	if (copy_word(p, spec->address, sizeof(spec->address), words[1], "address") < 0)
		return -1;
	if (count == 3) {
		if (strcmp(words[2], "tls") == 0)
			spec->tls = true;
		else if (strcmp(words[2], "plaintext-trusted") == 0)
			spec->trusted_plaintext = true;
		else
			return fail(p, "\"%s\": expected tls or plaintext-trusted", words[2]);
	}
	if (!spec->tls && !spec->trusted_plaintext && !is_loopback_address(spec->address))
		return fail(p,
		            "plaintext on %s: use tls, or say plaintext-trusted for a "
		            "trusted network",
		            spec->address);
	c->listen_count++;
	return 0;
}

static int statement_tls(struct parser *p, char **words, int count)
{
	struct config *c = p->config;

	if (count != 3)
		return fail(p, "usage: tls certificate|key|ca|crl PATH");
	if (strcmp(words[1], "certificate") == 0)
		return copy_path(p, c->tls_certificate, sizeof(c->tls_certificate), words[2],
		                 "certificate");
	if (strcmp(words[1], "key") == 0)
		return copy_path(p, c->tls_key, sizeof(c->tls_key), words[2], "key");
	if (strcmp(words[1], "ca") == 0)
		return copy_path(p, c->tls_ca, sizeof(c->tls_ca), words[2], "ca");
	if (strcmp(words[1], "crl") == 0)
		return copy_path(p, c->tls_crl, sizeof(c->tls_crl), words[2], "crl");
	return fail(p, "\"%s\": expected certificate, key, ca or crl", words[1]);
}

static int statement_control(struct parser *p, char **words, int count)
{
	struct config *c = p->config;

	if (count < 2 || count % 2 != 0)
		return fail(p, "usage: control PATH [mode OCTAL] [group NAME]");
	if (copy_path(p, c->control_socket, sizeof(c->control_socket), words[1], "control") < 0)
		return -1;
	for (int i = 2; i < count; i += 2) {
		if (strcmp(words[i], "mode") == 0) {
			uint64_t mode;

			if (octal_parse_u64(words[i + 1], strlen(words[i + 1]), &mode) < 0 ||
			    mode > 0777 || (mode & 0007))
				return fail(p, "mode \"%s\": octal, and never for others",
				            words[i + 1]);
			c->control_mode = (int)mode;
		} else if (strcmp(words[i], "group") == 0) {
			if (copy_word(p, c->control_group, sizeof(c->control_group), words[i + 1],
			              "group") < 0)
				return -1;
		} else {
			return fail(p, "\"%s\": expected mode or group", words[i]);
		}
	}
	return 0;
}

static int statement_limit(struct parser *p, char **words, int count)
{
	struct config *c = p->config;
	long value = 0;

	if (count != 3)
		return fail(p, "usage: limit sessions|per-peer|idle-timeout|request-timeout|"
		               "drive-wait|hold-timeout|stop-grace|record|read-buffers VALUE");
	if (strcmp(words[1], "record") == 0)
		return parse_size(p, words[2], 16 * 1024 * 1024 - 1, &c->max_record);
	if (strcmp(words[1], "read-buffers") == 0)
		return parse_size(p, words[2], (int64_t)1 << 40, &c->read_buffers);
	if (parse_number(p, words[2], 0, 1000000, &value) < 0)
		return -1;
	if (strcmp(words[1], "sessions") == 0 && value > 0)
		c->max_sessions = (int)value;
	else if (strcmp(words[1], "per-peer") == 0 && value > 0)
		c->max_sessions_per_peer = (int)value;
	else if (strcmp(words[1], "idle-timeout") == 0)
		c->idle_timeout = (int)value;
	else if (strcmp(words[1], "request-timeout") == 0)
		c->request_timeout = (int)value;
	else if (strcmp(words[1], "drive-wait") == 0)
		c->drive_wait = (int)value;
	else if (strcmp(words[1], "hold-timeout") == 0)
		c->hold_timeout = (int)value;
	else if (strcmp(words[1], "stop-grace") == 0 && value > 0)
		c->stop_grace = (int)value;
	else
		return fail(p, "\"%s %s\": unknown limit, or 0 where it must be positive", words[1],
		            words[2]);
	return 0;
}

static int statement_spool(struct parser *p, char **words, int count)
{
	struct path_policy *policy = &p->config->policy;
	int error;

	if (count != 2 || words[1][0] != '/')
		return fail(p, "usage: spool /ABSOLUTE/DIRECTORY");
	if (!p->open_spools) {
		if (policy->directory_count == PATH_ALLOWED_MAX)
			return fail(p, "too many spool directories");
		strlcpy(policy->directories[policy->directory_count].path, words[1], PATH_MAX);
		policy->directories[policy->directory_count].fd = -1;
		policy->directories[policy->directory_count++].may_create = true;
		return 0;
	}
	error = path_policy_allow(policy, words[1], true);
	if (error < 0)
		return fail(p, "spool %s: %s", words[1], strerror(-error));
	return 0;
}

static int statement_drive(struct parser *p, char **words, int count)
{
	int error;

	if (count != 3)
		return fail(p, "usage: drive NAME /DEVICE");
	error = path_policy_declare_drive(&p->config->policy, words[1], words[2]);
	if (error == -EEXIST)
		return fail(p, "drive %s is declared twice", words[1]);
	if (error < 0)
		return fail(p, "drive %s: a name without '/' and an absolute device path",
		            words[1]);
	return 0;
}

static int statement_library(struct parser *p, char **words, int count)
{
	const char *drive_name, *device;
	char message[400];

	if (library_config_statement(&p->config->libraries, words, count, &drive_name, &device,
	                             message, sizeof(message)) < 0)
		return fail(p, "%s", message);
	if (drive_name == NULL)
		return 0;
	if (path_policy_declare_drive(&p->config->policy, drive_name, device) < 0)
		return fail(p, "drive %s is declared twice, or its name has a '/'", drive_name);
	return 0;
}

static int statement_identity(struct parser *p, char **words, int count)
{
	struct access_rules *rules = &p->config->rules;
	struct identity_matcher *m;

	if (count < 3 || (strcmp(words[2], "any") == 0) != (count == 3) ||
	    (strcmp(words[2], "any") != 0 && count != 4))
		return fail(p, "usage: identity NAME any | user U | peer ADDR[/BITS] | "
		               "subject PATTERN | fingerprint sha256:HEX");
	if (rules->matcher_count == ACL_MATCHERS_MAX)
		return fail(p, "too many identity statements");
	if (strcmp(words[1], "*") == 0)
		return fail(p, "\"*\" already means anyone");
	m = &rules->matchers[rules->matcher_count];
	memset(m, 0, sizeof(*m));
	if (copy_word(p, m->name, sizeof(m->name), words[1], "identity name") < 0)
		return -1;
	if (strcmp(words[2], "any") == 0) {
		m->kind = IDENTITY_ANY;
	} else if (strcmp(words[2], "user") == 0) {
		m->kind = IDENTITY_USER;
	} else if (strcmp(words[2], "peer") == 0) {
		m->kind = IDENTITY_PEER;
		if (acl_parse_peer(words[3], m) < 0)
			return fail(p, "\"%s\": expected an address or ADDRESS/BITS", words[3]);
	} else if (strcmp(words[2], "subject") == 0) {
		const char *reason;

		m->kind = IDENTITY_SUBJECT;
		if (subject_pattern_check(words[3], &reason) < 0)
			return fail(p, "subject \"%s\": %s", words[3], reason);
	} else if (strcmp(words[2], "fingerprint") == 0) {
		m->kind = IDENTITY_FINGERPRINT;
		if (acl_parse_fingerprint(words[3], m->text, sizeof(m->text)) < 0)
			return fail(p,
			            "\"%s\": expected sha256: and 64 hex digits, or 32 pairs "
			            "AB:CD:...",
			            words[3]);
		rules->matcher_count++;
		return 0;
	} else {
		return fail(p, "\"%s\": expected any, user, peer, subject or fingerprint",
		            words[2]);
	}
	if (count == 4 && copy_word(p, m->text, sizeof(m->text), words[3], "value") < 0)
		return -1;
	rules->matcher_count++;
	return 0;
}

static bool identity_defined(const struct access_rules *rules, const char *name)
{
	if (strcmp(name, "*") == 0)
		return true;
	for (int i = 0; i < rules->matcher_count; i++)
		if (strcmp(rules->matchers[i].name, name) == 0)
			return true;
	return false;
}

static bool drive_declared(const struct path_policy *policy, const char *name)
{
	for (int i = 0; i < policy->drive_count; i++)
		if (strcmp(policy->drives[i].name, name) == 0)
			return true;
	return false;
}

static int statement_allow(struct parser *p, char **words, int count)
{
	struct access_rules *rules = &p->config->rules;
	struct access_rule *rule;

	if (count < 5)
		return fail(p, "usage: allow IDENTITY drive NAME|path PATTERN "
		               "read-only|read-write|write-once [create] [truncate] [append] "
		               "[settings] [record SIZE]");
	if (rules->rule_count == ACL_RULES_MAX)
		return fail(p, "too many allow statements");
	rule = &rules->rules[rules->rule_count];
	memset(rule, 0, sizeof(*rule));
	rule->line = p->line;
	if (!identity_defined(rules, words[1]))
		return fail(p, "identity %s is not defined (define it before the rule)", words[1]);
	strlcpy(rule->identity, words[1], sizeof(rule->identity));
	if (strcmp(words[2], "drive") == 0) {
		rule->target = RULE_DRIVE;
		if (!drive_declared(&p->config->policy, words[3]))
			return fail(p, "drive %s is not declared (declare it before the rule)",
			            words[3]);
	} else if (strcmp(words[2], "path") == 0) {
		rule->target = RULE_PATH;
		if (words[3][0] != '/')
			return fail(p, "path pattern %s must be absolute", words[3]);
		if (strstr(words[3], "/../") || strcmp(words[3] + strlen(words[3]) - 3, "/..") == 0)
			return fail(p, "path pattern %s must not contain '..'", words[3]);
	} else {
		return fail(p, "\"%s\": expected drive or path", words[2]);
	}
	if (copy_word(p, rule->pattern, sizeof(rule->pattern), words[3], "pattern") < 0)
		return -1;
	if (strcmp(words[4], "read-only") == 0)
		rule->mode = ACCESS_READ_ONLY;
	else if (strcmp(words[4], "read-write") == 0)
		rule->mode = ACCESS_READ_WRITE;
	else if (strcmp(words[4], "write-once") == 0)
		rule->mode = ACCESS_WRITE_ONCE;
	else
		return fail(p, "\"%s\": expected read-only, read-write or write-once", words[4]);
	for (int i = 5; i < count; i++) {
		if (strcmp(words[i], "create") == 0) {
			rule->permissions |= RULE_MAY_CREATE;
		} else if (strcmp(words[i], "truncate") == 0) {
			rule->permissions |= RULE_MAY_TRUNCATE;
		} else if (strcmp(words[i], "append") == 0) {
			rule->permissions |= RULE_MAY_APPEND;
		} else if (strcmp(words[i], "settings") == 0) {
			rule->permissions |= RULE_MAY_SETTINGS;
		} else if (strcmp(words[i], "record") == 0 && i + 1 < count) {
			int64_t size;

			if (parse_size(p, words[++i], 16 * 1024 * 1024 - 1, &size) < 0)
				return -1;
			rule->max_record = (uint64_t)size;
		} else {
			return fail(
			    p, "\"%s\": expected create, truncate, append, settings or record SIZE",
			    words[i]);
		}
	}
	if (rule->mode == ACCESS_READ_ONLY && (rule->permissions & ~RULE_MAY_SETTINGS) != 0)
		return fail(p, "a read-only rule cannot create, truncate or append");
	rules->enabled = true;
	rules->rule_count++;
	return 0;
}

static int statement(struct parser *p, char **words, int count)
{
	struct config *c = p->config;
	const char *keyword = words[0];

	if (strcmp(keyword, "listen") == 0)
		return statement_listen(p, words, count);
	if (strcmp(keyword, "tls") == 0)
		return statement_tls(p, words, count);
	if (strcmp(keyword, "control") == 0)
		return statement_control(p, words, count);
	if (strcmp(keyword, "limit") == 0)
		return statement_limit(p, words, count);
	if (strcmp(keyword, "spool") == 0)
		return statement_spool(p, words, count);
	if (strcmp(keyword, "drive") == 0)
		return statement_drive(p, words, count);
	if (strcmp(keyword, "library") == 0)
		return statement_library(p, words, count);
	if (strcmp(keyword, "identity") == 0)
		return statement_identity(p, words, count);
	if (strcmp(keyword, "allow") == 0)
		return statement_allow(p, words, count);
	if (count != 2)
		return fail(p, "\"%s\": unknown statement, or it takes one value", keyword);
	if (strcmp(keyword, "user") == 0)
		return copy_word(p, c->user, sizeof(c->user), words[1], "user");
	if (strcmp(keyword, "group") == 0)
		return copy_word(p, c->group, sizeof(c->group), words[1], "group");
	if (strcmp(keyword, "state-directory") == 0)
		return copy_path(p, c->state_directory, sizeof(c->state_directory), words[1],
		                 "state-directory");
	if (strcmp(keyword, "status-directory") == 0)
		return copy_path(p, c->status_directory, sizeof(c->status_directory), words[1],
		                 "status-directory");
	if (strcmp(keyword, "sync") == 0) {
		if (strcmp(words[1], "yes") != 0 && strcmp(words[1], "no") != 0)
			return fail(p, "sync \"%s\": expected yes or no", words[1]);
		c->sync_records = strcmp(words[1], "yes") == 0;
		return 0;
	}
	return fail(p, "\"%s\": unknown statement", keyword);
}

static void config_defaults(struct config *c)
{
	int references = c->references;

	memset(c, 0, sizeof(*c));
	c->references = references;
	path_policy_init(&c->policy);
	c->control_mode = -1;
	c->max_sessions = -1;
	c->max_sessions_per_peer = -1;
	c->idle_timeout = -1;
	c->request_timeout = -1;
	c->drive_wait = -1;
	c->hold_timeout = -1;
	c->stop_grace = -1;
	c->max_record = -1;
	c->read_buffers = -1;
	c->sync_records = -1;
}

static int config_check(struct parser *p)
{
	struct config *c = p->config;
	bool tls = false;
	char message[400];

	p->line = 0;
	for (int i = 0; i < c->listen_count; i++)
		tls |= c->listens[i].tls;
	if (library_config_check(&c->libraries, message, sizeof(message)) < 0)
		return fail(p, "%s", message);
	if (tls && (c->tls_certificate[0] == '\0' || c->tls_key[0] == '\0' || c->tls_ca[0] == '\0'))
		return fail(p, "a tls listener needs tls certificate, key and ca");
	if (c->rules.rule_count == 0 && (c->rules.matcher_count > 0 || c->policy.drive_count > 0 ||
	                                 c->policy.directory_count > 0))
		return fail(p,
		            "drives, spools or identities but no allow rule: say who may open "
		            "them (\"allow * drive NAME read-write create truncate\" for anyone)");
	return 0;
}

int config_parse(const char *name, const char *text, size_t length, struct config *config,
                 bool open_spools, char *error, size_t error_size)
{
	struct parser p = {
	    .name = name,
	    .error = error,
	    .error_size = error_size,
	    .open_spools = open_spools,
	    .config = config,
	};
	size_t offset = 0;

	config_defaults(config);
	strlcpy(config->path, name, sizeof(config->path));
	while (offset < length) {
		char line[LINE_MAX_BYTES];
		char *words[WORDS_MAX];
		const char *end = memchr(text + offset, '\n', length - offset);
		size_t line_length = end ? (size_t)(end - (text + offset)) : length - offset;
		int count;

		p.line++;
		if (line_length >= sizeof(line)) {
			fail(&p, "line too long");
			goto failed;
		}
		memcpy(line, text + offset, line_length);
		line[line_length] = '\0';
		offset += line_length + 1;
		if (memchr(line, '\0', line_length) != NULL) {
			fail(&p, "NUL byte in the line");
			goto failed;
		}
		count = split_words(&p, line, words);
		if (count < 0 || (count > 0 && statement(&p, words, count) < 0))
			goto failed;
	}
	if (config_check(&p) < 0)
		goto failed;
	return 0;
failed:
	config_free(config);
	return -1;
}

int config_load(const char *path, struct config *config, char *error, size_t error_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		snprintf(error, error_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	return config_load_fd(fd, path, config, error, error_size);
}

int config_load_fd(int fd, const char *path, struct config *config, char *error, size_t error_size)
{
	struct stat st;
	char *text;
	ssize_t n;
	int result;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(error, error_size, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	/* A configuration others can write is a configuration anyone can rewrite. */
	if (st.st_mode & S_IWOTH) {
		snprintf(error, error_size, "%s: writable by others; refusing it (chmod o-w)",
		         path);
		close(fd);
		return -1;
	}
	if (st.st_size > 1024 * 1024) {
		snprintf(error, error_size, "%s: larger than 1 MiB", path);
		close(fd);
		return -1;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		close(fd);
		snprintf(error, error_size, "%s: out of memory", path);
		return -1;
	}
	n = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(text);
		snprintf(error, error_size, "%s: short read", path);
		return -1;
	}
	result = config_parse(path, text, (size_t)n, config, true, error, error_size);
	free(text);
	return result;
}

void config_free(struct config *config)
{
	for (int i = 0; i < config->policy.directory_count; i++)
		if (config->policy.directories[i].fd >= 0)
			close(config->policy.directories[i].fd);
	config->policy.directory_count = 0;
}

struct config *config_new(void)
{
	struct config *config = calloc(1, sizeof(*config));

	if (config == NULL)
		return NULL;
	config_defaults(config);
	config->references = 1;
	return config;
}

struct config *config_hold(struct config *config)
{
	config->references++;
	return config;
}

void config_release(struct config *config)
{
	if (config == NULL || --config->references > 0)
		return;
	config_free(config);
	free(config);
}
