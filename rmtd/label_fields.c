/*
 * label_fields.c - the small readers every recogniser shares: integers of
 * either byte order, bounded string copies, digits and dates. Each is called
 * only after the caller checked the bounds.
 */
#include <string.h>

#include "escape.h"
#include "label_internal.h"
#include "number.h"

uint16_t label_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

uint16_t label_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t label_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

uint32_t label_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	       (uint32_t)p[3];
}

uint32_t label_u32(const uint8_t *p, bool big_endian)
{
	return big_endian ? label_be32(p) : label_le32(p);
}

uint64_t label_u64(const uint8_t *p, bool big_endian)
{
	uint64_t low, high;

	if (big_endian) {
		high = label_be32(p);
		low = label_be32(p + 4);
	} else {
		low = label_le32(p);
		high = label_le32(p + 4);
	}
	return (high << 32) | low;
}

/* Copy a field of at most field_length bytes, up to its first NUL, into dst. */
void label_copy_field(char *dst, size_t dst_size, const uint8_t *src, size_t field_length)
{
	size_t n = 0;

	if (dst_size == 0)
		return;
	while (n < field_length && n < dst_size - 1 && src[n] != '\0') {
		dst[n] = (char)src[n];
		n++;
	}
	dst[n] = '\0';
}

/* Bounded copy of a NUL-terminated string (truncating, always terminated). */
void label_set_text(char *dst, size_t dst_size, const char *src)
{
	label_copy_field(dst, dst_size, (const uint8_t *)src, strlen(src));
}

/* label_copy_field, then drop trailing blanks (ANSI labels pad with spaces). */
void label_copy_trimmed(char *dst, size_t dst_size, const uint8_t *src, size_t field_length)
{
	size_t n;

	label_copy_field(dst, dst_size, src, field_length);
	n = strlen(dst);
	while (n > 0 && dst[n - 1] == ' ')
		dst[--n] = '\0';
}

bool label_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

bool label_is_octal_digit(uint8_t c)
{
	return c >= '0' && c <= '7';
}

/* Decimal digits [p, p+n) (all digits required); false on overflow past limit. */
bool label_decimal_exact(const uint8_t *p, size_t n, uint64_t limit, uint64_t *out)
{
	uint64_t v;

	if (decimal_parse_u64((const char *)p, n, &v) < 0 || v > limit)
		return false;
	*out = v;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
int64_t label_days_from_civil(int64_t year, unsigned month, unsigned day)
{
	int64_t era;
	unsigned year_of_era, day_of_year, day_of_era;

	year -= month <= 2;
	era = (year >= 0 ? year : year - 399) / 400;
	year_of_era = (unsigned)(year - era * 400);
	day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
	return era * 146097 + (int64_t)day_of_era - 719468;
}

time_t label_make_time(int64_t year, unsigned month, unsigned day, unsigned hour, unsigned minute,
                       unsigned second)
{
	if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31 ||
	    hour > 23 || minute > 59 || second > 60)
		return 0;
	return (time_t)(label_days_from_civil(year, month, day) * 86400 + hour * 3600 +
	                minute * 60 + second);
}
