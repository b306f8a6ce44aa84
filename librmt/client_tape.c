/*
 * client_tape.c - librmt's tape operations and status: rmt_ioctl (MTIOCTOP,
 * MTIOCGET, MTIOCPOS) and rmt_status_field over the exchanges of client.c.
 * Operations RMT V1 has no number for are built from those it has, or sent as
 * rmtd's native i<1000+op>; a status is the binary S when its layout is this
 * system's, else built from the portable s fields (doc/protocol.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>

#include "client_handle.h"
#include "connection.h"
#include "rmt/protocol.h"
#include "rmt/rmt.h"
#include "wire.h"

/* A binary status larger than this is not a struct mtget of any system. */
#define STATUS_SIZE_MAX 4096

static int send_tape_op(struct rmt_handle *h, char letter, int code, int count)
{
	char request[64];
	int64_t value;
	int length = snprintf(request, sizeof(request), "%c%d\n%d\n", letter, code, count);

	/* Any A is success: GNU answers 0, the others the count (DUMP even a negative one). */
	return client_transact_text(h, request, length, &value);
}

static int tape_operation(struct rmt_handle *h, const struct mtop *op)
{
	bool v1 = (h->caps & RMT_CAP_V1) != 0;
	struct wire_tape_op wire;
	int error = 0, result;

	if (wire_tape_op(op->mt_op, v1, &wire) == 0)
		return send_tape_op(h, wire.letter, wire.code, op->mt_count);
	/* V1 has no number for these; build them from what it has. */
	switch (op->mt_op) {
	case MTFSFM: /* over count filemarks, then back before the last one */
	case MTBSFM: /* back over count filemarks, then forward past the last one */
		if (op->mt_count <= 0)
			return client_set_error(h, EINVAL, "filemark count must be positive");
		result = send_tape_op(h, RMT_CMD_IOCTL,
		                      op->mt_op == MTFSFM ? RMT_V1_FSF : RMT_V1_BSF, op->mt_count);
		if (result < 0)
			return result;
		return send_tape_op(h, RMT_CMD_IOCTL, op->mt_op == MTFSFM ? RMT_V1_BSF : RMT_V1_FSF,
		                    1);
	case MTSEEK:
		if (client_seek_request(h, op->mt_count, RMT_SEEK_TAPE_LOCATE, &error) < 0)
			return error;
		return 0;
	default:
		/* rmtd takes native Linux ops as i<1000+op>; a classic server answers E22. */
		if (op->mt_op < 0 || RMT_EXT_NATIVE_BASE + op->mt_op > RMT_EXT_NATIVE_LAST)
			result = -EINVAL;
		else
			result = send_tape_op(h, RMT_CMD_IOCTL_EXTENDED,
			                      RMT_EXT_NATIVE_BASE + op->mt_op, op->mt_count);
		if (result == -EINVAL)
			return client_set_error(
			    h, EOPNOTSUPP, "tape operation %d has no RMT V1 number on this server",
			    op->mt_op);
		return result;
	}
}

/* Binary S. Returns 0 and fills *status, or -errno (-EPROTO: another platform's layout). */
static int binary_status(struct rmt_handle *h, struct mtget *status)
{
	/* GNU servers read lines, the others act on the bare letter (doc/protocol.md 2.8). */
	const char *request = (h->caps & RMT_CAP_WHENCE_FIRST) ? "S\n" : "S";
	int64_t value;
	int result;

	result = client_transact_text(h, request, (int)strlen(request), &value);
	if (result < 0)
		return result;
	if (value < 0 || value > STATUS_SIZE_MAX)
		return client_break_connection(
		    h, "the server announced a status of %" PRId64 " bytes", value);
	if ((size_t)value != sizeof(*status)) {
		result = connection_discard(&h->conn, (size_t)value);
		if (result < 0)
			return client_break_connection(h, "status data lost: %s",
			                               connection_error_text(&h->conn, result));
		return client_set_error(
		    h, EPROTO, "status of %" PRId64 " bytes is not this system's mtget", value);
	}
	result = connection_read_exact(&h->conn, status, sizeof(*status));
	if (result < 0)
		return client_break_connection(h, "status data lost: %s",
		                               connection_error_text(&h->conn, result));
	return 0;
}

static int status_field_request(struct rmt_handle *h, char letter, long *out)
{
	char request[2] = {RMT_CMD_STATUS_FIELD, letter};
	int64_t value;
	int result = client_transact_text(h, request, 2, &value);

	if (result < 0)
		return result;
	if (value < LONG_MIN || value > LONG_MAX)
		return client_break_connection(h, "status field out of range");
	*out = (long)value;
	return 0;
}

