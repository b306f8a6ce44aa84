/*
 * tapeimage_io.h - what the image, index and .meta modules share: little
 * endian words and whole reads and writes (functions return bytes or -errno).
 * Internal to tapeimage.c, tapeindex.c and tapemeta.c.
 */
#ifndef RMTD_TAPEIMAGE_IO_H
#define RMTD_TAPEIMAGE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

static inline uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const unsigned char *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static inline void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* pread until length bytes or end of file. Returns bytes read or -errno. */
ssize_t tapeimage_pread_full(int fd, void *buf, size_t length, uint64_t offset);
/* read until length bytes or end of file. Returns bytes read or -errno. */
ssize_t tapeimage_read_full(int fd, void *buf, size_t length);
/* Write every byte. Returns 0 or -errno. */
int tapeimage_write_full(int fd, const void *buf, size_t length);

#endif
