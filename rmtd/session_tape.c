/*
 * session_tape.c - the requests on an open device other than its records:
 * tape operations (I, i), seek (L), status (S, s) and close (C).
 *
 * The rmt meaning of each is applied here (RMT V1 numbering after I-1, the
 * portable codes of i and s, whence 10/11, the pipelining ioctls); the device
 * call it becomes is native Linux, and its reply is sent once the call
 * completes (session.c).
 */
#include <errno.h>
#include <unistd.h>

#include "rmt/protocol.h"
#include "drive.h"
#include "escape.h"
#include "log.h"
#include "session_internal.h"

/* Standard (RMT V1) MTIOCTOP numbers to native Linux ones; -1 where there is none. */
static int v1_to_native(int op)
{
	static const int map[] = {
	    [RMT_V1_WEOF] = MTWEOF,   [RMT_V1_FSF] = MTFSF, [RMT_V1_BSF] = MTBSF,
	    [RMT_V1_FSR] = MTFSR,     [RMT_V1_BSR] = MTBSR, [RMT_V1_REW] = MTREW,
	    [RMT_V1_OFFL] = MTOFFL,   [RMT_V1_NOP] = MTNOP, [RMT_V1_RETEN] = MTRETEN,
	    [RMT_V1_ERASE] = MTERASE, [RMT_V1_EOM] = MTEOM,
	};

	if (op < 0 || op >= (int)(sizeof(map) / sizeof(map[0])))
		return -1;
	return map[op];
}

static const char *operation_of_tape_op(int op)
{
	switch (op) {
	case MTREW:
	case MTRETEN:
		return "Rewind";
	case MTOFFL:
	case MTUNLOAD:
		return "Unload";
	case MTWEOF:
	case MTWEOFI:
		return "Filemark";
	case MTFSF:
	case MTBSF:
	case MTFSR:
	case MTBSR:
	case MTFSFM:
	case MTBSFM:
	case MTEOM:
	case MTSEEK:
		return "Position";
	case MTERASE:
		return "Erase";
	default:
		return "Control";
	}
}

static void handle_tape_op(struct session *s, int native_op, int count)
{
	const char *reason;
	char number[16], drive[PATH_MAX * 4 + 1];
	int refused = tapeop_allowed(native_op, &s->tape_grant, &reason);

	if (refused < 0) {
		escape_text(drive, sizeof(drive), s->drive->name);
		log_warnx("session %u: %s %d on %s by %s from %s refused: %s", s->id,
		          tapeop_name(native_op, number, sizeof(number)), count, drive,
		          s->identity_shown, s->settings.peer, reason);
		session_reply_failure(s, -refused, reason);
		return;
	}
	s->job.op = native_op;
	s->job.op_count = count;
	s->operation = operation_of_tape_op(native_op);
	session_submit(s, JOB_TAPE_OP, STEP_REPLY);
}

void session_handle_ioctl(struct session *s, const struct rmt_request *request)
{
	int op = request->ioctl_op;

	if (op == RMT_IOCTL_PIPELINE) {
		session_reply_value(s, pipeline_negotiate(&s->pipeline, request->ioctl_count));
		return;
	}
	if (op == RMT_IOCTL_ROOM && (s->pipeline.granted & RMT_PIPELINE_ROOM)) {
		int64_t room;

		if (!session_device_is_open(s)) {
			session_reply_failure(s, EBADF, NULL);
			return;
		}
		room = pipeline_room(&s->drive->device);
		if (room < -1)
			session_reply_failure(s, EOPNOTSUPP,
			                      "The drive cannot tell where early warning is");
		else
			session_reply_signed_value(s, room);
		return;
	}
	if (op == RMT_IOCTL_VERSION_QUERY) {
		s->rmt_v1 = true;
		session_reply_value(s, RMT_PROTOCOL_VERSION_1);
		return;
	}
	if (!session_device_is_open(s)) {
		session_reply_failure(s, EBADF, NULL);
		return;
	}
	if (s->rmt_v1) {
		op = v1_to_native(op);
		if (op < 0) {
			session_reply_failure(s, EINVAL, "Invalid operation code");
			return;
		}
	}
	handle_tape_op(s, op, request->ioctl_count);
}

