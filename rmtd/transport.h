/*
 * transport.h - a session over a pair of file descriptors: stdio (rsh/ssh), an
 * inetd socket, or an accepted TCP connection.
 *
 * Reads go straight into the session's buffers (for a large W record, into the
 * record buffer itself); replies are written with writev at once and only what
 * the peer cannot take yet is queued.
 */
#ifndef RMTD_TRANSPORT_H
#define RMTD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct event_base;
struct session;
struct session_settings;
struct fd_transport;
struct serve_io;

/* Called once the session has ended and the transport is finished with. */
typedef void (*transport_finished_fn)(struct fd_transport *transport, const char *why, void *arg);

/* base NULL: no events at all; the serve loop serves it (serve.h). */
struct fd_transport *fd_transport_create(struct event_base *base, int input_fd, int output_fd,
                                         const struct session_settings *settings,
                                         transport_finished_fn finished, void *arg);
/* Close the descriptors and free (after finished() was called). */
void fd_transport_free(struct fd_transport *transport);
struct session *fd_transport_session(struct fd_transport *transport);
/* When input last arrived (for idle timeouts). */
time_t fd_transport_last_input(const struct fd_transport *transport);
/* The serve loop's view: where input comes from, that some came, blocking I/O from now on. */
int fd_transport_input_fd(const struct fd_transport *transport);
void fd_transport_note_input(struct fd_transport *transport);
void fd_transport_set_blocking(struct fd_transport *transport);
/* The same for serve_run_io() (serve.h). */
extern const struct serve_io fd_transport_serve_io;

#endif
