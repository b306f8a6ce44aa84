/*
 * log.h - one clear line per event, to stderr (foreground) or syslog (daemon).
 *
 * Modelled on OpenBSD's log.c: log_warn appends strerror(errno), log_warnx does not.
 * Messages are one line; callers escape client-supplied strings (escape.h), and
 * any control byte left is escaped on the way out.
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
void log_debug_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Debug lines are many, on every request's path, and wanted only at -vv: the level
 * is tested before the call, so that otherwise neither the arguments nor the call
 * cost anything.
 */
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_verbosity() >= 2)                                                      \
			log_debug_message(__VA_ARGS__);                                            \
	} while (0)
/* Log and exit(1): for start-up errors only, never on client input. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
