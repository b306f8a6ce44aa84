/*
 * log_sink.c - log.h for fuzz targets that run daemon modules (backends, state
 * files): a fuzzer's log would be noise, so lines go nowhere. They are still
 * formatted, so a bad format or argument is caught by the sanitizers; fatal()
 * aborts, as a module must never end the process on bad input.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static void __attribute__((format(printf, 1, 0))) swallow(const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
}

#define SINK(fn)                                                                                   \
	void fn(const char *fmt, ...)                                                              \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		swallow(fmt, ap);                                                                  \
		va_end(ap);                                                                        \
	}
SINK(log_warn)
SINK(log_warnx)
SINK(log_notice)
SINK(log_info)
SINK(log_debug_message)

void log_init(const char *name, int to_stderr, int verbosity)
{
	(void)name, (void)to_stderr, (void)verbosity;
}

void log_set_verbosity(int verbosity)
{
	(void)verbosity;
}

int log_get_verbosity(void)
{
	return 0;
}

void fatal(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

void fatalx(const char *fmt, ...)
{
	(void)fmt;
	abort();
}
