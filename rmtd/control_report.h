/*
 * control_report.h - the control replies that read the state directory
 * (catalogs, drive counters): blocking file I/O, so the daemon runs them on a
 * thread, never on the event loop.
 */
#ifndef RMTD_CONTROL_REPORT_H
#define RMTD_CONTROL_REPORT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Build the reply body of a catalog request (blocking file I/O: runs on a
 * thread in the daemon). candidates are the cartridge names to try in order
 * (the name given, then the drive's names); count 0 lists every catalog.
 * Returns 0 with *body malloc'd, or -ENOENT (no such catalog), -errno.
 */
int control_catalog_body(const char *state_directory, const char *const *candidates, size_t count,
                         bool json, char **body, size_t *length);

struct status_drive;

/*
 * The drives reply with each drive's persistent counters from the state
 * directory (blocking file I/O: runs on a thread in the daemon). Returns 0 with
 * *body malloc'd, or -errno.
 */
int control_drives_body(const char *state_directory, struct status_drive *drives, size_t count,
                        bool json, char **body, size_t *length);

#endif
