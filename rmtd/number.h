/*
 * number.h - numbers in text, parsed strictly and in one place: decimal digits
 * only (no blanks, no '+', no base prefix), overflow refused rather than
 * clamped, the whole text consumed. Used by the protocol parser, the
 * configuration, the command line, the control protocol and the state files,
 * and by librmt and rmt-connect (reply lines, ports, environment variables).
 */
#ifndef RMTD_NUMBER_H
#define RMTD_NUMBER_H

#include <stddef.h>
#include <stdint.h>

/*
 * The decimal digits [text, text + length) as a value. Returns 0, -EINVAL when
 * it is empty or holds anything but '0'-'9', -ERANGE above UINT64_MAX.
 */
int decimal_parse_u64(const char *text, size_t length, uint64_t *out);

/*
 * The decimal [text, text + length), '-' allowed in front, within [minimum,
 * maximum]. Returns 0, -EINVAL (malformed) or -ERANGE (outside the range).
 */
int decimal_parse_i64(const char *text, size_t length, int64_t minimum, int64_t maximum,
                      int64_t *out);

/* The same for a NUL-terminated decimal. */
int decimal_parse_range(const char *text, int64_t minimum, int64_t maximum, int64_t *out);

/*
 * A size: decimal digits with an optional K, M, G or T (either case; powers
 * of 1024). Returns 0, -EINVAL or -ERANGE (above UINT64_MAX).
 */
int decimal_parse_size(const char *text, size_t length, uint64_t *out);

/*
 * The octal digits [text, text + length) as a value (a file mode). Returns 0,
 * -EINVAL (empty, or anything but '0'-'7') or -ERANGE above UINT64_MAX.
 */
int octal_parse_u64(const char *text, size_t length, uint64_t *out);

/* The value of one hex digit (either case), or -1. */
int hex_digit_value(int c);

#endif
