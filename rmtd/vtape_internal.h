/*
 * vtape_internal.h - the virtual tape backend's state, shared by its parts:
 * backend_vtape.c (open, close, write, status, the ops table, rmt-vtape's
 * helpers), vtape_sidecar.c (the .idx and .meta files beside the image),
 * vtape_motion.c (st's position bookkeeping and the tape operations that move
 * it) and vtape_read.c (reading records, fixed and variable). Not for other
 * modules: they go through backend_vtape_ops and backend_vtape.h.
 */
#ifndef RMTD_VTAPE_INTERNAL_H
#define RMTD_VTAPE_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "backend.h"
#include "tapeimage.h"
#include "tapeindex.h"
#include "tapemeta.h"

/* Linux mtio.h values glibc's header lacks. */
#ifndef MT_ST_TIMEOUTS
#define MT_ST_TIMEOUTS 0x70000000
#endif
#ifndef MT_ST_SET_CLN
#define MT_ST_SET_CLN 0x80000000
#endif
#define MT_ST_BOOLEAN_BITS 0xFFFFu /* BUFFER_WRITES .. NOWAIT_EOF */
#define GMT_BIT_EOF        0x80000000u
#define GMT_BIT_BOT        0x40000000u
#define GMT_BIT_EOT        0x20000000u
#define GMT_BIT_EOD        0x08000000u
#define GMT_BIT_WR_PROT    0x04000000u
#define GMT_BIT_ONLINE     0x01000000u
#define GMT_BIT_D_6250     0x00800000u
#define GMT_BIT_D_1600     0x00400000u
#define GMT_BIT_D_800      0x00200000u
#define GMT_BIT_DR_OPEN    0x00040000u
#define GMT_BIT_IM_REP_EN  0x00010000u

/* At a filemark the index is saved at most this often (seconds); a crash costs at most a
 * forward scan over what was written since. Close, unload and MTNOP always save it. */
#define INDEX_SAVE_INTERVAL 1

enum rw_state { RW_IDLE, RW_READING, RW_WRITING };

struct vtape {
	int dir_fd;                 /* the image's directory */
	char base[NAME_MAX + 1];    /* the image's name in dir_fd */
	char *canonical;            /* for logs */
	int fd;                     /* the image */
	bool image_writable;        /* fd is open O_RDWR */
	int access;                 /* O_ACCMODE of the client's open */
	bool rewind_on_close;       /* st: rew_at_close */
	bool rewinding_device;      /* st: autorew_dev (restored by MTLOAD) */
	bool loaded;                /* a cartridge is in the drive */
	bool write_prot;            /* the cartridge's write-protect tab */
	struct tapeimage_meta meta; /* cartridge, drive settings, counters */
	struct tapeimage_index index;
	uint64_t saved_generation; /* index generation on disk */
	bool index_on_disk;        /* an .idx file may exist */
	time_t index_saved_at;
	bool unsynced;      /* written since the last fdatasync */
	bool sync_records;  /* fdatasync every record and filemark before answering */
	bool in_use_saved;  /* .meta says a process is changing the image */
	bool unclean_kept;  /* a dead writer's filemark could not be written: keep the mark */
	bool meta_warned;   /* saving .meta failed once: say it once */
	char *meta_on_disk; /* the .meta as last read or written, formatted */
	/* st's position bookkeeping */
	uint64_t pos;          /* byte offset: after the previous object */
	uint64_t obj;          /* logical object number */
	int32_t fileno, blkno; /* drv_file, drv_block; -1 = unknown */
	enum tapeimage_eof_state eof;
	enum rw_state rw;
	/* fixed-block mode: the unread rest of a block a short read consumed */
	unsigned char *partial;
	size_t partial_capacity, partial_length, partial_used;
	/* fixed-block mode: blocks left of st's last READ window, and whether st has
	 * given up direct I/O for this open (after a read that splits a block) */
	uint32_t window_left;
	bool buffered_reads;
	/* the image read ahead (vtape_reader): valid while the index is at reader_generation */
	uint64_t reader_generation;
	struct tapeimage_reader reader;
};

static inline struct vtape *vtape_of(struct device *dev)
{
	return dev->state;
}

/* backend_vtape.c: the in-use mark in .meta taken back (a clean close or unload). */
void vtape_clear_in_use(struct vtape *vt);

/*
 * vtape_sidecar.c: the sidecar files. Saves are atomic (state_file.c); .meta is
 * durable, the .idx is derived data and is not synced.
 */
int vtape_sidecar_replace(struct vtape *vt, const char *suffix, bool durable,
                          int (*fill)(int fd, const void *arg), const void *arg);
int vtape_sidecar_open(int dir_fd, const char *base, const char *suffix);
int vtape_fill_meta(int fd, const void *arg);
void vtape_index_save(struct vtape *vt);
void vtape_index_forget(struct vtape *vt);
int vtape_meta_save(struct vtape *vt);
int vtape_mark_in_use(struct vtape *vt);
void vtape_meta_loaded(struct vtape *vt);
int vtape_image_sync(struct vtape *vt);
int vtape_read_meta(int dir_fd, const char *base, struct tapeimage_meta *meta, bool *found,
                    const char *canonical);

/* vtape_motion.c: position helpers, appends, and st's tape operations. */
void vtape_set_position(struct vtape *vt, uint64_t object);
void vtape_go_bot(struct vtape *vt);
void vtape_go_eod(struct vtape *vt);
void vtape_drop_partial(struct vtape *vt);
int32_t vtape_counter_add(int32_t value, int64_t delta);
bool vtape_cannot_write(const struct vtape *vt);
struct tapeimage_reader *vtape_reader(struct vtape *vt);
int vtape_next_object(struct vtape *vt, struct tapeimage_object *o);
uint64_t vtape_write_offset(const struct vtape *vt);
int vtape_write_error(int error);
int vtape_prepare_append(struct vtape *vt);
void vtape_undo_append(struct vtape *vt, uint64_t object, uint64_t offset);
int vtape_append_marks(struct vtape *vt, int64_t count);
int vtape_op_weof(struct vtape *vt, int64_t count, bool immediate);
int32_t vtape_st_counter(int64_t value);
int vtape_op_seek(struct vtape *vt, int64_t block);
int vtape_tape_op(struct device *dev, int op, int count);

/* vtape_read.c: one read(2) as st answers it. */
ssize_t vtape_read(struct device *dev, void *buf, size_t count);

#endif
