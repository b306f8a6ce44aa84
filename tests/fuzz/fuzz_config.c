/*
 * fuzz_config.c - the configuration parser on arbitrary text: it must report
 * an error or produce a consistent configuration, never crash or overrun.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config config;
	char error[600];

	error[0] = '\0';
	if (config_parse("fuzz.conf", (const char *)data, size, &config, false, error,
	                 sizeof(error)) == 0) {
		if (config.listen_count > CONFIG_LISTEN_MAX ||
		    config.rules.rule_count > ACL_RULES_MAX ||
		    config.rules.matcher_count > ACL_MATCHERS_MAX)
			__builtin_trap();
		config_free(&config);
	} else if (strncmp(error, "fuzz.conf", 9) != 0) {
		__builtin_trap(); /* every error names the file */
	}
	return 0;
}
