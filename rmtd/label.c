/*
 * label.c - recognising what a tape file holds from its first record.
 *
 * The test order follows doc/tape-contents.md section 1 so that a weak test never hides a
 * strong one: Amanda text header, ANSI/IBM VOL1 (LTFS), Bacula block, dump
 * (magic + checksum), tar (header checksum), cpio, AIX backup, afbackup,
 * compressed streams. Every read is bounds-checked against the record length;
 * strings are copied bounded and NUL-terminated but otherwise left raw.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "label.h"
#include "number.h"

/* dump constants (doc/tape-contents.md 2) */
#define DUMP_TP_BSIZE      1024
#define DUMP_OFS_MAGIC     60011
#define DUMP_NFS_MAGIC     60012
#define DUMP_MTB_MAGIC     60013
#define DUMP_UFS2_MAGIC    0x19540119
#define DUMP_CHECKSUM      84446
#define DUMP_CHECKSUM16    (DUMP_CHECKSUM % 65536)
#define DUMP_OLD16_MAGIC   0xEA6B
#define DUMP_MTB_MAX_BSIZE 65536
#define DUMP_DR_COMPRESSED 0x80

#define TAR_BLOCK       512
#define TAR_MAX_HEADERS 16 /* headers looked at before the first real member */

#define AMANDA_HEADER_SIZE 32768
#define AMANDA_LINE_MAX    4096
#define AMANDA_TOKENS      40

#define BACULA_MAX_BLOCK 20000000u

#define CPIO_NAME_MAX 4096

/* ---------------------------------------------------------------------------
 * Small readers: every one is called only after the caller checked the bounds.
 */

static uint16_t read_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint16_t read_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t read_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint32_t read_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	       (uint32_t)p[3];
}

static uint32_t read_u32(const uint8_t *p, bool big_endian)
{
	return big_endian ? read_be32(p) : read_le32(p);
}

static uint64_t read_u64(const uint8_t *p, bool big_endian)
{
	uint64_t low, high;

	if (big_endian) {
		high = read_be32(p);
		low = read_be32(p + 4);
	} else {
		low = read_le32(p);
		high = read_le32(p + 4);
	}
	return (high << 32) | low;
}

/* Copy a field of at most field_length bytes, up to its first NUL, into dst. */
static void copy_field(char *dst, size_t dst_size, const uint8_t *src, size_t field_length)
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
static void set_text(char *dst, size_t dst_size, const char *src)
{
	copy_field(dst, dst_size, (const uint8_t *)src, strlen(src));
}

/* copy_field, then drop trailing blanks (ANSI labels pad with spaces). */
static void copy_trimmed(char *dst, size_t dst_size, const uint8_t *src, size_t field_length)
{
	size_t n;

	copy_field(dst, dst_size, src, field_length);
	n = strlen(dst);
	while (n > 0 && dst[n - 1] == ' ')
		dst[--n] = '\0';
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_octal_digit(uint8_t c)
{
	return c >= '0' && c <= '7';
}

/* Decimal digits [p, p+n) (all digits required); false on overflow past limit. */
static bool parse_decimal_exact(const uint8_t *p, size_t n, uint64_t limit, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
		if (v > limit)
			return false;
	}
	*out = v;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t year, unsigned month, unsigned day)
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

static time_t make_time(int64_t year, unsigned month, unsigned day, unsigned hour, unsigned minute,
                        unsigned second)
{
	if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31 ||
	    hour > 23 || minute > 59 || second > 60)
		return 0;
	return (time_t)(days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
	                second);
}

/* ---------------------------------------------------------------------------
 * dump
 */

static bool dump_sum32_ok(const uint8_t *p, size_t bytes, bool big_endian)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 4 <= bytes; i += 4)
		sum += read_u32(p + i, big_endian);
	return sum == DUMP_CHECKSUM;
}

static const char *endian_name(bool big_endian)
{
	return big_endian ? "big endian" : "little endian";
}

static void dump_common_strings(const uint8_t *p, struct tape_content *out)
{
	copy_field(out->label, sizeof(out->label), p + 676, 16);
	copy_field(out->filesystem, sizeof(out->filesystem), p + 696, 64);
	copy_field(out->device, sizeof(out->device), p + 760, 64);
	copy_field(out->host, sizeof(out->host), p + 824, 64);
}

static void dump_set_found(struct tape_content *out, const char *kind, bool big_endian)
{
	out->format = LABEL_FORMAT_DUMP;
	out->activity = LABEL_ACTIVITY_DUMP;
	snprintf(out->variant, sizeof(out->variant), "%s %s", kind, endian_name(big_endian));
}