/* struct mtget from the portable s fields, when the binary one cannot be used. */
static int status_from_fields(struct rmt_handle *h, struct mtget *status)
{
	static const char letters[] = {RMT_STATUS_ERREG, RMT_STATUS_TYPE,   RMT_STATUS_DSREG,
	                               RMT_STATUS_RESID, RMT_STATUS_FILENO, RMT_STATUS_BLKNO};
	long values[sizeof(letters)];

	for (size_t i = 0; i < sizeof(letters); i++) {
		int result = status_field_request(h, letters[i], &values[i]);

		if (result < 0)
			return result;
	}
	memset(status, 0, sizeof(*status));
	status->mt_erreg = values[0];
	status->mt_type = values[1];
	status->mt_dsreg = values[2];
	status->mt_resid = values[3];
	status->mt_fileno = (int)values[4];
	status->mt_blkno = (int)values[5];
	/* The s command has no general status; derive what the position says. */
	status->mt_gstat = GMT_ONLINE(~0L);
	if (status->mt_fileno == 0 && status->mt_blkno == 0)
		status->mt_gstat |= GMT_BOT(~0L);
	else if (status->mt_fileno > 0 && status->mt_blkno == 0)
		status->mt_gstat |= GMT_EOF(~0L);
	return 0;
}

static int tape_status(struct rmt_handle *h, struct mtget *status)
{
	long type;
	int result;

	result = binary_status(h, status);
	if (!(h->caps & RMT_CAP_STATUS_FIELD))
		return result;
	if (result < 0 && result != -EPROTO)
		return result;
	/*
	 * A V1 server's binary status may be another layout (same size, other
	 * meaning: DUMP swaps each long in V1 mode). Trust it only when its type
	 * agrees with the portable field.
	 */
	if (result == 0) {
		result = status_field_request(h, RMT_STATUS_TYPE, &type);
		if (result < 0 && h->broken)
			return result;
		if (result == 0 && type == status->mt_type)
			return 0;
	}
	return status_from_fields(h, status);
}

static int tape_position(struct rmt_handle *h, struct mtpos *position)
{
	int error = 0;
	int64_t value;

	if (!(h->caps & RMT_CAP_QFA))
		return client_set_error(h, EOPNOTSUPP,
		                        "this server cannot report the tape position");
	value = client_seek_request(h, 0, RMT_SEEK_TAPE_POSITION, &error);
	if (value < 0)
		return error;
	position->mt_blkno = (long)value;
	return 0;
}

int rmt_ioctl(struct rmt_handle *h, unsigned long request, void *arg)
{
	int result;

	if (h == NULL) {
		errno = EBADF;
		return -1;
	}
	if (arg == NULL && (request == MTIOCTOP || request == MTIOCGET || request == MTIOCPOS)) {
		errno = EFAULT;
		return -1;
	}
	if (request == MTIOCTOP && h->window != NULL && !h->broken) {
		/* A filemark after a record lost in flight is not written either. */
		result = client_window_drain(h);
		if (result == 0 && client_report_failure(h) != 0)
			return -1;
	}
	if (request == MTIOCTOP)
		result = tape_operation(h, arg);
	else if (request == MTIOCGET)
		result = tape_status(h, arg);
	else if (request == MTIOCPOS)
		result = tape_position(h, arg);
	else
		result = -ENOTTY;
	if (result < 0) {
		errno = -result;
		return -1;
	}
	return 0;
}

int rmt_status_field(struct rmt_handle *h, char letter, long *value)
{
	struct mtget status;
	int result;

	if (h == NULL || value == NULL) {
		errno = h == NULL ? EBADF : EFAULT;
		return -1;
	}
	if (strchr("ETDRFBfb", letter) == NULL || letter == '\0') {
		errno = EINVAL;
		return -1;
	}
	if (h->caps & RMT_CAP_STATUS_FIELD) {
		result = status_field_request(h, letter, value);
	} else if (letter == RMT_STATUS_FLAGS || letter == RMT_STATUS_BF) {
		result = client_set_error(h, EOPNOTSUPP, "this server has no s command");
	} else {
		result = binary_status(h, &status);
		if (result == 0) {
			switch (letter) {
			case RMT_STATUS_ERREG:
				*value = status.mt_erreg;
				break;
			case RMT_STATUS_TYPE:
				*value = status.mt_type;
				break;
			case RMT_STATUS_DSREG:
				*value = status.mt_dsreg;
				break;
			case RMT_STATUS_RESID:
				*value = status.mt_resid;
				break;
			case RMT_STATUS_FILENO:
				*value = status.mt_fileno;
				break;
			default:
				*value = status.mt_blkno;
				break;
			}
		}
	}
	if (result < 0) {
		errno = -result;
		return -1;
	}
	return 0;
}
