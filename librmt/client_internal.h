/*
 * client_internal.h - what the LD_PRELOAD shim needs from librmt beyond the
 * public API: re-adopting a connection inherited across exec, and letting go of
 * one without a C when other processes may still hold it. Not exported.
 */
#ifndef LIBRMT_CLIENT_INTERNAL_H
#define LIBRMT_CLIENT_INTERNAL_H

#include <stdbool.h>

#include "rmt/rmt.h"

/* A handle over fd, whose device is already open and negotiated (caps as learned). */
struct rmt_handle *librmt_adopt(int fd, unsigned int caps, int open_flags);

/*
 * Free the handle without sending C; close fd unless keep_fd. The writes still
 * in flight are answered first: -errno when one of them failed, else 0.
 */
int librmt_abandon(struct rmt_handle *handle, bool keep_fd);

/* Wait for every write in flight (before a fork: the stream must be in step for both). */
void librmt_settle(struct rmt_handle *handle);

/*
 * fsync(2) on a remote descriptor: every write in flight answered, and one
 * that failed reported now, once (-1 with errno), as the next write would have.
 * 0 when every record written is acknowledged by the server.
 */
int librmt_sync(struct rmt_handle *handle);

/* Go on over another descriptor of the same socket (the old one is being closed). */
void librmt_set_fd(struct rmt_handle *handle, int fd);

/* Does the handle run over TLS? (Its session cannot follow the socket across exec.) */
bool librmt_is_tls(const struct rmt_handle *handle);

/* The open(2) flags the handle was opened with. */
int librmt_open_flags(const struct rmt_handle *handle);

#endif
