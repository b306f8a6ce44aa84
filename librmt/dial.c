/*
 * dial.c - how librmt reaches a server: a remote shell or a local command
 * spawned on a socketpair, a TCP connection, or TLS over one, chosen by the
 * device name and the caller's options (with the RSH, RMT, RMT_PORT and
 * RMT_TLS_* environment variables as defaults).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connection.h"
#include "dial.h"
#include "number.h"
#include "remote_name.h"
#include "rmt/protocol.h"
#include "rmt/rmt.h"
#include "tls_client.h"

#define DEFAULT_RSH             "ssh"
#define DEFAULT_RMT             "/etc/rmt"
#define DEFAULT_CONNECT_TIMEOUT 30000
#define ARGV_MAX                64

/* Split a command line at blanks into argv (no quoting). Returns the count or -errno. */
static int split_words(char *line, char **argv, int max)
{
	int count = 0;
	char *save = NULL;

	for (char *word = strtok_r(line, " \t", &save); word != NULL;
	     word = strtok_r(NULL, " \t", &save)) {
		if (count + 1 >= max)
			return -E2BIG;
		argv[count++] = word;
	}
	argv[count] = NULL;
	return count;
}

static int spawn_command(struct connection *conn, const char *command, const char *user,
                         const char *host, const char *remote_command)
{
	char *copy = strdup(command);
	char *argv[ARGV_MAX];
	int count, result;

	if (copy == NULL)
		return -ENOMEM;
	count = split_words(copy, argv, ARGV_MAX - 4);
	if (count <= 0) {
		free(copy);
		return count < 0 ? count : -EINVAL;
	}
	if (host != NULL) {
		/* rsh and ssh both take: [-l user] host command */
		if (user != NULL && user[0] != '\0') {
			argv[count++] = "-l";
			argv[count++] = (char *)user;
		}
		argv[count++] = (char *)host;
		argv[count++] = (char *)remote_command;
		argv[count] = NULL;
	}
	result = connection_spawn(conn, argv);
	free(copy);
	return result;
}

static unsigned int tcp_port(const struct remote_name *name, const struct rmt_options *o)
{
	const char *env = getenv("RMT_PORT");

	if (name->port != 0)
		return name->port;
	if (o != NULL && o->port != 0 && o->port <= 65535)
		return o->port;
	if (env != NULL) {
		int64_t value;

		if (decimal_parse_range(env, 1, 65535, &value) == 0)
			return (unsigned int)value;
	}
	return RMT_DEFAULT_TCP_PORT;
}

static const char *option_or_environment(const char *option, const char *variable)
{
	const char *value = option != NULL ? option : getenv(variable);

	return value != NULL && value[0] != '\0' ? value : NULL;
}

int dial_connect(struct connection *conn, struct remote_name *name, const struct rmt_options *o,
                 char *why, size_t why_size)
{
	enum rmt_transport transport = o != NULL ? o->transport : RMT_TRANSPORT_AUTO;
	const char *user = o != NULL && o->user != NULL ? o->user : name->user;
	int connect_timeout = o != NULL && o->connect_timeout_ms > 0 ? o->connect_timeout_ms
	                                                             : DEFAULT_CONNECT_TIMEOUT;
	const char *resolver = NULL;
	int result;

	if (transport == RMT_TRANSPORT_AUTO)
		transport = name->transport;
	if (user[0] != '\0' && !remote_name_valid_user(user)) {
		snprintf(why, why_size, "invalid user name");
		return -EINVAL;
	}
	switch (transport) {
	case RMT_TRANSPORT_RSH: {
		const char *rsh =
		    o != NULL && o->rsh_command != NULL ? o->rsh_command : getenv("RSH");
		const char *rmt =
		    o != NULL && o->rmt_command != NULL ? o->rmt_command : getenv("RMT");

		if (name->host[0] == '\0') {
			snprintf(why, why_size, "a remote shell needs a host");
			return -EINVAL;
		}
		result = spawn_command(conn, rsh != NULL && *rsh != '\0' ? rsh : DEFAULT_RSH, user,
		                       name->host, rmt != NULL && *rmt != '\0' ? rmt : DEFAULT_RMT);
		if (result < 0)
			snprintf(why, why_size, "cannot start the remote shell: %s",
			         strerror(-result));
		return result;
	}
	case RMT_TRANSPORT_TCP:
		if (name->host[0] == '\0') {
			snprintf(why, why_size, "TCP needs a host");
			return -EINVAL;
		}
		result =
		    connection_tcp(conn, name->host, tcp_port(name, o), connect_timeout, &resolver);
		if (result < 0)
			snprintf(why, why_size, "cannot connect to %.64s port %u: %s", name->host,
			         tcp_port(name, o),
			         resolver != NULL ? resolver : strerror(-result));
		return result;
	case RMT_TRANSPORT_COMMAND: {
		const char *command = name->command[0] != '\0' ? name->command
		                      : o != NULL              ? o->command
		                                               : NULL;

		if (command == NULL || command[0] == '\0') {
			snprintf(why, why_size, "no command to run");
			return -EINVAL;
		}
		result = spawn_command(conn, command, NULL, NULL, NULL);
		if (result < 0)
			snprintf(why, why_size, "cannot start %.80s: %s", command,
			         strerror(-result));
		return result;
	}
	case RMT_TRANSPORT_TLS: {
		struct tls_client_config tls = {
		    .ca_file =
		        option_or_environment(o != NULL ? o->tls_ca_file : NULL, "RMT_TLS_CA"),
		    .cert_file =
		        option_or_environment(o != NULL ? o->tls_cert_file : NULL, "RMT_TLS_CERT"),
		    .key_file =
		        option_or_environment(o != NULL ? o->tls_key_file : NULL, "RMT_TLS_KEY"),
		    .server_name = option_or_environment(o != NULL ? o->tls_server_name : NULL,
		                                         "RMT_TLS_SERVER_NAME"),
		};
		char reason[200] = "";

		if (name->host[0] == '\0') {
			snprintf(why, why_size, "TLS needs a host");
			return -EINVAL;
		}
		if (tls.server_name == NULL)
			tls.server_name = name->host;
		result =
		    connection_tcp(conn, name->host, tcp_port(name, o), connect_timeout, &resolver);
		if (result < 0) {
			snprintf(why, why_size, "cannot connect to %.64s port %u: %s", name->host,
			         tcp_port(name, o),
			         resolver != NULL ? resolver : strerror(-result));
			return result;
		}
		result = connection_start_tls(conn, &tls, connect_timeout, reason, sizeof(reason));
		if (result < 0) {
			snprintf(why, why_size, "%.64s port %u: %s", name->host, tcp_port(name, o),
			         reason);
			close(conn->fd);
		}
		return result;
	}
	default:
		snprintf(why, why_size, "unknown transport");
		return -EINVAL;
	}
}

int dial_resolve_name(const char *name, const struct rmt_options *o, struct remote_name *out)
{
	enum rmt_transport transport = o != NULL ? o->transport : RMT_TRANSPORT_AUTO;

	if (name == NULL)
		return -EINVAL;
	if (transport == RMT_TRANSPORT_COMMAND && strncmp(name, "exec:", 5) != 0) {
		memset(out, 0, sizeof(*out));
		out->transport = RMT_TRANSPORT_COMMAND;
		if (name[0] == '\0' || strchr(name, '\n') != NULL)
			return -EINVAL;
		if (strlen(name) >= sizeof(out->path))
			return -ENAMETOOLONG;
		strcpy(out->path, name);
		return 0;
	}
	return remote_name_parse(name, out);
}