void session_handle_ioctl_extended(struct session *s, const struct rmt_request *request)
{
	int op;

	switch (request->ioctl_op) {
	case RMT_EXT_RETEN:
		op = MTRETEN;
		break;
	case RMT_EXT_ERASE:
		op = MTERASE;
		break;
	case RMT_EXT_EOM:
		op = MTEOM;
		break;
	default:
		if (request->ioctl_op >= RMT_EXT_NATIVE_BASE &&
		    request->ioctl_op <= RMT_EXT_NATIVE_LAST) {
			op = request->ioctl_op - RMT_EXT_NATIVE_BASE;
			break;
		}
		/* MTCACHE, MTNOCACHE and MTNBSF have no Linux equivalent. */
		session_reply_failure(s, EINVAL, "Operation not supported on Linux");
		return;
	}
	if (!session_device_is_open(s)) {
		session_reply_failure(s, EBADF, NULL);
		return;
	}
	handle_tape_op(s, op, request->ioctl_count);
}

void session_handle_seek(struct session *s, const struct rmt_request *request)
{
	if (!session_device_is_open(s)) {
		session_reply_failure(s, EBADF, NULL);
		return;
	}
	if (request->seek_order_ambiguous)
		log_info("session %u: L %lld/%d could be read either way; took the %s order", s->id,
		         (long long)request->offset, request->whence,
		         request->seek_order == PROTO_SEEK_ORDER_WHENCE_FIRST ? "whence-first"
		                                                              : "offset-first");
	else if (request->seek_order != PROTO_SEEK_ORDER_UNKNOWN)
		proto_parser_set_seek_order(&s->parser, request->seek_order);

	s->operation = "Position";
	if (request->whence == RMT_SEEK_TAPE_POSITION || request->whence == RMT_SEEK_TAPE_LOCATE) {
		bool locate = request->whence == RMT_SEEK_TAPE_LOCATE;

		/* DUMP's QFA: the tape position on a tape, the file offset on anything else. */
		if (s->drive->device.is_tape) {
			s->job.offset = request->offset;
			session_submit(s, locate ? JOB_LOCATE : JOB_POSITION, STEP_REPLY);
			return;
		}
		s->job.offset = locate ? request->offset : 0;
		s->job.whence = locate ? SEEK_SET : SEEK_CUR;
	} else {
		s->job.offset = request->offset;
		s->job.whence = request->whence;
	}
	session_submit(s, JOB_SEEK, STEP_REPLY);
}

void session_handle_close(struct session *s)
{
	if (!session_device_is_open(s)) {
		session_reply_failure(s, EBADF, NULL);
		return;
	}
	s->operation = "Close";
	session_submit(s, JOB_CLOSE, STEP_REPLY);
}

void session_handle_status(struct session *s)
{
	if (!session_device_is_open(s)) {
		session_reply_failure(s, EBADF, NULL);
		return;
	}
	session_submit(s, JOB_STATUS, STEP_REPLY);
}

void session_handle_status_field(struct session *s, const struct rmt_request *request)
{
	switch (request->status_letter) {
	case RMT_STATUS_ERREG:
	case RMT_STATUS_TYPE:
	case RMT_STATUS_DSREG:
	case RMT_STATUS_RESID:
	case RMT_STATUS_FILENO:
	case RMT_STATUS_BLKNO:
		break;
	default:
		/* f and b are Solaris fields Linux does not have (doc/protocol.md 2.9). */
		session_reply_failure(s, EINVAL, "No such status field on Linux");
		return;
	}
	if (!session_device_is_open(s)) {
		session_reply_failure(s, EBADF, NULL);
		return;
	}
	session_submit(s, JOB_STATUS, STEP_REPLY);
}
