/*
 * label_archive.c - recognisers for the archivers' own headers: dump (32-bit
 * and 16-bit headers, magic + checksum), tar (header checksum, pax, GNU
 * volume labels) and cpio (binary, odc, newc, crc).
 */
#include <stdio.h>
#include <string.h>

#include "label_internal.h"
#include "number.h"

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
#define TAR_BLOCK          512
#define TAR_MAX_HEADERS    16 /* headers looked at before the first real member */
#define CPIO_NAME_MAX      4096

/* ---------------------------------------------------------------------------
 * dump
 */

static bool dump_sum32_ok(const uint8_t *p, size_t bytes, bool big_endian)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 4 <= bytes; i += 4)
		sum += label_u32(p + i, big_endian);
	return sum == DUMP_CHECKSUM;
}

static const char *endian_name(bool big_endian)
{
	return big_endian ? "big endian" : "little endian";
}

static void dump_common_strings(const uint8_t *p, struct tape_content *out)
{
	label_copy_field(out->label, sizeof(out->label), p + 676, 16);
	label_copy_field(out->filesystem, sizeof(out->filesystem), p + 696, 64);
	label_copy_field(out->device, sizeof(out->device), p + 760, 64);
	label_copy_field(out->host, sizeof(out->host), p + 824, 64);
}

static void dump_set_found(struct tape_content *out, const char *kind, bool big_endian)
{
	out->format = LABEL_FORMAT_DUMP;
	out->activity = LABEL_ACTIVITY_DUMP;
	snprintf(out->variant, sizeof(out->variant), "%s %s", kind, endian_name(big_endian));
}

