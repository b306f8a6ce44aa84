/*
 * control_library.h - the tape library commands of the control socket
 * (rmtctl(8)):
 *
 *   inventory [--json] [LIBRARY]        what is in every drive, slot and portal
 *   cartridges [--json] [CARTRIDGE]     the cartridge database and continuation order
 *   load [--json] CARTRIDGE|slot:N DRIVE
 *   unload [--json] DRIVE [slot:N]
 *   move [--json] LIBRARY FROM TO       elements as drive:N, slot:N, portal:N
 *   import [--json] LIBRARY [portal:N]
 *   export [--json] CARTRIDGE
 *   readonly [--json] CARTRIDGE on|off
 *
 * DRIVE is a library drive's declared name. A refusal is "ERR <code> <errno
 * name>: <why>" with code notfound (ENOENT), busy (EBUSY), usage (EINVAL),
 * unavailable (EEXIST, ENOSPC) or internal.
 */
#ifndef RMTD_CONTROL_LIBRARY_H
#define RMTD_CONTROL_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Is this request line one of the library commands? */
bool control_library_is_command(const char *line, size_t length);
/*
 * Answer a library command (it may wait for a changer: not on the event loop).
 * Returns 0 with the reply in *body (malloc'd), or -1 with *code and message set.
 */
int control_library_request(const char *line, size_t length, uid_t uid, pid_t pid, char **body,
                            size_t *body_length, const char **code, char *message,
                            size_t message_size);

/*
 * For "catalog NAME": the name a library cartridge's catalog is kept under (a
 * virtual cartridge's image path). Returns 0, or -ENOENT if NAME is none.
 */
int control_library_catalog_name(const char *barcode, char *out, size_t size);
/* For "catalog NAME": which cartridge a restore loads after this one, as a line; "" if none. */
void control_library_next_line(const char *barcode, char *out, size_t size);

#endif