/* 32-bit headers: new format (NFS/UFS2/MTB magic) and 32-bit old format. */
static bool recognise_dump32(const uint8_t *p, size_t length, struct tape_content *out)
{
	if (length < 512)
		return false;
	for (int order = 0; order < 2; order++) {
		bool big = order == 1;
		uint32_t magic = read_u32(p + 24, big);
		uint32_t type = read_u32(p, big);
		size_t header_size = DUMP_TP_BSIZE;

		if (magic != DUMP_NFS_MAGIC && magic != DUMP_UFS2_MAGIC &&
		    magic != DUMP_MTB_MAGIC && magic != DUMP_OFS_MAGIC)
			continue;
		if (type < 1 || type > 7) /* TS_TAPE .. TS_EOM */
			continue;

		if (magic == DUMP_OFS_MAGIC) {
			/* 4.2BSD old format: 1024-byte block; 32-bit XENIX/System V: 512. */
			if (length >= DUMP_TP_BSIZE && dump_sum32_ok(p, DUMP_TP_BSIZE, big))
				header_size = DUMP_TP_BSIZE;
			else if (dump_sum32_ok(p, 512, big))
				header_size = 512;
			else
				continue;
			dump_set_found(out, "old-fs", big);
			out->date = (time_t)read_u32(p + 4, big);
			out->previous_date = (time_t)read_u32(p + 8, big);
			out->volume = (int)read_u32(p + 12, big);
			return true;
		}
		if (length < DUMP_TP_BSIZE)
			continue;
		if (magic == DUMP_MTB_MAGIC) {
			/* Solaris > 2 TB dumps: the header is c_tpbsize bytes long. */
			uint32_t tpbsize = read_u32(p + 896, big);

			if (tpbsize < DUMP_TP_BSIZE || tpbsize > DUMP_MTB_MAX_BSIZE ||
			    tpbsize % DUMP_TP_BSIZE != 0 || tpbsize > length)
				continue;
			header_size = tpbsize;
		}
		if (!dump_sum32_ok(p, header_size, big))
			continue;

		dump_common_strings(p, out);
		out->level = (int)read_u32(p + 692, big);
		out->volume = (int)read_u32(p + 12, big);
		/* Linux and Solaris keep dates as 32-bit values; read them unsigned so
		 * that dates past 2038 stay right. */
		out->date = (time_t)read_u32(p + 4, big);
		out->previous_date = (time_t)read_u32(p + 8, big);

		/* volume 2 and later go on where the previous volume stopped:
		 * c_tapea counts the TP_BSIZE blocks of the dump before this one */
		out->continuation = out->volume > 1;
		if (out->continuation)
			out->offset = (uint64_t)read_u32(p + 16, big) * DUMP_TP_BSIZE;

		if (magic == DUMP_UFS2_MAGIC) {
			dump_set_found(out, "ufs2", big);
			out->date = (time_t)(int64_t)read_u64(p + 896, big);
			out->previous_date = (time_t)(int64_t)read_u64(p + 904, big);
			if (out->continuation && read_u64(p + 912, big) < (UINT64_MAX >> 11))
				out->offset = read_u64(p + 912, big) * DUMP_TP_BSIZE;
			snprintf(out->program, sizeof(out->program), "BSD dump");
		} else if (magic == DUMP_MTB_MAGIC) {
			dump_set_found(out, "mtb", big);
			snprintf(out->program, sizeof(out->program), "Solaris ufsdump");
		} else {
			uint32_t flags = read_u32(p + 888, big);
			uint64_t date64 = read_u64(p + 896, big);
			uint32_t ntrec = read_u32(p + 896, big);

			dump_set_found(out, "new-fs", big);
			if (date64 != 0 && date64 == read_u32(p + 4, big)) {
				/* FreeBSD fills its 64-bit dates for UFS1 too: 896 is not ntrec. */
				snprintf(out->program, sizeof(out->program), "BSD dump");
			} else if (ntrec >= 1 && ntrec <= 1024) {
				/* Linux dump: c_ntrec tape blocks per record. */
				out->block_size = ntrec * DUMP_TP_BSIZE;
				snprintf(out->program, sizeof(out->program), "Linux dump");
				if (flags & DUMP_DR_COMPRESSED)
					snprintf(out->compression, sizeof(out->compression),
					         "compressed");
			}
		}
		return true;
	}
	return false;
}

/*
 * V7/XENIX with 16-bit ints (PDP-11, XENIX-286): magic 0xEA6B at 18, the 256
 * 16-bit words of the 512-byte block sum to 84446 mod 65536; longs in PDP-11
 * word order (high word first, each word little endian).
 */
static bool recognise_dump16(const uint8_t *p, size_t length, struct tape_content *out)
{
	uint16_t sum = 0;
	uint16_t type;

	if (length < 512 || read_le16(p + 18) != DUMP_OLD16_MAGIC)
		return false;
	type = read_le16(p);
	if (type < 1 || type > 6)
		return false;
	for (size_t i = 0; i < 512; i += 2)
		sum = (uint16_t)(sum + read_le16(p + i));
	if (sum != DUMP_CHECKSUM16)
		return false;
	out->format = LABEL_FORMAT_DUMP;
	out->activity = LABEL_ACTIVITY_DUMP;
	snprintf(out->variant, sizeof(out->variant), "old-fs 16-bit PDP-11");
	out->date = (time_t)(((uint32_t)read_le16(p + 2) << 16) | read_le16(p + 4));
	out->previous_date = (time_t)(((uint32_t)read_le16(p + 6) << 16) | read_le16(p + 8));
	out->volume = read_le16(p + 10);
	return true;
}

/* ---------------------------------------------------------------------------
 * tar
 */

/*
 * A tar number field: octal digits after optional leading blanks, ended by a
 * blank or NUL or the field's end; or GNU base-256 (first byte bit 7 set, big
 * endian binary, bit 6 = negative, which is refused here).
 */
static bool tar_number(const uint8_t *p, size_t n, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;
	bool digits = false;

	if (n == 0)
		return false;
	if (p[0] & 0x80) {
		if (p[0] & 0x40)
			return false;
		v = p[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v >> 55)
				return false; /* would exceed 63 bits */
			v = (v << 8) | p[i];
		}
		*out = v;
		return true;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && is_octal_digit(p[i]); i++) {
		if (v >> 60)
			return false;
		v = v * 8 + (uint64_t)(p[i] - '0');
		digits = true;
	}
	if (!digits)
		return false;
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\0')
			return false;
	*out = v;
	return true;
}

