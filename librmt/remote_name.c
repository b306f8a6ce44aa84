/*
 * remote_name.c - parsing librmt's remote device names.
 *
 * Three forms: the classic [user@]host:path that tar, cpio and dump take (split
 * at the first '@' and the first ':', as GNU does), the URL rmt://[user@]host[:port]/path
 * for rmtd's TCP port, and exec:COMMAND:path for a local server (tests). Whatever
 * ends up on a command line (user, host) is checked so that it cannot be taken for
 * an option of the remote shell. rmts:// is the same URL over TLS.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "number.h"
#include "remote_name.h"

#define URL_PREFIX     "rmt://"
#define TLS_URL_PREFIX "rmts://"
#define EXEC_PREFIX    "exec:"

bool remote_name_is_host_form(const char *name)
{
	const char *colon = strchr(name, ':');
	const char *slash = strchr(name, '/');

	if (colon == NULL || colon == name)
		return false;
	return slash == NULL || slash > colon;
}

bool remote_name_is_remote(const char *name)
{
	if (name == NULL)
		return false;
	if (strncmp(name, URL_PREFIX, strlen(URL_PREFIX)) == 0 ||
	    strncmp(name, TLS_URL_PREFIX, strlen(TLS_URL_PREFIX)) == 0)
		return true;
	if (strncmp(name, EXEC_PREFIX, strlen(EXEC_PREFIX)) == 0)
		return true;
	return remote_name_is_host_form(name);
}

bool remote_name_valid_user(const char *user)
{
	if (user[0] == '\0' || user[0] == '-')
		return false;
	for (const char *p = user; *p != '\0'; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Host names, addresses and ssh aliases: no option look-alike, no blanks or controls. */
static bool valid_host(const char *host)
{
	if (host[0] == '\0' || host[0] == '-')
		return false;
	for (const char *p = host; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 0x7f || c == '@' || c == '/' || c == '\\' || c == '\'' ||
		    c == '"' || c == '`' || c == '$' || c == ';' || c == '&' || c == '|')
			return false;
	}
	return true;
}

static int copy_span(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static int set_path(struct remote_name *out, const char *path)
{
	if (path[0] == '\0' || strchr(path, '\n') != NULL)
		return -EINVAL;
	return copy_span(out->path, sizeof(out->path), path, strlen(path));
}

static int parse_port(const char *text, size_t len, unsigned int *port)
{
	uint64_t value;

	if (decimal_parse_u64(text, len, &value) < 0 || value == 0 || value > 65535)
		return -EINVAL;
	*port = (unsigned int)value;
	return 0;
}

/* user@ in front of a host, if any. *rest points after it. */
static int split_user(const char *start, const char *end, struct remote_name *out,
                      const char **rest)
{
	const char *at = memchr(start, '@', (size_t)(end - start));
	int result;

	*rest = start;
	if (at == NULL)
		return 0;
	/* An empty user (@host:path) is ignored, as GNU does. */
	if (at > start) {
		result = copy_span(out->user, sizeof(out->user), start, (size_t)(at - start));
		if (result < 0)
			return result;
		if (!remote_name_valid_user(out->user))
			return -EINVAL;
	}
	*rest = at + 1;
	return 0;
}

static int parse_url(const char *name, size_t prefix, enum rmt_transport transport,
                     struct remote_name *out)
{
	const char *authority = name + prefix;
	const char *slash = strchr(authority, '/');
	const char *host, *host_end, *port_start = NULL;
	int result;

	if (slash == NULL)
		return -EINVAL;
	result = split_user(authority, slash, out, &host);
	if (result < 0)
		return result;
	if (*host == '[') {
		host_end = memchr(host, ']', (size_t)(slash - host));
		if (host_end == NULL)
			return -EINVAL;
		if (host_end + 1 < slash) {
			if (host_end[1] != ':')
				return -EINVAL;
			port_start = host_end + 2;
		}
		host++;
	} else {
		host_end = memchr(host, ':', (size_t)(slash - host));
		if (host_end != NULL)
			port_start = host_end + 1;
		else
			host_end = slash;
	}
	result = copy_span(out->host, sizeof(out->host), host, (size_t)(host_end - host));
	if (result < 0)
		return result;
	if (!valid_host(out->host))
		return -EINVAL;
	if (port_start != NULL) {
		result = parse_port(port_start, (size_t)(slash - port_start), &out->port);
		if (result < 0)
			return result;
	}
	out->transport = transport;
	return set_path(out, slash);
}

static int parse_exec(const char *name, struct remote_name *out)
{
	const char *command = name + strlen(EXEC_PREFIX);
	const char *colon = strchr(command, ':');
	int result;

	if (colon == NULL || colon == command)
		return -EINVAL;
	result = copy_span(out->command, sizeof(out->command), command, (size_t)(colon - command));
	if (result < 0)
		return result;
	if (strchr(out->command, '\n') != NULL)
		return -EINVAL;
	out->transport = RMT_TRANSPORT_COMMAND;
	return set_path(out, colon + 1);
}

static int parse_host_form(const char *name, struct remote_name *out)
{
	const char *colon = strchr(name, ':');
	const char *host;
	int result;

	result = split_user(name, colon, out, &host);
	if (result < 0)
		return result;
	result = copy_span(out->host, sizeof(out->host), host, (size_t)(colon - host));
	if (result < 0)
		return result;
	if (!valid_host(out->host))
		return -EINVAL;
	out->transport = RMT_TRANSPORT_RSH;
	return set_path(out, colon + 1);
}

int remote_name_parse(const char *name, struct remote_name *out)
{
	memset(out, 0, sizeof(*out));
	if (name == NULL)
		return -EINVAL;
	if (strncmp(name, URL_PREFIX, strlen(URL_PREFIX)) == 0)
		return parse_url(name, strlen(URL_PREFIX), RMT_TRANSPORT_TCP, out);
	if (strncmp(name, TLS_URL_PREFIX, strlen(TLS_URL_PREFIX)) == 0)
		return parse_url(name, strlen(TLS_URL_PREFIX), RMT_TRANSPORT_TLS, out);
	if (strncmp(name, EXEC_PREFIX, strlen(EXEC_PREFIX)) == 0)
		return parse_exec(name, out);
	if (remote_name_is_host_form(name))
		return parse_host_form(name, out);
	return -EINVAL;
}