/* 32-bit headers: new format (NFS/UFS2/MTB magic) and 32-bit old format. */
bool label_recognise_dump32(const uint8_t *p, size_t length, struct tape_content *out)
{
	if (length < 512)
		return false;
	for (int order = 0; order < 2; order++) {
		bool big = order == 1;
		uint32_t magic = label_u32(p + 24, big);
		uint32_t type = label_u32(p, big);
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
			out->date = (time_t)label_u32(p + 4, big);
			out->previous_date = (time_t)label_u32(p + 8, big);
			out->volume = (int)label_u32(p + 12, big);
			return true;
		}
		if (length < DUMP_TP_BSIZE)
			continue;
		if (magic == DUMP_MTB_MAGIC) {
			/* Solaris > 2 TB dumps: the header is c_tpbsize bytes long. */
			uint32_t tpbsize = label_u32(p + 896, big);

			if (tpbsize < DUMP_TP_BSIZE || tpbsize > DUMP_MTB_MAX_BSIZE ||
			    tpbsize % DUMP_TP_BSIZE != 0 || tpbsize > length)
				continue;
			header_size = tpbsize;
		}
		if (!dump_sum32_ok(p, header_size, big))
			continue;

		dump_common_strings(p, out);
		out->level = (int)label_u32(p + 692, big);
		out->volume = (int)label_u32(p + 12, big);
		/* Linux and Solaris keep dates as 32-bit values; read them unsigned so
		 * that dates past 2038 stay right. */
		out->date = (time_t)label_u32(p + 4, big);
		out->previous_date = (time_t)label_u32(p + 8, big);

		/* volume 2 and later go on where the previous volume stopped:
		 * c_tapea counts the TP_BSIZE blocks of the dump before this one */
		out->continuation = out->volume > 1;
		if (out->continuation)
			out->offset = (uint64_t)label_u32(p + 16, big) * DUMP_TP_BSIZE;

		if (magic == DUMP_UFS2_MAGIC) {
			dump_set_found(out, "ufs2", big);
			out->date = (time_t)(int64_t)label_u64(p + 896, big);
			out->previous_date = (time_t)(int64_t)label_u64(p + 904, big);
			if (out->continuation && label_u64(p + 912, big) < (UINT64_MAX >> 11))
				out->offset = label_u64(p + 912, big) * DUMP_TP_BSIZE;
			snprintf(out->program, sizeof(out->program), "BSD dump");
		} else if (magic == DUMP_MTB_MAGIC) {
			dump_set_found(out, "mtb", big);
			snprintf(out->program, sizeof(out->program), "Solaris ufsdump");
		} else {
			uint32_t flags = label_u32(p + 888, big);
			uint64_t date64 = label_u64(p + 896, big);
			uint32_t ntrec = label_u32(p + 896, big);

			dump_set_found(out, "new-fs", big);
			if (date64 != 0 && date64 == label_u32(p + 4, big)) {
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
bool label_recognise_dump16(const uint8_t *p, size_t length, struct tape_content *out)
{
	uint16_t sum = 0;
	uint16_t type;

	if (length < 512 || label_le16(p + 18) != DUMP_OLD16_MAGIC)
		return false;
	type = label_le16(p);
	if (type < 1 || type > 6)
		return false;
	for (size_t i = 0; i < 512; i += 2)
		sum = (uint16_t)(sum + label_le16(p + i));
	if (sum != DUMP_CHECKSUM16)
		return false;
	out->format = LABEL_FORMAT_DUMP;
	out->activity = LABEL_ACTIVITY_DUMP;
	snprintf(out->variant, sizeof(out->variant), "old-fs 16-bit PDP-11");
	out->date = (time_t)(((uint32_t)label_le16(p + 2) << 16) | label_le16(p + 4));
	out->previous_date = (time_t)(((uint32_t)label_le16(p + 6) << 16) | label_le16(p + 8));
	out->volume = label_le16(p + 10);
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
	for (; i < n && label_is_octal_digit(p[i]); i++) {
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
	if (!label_decimal_exact((const uint8_t *)last, strlen(last), 1000000000, &v))
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

		while (i < size && label_is_digit(body[i]) && digits < 12) {
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
				label_copy_field(dst, dst_size, body + value_start,
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

	label_copy_field(name, sizeof(name), h, 100);
	if (posix_prefix && h[345] != '\0') {
		size_t n;

		label_copy_field(prefix, sizeof(prefix), h + 345, 155);
		label_set_text(dst, dst_size, prefix);
		n = strlen(dst);
		if (n + 1 < dst_size) {
			dst[n] = '/';
			label_set_text(dst + n + 1, dst_size - n - 1, name);
		}
	} else {
		label_set_text(dst, dst_size, name);
	}
}

bool label_recognise_tar(const uint8_t *p, size_t length, struct tape_content *out)
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
			label_copy_field(out->label, sizeof(out->label), h, 100);
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
			    label_decimal_exact((const uint8_t *)value, strlen(value), INT64_MAX,
			                        &v)) {
				out->continuation = true;
				out->offset = v;
			}
		} else if (type == 'L') {
			label_copy_field(pending, sizeof(pending), body, body_avail);
			have_pending = true;
		} else if (type == 'K') {
			/* long link name: nothing for the catalog */
		} else {
			/* the first real member (M: continued from the previous volume) */
			bool posix = magic == TAR_MAGIC_USTAR;

			if (have_pending)
				label_set_text(out->member, sizeof(out->member), pending);
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
	label_set_text(out->variant, sizeof(out->variant), variant);
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
		if (!label_is_octal_digit(p[i]))
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
	label_copy_field(out->member, sizeof(out->member), p + start,
	                 avail < namesize ? avail : (size_t)namesize);
	return true;
}

static void cpio_found(struct tape_content *out, const char *variant, uint64_t mtime)
{
	out->format = LABEL_FORMAT_CPIO;
	out->activity = LABEL_ACTIVITY_ARCHIVE;
	label_set_text(out->variant, sizeof(out->variant), variant);
	out->date = (time_t)mtime;
}

bool label_recognise_cpio(const uint8_t *p, size_t length, struct tape_content *out)
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
	if (length >= 26 && (label_le16(p) == 0x71C7 || label_be16(p) == 0x71C7)) {
		bool big = label_be16(p) == 0x71C7;
		uint16_t (*rd)(const uint8_t *) = big ? label_be16 : label_le16;

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
