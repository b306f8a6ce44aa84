/*
 * log.h - one clear line per event, to stderr (foreground) or syslog (daemon).
 *
 * Modelled on OpenBSD's log.c: log_warn appends strerror(errno), log_warnx does not.
 * Messages are one line; callers escape client-supplied strings (log_escape).
 */
#ifndef RMTD_LOG_H
#define RMTD_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* to_stderr: foreground mode. verbosity: 0 normal, 1 info, 2 debug. */
void log_init(const char *name, int to_stderr, int verbosity);
void log_set_verbosity(int verbosity);
int log_get_verbosity(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What an administrator expects in the log at the default level: opens, refusals, kills. */
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1): for start-up errors only, never on client input. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copy a client-supplied string into out, escaping control and non-ASCII bytes
 * (libbsd strvisx, VIS_CSTYLE | VIS_OCTAL), cut to fit. Returns out.
 */
const char *log_escape(char *out, size_t size, const char *in, size_t in_length);

#endif
