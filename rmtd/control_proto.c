/*
 * control_proto.c - the control socket's one-line protocol (control_proto.h):
 * request lines parsed and encoded, reply headers parsed. Shared by the daemon
 * and rmtctl; no I/O here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_proto.h"
#include "number.h"

/* %XX-decode [text, text + length) into out; false on a bad escape, a NUL or no room. */
static bool decode_argument(const char *text, size_t length, char *out, size_t size)
{
	size_t used = 0;

	for (size_t i = 0; i < length; i++) {
		int c = (unsigned char)text[i];

		if (c == '%') {
			int high, low;

			if (i + 2 >= length)
				return false;
			high = hex_digit_value((unsigned char)text[i + 1]);
			low = hex_digit_value((unsigned char)text[i + 2]);
			if (high < 0 || low < 0)
				return false;
			c = high * 16 + low;
			i += 2;
		}
		if (c == '\0' || used + 1 >= size)
			return false;
		out[used++] = (char)c;
	}
	out[used] = '\0';
	return true;
}

static bool parse_session_id(const char *text, size_t length, unsigned *out)
{
	uint64_t value;

	if (decimal_parse_u64(text, length, &value) < 0 || value == 0 || value > 0xffffffffu)
		return false;
	*out = (unsigned)value;
	return true;
}

int control_parse_request(const char *line, size_t length, struct control_request *out,
                          const char **error)
{
	static const struct {
		const char *word;
		enum control_command command;
		int argument; /* 0 none, 1 session id, 2 optional name, 3 name */
	} commands[] = {
	    {"status", CONTROL_STATUS, 0},   {"session", CONTROL_SESSION, 1},
	    {"drives", CONTROL_DRIVES, 0},   {"kill", CONTROL_KILL, 1},
	    {"catalog", CONTROL_CATALOG, 2}, {"metrics", CONTROL_METRICS, 0},
	    {"help", CONTROL_HELP, 0},       {"release", CONTROL_RELEASE, 3},
	};
	size_t word, at = 0;
	int argument = -1;

	memset(out, 0, sizeof(*out));
	*error = NULL;
	if (length > 0 && line[length - 1] == '\r')
		length--;
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 && c != '\t') {
			*error = "control characters in the request";
			return -EINVAL;
		}
	}
	while (at < length && (line[at] == ' ' || line[at] == '\t'))
		at++;
	word = at;
	while (at < length && line[at] != ' ' && line[at] != '\t')
		at++;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strlen(commands[i].word) == at - word &&
		    memcmp(commands[i].word, line + word, at - word) == 0) {
			out->command = commands[i].command;
			argument = commands[i].argument;
		}
	}
	if (argument < 0) {
		*error = "unknown command (try help)";
		return -EINVAL;
	}
	while (at < length && (line[at] == ' ' || line[at] == '\t'))
		at++;
	if (length - at >= 6 && memcmp(line + at, "--json", 6) == 0 &&
	    (length - at == 6 || line[at + 6] == ' ' || line[at + 6] == '\t')) {
		out->json = true;
		at += 6;
		while (at < length && (line[at] == ' ' || line[at] == '\t'))
			at++;
	}
	if (out->json && out->command == CONTROL_METRICS) {
		*error = "metrics are Prometheus text, not JSON";
		return -EINVAL;
	}
	/* The argument is the rest of the line; blanks at its end are not part of it. */
	while (length > at && (line[length - 1] == ' ' || line[length - 1] == '\t'))
		length--;
	switch (argument) {
	case 0:
		if (at != length) {
			*error = "this command takes no argument";
			return -EINVAL;
		}
		break;
	case 1:
		if (!parse_session_id(line + at, length - at, &out->session)) {
			*error = "expected a session number";
			return -EINVAL;
		}
		break;
	case 2:
	case 3:
		if (at == length && argument == 3) {
			*error = "expected a drive";
			return -EINVAL;
		}
		if (at == length)
			break;
		if (!decode_argument(line + at, length - at, out->name, sizeof(out->name)) ||
		    out->name[0] == '\0') {
			*error = "bad name (too long, a NUL, or a bad %XX escape)";
			return -EINVAL;
		}
		out->has_name = true;
		break;
	}
	return 0;
}

int control_encode_argument(const char *name, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t used = 0, length = strlen(name);

	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)name[i];
		/* Blanks inside a name are fine; at its ends they would be trimmed. */
		bool edge_blank = (c == ' ' || c == '\t') && (i == 0 || i + 1 == length);
		/* A leading '-' is encoded so that a name is never taken for --json. */
		bool plain = c > 0x20 && c < 0x7f && c != '%' && !(i == 0 && c == '-');

		if (plain || (c == ' ' && !edge_blank)) {
			if (used + 1 >= size)
				return -ENAMETOOLONG;
			out[used++] = (char)c;
		} else {
			if (used + 3 >= size)
				return -ENAMETOOLONG;
			out[used++] = '%';
			out[used++] = hex[c >> 4];
			out[used++] = hex[c & 15];
		}
	}
	if (size == 0)
		return -ENAMETOOLONG;
	out[used] = '\0';
	return (int)used;
}

int control_parse_reply(const char *data, size_t length, struct control_reply *out)
{
	const char *newline = memchr(data, '\n', length < 512 ? length : 512);
	size_t line;

	memset(out, 0, sizeof(*out));
	if (newline == NULL)
		return length >= 512 ? -EPROTO : 0;
	line = (size_t)(newline - data);
	out->header_length = line + 1;
	if (line > 3 && memcmp(data, "OK ", 3) == 0) {
		uint64_t value;

		/* 19 digits at most: no reply is anywhere near that long. */
		if (line - 3 > 19 || decimal_parse_u64(data + 3, line - 3, &value) < 0)
			return -EPROTO;
		out->ok = true;
		out->length = (size_t)value;
		return 1;
	}
	if (line > 4 && memcmp(data, "ERR ", 4) == 0) {
		size_t code_end = 4;

		/* Codes are lowercase words (control_proto.h); a NUL would make one look empty. */
		while (code_end < line && data[code_end] >= 'a' && data[code_end] <= 'z')
			code_end++;
		if (code_end == 4 || code_end - 4 >= sizeof(out->code) ||
		    (code_end < line && data[code_end] != ' '))
			return -EPROTO;
		memcpy(out->code, data + 4, code_end - 4);
		out->code[code_end - 4] = '\0';
		if (code_end < line) {
			size_t n = line - code_end - 1;

			if (n >= sizeof(out->message))
				n = sizeof(out->message) - 1;
			memcpy(out->message, data + code_end + 1, n);
			out->message[n] = '\0';
		}
		return 1;
	}
	return -EPROTO;
}
