/*
 * transfer.h - moving a large record between the client's socket and memory on
 * the drive's thread.
 *
 * In daemon mode a record the loop received was written to the device by the
 * worker thread on another CPU, and a record the worker read was sent by the
 * loop: each megabyte crossed between CPU caches twice. For records of
 * TRANSFER_MINIMUM and more on a plaintext socket the worker thread receives
 * the rest of a W record itself, and sends what the socket takes of an R reply,
 * while the session holds the socket still (nothing queued, nothing read).
 */
#ifndef RMTD_TRANSFER_H
#define RMTD_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#define TRANSFER_MINIMUM (64 * 1024)

/*
 * Receive from socket until buffer holds count bytes (*have counts what it
 * holds). Waits at most timeout_ms in all (<= 0: no limit). 0 when complete;
 * -EPIPE at end of input, -ETIMEDOUT, or the socket's -errno.
 */
int transfer_receive(int socket, uint8_t *buffer, size_t *have, size_t count, int timeout_ms);

/*
 * Send what the socket takes now, without waiting, of header then data. Returns
 * the bytes sent (0 when it takes nothing or fails: the loop sends the rest and
 * meets the error itself).
 */
size_t transfer_send(int socket, const void *header, size_t header_length, const void *data,
                     size_t data_length);

#endif
