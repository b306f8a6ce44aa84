/*
 * rmt/rmt.h - librmt, the client side of the rmt remote tape protocol.
 *
 * A handle is one open remote device on one connection (remote shell, rmtd's TCP
 * port, or a local command). The calls mirror open/read/write/lseek/ioctl/close:
 * they return -1 and set errno on failure. errno is the number the server sent
 * (E0 and nonsense become EIO); a malformed reply, a reply that announces more
 * than was asked, a closed connection or a timeout give EIO and leave the handle
 * usable only for rmt_close(). See librmt(3).
 */
#ifndef RMT_RMT_H
#define RMT_RMT_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mtget;
struct rmt_handle;

/* How to reach the server. AUTO takes it from the name (see rmt_open). */
enum rmt_transport {
	RMT_TRANSPORT_AUTO = 0,
	RMT_TRANSPORT_RSH,     /* a remote shell runs the rmt command: ssh by default */
	RMT_TRANSPORT_TCP,     /* rmtd's TCP port, plaintext */
	RMT_TRANSPORT_COMMAND, /* a local command speaks rmt on its stdin/stdout (tests) */
	RMT_TRANSPORT_TLS,     /* rmtd's TCP port over TLS 1.3 (rmts:// names) */
};

/* rmt_options.flags */
/*
 * No I-1 probe: native Linux op numbers (MTSETBLK and the other Linux-only
 * operations work against any Linux server) and binary S only. Also set by the
 * environment variable RMT_NEGOTIATE=classic.
 */
#define RMT_OPT_CLASSIC 0x1u
/*
 * Keep writes in flight (also RMT_PIPELINE=1 in the environment; =0 turns it
 * off): rmt_write returns as soon as the record is sent, and a write that
 * fails on the server is reported by the next rmt_write, MTIOCTOP or
 * rmt_close. Only with a server that agrees (rmtd), as RMT_CAP_PIPELINE shows.
 */
#define RMT_OPT_PIPELINE 0x2u

struct rmt_options {
	enum rmt_transport transport;
	/* Remote shell and its arguments, split at blanks. NULL: $RSH, else "ssh". */
	const char *rsh_command;
	/* The program the remote shell starts. NULL: $RMT, else "/etc/rmt". */
	const char *rmt_command;
	/* COMMAND transport: the local command line, split at blanks. */
	const char *command;
	/* Remote user; NULL: the user@ part of the name, if any. */
	const char *user;
	/* TCP port; 0: the name's port, else $RMT_PORT, else RMT_DEFAULT_TCP_PORT. */
	unsigned int port;
	/*
	 * Longest wait, in milliseconds, for a reply to start (tape operations can take
	 * hours, so the default is none). 0: $RMT_TIMEOUT, else no limit; -1: no limit.
	 * Once a reply has started, or while a request is being sent, the peer may stay
	 * silent for at most this long, or 60 s when no limit is set.
	 */
	int timeout_ms;
	/* Longest wait for a TCP connection (and its TLS handshake); 0: 30 s. */
	int connect_timeout_ms;
	unsigned int flags; /* RMT_OPT_* */
	/*
	 * TLS: the CA that signed the server's certificate (NULL: $RMT_TLS_CA, else
	 * the system's), the client certificate and key rmtd asks for (NULL:
	 * $RMT_TLS_CERT, $RMT_TLS_KEY; the key may be in the certificate file), and
	 * the name the server's certificate must carry (NULL: $RMT_TLS_SERVER_NAME,
	 * else the host).
	 */
	const char *tls_ca_file;
	const char *tls_cert_file;
	const char *tls_key_file;
	const char *tls_server_name;
	void *reserved[8];
};

/* What the server offered, from rmt_capabilities(). */
#define RMT_CAP_V1           0x01u /* answered I-1 with A1: standard op numbers after it */
#define RMT_CAP_STATUS_FIELD 0x02u /* the s command (portable status fields) */
#define RMT_CAP_EXT_IOCTL    0x04u /* the i command (RETEN, ERASE, EOM) */
#define RMT_CAP_QFA          0x08u /* L whence 10/11: tape position (MTIOCPOS) and MTSEEK */
#define RMT_CAP_WHENCE_FIRST 0x10u /* L sends whence then offset (GNU servers since 2009) */
#define RMT_CAP_PIPELINE     0x20u /* writes are kept in flight (RMT_OPT_PIPELINE) */

/* Zero everything and set the defaults. */
void rmt_options_init(struct rmt_options *options);

/*
 * Does this name denote a remote device? rmt://..., rmts://..., exec:..., or
 * [user@]host:path with no '/' before the first ':' and the ':' not first (the
 * rule GNU tar and cpio use).
 */
int rmt_is_remote_name(const char *name);

/*
 * Open a remote device. Names:
 *   [user@]host:path              remote shell (TCP when options->transport says so)
 *   rmt://[user@]host[:port]/path rmtd's TCP port; the path keeps its leading '/'
 *   rmts://[user@]host[:port]/path the same over TLS
 *   exec:COMMAND ARGS...:path     a local command (no ':' in the command part)
 * flags are open(2) flags; O_CLOEXEC is local and never sent. options may be NULL.
 * Returns NULL with errno set: the server's errno for a refused open, EINVAL for
 * a bad name, the connect(2) or exec error, EPROTO for a failed TLS handshake,
 * EIO for a broken server.
 */
struct rmt_handle *rmt_open(const char *name, int flags, const struct rmt_options *options);

/*
 * Open path over an already connected stream socket (the handle owns fd from
 * now on, even on failure). For programs that make their own connections.
 */
struct rmt_handle *rmt_open_fd(int fd, const char *path, int flags,
                               const struct rmt_options *options);

/* One R: at most count bytes, one tape record. 0 at a filemark or end of file. */
ssize_t rmt_read(struct rmt_handle *handle, void *buffer, size_t count);

/* One W: one tape record of count bytes. Returns what the server wrote. */
ssize_t rmt_write(struct rmt_handle *handle, const void *buffer, size_t count);

/* L: SEEK_SET, SEEK_CUR, SEEK_END (SEEK_DATA/SEEK_HOLE where the server has them). */
off_t rmt_lseek(struct rmt_handle *handle, off_t offset, int whence);

/*
 * MTIOCTOP (struct mtop *), MTIOCGET (struct mtget *) and MTIOCPOS (struct mtpos *).
 * Other requests: ENOTTY. An operation the server's protocol cannot express
 * (MTSETBLK after the V1 probe, say): EOPNOTSUPP.
 */
int rmt_ioctl(struct rmt_handle *handle, unsigned long request, void *arg);

/*
 * One status field by its s letter: 'E' erreg, 'T' type, 'D' dsreg, 'R' resid,
 * 'F' fileno, 'B' blkno ('f' and 'b' only where the server has them). Uses s
 * when the server has it, else binary S.
 */
int rmt_status_field(struct rmt_handle *handle, char letter, long *value);

/*
 * C, then the connection is closed and the handle freed (also on failure).
 * A handle serves one thread at a time.
 */
int rmt_close(struct rmt_handle *handle);

/* RMT_CAP_* bits learned at open. */
unsigned int rmt_capabilities(const struct rmt_handle *handle);

/*
 * The last error: the server's message, or what librmt found wrong; "" if none.
 * With NULL: why this thread's last failed rmt_open failed.
 */
const char *rmt_error_text(const struct rmt_handle *handle);

/*
 * The connection's descriptor (a socket), valid until rmt_close. After a
 * protocol failure it stays allocated but is shut down.
 */
int rmt_fileno(const struct rmt_handle *handle);

#ifdef __cplusplus
}
#endif

#endif
