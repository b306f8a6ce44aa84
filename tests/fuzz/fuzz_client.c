/*
 * fuzz_client.c - what librmt parses from outside: a server's status lines and
 * error texts (a lying server must never crash the client), and remote names
 * (from command lines and RMT_DEVICES).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "remote_name.h"
#include "wire.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct remote_name name;
	struct wire_reply reply;
	char text[WIRE_ERROR_TEXT_MAX];
	char *copy = malloc(size + 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';

	/* A status line as the server sent it, NUL bytes and all. */
	if (wire_parse_status((const char *)data, size, &reply) == 0 &&
	    reply.kind == WIRE_REPLY_OK && size == 0)
		__builtin_trap(); /* an empty line is never a reply */
	if (wire_parse_status((const char *)data, size, &reply) == 0 &&
	    reply.kind != WIRE_REPLY_OK) {
		int error = wire_errno(reply.value);

		if (error < 1 || error > WIRE_ERRNO_MAX)
			__builtin_trap();
	}

	/* An error text: printable ASCII only, always terminated, cut to fit. */
	wire_clean_text(text, sizeof(text), copy);
	for (size_t i = 0; text[i] != '\0'; i++)
		if (i >= sizeof(text) || (unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] > 0x7e)
			__builtin_trap();
	wire_clean_text(text, 1 + size % 16, copy);
	if (strlen(text) > size % 16)
		__builtin_trap();

	/* A remote name. */
	if (remote_name_parse(copy, &name) == 0) {
		if (strnlen(name.user, sizeof(name.user)) == sizeof(name.user) ||
		    strnlen(name.host, sizeof(name.host)) == sizeof(name.host) ||
		    strnlen(name.path, sizeof(name.path)) == sizeof(name.path) || name.port > 65535)
			__builtin_trap();
	}
	(void)remote_name_is_remote(copy);
	free(copy);
	return 0;
}
