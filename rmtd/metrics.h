/*
 * metrics.h - the drives' state and counters in the Prometheus text exposition
 * format (version 0.0.4), the form node_exporter's textfile collector reads from
 * a *.prom file and `rmtctl metrics` prints.
 *
 * Pure: a status snapshot in, text out. Counters count since the daemon started
 * (rmtd_start_time_seconds says when), so a restart is a counter reset, as
 * Prometheus expects; the all-time totals stay in the state directory.
 */
#ifndef RMTD_METRICS_H
#define RMTD_METRICS_H

#include "status.h"

struct evbuffer;

/* The file the status monitor keeps in the status directory. */
#define METRICS_FILE_NAME "rmtd.prom"

/*
 * Append s as a label value: '\\', '"' and newline escaped as the format asks,
 * other control bytes as U+FFFD, and every byte that is not valid UTF-8 as
 * U+FFFD (the format's values are UTF-8). Quotes not included. 0 or -ENOMEM.
 */
int metrics_label_value(struct evbuffer *out, const char *s);

/*
 * The state of a drive as rmtd_drive_state names it: "idle" (no session holds
 * it), "held" (a session holds it, the device is not open) or "open".
 */
const char *metrics_drive_state(const struct status_drive *drive);

/* Every metric family, HELP and TYPE first, samples grouped. 0 or -ENOMEM. */
int metrics_format(struct evbuffer *out, const struct status_snapshot *snapshot);

#endif
