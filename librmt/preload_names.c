/*
 * preload_names.c - which local paths go remote: RMT_DEVICES parsed into
 * normalised local paths and librmt names, and a path matched against them.
 */
#undef _FILE_OFFSET_BITS /* we define open and open64, stat and stat64 ... side by side */
#undef _FORTIFY_SOURCE   /* and read, open and friends without glibc's inline wrappers */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload_internal.h"

struct device_map devices[DEVICES_MAX];
int device_count;

/* ------------------------------------------------------------------ device names */

/* Lexical normalisation: no "//", no "." components, ".." folded; no symlinks followed. */
static void normalise(const char *in, char *out, size_t size)
{
	size_t len = 0;
	bool absolute = in[0] == '/';

	if (size < 2) {
		if (size > 0)
			out[0] = '\0';
		return;
	}
	if (absolute)
		out[len++] = '/';
	while (*in != '\0') {
		const char *end;
		size_t n;

		while (*in == '/')
			in++;
		if (*in == '\0')
			break;
		end = strchrnul(in, '/');
		n = (size_t)(end - in);
		if (n == 1 && in[0] == '.') {
			in = end;
			continue;
		}
		if (n == 2 && in[0] == '.' && in[1] == '.' && len > (absolute ? 1u : 0u)) {
			char *slash;

			out[len] = '\0';
			slash = strrchr(out, '/');
			if (slash != NULL && strcmp(slash + 1, "..") != 0) {
				len = (size_t)(slash - out);
				if (len == 0 && absolute)
					len = 1;
				in = end;
				continue;
			}
		}
		if (len > 0 && out[len - 1] != '/' && len + 1 < size)
			out[len++] = '/';
		if (len + n >= size)
			n = size - len - 1;
		memcpy(out + len, in, n);
		len += n;
		in = end;
	}
	out[len] = '\0';
}

void parse_devices(const char *spec)
{
	char *copy, *save = NULL;

	if (spec == NULL || *spec == '\0')
		return;
	copy = strdup(spec);
	if (copy == NULL)
		return;
	for (char *item = strtok_r(copy, ",", &save); item != NULL && device_count < DEVICES_MAX;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		char local[PATH_MAX];
		struct device_map *d;

		if (eq == NULL || eq == item || eq[1] == '\0') {
			dprintf(
			    STDERR_FILENO,
			    "librmt-preload: RMT_DEVICES: ignoring \"%s\" (want LOCAL=REMOTE)\n",
			    item);
			continue;
		}
		*eq = '\0';
		normalise(item, local, sizeof(local));
		d = &devices[device_count];
		d->local = strdup(local);
		d->remote = strdup(eq + 1);
		if (d->local == NULL || d->remote == NULL) {
			free(d->local);
			free(d->remote);
			continue;
		}
		d->base = strrchr(d->local, '/') != NULL ? strrchr(d->local, '/') + 1 : d->local;
		device_count++;
	}
	free(copy);
}

/* The mapping for a path the program names, or NULL (the common case, kept cheap). */
const struct device_map *match_device(const char *path)
{
	char normal[PATH_MAX], joined[PATH_MAX], cwd[PATH_MAX];
	const char *base;
	bool maybe = false;

	if (device_count == 0 || path == NULL)
		return NULL;
	for (int i = 0; i < device_count; i++)
		if (strcmp(path, devices[i].local) == 0)
			return &devices[i];
	/* Only a name ending like a mapped one is worth normalising. */
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	for (int i = 0; i < device_count && !maybe; i++)
		maybe = strcmp(base, devices[i].base) == 0 || strcmp(base, ".") == 0 ||
		        strcmp(base, "..") == 0 || base[0] == '\0';
	if (!maybe)
		return NULL;
	if (path[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return NULL;
		if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", cwd, path) >= sizeof(joined))
			return NULL;
		path = joined;
	}
	normalise(path, normal, sizeof(normal));
	for (int i = 0; i < device_count; i++)
		if (strcmp(normal, devices[i].local) == 0)
			return &devices[i];
	return NULL;
}
