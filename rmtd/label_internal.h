/*
 * label_internal.h - what label.c and its recognisers share: the field
 * readers (label_fields.c) and one recogniser per format, each looking at a
 * file's first record and filling *out when it is that format
 * (label_archive.c: dump, tar, cpio; label_backup.c: the rest).
 */
#ifndef RMTD_LABEL_INTERNAL_H
#define RMTD_LABEL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "label.h"

/* An Amanda header record: the largest first record worth looking into. */
#define AMANDA_HEADER_SIZE 32768

/* Readers: the caller has checked that the bytes are there. */
uint16_t label_le16(const uint8_t *p);
uint16_t label_be16(const uint8_t *p);
uint32_t label_le32(const uint8_t *p);
uint32_t label_be32(const uint8_t *p);
uint32_t label_u32(const uint8_t *p, bool big_endian);
uint64_t label_u64(const uint8_t *p, bool big_endian);
void label_copy_field(char *dst, size_t dst_size, const uint8_t *src, size_t field_length);
void label_set_text(char *dst, size_t dst_size, const char *src);
void label_copy_trimmed(char *dst, size_t dst_size, const uint8_t *src, size_t field_length);
bool label_is_digit(uint8_t c);
bool label_is_octal_digit(uint8_t c);
bool label_decimal_exact(const uint8_t *p, size_t n, uint64_t limit, uint64_t *out);
int64_t label_days_from_civil(int64_t year, unsigned month, unsigned day);
time_t label_make_time(int64_t year, unsigned month, unsigned day, unsigned hour, unsigned minute,
                       unsigned second);

/* Recognisers: true when p[0..length) is that format; out filled then. */
bool label_recognise_dump32(const uint8_t *p, size_t length, struct tape_content *out);
bool label_recognise_dump16(const uint8_t *p, size_t length, struct tape_content *out);
bool label_recognise_tar(const uint8_t *p, size_t length, struct tape_content *out);
bool label_recognise_cpio(const uint8_t *p, size_t length, struct tape_content *out);
bool label_recognise_amanda(const uint8_t *p, size_t length, struct tape_content *out);
bool label_recognise_bacula(const uint8_t *p, size_t length, struct tape_content *out);
bool label_recognise_ansi(const uint8_t *p, size_t length, struct tape_content *out);
bool label_recognise_afbackup(const uint8_t *p, size_t length, struct tape_content *out);
bool label_recognise_aix(const uint8_t *p, size_t length, struct tape_content *out);
bool label_recognise_compressed(const uint8_t *p, size_t length, struct tape_content *out);

#endif
