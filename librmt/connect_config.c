/*
 * connect_config.c - reading /etc/rmt-connect.conf: one statement per line,
 * words separated by blanks, # to the end of the line.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect_config.h"
#include "number.h"

#define WORDS_MAX 32

struct reader {
	const char *path;
	int line;
	char *error;
	size_t error_size;
};

static int fail(struct reader *r, const char *message, const char *word)
{
	snprintf(r->error, r->error_size, "%s:%d: %s%s%s", r->path, r->line, message,
	         word != NULL ? ": " : "", word != NULL ? word : "");
	return -1;
}

static int split(char *line, char **words)
{
	int count = 0;
	char *hash = strchr(line, '#');

	if (hash != NULL)
		*hash = '\0';
	for (char *word = strtok(line, " \t\r\n"); word != NULL; word = strtok(NULL, " \t\r\n")) {
		if (count == WORDS_MAX)
			return -1;
		words[count++] = word;
	}
	return count;
}

static bool host_matches(char **patterns, int count, const char *host)
{
	for (int i = 0; i < count; i++)
		if (fnmatch(patterns[i], host, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

/* Keep value in *slot unless an earlier statement set it. */
static int keep_text(struct reader *r, char **slot, const char *value, bool applies)
{
	if (!applies || *slot != NULL)
		return 0;
	*slot = strdup(value);
	if (*slot == NULL)
		return fail(r, "out of memory", NULL);
	return 0;
}

static int statement(struct reader *r, char **words, int count, bool applies,
                     struct connect_settings *s)
{
	const char *keyword = words[0];

	if (strcmp(keyword, "tls") == 0 || strcmp(keyword, "plaintext") == 0) {
		if (count != 1)
			return fail(r, "takes no value", keyword);
		if (applies && s->tls < 0)
			s->tls = keyword[0] == 't';
		return 0;
	}
	if (strcmp(keyword, "pipeline") == 0 || strcmp(keyword, "classic") == 0) {
		if (count != 1)
			return fail(r, "takes no value", keyword);
		if (applies && s->pipeline < 0)
			s->pipeline = keyword[0] == 'p';
		return 0;
	}
	if (count != 2)
		return fail(r, "unknown statement, or it takes one value", keyword);
	if (strcmp(keyword, "port") == 0) {
		int64_t port;

		if (decimal_parse_range(words[1], 1, 65535, &port) < 0)
			return fail(r, "expected a port from 1 to 65535", words[1]);
		if (applies && s->port == 0)
			s->port = (unsigned int)port;
		return 0;
	}
	if (strcmp(keyword, "ca") == 0)
		return keep_text(r, &s->ca, words[1], applies);
	if (strcmp(keyword, "cert") == 0)
		return keep_text(r, &s->cert, words[1], applies);
	if (strcmp(keyword, "key") == 0)
		return keep_text(r, &s->key, words[1], applies);
	if (strcmp(keyword, "server-name") == 0)
		return keep_text(r, &s->server_name, words[1], applies);
	return fail(r, "unknown statement", keyword);
}

int connect_config_parse(FILE *file, const char *path, const char *host,
                         struct connect_settings *settings, char *error, size_t error_size)
{
	struct reader r = {.path = path, .error = error, .error_size = error_size};
	char *line = NULL;
	size_t size = 0;
	bool applies = true; /* before the first host line: every host */
	int result = 0;

	while (result == 0 && getline(&line, &size, file) >= 0) {
		char *words[WORDS_MAX];
		int count;

		r.line++;
		count = split(line, words);
		if (count < 0)
			result = fail(&r, "too many words", NULL);
		else if (count > 0 && strcmp(words[0], "host") == 0) {
			if (count == 1)
				result = fail(&r, "host needs a pattern", NULL);
			applies = host_matches(words + 1, count - 1, host);
		} else if (count > 0)
			result = statement(&r, words, count, applies, settings);
	}
	if (result == 0 && ferror(file)) {
		snprintf(error, error_size, "%s: %s", path, strerror(errno));
		result = -1;
	}
	free(line);
	return result;
}

int connect_config_read(const char *path, bool must_exist, const char *host,
                        struct connect_settings *settings, char *error, size_t error_size)
{
	FILE *file = fopen(path, "re");
	int result;

	if (file == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(error, error_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	result = connect_config_parse(file, path, host, settings, error, error_size);
	fclose(file);
	return result;
}

void connect_settings_free(struct connect_settings *settings)
{
	free(settings->ca);
	free(settings->cert);
	free(settings->key);
	free(settings->server_name);
}
