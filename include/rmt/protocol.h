/*
 * rmt/protocol.h - wire constants of the rmt protocol, shared by rmtd and librmt.
 *
 * The facts behind every value are in doc/protocol.md; the numbers in
 * comments refer to its sections.
 */
#ifndef RMT_PROTOCOL_H
#define RMT_PROTOCOL_H

/* Command letters (section 2). */
#define RMT_CMD_OPEN           'O'
#define RMT_CMD_CLOSE          'C'
#define RMT_CMD_SEEK           'L'
#define RMT_CMD_WRITE          'W'
#define RMT_CMD_READ           'R'
#define RMT_CMD_IOCTL          'I'
#define RMT_CMD_IOCTL_EXTENDED 'i'
#define RMT_CMD_STATUS         'S'
#define RMT_CMD_STATUS_FIELD   's'
#define RMT_CMD_VERSION_BSD    'V'
#define RMT_CMD_VERSION_SCHILY 'v'

/* Reply letters. */
#define RMT_REPLY_OK    'A'
#define RMT_REPLY_ERROR 'E'
#define RMT_REPLY_FATAL 'F'

/* Answers to the version commands (section 2.10). xfsdump insists on 2. */
#define RMT_VERSION_BSD_ANSWER    2
#define RMT_VERSION_SCHILY_ANSWER 1

/* "I-1" asks for RMT protocol version 1 and switches the session to standard op numbers. */
#define RMT_IOCTL_VERSION_QUERY -1
#define RMT_PROTOCOL_VERSION_1  1

/*
 * I-2\n<flags>\n asks for pipelining support; rmtd answers A<flags granted>,
 * classic servers an error (doc/protocol.md). DISCARD: after a W fails,
 * the W requests already in flight are answered ECANCELED and not written,
 * until the next request that is not a W. READ: after an R that meets a
 * filemark (A0) or fails, the R requests already in flight are answered
 * ECANCELED without touching the device, until the next request that is not
 * an R; so a client reading ahead never reads past where a classic one stops.
 */
#define RMT_IOCTL_PIPELINE     -2
#define RMT_PIPELINE_DISCARD   0x1
#define RMT_PIPELINE_ROOM      0x2 /* I-3 is understood */
#define RMT_PIPELINE_READ      0x4
#define RMT_PIPELINE_SUPPORTED (RMT_PIPELINE_DISCARD | RMT_PIPELINE_ROOM | RMT_PIPELINE_READ)
/*
 * I-3\n0\n, once agreed: A<bytes the medium takes before early warning>, A-1
 * when it has no such limit (a file, a virtual tape without a capacity), or
 * EOPNOTSUPP when the drive cannot tell (st): the client then sends one record
 * at a time, so that end of medium is met exactly where a local drive meets it.
 */
#define RMT_IOCTL_ROOM -3

/* Standard ("RMT V1", BSD/Solaris) MTIOCTOP numbers, valid after I-1 (doc/protocol.md). */
#define RMT_V1_WEOF  0
#define RMT_V1_FSF   1
#define RMT_V1_BSF   2
#define RMT_V1_FSR   3
#define RMT_V1_BSR   4
#define RMT_V1_REW   5
#define RMT_V1_OFFL  6
#define RMT_V1_NOP   7
#define RMT_V1_RETEN 8 /* Solaris numbering, accepted by DUMP after I-1 */
#define RMT_V1_ERASE 9
#define RMT_V1_EOM   10

/* Extended MTIOCTOP codes of the 'i' command: portable, not native (section 2.7). */
#define RMT_EXT_CACHE   0
#define RMT_EXT_NOCACHE 1
#define RMT_EXT_RETEN   2
#define RMT_EXT_ERASE   3
#define RMT_EXT_EOM     4
#define RMT_EXT_NBSF    5
/*
 * rmtd's extension: i<RMT_EXT_NATIVE_BASE + op> runs native Linux MTIOCTOP op,
 * for the operations RMT V1 has no number for (MTSETBLK, MTLOAD, ...). Classic
 * servers answer an unknown i code with E22 and stay in step.
 */
#define RMT_EXT_NATIVE_BASE 1000
#define RMT_EXT_NATIVE_LAST (RMT_EXT_NATIVE_BASE + 63)

/* Sub-commands of the 's' command (section 2.9). */
#define RMT_STATUS_ERREG  'E'
#define RMT_STATUS_TYPE   'T'
#define RMT_STATUS_DSREG  'D'
#define RMT_STATUS_RESID  'R'
#define RMT_STATUS_FILENO 'F'
#define RMT_STATUS_BLKNO  'B'
#define RMT_STATUS_FLAGS  'f' /* Solaris mt_flags: Linux has none, answered E22 */
#define RMT_STATUS_BF     'b' /* Solaris mt_bf: Linux has none, answered E22 */

/* lseek whence values on the wire. 10 and 11 are DUMP's QFA extension (section 2.3). */
#define RMT_SEEK_SET           0
#define RMT_SEEK_CUR           1
#define RMT_SEEK_END           2
#define RMT_SEEK_DATA          3
#define RMT_SEEK_HOLE          4
#define RMT_SEEK_TAPE_POSITION 10 /* MTIOCPOS on a tape, lseek(0, SEEK_CUR) on a file */
#define RMT_SEEK_TAPE_LOCATE   11 /* MTSEEK on a tape, lseek(off, SEEK_SET) on a file */

/* The largest record the Linux st driver writes (24-bit SCSI transfer length). */
#define RMT_MAX_RECORD_DEFAULT (16u * 1024 * 1024 - 1)

/* Size of struct mtget on Linux LP64 (section 4). */
#define RMT_MTGET_SIZE_LP64 48

/* Longest reply status line a dump client accepts, including the newline (section 1.2). */
#define RMT_REPLY_LINE_MAX 29

/* The TCP port rmtd listens on by default (not registered; chosen above the ephemeral gap). */
#define RMT_DEFAULT_TCP_PORT 5400

/* Where rmtd (as root) serves rmtctl, and where rmtctl looks by default. */
#define RMT_DEFAULT_CONTROL_SOCKET "/run/rmtd/control.sock"

#endif
