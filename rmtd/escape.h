/*
 * escape.h - the one way bytes from outside (client paths, certificate
 * subjects, ssh commands, labels read off a tape) are shown in log lines,
 * status files and reports.
 *
 * Printable ASCII stays as it is; a backslash is doubled; newline, tab and
 * carriage return become \n, \t, \r; every other byte below 0x20, DEL and
 * every byte from 0x80 up becomes \ooo (three octal digits). So no control
 * character, no C1 control and no bidirectional override (U+202E) reaches a
 * terminal or a log reader, and a line stays one line.
 */
#ifndef RMTD_ESCAPE_H
#define RMTD_ESCAPE_H

#include <stddef.h>

/* The text is already escaped: leave its backslashes alone (escape the rest). */
#define ESCAPE_KEEP_BACKSLASH 0x1

/*
 * Escape length bytes of in into out (size bytes, always NUL-terminated). A
 * text that does not fit is cut between escapes, never inside one. Returns out.
 */
const char *escape_bytes(char *out, size_t size, const void *in, size_t length, int flags);
/* The same for a NUL-terminated string (NULL is shown as empty). */
const char *escape_text(char *out, size_t size, const char *in);

#endif
