/*
 * wire.c - encoding librmt's requests and parsing the servers' reply lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mtio.h>

#include "number.h"
#include "rmt/protocol.h"
#include "wire.h"

/* glibc's <sys/mtio.h> predates these Linux ops (include/uapi/linux/mtio.h). */
#ifndef MTUNLOAD
#define MTUNLOAD 31
#endif
#ifndef MTWEOFI
#define MTWEOFI 35
#endif

int wire_parse_status(const char *line, size_t length, struct wire_reply *reply)
{
	if (length > 0 && line[length - 1] == '\r')
		length--;
	if (length < 2)
		return -EPROTO;
	switch (line[0]) {
	case RMT_REPLY_OK:
		reply->kind = WIRE_REPLY_OK;
		break;
	case RMT_REPLY_ERROR:
		reply->kind = WIRE_REPLY_ERROR;
		break;
	case RMT_REPLY_FATAL:
		reply->kind = WIRE_REPLY_FATAL;
		break;
	default:
		return -EPROTO;
	}
	if (decimal_parse_i64(line + 1, length - 1, INT64_MIN, INT64_MAX, &reply->value) < 0)
		return -EPROTO;
	return 0;
}

int wire_errno(int64_t value)
{
	if (value >= 1 && value <= WIRE_ERRNO_MAX)
		return (int)value;
	return EIO;
}

void wire_clean_text(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	if (size == 0)
		return;
	for (; *src != '\0' && n + 1 < size; src++)
		dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[n] = '\0';
}

/* Flags the protocol carries; everything else is local to the client. */
#define WIRE_OPEN_FLAGS                                                                            \
	(O_ACCMODE | O_APPEND | O_CREAT | O_DSYNC | O_EXCL | O_NOCTTY | O_NONBLOCK | O_SYNC |      \
	 O_TRUNC)

int wire_format_open(char *buffer, size_t size, const char *path, int flags)
{
	char symbolic[160];
	size_t used;
	int n;

	if (path[0] == '\0' || strchr(path, '\n') != NULL)
		return -EINVAL;
	flags &= WIRE_OPEN_FLAGS;
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		snprintf(symbolic, sizeof(symbolic), "O_RDONLY");
		break;
	case O_WRONLY:
		snprintf(symbolic, sizeof(symbolic), "O_WRONLY");
		break;
	case O_RDWR:
		snprintf(symbolic, sizeof(symbolic), "O_RDWR");
		break;
	default:
		return -EINVAL;
	}
	used = strlen(symbolic);
	/* Names GNU (strict), DUMP and SCHILY (O_ prefix required) all know. */
	static const struct {
		int bit;
		const char *name;
	} names[] = {
	    {O_APPEND, "|O_APPEND"}, {O_CREAT, "|O_CREAT"},       {O_EXCL, "|O_EXCL"},
	    {O_NOCTTY, "|O_NOCTTY"}, {O_NONBLOCK, "|O_NONBLOCK"}, {O_TRUNC, "|O_TRUNC"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit)
			used += (size_t)snprintf(symbolic + used, sizeof(symbolic) - used, "%s",
			                         names[i].name);
	/* O_SYNC contains the O_DSYNC bit on Linux: name one of them, never RSYNC. */
	if ((flags & O_SYNC) == O_SYNC)
		snprintf(symbolic + used, sizeof(symbolic) - used, "|O_SYNC");
	else if (flags & O_DSYNC)
		snprintf(symbolic + used, sizeof(symbolic) - used, "|O_DSYNC");
	n = snprintf(buffer, size, "%c%s\n%d %s\n", RMT_CMD_OPEN, path, flags, symbolic);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

int wire_format_seek(char *buffer, size_t size, int64_t offset, int whence, bool whence_first)
{
	int n;

	if (whence_first) {
		if (whence < RMT_SEEK_SET || whence > RMT_SEEK_END)
			return -EINVAL;
		n = snprintf(buffer, size, "%c%d\n%" PRId64 "\n", RMT_CMD_SEEK, whence, offset);
	} else if (whence == RMT_SEEK_SET && (offset == 1 || offset == 2)) {
		/* atoi-style servers read SEEK_SET as 0; rmtd takes a symbolic line as the whence.
		 */
		n = snprintf(buffer, size, "%c%" PRId64 "\nSEEK_SET\n", RMT_CMD_SEEK, offset);
	} else {
		if (!((whence >= RMT_SEEK_SET && whence <= RMT_SEEK_HOLE) ||
		      whence == RMT_SEEK_TAPE_POSITION || whence == RMT_SEEK_TAPE_LOCATE))
			return -EINVAL;
		n = snprintf(buffer, size, "%c%" PRId64 "\n%d\n", RMT_CMD_SEEK, offset, whence);
	}
	if (n < 0 || (size_t)n >= size)
		return -EINVAL;
	return n;
}

int wire_tape_op(int native_op, bool v1, struct wire_tape_op *out)
{
	out->letter = RMT_CMD_IOCTL;
	if (!v1) {
		out->code = native_op;
		return 0;
	}
	switch (native_op) {
	case MTWEOF:
	case MTWEOFI: /* the same filemark; only the drive's buffer flush differs */
		out->code = RMT_V1_WEOF;
		return 0;
	case MTFSF:
		out->code = RMT_V1_FSF;
		return 0;
	case MTBSF:
		out->code = RMT_V1_BSF;
		return 0;
	case MTFSR:
		out->code = RMT_V1_FSR;
		return 0;
	case MTBSR:
		out->code = RMT_V1_BSR;
		return 0;
	case MTREW:
		out->code = RMT_V1_REW;
		return 0;
	case MTOFFL:
	case MTUNLOAD:
		out->code = RMT_V1_OFFL;
		return 0;
	case MTNOP:
		out->code = RMT_V1_NOP;
		return 0;
	case MTRETEN:
		out->letter = RMT_CMD_IOCTL_EXTENDED;
		out->code = RMT_EXT_RETEN;
		return 0;
	case MTERASE:
		out->letter = RMT_CMD_IOCTL_EXTENDED;
		out->code = RMT_EXT_ERASE;
		return 0;
	case MTEOM:
		out->letter = RMT_CMD_IOCTL_EXTENDED;
		out->code = RMT_EXT_EOM;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}
