/*
 * fuzz_control.c - libFuzzer target for the control socket's protocol
 * (rmtd/control_proto.c): the request line parser the daemon runs on what any
 * client of the socket sends, the reply header parser rmtctl runs on what the
 * daemon answers, and the argument encoding between them.
 *
 * The whole input is parsed as a request line and as a reply header; then, up
 * to its first NUL, it is taken as a name, encoded as rmtctl encodes it, and the
 * request built from it must parse back to that very name. Besides "never
 * crash", it aborts when a parse that succeeds gives a value the daemon could
 * not act on safely.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_proto.h"
#include "fuzz_common.h"

static void parse_request(const char *line, size_t length)
{
	struct control_request request;
	const char *error = "unset";

	if (control_parse_request(line, length, &request, &error) < 0) {
		REQUIRE(error != NULL && error[0] != '\0');
		return;
	}
	REQUIRE(error == NULL);
	REQUIRE(request.command >= CONTROL_STATUS && request.command <= CONTROL_RELEASE);
	if (request.command == CONTROL_SESSION || request.command == CONTROL_KILL)
		REQUIRE(request.session != 0);
	else
		REQUIRE(request.session == 0);
	if (request.command == CONTROL_METRICS)
		REQUIRE(!request.json);
	if (request.command == CONTROL_RELEASE)
		REQUIRE(request.has_name);
	if (request.has_name) {
		size_t n = strnlen(request.name, sizeof(request.name));

		REQUIRE(n > 0 && n < sizeof(request.name));
		REQUIRE(request.command == CONTROL_CATALOG || request.command == CONTROL_RELEASE);
	} else {
		REQUIRE(request.name[0] == '\0');
	}
}

static void parse_reply(const char *data, size_t length)
{
	struct control_reply reply;
	int rc = control_parse_reply(data, length, &reply);
	size_t window = length < 512 ? length : 512;

	if (rc == 0) {
		REQUIRE(memchr(data, '\n', window) == NULL && length < 512);
		return;
	}
	if (rc < 0) {
		REQUIRE(rc == -EPROTO);
		return;
	}
	REQUIRE(rc == 1);
	REQUIRE(reply.header_length > 0 && reply.header_length <= window);
	REQUIRE(data[reply.header_length - 1] == '\n');
	if (reply.ok) {
		REQUIRE(reply.code[0] == '\0');
	} else {
		REQUIRE(reply.code[0] != '\0' && strchr(reply.code, ' ') == NULL);
		REQUIRE(strnlen(reply.message, sizeof(reply.message)) < sizeof(reply.message));
		REQUIRE(reply.length == 0);
	}
}

/* A name encoded as rmtctl does comes back out of the daemon's parser unchanged. */
static void round_trip(const char *command, const char *name)
{
	char line[CONTROL_REQUEST_MAX];
	size_t prefix = strlen(command) + 1;
	struct control_request request;
	const char *error;
	int n;

	memcpy(line, command, prefix - 1);
	line[prefix - 1] = ' ';
	n = control_encode_argument(name, line + prefix, sizeof(line) - prefix);
	if (n < 0) {
		REQUIRE(n == -ENAMETOOLONG);
		return;
	}
	REQUIRE((size_t)n == strlen(line + prefix));
	for (size_t i = 0; i < prefix + (size_t)n; i++)
		REQUIRE((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] < 0x7f);
	if (control_parse_request(line, prefix + (size_t)n, &request, &error) < 0) {
		/* Refused only for being too long for the daemon's name buffer, or empty. */
		REQUIRE(name[0] == '\0' || strlen(name) >= sizeof(request.name));
		return;
	}
	if (name[0] == '\0') {
		REQUIRE(!request.has_name);
		return;
	}
	REQUIRE(request.has_name);
	REQUIRE(strcmp(request.name, name) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char name[CONTROL_REQUEST_MAX];
	size_t length = size < sizeof(name) - 1 ? size : sizeof(name) - 1;

	parse_request((const char *)data, size);
	parse_reply((const char *)data, size);
	memcpy(name, data, length);
	name[length] = '\0';
	round_trip("catalog", name);
	round_trip("release", name);
	return 0;
}
