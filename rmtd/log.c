/*
 * log.c - logging to stderr or syslog, one line per event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "escape.h"
#include "log.h"

static int log_to_stderr = 1;
static int log_verbosity;
static const char *log_name = "rmtd";

void log_init(const char *name, int to_stderr, int verbosity)
{
	log_name = name;
	log_to_stderr = to_stderr;
	log_verbosity = verbosity;
	if (!to_stderr)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_verbosity(int verbosity)
{
	log_verbosity = verbosity;
}

int log_get_verbosity(void)
{
	return log_verbosity;
}

static void log_emit(int priority, const char *fmt, va_list ap, int with_errno)
    __attribute__((format(printf, 2, 0)));

static void log_emit(int priority, const char *fmt, va_list ap, int with_errno)
{
	char message[1024], shown[4 * sizeof(message)];
	int saved_errno = errno;
	int n;

	n = vsnprintf(message, sizeof(message), fmt, ap);
	if (n < 0)
		return;
	if (with_errno && (size_t)n < sizeof(message))
		snprintf(message + n, sizeof(message) - n, ": %s", strerror(saved_errno));
	/*
	 * Callers escape what clients sent (escape.h); this catches any control byte that
	 * still got through, so no log line can carry one or be split in two.
	 */
	escape_bytes(shown, sizeof(shown), message, strlen(message), ESCAPE_KEEP_BACKSLASH);
	if (log_to_stderr) {
		fprintf(stderr, "%s: %s\n", log_name, shown);
		fflush(stderr);
	} else {
		syslog(priority, "%s", shown);
	}
	errno = saved_errno;
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, fmt, ap, 1);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, fmt, ap, 0);
	va_end(ap);
}

void log_notice(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_NOTICE, fmt, ap, 0);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 1 && log_to_stderr)
		return;
	va_start(ap, fmt);
	log_emit(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void log_debug_message(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 2)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
