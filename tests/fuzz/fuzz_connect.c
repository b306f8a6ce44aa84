/*
 * fuzz_connect.c - libFuzzer target for rmt-connect's configuration file
 * (librmt/connect_config.c), read through fmemopen as rmt-connect reads the file.
 *
 * Input: [u8 which host][file text]. Besides "never crash", it checks that a
 * file is either refused with an error naming it and the line, or gives
 * settings rmt-connect can use: a port within 1 to 65535 (or none), tls and
 * pipeline said or not, and names that are whole words.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect_config.h"
#include "fuzz_common.h"

static void require_word(const char *name)
{
	if (name == NULL)
		return;
	REQUIRE(name[0] != '\0');
	REQUIRE(strpbrk(name, " \t\r\n#") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *hosts[] = {"tapehost", "TAPE.example.org", "", "[a-z]*", "-"};
	static char empty[] = "\n";
	struct connect_settings s = {.tls = -1, .pipeline = -1};
	char error[512];
	const char *host;
	FILE *file;
	int rc;

	if (size == 0)
		return 0;
	host = hosts[data[0] % (sizeof(hosts) / sizeof(hosts[0]))];
	/* fmemopen wants at least a byte; an empty file reads as an empty line would. */
	file = size > 1 ? fmemopen((void *)(data + 1), size - 1, "r") : fmemopen(empty, 1, "r");
	if (file == NULL)
		return 0;
	error[0] = '\0';
	rc = connect_config_parse(file, "fuzz.conf", host, &s, error, sizeof(error));
	fclose(file);
	if (rc < 0) {
		REQUIRE(rc == -1);
		REQUIRE(strncmp(error, "fuzz.conf:", 10) == 0);
	} else {
		REQUIRE(rc == 0);
		REQUIRE(s.port <= 65535);
		REQUIRE(s.tls >= -1 && s.tls <= 1);
		REQUIRE(s.pipeline >= -1 && s.pipeline <= 1);
		require_word(s.ca);
		require_word(s.cert);
		require_word(s.key);
		require_word(s.server_name);
	}
	connect_settings_free(&s);
	return 0;
}
