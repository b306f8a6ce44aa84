/*
 * fuzz_preload.c - libFuzzer target for the LD_PRELOAD shim's device names
 * (librmt/preload_names.c): RMT_DEVICES parsed into normalised local paths, and
 * the paths a program opens matched against them.
 *
 * Input: RMT_DEVICES text '\n' path (a missing '\n': the path is empty). Besides
 * "never crash", it checks that each local path is normal (parsing "LOCAL=x"
 * with it again gives it back: no "//", no "." or foldable ".." left), that
 * every mapped path matches its own mapping, and that any path that matches
 * one normalises to that mapping's local path.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "preload_internal.h"
#include "fuzz_common.h"

static void forget_devices(void)
{
	for (int i = 0; i < device_count; i++) {
		free(devices[i].local);
		free(devices[i].remote);
	}
	device_count = 0;
}

/* parse_devices() once more on "LOCAL=x": the local path it gives. */
static void require_normal(const char *local)
{
	static char spec[PATH_MAX + 8];
	struct device_map saved[DEVICES_MAX];
	int saved_count = device_count;

	if (strchr(local, ',') != NULL || strchr(local, '=') != NULL || local[0] == '\0')
		return; /* not expressible as one item again */
	memcpy(saved, devices, sizeof(saved));
	device_count = 0;
	snprintf(spec, sizeof(spec), "%s=x", local);
	parse_devices(spec);
	REQUIRE(device_count == 1);
	REQUIRE(strcmp(devices[0].local, local) == 0);
	forget_devices();
	memcpy(devices, saved, sizeof(saved));
	device_count = saved_count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char spec[8192], path[PATH_MAX];
	const uint8_t *newline = memchr(data, '\n', size);
	size_t spec_length = newline != NULL ? (size_t)(newline - data) : size;
	size_t path_length = newline != NULL ? size - spec_length - 1 : 0;
	const struct device_map *d;

	if (spec_length >= sizeof(spec) || path_length >= sizeof(path))
		return 0;
	memcpy(spec, data, spec_length);
	spec[spec_length] = '\0';
	memcpy(path, newline != NULL ? newline + 1 : data, path_length);
	path[path_length] = '\0';

	parse_devices(spec);
	REQUIRE(device_count >= 0 && device_count <= DEVICES_MAX);
	for (int i = 0; i < device_count; i++) {
		REQUIRE(devices[i].local != NULL && devices[i].remote != NULL);
		REQUIRE(strstr(devices[i].local, "//") == NULL);
		require_normal(devices[i].local);
		d = match_device(devices[i].local);
		REQUIRE(d != NULL && strcmp(d->local, devices[i].local) == 0);
	}
	d = match_device(path);
	if (d != NULL && path[0] == '/') {
		char normal[PATH_MAX + 8];

		/* The path, normalised as a mapping's local side is, is that local side. */
		if (strchr(path, ',') == NULL && strchr(path, '=') == NULL) {
			int before = device_count;

			snprintf(normal, sizeof(normal), "%s=x", path);
			parse_devices(normal);
			if (device_count > before)
				REQUIRE(strcmp(devices[device_count - 1].local, d->local) == 0);
		}
	}
	forget_devices();
	return 0;
}