static bool tar_checksum_ok(const uint8_t *h)
{
	uint64_t stored;
	uint32_t unsigned_sum = 0;
	int32_t signed_sum = 0;

	if (!tar_number(h + 148, 8, &stored))
		return false;
	for (size_t i = 0; i < TAR_BLOCK; i++) {
		uint8_t c = (i >= 148 && i < 156) ? ' ' : h[i];

		unsigned_sum += c;
		signed_sum += (int8_t)c;
	}
	return stored == unsigned_sum || (int64_t)stored == (int64_t)signed_sum;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

enum tar_magic { TAR_MAGIC_NONE, TAR_MAGIC_USTAR, TAR_MAGIC_GNU, TAR_MAGIC_OTHER };

static enum tar_magic tar_magic_of(const uint8_t *h)
{
	if (memcmp(h + 257, "ustar\0", 6) == 0)
		return TAR_MAGIC_USTAR;
	if (memcmp(h + 257, "ustar  \0", 8) == 0)
		return TAR_MAGIC_GNU;
	if (all_zero(h + 257, 8))
		return TAR_MAGIC_NONE;
	return TAR_MAGIC_OTHER;
}

/* "<label> Volume N" (GNU tar -M): N, or 0. */
static int tar_volume_suffix(const char *label)
{
	const char *s = strstr(label, " Volume ");
	const char *last = NULL;
	uint64_t v;

	while (s) {
		last = s;
		s = strstr(s + 1, " Volume ");
	}
	if (!last)
		return 0;
	last += strlen(" Volume ");
	if (!parse_decimal_exact((const uint8_t *)last, strlen(last), 1000000000, &v))
		return 0;
	return (int)v;
}

/*
 * Find key in a pax extended header body: records "<len> key=value\n". Copies
 * the value bounded. Returns true if found.
 */
static bool pax_find(const uint8_t *body, size_t size, const char *key, char *dst, size_t dst_size)
{
	size_t pos = 0, key_length = strlen(key);

	while (pos < size) {
		uint64_t record_length = 0;
		size_t i = pos, digits = 0;

		while (i < size && is_digit(body[i]) && digits < 12) {
			record_length = record_length * 10 + (uint64_t)(body[i] - '0');
			i++;
			digits++;
		}
		if (digits == 0 || i >= size || body[i] != ' ' || record_length <= digits + 1 ||
		    record_length > size - pos)
			return false;
		i++; /* the blank */
		{
			size_t end = pos + (size_t)record_length; /* one past the '\n' */
			size_t value_start = i + key_length + 1;

			if (body[end - 1] != '\n')
				return false;
			if (end - i > key_length && memcmp(body + i, key, key_length) == 0 &&
			    body[i + key_length] == '=' && value_start <= end - 1) {
				copy_field(dst, dst_size, body + value_start,
				           end - 1 - value_start);
				return true;
			}
			pos = end;
		}
	}
	return false;
}

/* Member name of a header: ustar prefix + "/" + name, or the name alone. */
static void tar_member_name(const uint8_t *h, bool posix_prefix, char *dst, size_t dst_size)
{
	char prefix[156], name[101];

	copy_field(name, sizeof(name), h, 100);
	if (posix_prefix && h[345] != '\0') {
		size_t n;

		copy_field(prefix, sizeof(prefix), h + 345, 155);
		set_text(dst, dst_size, prefix);
		n = strlen(dst);
		if (n + 1 < dst_size) {
			dst[n] = '/';
			set_text(dst + n + 1, dst_size - n - 1, name);
		}
	} else {
		set_text(dst, dst_size, name);
	}
}

static bool recognise_tar(const uint8_t *p, size_t length, struct tape_content *out)
{
	enum tar_magic first_magic, magic = TAR_MAGIC_NONE;
	bool pax = false, have_pending = false;
	char pending[LABEL_NAME_MAX] = "";
	size_t offset = 0;
	const char *variant;

	if (length < TAR_BLOCK || !tar_checksum_ok(p))
		return false;
	first_magic = tar_magic_of(p);
	out->format = LABEL_FORMAT_TAR;
	out->activity = LABEL_ACTIVITY_ARCHIVE;

	for (int count = 0; count < TAR_MAX_HEADERS && length - offset >= TAR_BLOCK; count++) {
		const uint8_t *h = p + offset;
		uint64_t size, mtime = 0, blocks;
		uint8_t type;
		const uint8_t *body = h + TAR_BLOCK;
		size_t body_avail = length - offset - TAR_BLOCK;

		if (count > 0 && (all_zero(h, TAR_BLOCK) || !tar_checksum_ok(h)))
			break;
		if (!tar_number(h + 124, 12, &size))
			size = 0;
		tar_number(h + 136, 12, &mtime);
		type = h[156];
		if (magic == TAR_MAGIC_NONE)
			magic = tar_magic_of(h);
		if (body_avail > size)
			body_avail = (size_t)size;

		if (type == 'V' && count == 0) {
			copy_field(out->label, sizeof(out->label), h, 100);
			out->volume = tar_volume_suffix(out->label);
			out->date = (time_t)mtime;
		} else if (type == 'g') {
			pax = true;
			if (pax_find(body, body_avail, "GNU.volume.label", out->label,
			             sizeof(out->label)))
				out->volume = tar_volume_suffix(out->label);
		} else if (type == 'x') {
			char value[32];
			uint64_t v;

			pax = true;
			if (pax_find(body, body_avail, "path", pending, sizeof(pending)))
				have_pending = true;
			if (pax_find(body, body_avail, "GNU.volume.filename", pending,
			             sizeof(pending))) {
				have_pending = true;
				out->continuation = true;
			}
			if (pax_find(body, body_avail, "GNU.volume.offset", value, sizeof(value)) &&
			    parse_decimal_exact((const uint8_t *)value, strlen(value), INT64_MAX,
			                        &v)) {
				out->continuation = true;
				out->offset = v;
			}
		} else if (type == 'L') {
			copy_field(pending, sizeof(pending), body, body_avail);
			have_pending = true;
		} else if (type == 'K') {
			/* long link name: nothing for the catalog */
		} else {
			/* the first real member (M: continued from the previous volume) */
			bool posix = magic == TAR_MAGIC_USTAR;

			if (have_pending)
				set_text(out->member, sizeof(out->member), pending);
			else
				tar_member_name(h, posix, out->member, sizeof(out->member));
			if (type == 'M') {
				uint64_t v;

				out->continuation = true;
				if (tar_number(h + 369, 12, &v))
					out->offset = v;
			}
			if (out->date == 0)
				out->date = (time_t)mtime;
			break;
		}
		blocks = (size + TAR_BLOCK - 1) / TAR_BLOCK;
		if (blocks > (length - offset - TAR_BLOCK) / TAR_BLOCK)
			break; /* the body runs past the record */
		offset += TAR_BLOCK + (size_t)blocks * TAR_BLOCK;
	}

	if (first_magic == TAR_MAGIC_GNU || magic == TAR_MAGIC_GNU)
		variant = "gnu";
	else if (pax && (first_magic == TAR_MAGIC_USTAR || magic == TAR_MAGIC_USTAR))
		variant = "pax";
	else if (first_magic == TAR_MAGIC_USTAR && memcmp(p + 508, "tar\0", 4) == 0)
		variant = "star";
	else if (first_magic == TAR_MAGIC_USTAR || magic == TAR_MAGIC_USTAR)
		variant = "ustar";
	else if (p[156] == 'V')
		variant = "gnu"; /* GNU writes its V label without a magic */
	else if (first_magic == TAR_MAGIC_OTHER)
		variant = "other";
	else
		variant = "v7";
	set_text(out->variant, sizeof(out->variant), variant);
	return true;
}

/* ---------------------------------------------------------------------------
 * cpio
 */

static bool hex_field(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		int d = hex_digit_value(p[i]);

		if (d < 0)
			return false;
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return true;
}

static bool octal_field(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!is_octal_digit(p[i]))
			return false;
		v = v * 8 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* The member name after a cpio header: namesize bytes including the NUL. */
static bool cpio_name(const uint8_t *p, size_t length, size_t start, uint64_t namesize,
                      bool need_whole, struct tape_content *out)
{
	size_t avail;

	if (namesize < 1 || namesize > CPIO_NAME_MAX)
		return false;
	if (start > length)
		return false;
	avail = length - start;
	if (need_whole && (avail < namesize || p[start + namesize - 1] != '\0'))
		return false;
	copy_field(out->member, sizeof(out->member), p + start,
	           avail < namesize ? avail : (size_t)namesize);
	return true;
}

static void cpio_found(struct tape_content *out, const char *variant, uint64_t mtime)
{
	out->format = LABEL_FORMAT_CPIO;
	out->activity = LABEL_ACTIVITY_ARCHIVE;
	set_text(out->variant, sizeof(out->variant), variant);
	out->date = (time_t)mtime;
}

static bool recognise_cpio(const uint8_t *p, size_t length, struct tape_content *out)
{
	uint64_t namesize = 0, mtime = 0, word;

	if (length >= 110 && (memcmp(p, "070701", 6) == 0 || memcmp(p, "070702", 6) == 0)) {
		for (size_t i = 0; i < 13; i++)
			if (!hex_field(p + 6 + 8 * i, 8, &word))
				return false;
		hex_field(p + 94, 8, &namesize);
		hex_field(p + 46, 8, &mtime);
		if (!cpio_name(p, length, 110, namesize, false, out))
			return false;
		cpio_found(out, p[5] == '1' ? "newc" : "crc", mtime);
		return true;
	}
	if (length >= 76 && memcmp(p, "070707", 6) == 0) {
		if (!octal_field(p + 6, 70, &word))
			return false;
		octal_field(p + 59, 6, &namesize);
		octal_field(p + 48, 11, &mtime);
		if (!cpio_name(p, length, 76, namesize, false, out))
			return false;
		cpio_found(out, "odc", mtime);
		return true;
	}
	if (length >= 26 && (read_le16(p) == 0x71C7 || read_be16(p) == 0x71C7)) {
		bool big = read_be16(p) == 0x71C7;
		uint16_t (*rd)(const uint8_t *) = big ? read_be16 : read_le16;

		namesize = rd(p + 20);
		mtime = ((uint64_t)rd(p + 16) << 16) | rd(p + 18);
		/* A two-byte magic is weak: insist on a whole, NUL-terminated name. */
		if (!cpio_name(p, length, 26, namesize, true, out))
			return false;
		cpio_found(out, big ? "bin be" : "bin le", mtime);
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------------------
 * Amanda
 */

struct token {
	char text[LABEL_NAME_MAX];
};

/*
 * Split an Amanda header line into tokens; a token starting with '"' is an
 * Amanda quoted string (backslash escapes \n \t \r \f \\ \" and \ooo).
 */
static size_t amanda_tokens(const uint8_t *line, size_t n, struct token *tokens, size_t max)
{
	size_t count = 0, i = 0;

	while (count < max) {
		size_t used = 0;
		char *t = tokens[count].text;

		while (i < n && line[i] == ' ')
			i++;
		if (i >= n)
			break;
		if (line[i] == '"') {
			i++;
			while (i < n && line[i] != '"') {
				uint8_t c = line[i++];

				if (c == '\\' && i < n) {
					c = line[i++];
					if (c == 'n')
						c = '\n';
					else if (c == 't')
						c = '\t';
					else if (c == 'r')
						c = '\r';
					else if (c == 'f')
						c = '\f';
					else if (is_octal_digit(c)) {
						unsigned v = (unsigned)(c - '0');

						for (int k = 0;
						     k < 2 && i < n && is_octal_digit(line[i]); k++)
							v = v * 8 + (unsigned)(line[i++] - '0');
						c = (uint8_t)v;
					}
				}
				if (used < sizeof(tokens[count].text) - 1)
					t[used++] = (char)c;
			}
			if (i < n)
				i++; /* closing quote */
		} else {
			while (i < n && line[i] != ' ') {
				if (used < sizeof(tokens[count].text) - 1)
					t[used++] = (char)line[i];
				i++;
			}
		}
		t[used] = '\0';
		count++;
	}
	return count;
}

/* Amanda datestamp: YYYYMMDD or YYYYMMDDhhmmss; "X" and others give 0. */
static time_t amanda_datestamp(const char *s)
{
	size_t n = strlen(s);
	uint64_t y, mo, d, h = 0, mi = 0, se = 0;
	const uint8_t *u = (const uint8_t *)s;

	if (n != 8 && n != 14)
		return 0;
	if (!parse_decimal_exact(u, 4, 9999, &y) || !parse_decimal_exact(u + 4, 2, 99, &mo) ||
	    !parse_decimal_exact(u + 6, 2, 99, &d))
		return 0;
	if (n == 14 &&
	    (!parse_decimal_exact(u + 8, 2, 99, &h) || !parse_decimal_exact(u + 10, 2, 99, &mi) ||
	     !parse_decimal_exact(u + 12, 2, 99, &se)))
		return 0;
	return make_time((int64_t)y, (unsigned)mo, (unsigned)d, (unsigned)h, (unsigned)mi,
	                 (unsigned)se);
}

static int small_number(const char *s, int fallback)
{
	uint64_t v;

	if (!parse_decimal_exact((const uint8_t *)s, strlen(s), 1000000000, &v))
		return fallback;
	return (int)v;
}

static bool recognise_amanda(const uint8_t *p, size_t length, struct tape_content *out)
{
	struct token tokens[AMANDA_TOKENS];
	size_t prefix, line_length = 0, limit, count;
	const char *type;

	if (length >= 8 && memcmp(p, "AMANDA: ", 8) == 0)
		prefix = 8;
	else if (length >= 9 && memcmp(p, "NETDUMP: ", 9) == 0)
		prefix = 9;
	else
		return false;

	limit = length < AMANDA_LINE_MAX ? length : AMANDA_LINE_MAX;
	while (prefix + line_length < limit && p[prefix + line_length] != '\n' &&
	       p[prefix + line_length] != '\0')
		line_length++;
	count = amanda_tokens(p + prefix, line_length, tokens, AMANDA_TOKENS);
	if (count == 0)
		return false;

	out->format = LABEL_FORMAT_AMANDA;
	out->block_size = AMANDA_HEADER_SIZE;
	type = tokens[0].text;
	set_text(out->variant, sizeof(out->variant), type);

	if (strcmp(type, "TAPESTART") == 0 || strcmp(type, "TAPEEND") == 0) {
		out->activity = LABEL_ACTIVITY_VOLUME_LABEL;
		for (size_t i = 1; i + 1 < count; i += 2) {
			if (strcmp(tokens[i].text, "DATE") == 0)
				out->date = amanda_datestamp(tokens[i + 1].text);
			else if (strcmp(tokens[i].text, "TAPE") == 0)
				set_text(out->label, sizeof(out->label), tokens[i + 1].text);
		}
		return true;
	}

	out->activity = LABEL_ACTIVITY_BACKUP;
	if (strcmp(type, "FILE") == 0 || strcmp(type, "CONT_FILE") == 0 ||
	    strcmp(type, "SPLIT_FILE") == 0) {
		if (count >= 4) {
			out->date = amanda_datestamp(tokens[1].text);
			set_text(out->host, sizeof(out->host), tokens[2].text);
			set_text(out->filesystem, sizeof(out->filesystem), tokens[3].text);
		}
		for (size_t i = 4; i + 1 < count; i++) {
			const char *key = tokens[i].text, *value = tokens[i + 1].text;

			if (strcmp(key, "lev") == 0) {
				out->level = small_number(value, -1);
				i++;
			} else if (strcmp(key, "comp") == 0) {
				set_text(out->compression, sizeof(out->compression), value);
				i++;
			} else if (strcmp(key, "program") == 0) {
				set_text(out->program, sizeof(out->program), value);
				i++;
			} else if (strcmp(key, "part") == 0) {
				const char *slash = strchr(value, '/');
				char number[16];

				if (slash && (size_t)(slash - value) < sizeof(number)) {
					memcpy(number, value, (size_t)(slash - value));
					number[slash - value] = '\0';
					out->volume = small_number(number, 0);
					out->volume_count = small_number(slash + 1, 0);
				}
				i++;
			}
		}
		if (strcmp(type, "CONT_FILE") == 0)
			out->continuation = true;
		out->next_record_wanted = true;
	}
	return true;
}

/* ---------------------------------------------------------------------------
 * Bacula / Bareos
 */

struct cursor {
	const uint8_t *p;
	size_t left;
	bool ok;
};

static void cursor_skip(struct cursor *c, size_t n)
{
	if (!c->ok || c->left < n) {
		c->ok = false;
		return;
	}
	c->p += n;
	c->left -= n;
}

static uint64_t cursor_be(struct cursor *c, size_t n)
{
	uint64_t v = 0;

	if (!c->ok || c->left < n) {
		c->ok = false;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | c->p[i];
	cursor_skip(c, n);
	return v;
}

/* Bacula's ser_string: bytes up to and including a NUL. */
static void cursor_string(struct cursor *c, char *dst, size_t dst_size)
{
	size_t n = 0;

	if (dst_size)
		dst[0] = '\0';
	if (!c->ok)
		return;
	while (n < c->left && c->p[n] != '\0')
		n++;
	if (n == c->left) {
		c->ok = false;
		return;
	}
	copy_field(dst, dst_size, c->p, n);
	cursor_skip(c, n + 1);
}

static double double_from_bits(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

static void bacula_volume_label(const uint8_t *payload, size_t size, struct tape_content *out)
{
	struct cursor c = {payload, size, true};
	char id[40], previous[LABEL_TEXT_MAX], pool_type[LABEL_SHORT_MAX];
	uint32_t version;
	int64_t label_btime;
	double label_date, label_time;

	cursor_string(&c, id, sizeof(id));
	if (!c.ok || (strncmp(id, "Bacula", 6) != 0 && strncmp(id, "Bareos", 6) != 0))
		return;
	version = (uint32_t)cursor_be(&c, 4);
	if (!c.ok)
		return;
	label_btime = (int64_t)cursor_be(&c, 8);
	label_date = double_from_bits((uint64_t)label_btime);
	label_time = double_from_bits(cursor_be(&c, 8));
	cursor_skip(&c, 16); /* write_date, write_time */
	if (!c.ok)
		return;
	if (version >= 11) {
		/* btime: microseconds since 1970 in current Bacula, seconds in 1.x. */
		if (label_btime > 100000000000LL)
			out->date = (time_t)(label_btime / 1000000);
		else if (label_btime > 0)
			out->date = (time_t)label_btime;
	} else if (isfinite(label_date) && isfinite(label_time)) {
		/* Julian day number and fraction. */
		double seconds = (label_date - 2440587.5 + label_time) * 86400.0;

		if (seconds > 0 && seconds < 253402300800.0)
			out->date = (time_t)seconds;
	}
	snprintf(out->program, sizeof(out->program), "%.*s", (int)strcspn(id, "\n"), id);
	cursor_string(&c, out->label, sizeof(out->label));
	cursor_string(&c, previous, sizeof(previous));
	cursor_string(&c, out->filesystem, sizeof(out->filesystem)); /* PoolName */
	cursor_string(&c, pool_type, sizeof(pool_type));
	cursor_string(&c, out->device, sizeof(out->device)); /* MediaType */
	cursor_string(&c, out->host, sizeof(out->host));
}

static bool recognise_bacula(const uint8_t *p, size_t length, struct tape_content *out)
{
	size_t block_header, record_header, field_offset;
	uint32_t block_length, data_length;
	int32_t file_index;
	const char *what;
	char version = 0;

	if (length < 16 || memcmp(p + 12, "BB0", 3) != 0)
		return false;
	switch (p[15]) {
	case '1':
		block_header = 16;
		record_header = 20;
		field_offset = 8; /* VolSessionId, VolSessionTime come first */
		break;
	case '2':
		block_header = 24;
		record_header = 12;
		field_offset = 0;
		break;
	case '3':
		block_header = 32;
		record_header = 12;
		field_offset = 0;
		break;
	default:
		return false;
	}
	version = (char)p[15];
	block_length = read_be32(p + 4);
	if (block_length < block_header || block_length > BACULA_MAX_BLOCK)
		return false;

	out->format = LABEL_FORMAT_BACULA;
	out->activity = LABEL_ACTIVITY_BACKUP;
	out->block_size = block_length;
	snprintf(out->variant, sizeof(out->variant), "BB0%c", version);
	if (length < block_header + record_header)
		return true;

	file_index = (int32_t)read_be32(p + block_header + field_offset);
	data_length = read_be32(p + block_header + field_offset + 8);
	switch (file_index) {
	case -1:
		what = "PRE_LABEL";
		break;
	case -2:
		what = "VOL_LABEL";
		break;
	case -3:
		what = "EOM_LABEL";
		break;
	case -4:
		what = "SOS_LABEL";
		break;
	case -5:
		what = "EOS_LABEL";
		break;
	case -6:
		what = "EOT_LABEL";
		break;
	default:
		what = NULL;
		break;
	}
	if (what)
		snprintf(out->variant, sizeof(out->variant), "BB0%c %s", version, what);
	if (file_index == -1 || file_index == -2) {
		size_t start = block_header + record_header;
		size_t end = length < block_length ? length : block_length;
		size_t size = end > start ? end - start : 0;

		if (data_length < size)
			size = data_length;
		out->activity = LABEL_ACTIVITY_VOLUME_LABEL;
		bacula_volume_label(p + start, size, out);
	}
	return true;
}

/* ---------------------------------------------------------------------------
 * ANSI / IBM standard labels, LTFS
 */

/* EBCDIC (code page 037) to ASCII for the characters labels use; 0 = not one. */
static char ebcdic_to_ascii(uint8_t c)
{
	static const char letters1[] = "abcdefghi"; /* 0x81.. */
	static const char letters2[] = "jklmnopqr"; /* 0x91.. */
	static const char letters3[] = "stuvwxyz";  /* 0xa2.. */

	if (c >= 0xf0 && c <= 0xf9)
		return (char)('0' + (c - 0xf0));
	if (c >= 0xc1 && c <= 0xc9)
		return (char)('A' + (c - 0xc1));
	if (c >= 0xd1 && c <= 0xd9)
		return (char)('J' + (c - 0xd1));
	if (c >= 0xe2 && c <= 0xe9)
		return (char)('S' + (c - 0xe2));
	if (c >= 0x81 && c <= 0x89)
		return letters1[c - 0x81];
	if (c >= 0x91 && c <= 0x99)
		return letters2[c - 0x91];
	if (c >= 0xa2 && c <= 0xa9)
		return letters3[c - 0xa2];
	switch (c) {
	case 0x40:
		return ' ';
	case 0x4b:
		return '.';
	case 0x4c:
		return '<';
	case 0x4d:
		return '(';
	case 0x4e:
		return '+';
	case 0x4f:
		return '|';
	case 0x50:
		return '&';
	case 0x5a:
		return '!';
	case 0x5b:
		return '$';
	case 0x5c:
		return '*';
	case 0x5d:
		return ')';
	case 0x5e:
		return ';';
	case 0x60:
		return '-';
	case 0x61:
		return '/';
	case 0x6b:
		return ',';
	case 0x6c:
		return '%';
	case 0x6d:
		return '_';
	case 0x6e:
		return '>';
	case 0x6f:
		return '?';
	case 0x7a:
		return ':';
	case 0x7b:
		return '#';
	case 0x7c:
		return '@';
	case 0x7d:
		return '\'';
	case 0x7e:
		return '=';
	case 0x7f:
		return '"';
	default:
		return 0;
	}
}

/* ANSI X3.27 date "cyyddd": c blank = 19xx, '0' = 20xx, '1' = 21xx. */
static time_t ansi_date(const uint8_t *d)
{
	uint64_t yy, ddd;
	int64_t century;

	if (d[0] == ' ')
		century = 1900;
	else if (is_digit(d[0]))
		century = 2000 + 100 * (d[0] - '0');
	else
		return 0;
	if (!parse_decimal_exact(d + 1, 2, 99, &yy) || !parse_decimal_exact(d + 3, 3, 366, &ddd) ||
	    ddd == 0)
		return 0;
	if (century + (int64_t)yy < 1970)
		return 0;
	return (time_t)((days_from_civil(century + (int64_t)yy, 1, 1) + (int64_t)ddd - 1) * 86400);
}

static bool recognise_ansi(const uint8_t *p, size_t length, struct tape_content *out)
{
	uint8_t text[80];
	bool ebcdic = false;
	uint64_t v;

	/* Labels are exactly 80-byte records; a longer record is something else. */
	if (length != 80)
		return false;
	if (p[0] >= 0xc0) {
		for (size_t i = 0; i < 80; i++) {
			char c = ebcdic_to_ascii(p[i]);

			if (c == 0)
				return false;
			text[i] = (uint8_t)c;
		}
		ebcdic = true;
	} else {
		for (size_t i = 0; i < 80; i++) {
			if (p[i] < 0x20 || p[i] > 0x7e)
				return false;
			text[i] = p[i];
		}
	}
	if (memcmp(text, "VOL1", 4) == 0) {
		char implementation[14];

		copy_trimmed(out->label, sizeof(out->label), text + 4, 6);
		copy_trimmed(out->host, sizeof(out->host), text + 37, 14); /* owner */
		copy_trimmed(implementation, sizeof(implementation), text + 24, 13);
		set_text(out->program, sizeof(out->program), implementation);
		if (memcmp(text + 24, "LTFS", 4) == 0)
			snprintf(out->variant, sizeof(out->variant), "LTFS VOL1");
		else
			snprintf(out->variant, sizeof(out->variant), "%s VOL1",
			         ebcdic ? "IBM" : "ANSI");
	} else if (memcmp(text, "HDR1", 4) == 0 || memcmp(text, "EOF1", 4) == 0 ||
	           memcmp(text, "EOV1", 4) == 0) {
		copy_trimmed(out->member, sizeof(out->member), text + 4, 17);
		copy_trimmed(out->label, sizeof(out->label), text + 21, 6); /* file set */
		if (parse_decimal_exact(text + 27, 4, 9999, &v))
			out->volume = (int)v;
		out->date = ansi_date(text + 41);
		snprintf(out->variant, sizeof(out->variant), "%s %.4s", ebcdic ? "IBM" : "ANSI",
		         (const char *)text);
		out->continuation = memcmp(text, "HDR1", 4) == 0 && out->volume > 1;
	} else if (memcmp(text, "HDR2", 4) == 0 || memcmp(text, "EOF2", 4) == 0 ||
	           memcmp(text, "EOV2", 4) == 0) {
		if (parse_decimal_exact(text + 5, 5, 99999, &v))
			out->block_size = (uint32_t)v;
		snprintf(out->variant, sizeof(out->variant), "%s %.4s", ebcdic ? "IBM" : "ANSI",
		         (const char *)text);
	} else {
		return false;
	}
	out->format = LABEL_FORMAT_ANSI;
	out->activity = LABEL_ACTIVITY_VOLUME_LABEL;
	return true;
}

/* ---------------------------------------------------------------------------
 * afbackup, AIX backup, compressed streams
 */

/* Value after "key" up to the end of its line, within [p, p+n). */
static bool text_value(const uint8_t *p, size_t n, const char *key, char *dst, size_t dst_size)
{
	size_t key_length = strlen(key), end;
	const uint8_t *at = memmem(p, n, key, key_length);

	if (!at)
		return false;
	at += key_length;
	n -= (size_t)(at - p);
	while (n > 0 && *at == '\t') {
		at++;
		n--;
	}
	for (end = 0; end < n && at[end] != '\n' && at[end] != '\0'; end++)
		;
	copy_field(dst, dst_size, at, end);
	return true;
}

static bool recognise_afbackup(const uint8_t *p, size_t length, struct tape_content *out)
{
	static const char magic[] = "AF's backup system\n\nINFO HEADER";
	size_t window = length < 4096 ? length : 4096;
	char value[LABEL_TEXT_MAX];
	uint64_t v;

	if (!memmem(p, length < 256 ? length : 256, magic, sizeof(magic) - 1))
		return false;
	out->format = LABEL_FORMAT_AFBACKUP;
	out->activity = LABEL_ACTIVITY_VOLUME_LABEL;
	snprintf(out->variant, sizeof(out->variant), "info header");
	if (text_value(p, window, "\nCartridge number:", value, sizeof(value)) &&
	    parse_decimal_exact((const uint8_t *)value, strlen(value), 1000000000, &v))
		set_text(out->label, sizeof(out->label), value);
	if (text_value(p, window, "\nLabeling time:", value, sizeof(value)) &&
	    parse_decimal_exact((const uint8_t *)value, strlen(value), INT32_MAX * 4ull, &v))
		out->date = (time_t)v;
	if (text_value(p, window, "\nTape Blocksize:", value, sizeof(value)) &&
	    parse_decimal_exact((const uint8_t *)value, strlen(value), UINT32_MAX, &v))
		out->block_size = (uint32_t)v;
	if (text_value(p, window, "\nProgram version:", value, sizeof(value)))
		set_text(out->program, sizeof(out->program), value);
	return true;
}

static bool recognise_aix(const uint8_t *p, size_t length, struct tape_content *out)
{
	if (length < 4 || p[0] != 0x09 || p[1] != 0x00 || (p[2] != 0x6b && p[2] != 0x6f) ||
	    p[3] != 0xea)
		return false;
	out->format = LABEL_FORMAT_AIX_BACKUP;
	out->activity = LABEL_ACTIVITY_BACKUP;
	snprintf(out->variant, sizeof(out->variant), "backbyinode");
	return true;
}

/* gzip header (RFC 1952): MTIME and the original name when FNAME is set. */
static void gzip_details(const uint8_t *p, size_t length, struct tape_content *out)
{
	uint8_t flags = p[3];
	size_t pos = 10;

	out->date = (time_t)read_le32(p + 4);
	if (flags & 0x04) { /* FEXTRA */
		if (length < pos + 2)
			return;
		pos += 2 + read_le16(p + pos);
	}
	if ((flags & 0x08) && pos < length) /* FNAME */
		copy_field(out->member, sizeof(out->member), p + pos, length - pos);
}

static bool recognise_compressed(const uint8_t *p, size_t length, struct tape_content *out)
{
	const char *name = NULL;

	if (length >= 10 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 && (p[3] & 0xe0) == 0)
		name = "gzip";
	else if (length >= 4 && memcmp(p, "BZh", 3) == 0 && p[3] >= '1' && p[3] <= '9')
		name = "bzip2";
	else if (length >= 6 && memcmp(p, "\xfd\x37\x7a\x58\x5a\x00", 6) == 0)
		name = "xz";
	else if (length >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
		name = "zstd";
	else if (length >= 4 && memcmp(p, "\x04\x22\x4d\x18", 4) == 0)
		name = "lz4";
	else if (length >= 3 && p[0] == 0x1f && p[1] == 0x9d)
		name = "compress";
	if (!name)
		return false;
	out->format = LABEL_FORMAT_COMPRESSED;
	out->format_name = name;
	out->activity = LABEL_ACTIVITY_DATA;
	set_text(out->variant, sizeof(out->variant), name);
	set_text(out->compression, sizeof(out->compression), name);
	if (strcmp(name, "gzip") == 0)
		gzip_details(p, length, out);
	return true;
}

/* ---------------------------------------------------------------------------
 * Public functions
 */

void label_clear(struct tape_content *out)
{
	memset(out, 0, sizeof(*out));
	out->format = LABEL_FORMAT_UNKNOWN;
	out->format_name = label_format_name(LABEL_FORMAT_UNKNOWN);
	out->level = -1;
	out->inner_format = LABEL_FORMAT_UNKNOWN;
}

const char *label_format_name(enum label_format format)
{
	switch (format) {
	case LABEL_FORMAT_DUMP:
		return "dump";
	case LABEL_FORMAT_TAR:
		return "tar";
	case LABEL_FORMAT_CPIO:
		return "cpio";
	case LABEL_FORMAT_AMANDA:
		return "amanda";
	case LABEL_FORMAT_BACULA:
		return "bacula";
	case LABEL_FORMAT_AFBACKUP:
		return "afbackup";
	case LABEL_FORMAT_ANSI:
		return "ansi";
	case LABEL_FORMAT_AIX_BACKUP:
		return "aix-backup";
	case LABEL_FORMAT_COMPRESSED:
		return "compressed";
	case LABEL_FORMAT_UNKNOWN:
		break;
	}
	return "unknown";
}

typedef bool (*recogniser_fn)(const uint8_t *p, size_t length, struct tape_content *out);

/* doc/tape-contents.md section 1: strongest and most specific tests first. */
static const recogniser_fn recognisers[] = {
    recognise_amanda, recognise_ansi, recognise_bacula, recognise_dump32,   recognise_dump16,
    recognise_tar,    recognise_cpio, recognise_aix,    recognise_afbackup, recognise_compressed,
};

bool label_recognise(const void *record, size_t length, struct tape_content *out)
{
	const uint8_t *p = record;

	label_clear(out);
	if (!record || length == 0)
		return false;
	for (size_t i = 0; i < sizeof(recognisers) / sizeof(recognisers[0]); i++) {
		if (recognisers[i](p, length, out)) {
			if (out->format != LABEL_FORMAT_COMPRESSED)
				out->format_name = label_format_name(out->format);
			/* An Amanda record longer than its header holds the start of the image. */
			if (out->format == LABEL_FORMAT_AMANDA && out->next_record_wanted &&
			    length > AMANDA_HEADER_SIZE)
				label_recognise_inner(p + AMANDA_HEADER_SIZE,
				                      length - AMANDA_HEADER_SIZE, out);
			return true;
		}
		/* a recogniser that gave up may have written fields: start clean */
		label_clear(out);
	}
	return false;
}

void label_recognise_inner(const void *record, size_t length, struct tape_content *out)
{
	struct tape_content inner;
	const uint8_t *p = record;

	out->next_record_wanted = false;
	label_clear(&inner);
	if (!record || length == 0)
		return;
	/* No nesting: an Amanda header inside an Amanda file is just "amanda". */
	for (size_t i = 0; i < sizeof(recognisers) / sizeof(recognisers[0]); i++) {
		if (recognisers[i](p, length, &inner)) {
			out->inner_format = inner.format;
			set_text(out->inner_variant, sizeof(out->inner_variant), inner.variant);
			if (out->member[0] == '\0')
				memcpy(out->member, inner.member, sizeof(out->member));
			return;
		}
		label_clear(&inner);
	}
}

const char *label_operation(const struct tape_content *content, bool writing)
{
	switch (content ? content->activity : LABEL_ACTIVITY_DATA) {
	case LABEL_ACTIVITY_DUMP:
		return writing ? "Dump" : "Restore";
	case LABEL_ACTIVITY_ARCHIVE:
		return writing ? "Archive" : "Extract";
	case LABEL_ACTIVITY_BACKUP:
		return writing ? "Backup" : "Recover";
	case LABEL_ACTIVITY_VOLUME_LABEL:
		return writing ? "Label" : "Scan";
	case LABEL_ACTIVITY_DATA:
		break;
	}
	return writing ? "Write" : "Read";
}

const char *label_format_date(time_t when, char *out, size_t size)
{
	int64_t t = (int64_t)when, days, seconds;
	int64_t z, era, year;
	unsigned day_of_era, year_of_era, day_of_year, mp, day, month;

	if (size == 0)
		return out;
	/* year 0 .. 9999 only: anything else is printed as a raw number */
	if (t < -62167219200LL || t > 253402300799LL) {
		snprintf(out, size, "@%lld", (long long)t);
		return out;
	}
	days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	seconds = t - days * 86400;
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	day_of_era = (unsigned)(z - era * 146097);
	year_of_era =
	    (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
	year = (int64_t)year_of_era + era * 400;
	day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	mp = (5 * day_of_year + 2) / 153;
	day = day_of_year - (153 * mp + 2) / 5 + 1;
	month = mp < 10 ? mp + 3 : mp - 9;
	year += month <= 2;
	snprintf(out, size, "%04lld-%02u-%02u %02u:%02u", (long long)year, month, day,
	         (unsigned)(seconds / 3600), (unsigned)(seconds % 3600 / 60));
	return out;
}

/* A bounded string builder for label_describe. */
struct text {
	char *buf;
	size_t size, used;
};

static void text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->size == 0)
		return;
	if (n > t->size - 1 - t->used)
		n = t->size - 1 - t->used;
	memcpy(t->buf + t->used, s, n);
	t->used += n;
	t->buf[t->used] = '\0';
}

static void text_escaped(struct text *t, const char *raw)
{
	char escaped[4 * LABEL_NAME_MAX + 1];

	escape_text(escaped, sizeof(escaped), raw);
	text_add(t, escaped);
}

static void text_number(struct text *t, const char *before, long long v, const char *after)
{
	char number[32];

	text_add(t, before);
	snprintf(number, sizeof(number), "%lld", v);
	text_add(t, number);
	text_add(t, after);
}

static void text_field(struct text *t, const char *before, const char *raw)
{
	if (raw[0] == '\0')
		return;
	text_add(t, before);
	text_escaped(t, raw);
}

static void text_date(struct text *t, const char *before, time_t when)
{
	char date[32];

	if (when == 0)
		return;
	text_add(t, before);
	text_add(t, label_format_date(when, date, sizeof(date)));
	text_add(t, " UTC");
}

static void describe_dump(struct text *t, const struct tape_content *c)
{
	text_add(t, "dump");
	if (c->level >= 0)
		text_number(t, " level ", c->level, "");
	text_field(t, " of ", c->device);
	if (c->filesystem[0]) {
		text_add(t, " (");
		text_escaped(t, c->filesystem);
		text_add(t, ")");
	}
	text_field(t, " on ", c->host);
	text_field(t, ", label ", c->label);
	if (c->volume > 0)
		text_number(t, ", volume ", c->volume, "");
	if (c->continuation)
		text_number(t, " (continued at byte ", (long long)c->offset, ")");
	text_date(t, ", ", c->date);
	text_date(t, ", since ", c->previous_date);
	if (strncmp(c->variant, "new-fs little", 13) != 0)
		text_field(t, ", ", c->variant);
	if (c->compression[0])
		text_add(t, ", compressed");
}

static void describe_generic(struct text *t, const struct tape_content *c)
{
	text_add(t, c->format_name ? c->format_name : "unknown");
	if (c->variant[0] && strcmp(c->variant, c->format_name ? c->format_name : "") != 0) {
		text_add(t, " (");
		text_escaped(t, c->variant);
		text_add(t, ")");
	}
	text_field(t, " label ", c->label);
	if (c->format == LABEL_FORMAT_ANSI)
		text_field(t, ", owner ", c->host);
	else
		text_field(t, ", host ", c->host);
	if (c->format == LABEL_FORMAT_BACULA) {
		text_field(t, ", pool ", c->filesystem);
		text_field(t, ", media type ", c->device);
	} else {
		text_field(t, ", disk ", c->filesystem);
		text_field(t, ", device ", c->device);
	}
	if (c->level >= 0)
		text_number(t, ", level ", c->level, "");
	if (c->volume > 0) {
		text_number(t, ", volume ", c->volume, "");
		if (c->volume_count > 0)
			text_number(t, " of ", c->volume_count, "");
	}
	if (c->continuation) {
		text_field(t, ", continues ", c->member);
		if (c->offset)
			text_number(t, " at byte ", (long long)c->offset, "");
	} else {
		text_field(t, ", first member ", c->member);
	}
	text_field(t, ", program ", c->program);
	if (c->format != LABEL_FORMAT_COMPRESSED)
		text_field(t, ", compression ", c->compression);
	text_date(t, ", ", c->date);
	if (c->inner_format != LABEL_FORMAT_UNKNOWN) {
		text_add(t, ", holding ");
		text_add(t, label_format_name(c->inner_format));
		if (c->inner_variant[0] &&
		    strcmp(c->inner_variant, label_format_name(c->inner_format)) != 0) {
			text_add(t, " (");
			text_escaped(t, c->inner_variant);
			text_add(t, ")");
		}
	}
}

const char *label_describe(const struct tape_content *content, char *out, size_t size)
{
	struct text t = {out, size, 0};

	if (size == 0)
		return out;
	out[0] = '\0';
	if (!content || content->format == LABEL_FORMAT_UNKNOWN) {
		text_add(&t, "unrecognised data");
		return out;
	}
	if (content->format == LABEL_FORMAT_DUMP)
		describe_dump(&t, content);
	else
		describe_generic(&t, content);
	return out;
}
