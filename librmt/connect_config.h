/*
 * connect_config.h - /etc/rmt-connect.conf: how rmt-connect reaches each host.
 *
 * tar and dump start their rsh command as one program name with no options,
 * so what a host needs (TLS, its files, a port) is written down per host:
 *
 *   host tapehost tapehost.example.org     (fnmatch patterns)
 *       tls
 *       ca /etc/rmt-connect/ca.crt
 *
 * Statements before the first host line apply to every host; for each setting
 * the first value that applies wins. The grammar is in rmt-connect(1).
 */
#ifndef RMT_CONNECT_CONFIG_H
#define RMT_CONNECT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONNECT_CONFIG_DEFAULT_PATH "/etc/rmt-connect.conf"

/* What the file says for one host; unset: tls -1, port 0, names NULL. */
struct connect_settings {
	int tls;      /* 1 tls, 0 plaintext */
	int pipeline; /* 1 pipeline, 0 classic, -1 not said */
	unsigned int port;
	char *ca;
	char *cert;
	char *key;
	char *server_name;
};

/*
 * Read path and keep what applies to host. A missing file is no error unless
 * must_exist. Returns 0, or -1 with error ("file:line: message").
 */
int connect_config_read(const char *path, bool must_exist, const char *host,
                        struct connect_settings *settings, char *error, size_t error_size);

/* The same for a file already open; path names it in errors. No other I/O. */
int connect_config_parse(FILE *file, const char *path, const char *host,
                         struct connect_settings *settings, char *error, size_t error_size);

void connect_settings_free(struct connect_settings *settings);

#endif
