/*
 * test_vtape.c - the virtual tape backend against what the Linux st driver does
 * (doc/st-behaviour.md, and a probe of /dev/nst0 on the realtape rig: mtprobe below).
 *
 * Every check compares the return value (-errno) and, through MTIOCGET, mt_fileno,
 * mt_blkno, mt_gstat, mt_dsreg, mt_type and mt_resid with the driver's answers. The image
 * itself is checked with tapeimage's scanner and, independently, with simh's mtdump.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mtio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "backend_vtape.h"
#include "tapeimage.h"
#include "tapeindex.h"
#include "tapemeta.h"
#include "read_calls.h"

#define ONLINE  0x01000000ul
#define IMREP   0x00010000ul
#define BOT     (0x40000000ul | ONLINE | IMREP)
#define EOFM    (0x80000000ul | ONLINE | IMREP)
#define MID     (ONLINE | IMREP)
#define EOD     (0x08000000ul | ONLINE | IMREP)
#define EOT     (0x20000000ul | ONLINE | IMREP)
#define WRPROT  0x04000000ul
#define DR_OPEN 0x00040000ul

static char dir[64]; /* "/tmp/vtape-test-XXXXXX" */
static const struct backend_ops *ops = &backend_vtape_ops;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void setup(void)
{
	strcpy(dir, "/tmp/vtape-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(vtape, .init = setup, .fini = teardown, .timeout = 120);

static const char *path_of(const char *name)
{
	static char paths[4][PATH_MAX];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

/* A blank tape made the way rmt-vtape create makes it. */
static void make_tape(const char *name, uint64_t capacity, uint64_t early_warning,
                      bool write_protect)
{
	struct tapeimage_meta meta;

	tapeimage_meta_init(&meta, capacity);
	meta.early_warning = early_warning;
	meta.write_protect = write_protect;
	cr_assert_eq(vtape_create(AT_FDCWD, path_of(name), &meta), 0);
	tapeimage_meta_free(&meta);
}

static int open_ex(struct device *dev, const char *name, int flags, bool rewind,
                   uint64_t create_capacity)
{
	struct open_target t;

	memset(&t, 0, sizeof(t));
	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	dev->ops = ops;
	t.directory_fd = AT_FDCWD;
	t.name = path_of(name);
	t.canonical = t.name;
	t.flags = flags;
	t.rewind_on_close = rewind;
	t.max_record = 1 << 24;
	t.create_capacity = create_capacity;
	return ops->open(dev, &t);
}

static void open_ok(struct device *dev, const char *name, int flags)
{
	int r = open_ex(dev, name, flags, false, 0);

	cr_assert_eq(r, 0, "open %s: %s", name, strerror(-r));
}

static void close_ok(struct device *dev)
{
	cr_assert_eq(ops->close(dev), 0);
}

static ssize_t put(struct device *dev, size_t n, int fill)
{
	char *buf = malloc(n ? n : 1);
	ssize_t r;

	memset(buf, fill, n);
	r = ops->write(dev, buf, n);
	free(buf);
	return r;
}

/* Read with a buffer of n; check that every byte returned is `fill`. */
static ssize_t get(struct device *dev, size_t n, int fill)
{
	char *buf = malloc(n ? n : 1);
	ssize_t r = ops->read(dev, buf, n);

	for (ssize_t i = 0; i < r; i++)
		cr_assert_eq(buf[i], (char)fill, "byte %zd is %c, not %c", i, buf[i], fill);
	free(buf);
	return r;
}

static int op(struct device *dev, int o, int count)
{
	return ops->tape_op(dev, o, count);
}

#define STATUS(dev, file, blk, gstat)        status_at(__LINE__, dev, file, blk, gstat, -1)
#define STATUS_BS(dev, file, blk, gstat, bs) status_at(__LINE__, dev, file, blk, gstat, bs)

static void status_at(int line, struct device *dev, int file, int blk, unsigned long gstat,
                      long dsreg)
{
	struct mtget s;

	cr_assert_eq(ops->status(dev, &s), 0);
	cr_assert_eq(s.mt_type, MT_ISSCSI2, "line %d: mt_type", line);
	cr_assert_eq(s.mt_resid, 0, "line %d: mt_resid", line);
	cr_assert_eq(s.mt_fileno, file, "line %d: mt_fileno %d, expected %d", line,
	             (int)s.mt_fileno, file);
	cr_assert_eq(s.mt_blkno, blk, "line %d: mt_blkno %d, expected %d", line, (int)s.mt_blkno,
	             blk);
	cr_assert_eq((unsigned long)s.mt_gstat, gstat,
	             "line %d: mt_gstat 0x%08lx, expected 0x%08lx", line, (unsigned long)s.mt_gstat,
	             gstat);
	if (dsreg >= 0)
		cr_assert_eq(s.mt_dsreg, dsreg, "line %d: mt_dsreg 0x%lx, expected 0x%lx", line,
		             s.mt_dsreg, dsreg);
}

static int64_t where(struct device *dev)
{
	int64_t block = -1;

	cr_assert_eq(ops->position(dev, &block), 0);
	return block;
}

/* Scan the image file independently of the backend. */
static void scan_image(const char *name, struct tapeimage_index *index)
{
	int fd = open(path_of(name), O_RDONLY);
	struct stat st;

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	tapeimage_index_init(index);
	cr_assert_eq(tapeimage_scan(fd, (uint64_t)st.st_size, index), 0);
	cr_assert_eq(index->end, TAPEIMAGE_END_CLEAN);
	cr_assert_eq(index->data_size, (uint64_t)st.st_size);
	close(fd);
}

static off_t image_size(const char *name)
{
	struct stat st;

	cr_assert_eq(stat(path_of(name), &st), 0);
	return st.st_size;
}

static void read_meta_file(const char *name, struct tapeimage_meta *meta)
{
	char file[PATH_MAX];
	int fd;

	snprintf(file, sizeof(file), "%s.meta", path_of(name));
	fd = open(file, O_RDONLY);
	cr_assert_geq(fd, 0);
	tapeimage_meta_init(meta, 0);
	cr_assert_eq(tapeimage_meta_read(fd, meta), 0);
	close(fd);
}

/* ------------------------------------------------------------------ the mtprobe transcript */

enum kind { K_STATUS, K_OP, K_READ, K_WRITE, K_TELL, K_CLOSE, K_OPEN };

struct step {
	enum kind kind;
	int op;  /* K_OP: MTIOCTOP op */
	int arg; /* count, or read/write size */
	char fill;
	long ret; /* return value, or -errno */
	bool check;
	int file, blk;
	long bs;
	unsigned long gstat;
};

#define ST(f, b, bs, g) true, f, b, bs, g
#define NOST            false, 0, 0, 0, 0

/* "mtprobe": raw calls on /dev/nst0 of the realtape rig (the real st driver) and its answers. */
static const struct step mtprobe[] = {
    {K_STATUS, 0, 0, 0, 0, ST(0, 0, 0, BOT)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 0, BOT)},
    {K_OP, MTSETBLK, 0, 0, 0, ST(0, 0, 0, BOT)},
    {K_READ, 0, 65536, 0, -EIO, ST(0, -1, 0, MID)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 0, BOT)},
    {K_WRITE, 0, 100, 'A', 100, ST(0, 1, 0, MID)},
    {K_WRITE, 0, 200, 'B', 200, ST(0, 2, 0, MID)},
    {K_WRITE, 0, 300, 'C', 300, ST(0, 3, 0, MID)},
    {K_OP, MTWEOF, 1, 0, 0, ST(1, 0, 0, EOFM)},
    {K_WRITE, 0, 1000, 'D', 1000, ST(1, 1, 0, MID)},
    {K_WRITE, 0, 10, 'E', 10, ST(1, 2, 0, MID)},
    {K_OP, MTWEOF, 1, 0, 0, ST(2, 0, 0, EOFM)},
    {K_TELL, 0, 0, 0, 7, ST(2, 0, 0, EOFM)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 0, BOT)},
    {K_READ, 0, 65536, 'A', 100, ST(0, 1, 0, MID)},
    {K_READ, 0, 65536, 'B', 200, ST(0, 2, 0, MID)},
    {K_READ, 0, 65536, 'C', 300, ST(0, 3, 0, MID)},
    {K_READ, 0, 65536, 0, 0, ST(1, 0, 0, EOFM)},
    {K_READ, 0, 65536, 'D', 1000, ST(1, 1, 0, MID)},
    {K_READ, 0, 65536, 'E', 10, ST(1, 2, 0, MID)},
    {K_READ, 0, 65536, 0, 0, ST(2, 0, 0, EOFM)},
    {K_READ, 0, 65536, 0, 0, ST(2, -1, 0, EOD)},
    {K_READ, 0, 65536, 0, -EIO, ST(2, -1, 0, EOD)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 0, BOT)},
    {K_OP, MTFSF, 1, 0, 0, ST(1, 0, 0, EOFM)},
    {K_READ, 0, 65536, 'D', 1000, ST(1, 1, 0, MID)},
    {K_OP, MTBSR, 1, 0, 0, ST(1, 0, 0, EOFM)},
    {K_READ, 0, 65536, 'D', 1000, ST(1, 1, 0, MID)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 0, BOT)},
    {K_OP, MTFSF, 2, 0, 0, ST(2, 0, 0, EOFM)},
    {K_OP, MTBSF, 1, 0, 0, ST(1, -1, 0, MID)},
    {K_OP, MTBSR, 1, 0, 0, ST(1, -1, 0, MID)},
    {K_READ, 0, 65536, 'E', 10, ST(1, -1, 0, MID)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 0, BOT)},
    {K_OP, MTFSF, 1, 0, 0, ST(1, 0, 0, EOFM)},
    {K_OP, MTBSR, 1, 0, -EIO, ST(0, -1, 0, MID)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 0, BOT)},
    {K_READ, 0, 50, 0, -ENOMEM, ST(0, 1, 0, MID)},
    {K_READ, 0, 65536, 'B', 200, ST(0, 2, 0, MID)},
    {K_OP, MTEOM, 1, 0, 0, ST(2, -1, 0, EOD)},
    {K_OP, MTSETBLK, 512, 0, 0, ST(2, -1, 512, EOD)},
    {K_WRITE, 0, 512, 'F', 512, ST(2, -1, 512, MID)},
    {K_WRITE, 0, 512, 'G', 512, ST(2, -1, 512, MID)},
    {K_WRITE, 0, 100, 'X', -EINVAL, ST(2, -1, 512, MID)},
    {K_OP, MTWEOF, 1, 0, 0, ST(3, 0, 512, EOFM)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 512, BOT)},
    {K_OP, MTFSF, 2, 0, 0, ST(2, 0, 512, EOFM)},
    /* nostat: no MTIOCGET between these reads */
    {K_READ, 0, 512, 'F', 512, NOST},
    {K_READ, 0, 100, 'G', 100, NOST},
    {K_READ, 0, 412, 'G', 412, NOST},
    {K_READ, 0, 4096, 0, 0, NOST},
    {K_READ, 0, 4096, 0, 0, NOST},
    {K_READ, 0, 4096, 0, -EIO, NOST},
    {K_STATUS, 0, 0, 0, 0, ST(3, -1, 512, EOD)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 512, BOT)},
    {K_OP, MTFSF, 2, 0, 0, ST(2, 0, 512, EOFM)},
    /* MTIOCGET after a short fixed-mode read drops the rest of the block */
    {K_READ, 0, 100, 'F', 100, ST(2, 1, 512, MID)},
    {K_READ, 0, 412, 'G', 412, ST(2, 2, 512, MID)},
    {K_READ, 0, 4096, 0, 0, ST(3, 0, 512, EOFM)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 512, BOT)},
    /* a 100-byte record in 512-byte fixed mode: EIO, nothing moves */
    {K_READ, 0, 512, 0, -EIO, ST(0, 0, 512, BOT)},
    {K_OP, MTSETBLK, 0, 0, 0, ST(0, 0, 0, BOT)},
    {K_OP, MTEOM, 1, 0, 0, ST(3, -1, 0, EOD)},
    {K_WRITE, 0, 5, 'H', 5, ST(3, -1, 0, MID)},
    {K_CLOSE, 0, 0, 0, 0, NOST},
    {K_OPEN, 0, 0, 0, 0, ST(4, 0, 0, EOFM)},
    {K_OP, MTREW, 1, 0, 0, ST(0, 0, 0, BOT)},
    {K_OP, MTFSF, 3, 0, 0, ST(3, 0, 0, EOFM)},
    {K_READ, 0, 65536, 'H', 5, ST(3, 1, 0, MID)},
    {K_READ, 0, 65536, 0, 0, ST(4, 0, 0, EOFM)},
    {K_READ, 0, 65536, 0, 0, ST(4, -1, 0, EOD)},
    {K_TELL, 0, 0, 0, 12, ST(4, -1, 0, EOD)},
    {K_OP, MTSEEK, 0, 0, 0, ST(0, 0, 0, BOT)},
    {K_OP, MTERASE, 1, 0, 0, ST(0, 0, 0, BOT)},
};

Test(vtape, mtprobe_transcript_of_the_real_st_driver)
{
	struct device dev;

	make_tape("probe.tap", 0, 0, false);
	open_ok(&dev, "probe.tap", O_RDWR);
	for (size_t i = 0; i < sizeof(mtprobe) / sizeof(mtprobe[0]); i++) {
		const struct step *s = &mtprobe[i];
		long r = 0;

		switch (s->kind) {
		case K_STATUS:
			break;
		case K_OP:
			r = op(&dev, s->op, s->arg);
			break;
		case K_READ:
			r = (long)get(&dev, (size_t)s->arg, s->fill);
			break;
		case K_WRITE:
			r = (long)put(&dev, (size_t)s->arg, s->fill);
			break;
		case K_TELL:
			r = (long)where(&dev);
			break;
		case K_CLOSE:
			r = ops->close(&dev);
			break;
		case K_OPEN:
			r = open_ex(&dev, "probe.tap", O_RDWR, false, 0);
			break;
		}
		cr_assert_eq(r, s->ret, "step %zu: returned %ld, expected %ld", i + 1, r, s->ret);
		if (s->check)
			status_at((int)(i + 1) * 1000, &dev, s->file, s->blk, s->gstat, s->bs);
	}
	/* The erase at BOT left a blank tape. */
	cr_assert_eq(image_size("probe.tap"), 0);
	close_ok(&dev);
}

/* ------------------------------------------------------------------ reading */

/* Tape: A(100) B(200) | C(300) | (EOD after the mark) */
static void two_files(const char *name, struct device *dev)
{
	make_tape(name, 0, 0, false);
	open_ok(dev, name, O_RDWR);
	cr_assert_eq(put(dev, 100, 'A'), 100);
	cr_assert_eq(put(dev, 200, 'B'), 200);
	cr_assert_eq(op(dev, MTWEOF, 1), 0);
	cr_assert_eq(put(dev, 300, 'C'), 300);
	cr_assert_eq(op(dev, MTWEOF, 1), 0);
	cr_assert_eq(op(dev, MTREW, 1), 0);
}

Test(vtape, short_buffer_consumes_the_record_with_enomem)
{
	struct device dev;

	two_files("t.tap", &dev);
	cr_assert_eq(get(&dev, 99, 0), -ENOMEM);
	STATUS(&dev, 0, 1, MID);
	cr_assert_eq(get(&dev, 199, 0), -ENOMEM);
	STATUS(&dev, 0, 2, MID);
	cr_assert_eq(get(&dev, 65536, 0), 0); /* the filemark */
	STATUS(&dev, 1, 0, EOFM);
	cr_assert_eq(get(&dev, 300, 'C'), 300); /* exactly the record size is enough */
	close_ok(&dev);
}

Test(vtape, eod_right_after_filemark_reads_zero_then_eio)
{
	struct device dev;

	two_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(get(&dev, 65536, 'C'), 300);
	cr_assert_eq(get(&dev, 65536, 0), 0);
	STATUS(&dev, 2, 0, EOFM);
	cr_assert_eq(get(&dev, 65536, 0), 0);
	STATUS(&dev, 2, -1, EOD);
	cr_assert_eq(get(&dev, 65536, 0), -EIO);
	cr_assert_eq(get(&dev, 65536, 0), -EIO);
	STATUS(&dev, 2, -1, EOD);
	close_ok(&dev);
}

Test(vtape, eod_after_mteom_or_without_filemark_is_eio_at_once)
{
	struct device dev;

	two_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, 2, -1, EOD);
	cr_assert_eq(get(&dev, 65536, 0), -EIO);
	STATUS(&dev, 2, -1, EOD);
	/* Records without a closing mark: EIO right after the last one. */
	cr_assert_eq(put(&dev, 10, 'Z'), 10);
	cr_assert_eq(get(&dev, 65536, 0), -EIO);
	STATUS(&dev, 2, -1, MID);
	close_ok(&dev);
	/* A blank tape. */
	make_tape("blank.tap", 0, 0, false);
	open_ok(&dev, "blank.tap", O_RDONLY);
	cr_assert_eq(get(&dev, 10240, 0), -EIO);
	STATUS(&dev, 0, -1, MID);
	cr_assert_eq(get(&dev, 10240, 0), -EIO);
	close_ok(&dev);
}

Test(vtape, read_zero_bytes_and_oversized_count)
{
	struct device dev;

	two_files("t.tap", &dev);
	cr_assert_eq(get(&dev, 0, 0), 0);
	STATUS(&dev, 0, 0, BOT);
	{
		char c;

		cr_assert_eq(ops->read(&dev, &c, (size_t)TAPEIMAGE_MAX_RECORD + 1), -EINVAL);
	}
	STATUS(&dev, 0, 0, BOT);
	close_ok(&dev);
}

Test(vtape, read_on_write_only_open_is_ebadf)
{
	struct device dev;

	two_files("t.tap", &dev);
	close_ok(&dev);
	open_ok(&dev, "t.tap", O_WRONLY);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(get(&dev, 100, 'A'), -EBADF);
	close_ok(&dev);
}

/* ------------------------------------------------------------------ fixed-block mode */

Test(vtape, fixed_mode_reads_any_size_from_whole_blocks)
{
	struct device dev;
	char buf[2048];

	make_tape("f.tap", 0, 0, false);
	open_ok(&dev, "f.tap", O_RDWR);
	cr_assert_eq(op(&dev, MTSETBLK, 512), 0);
	STATUS_BS(&dev, 0, 0, BOT, 512);
	memset(buf, 'a', 512);
	memset(buf + 512, 'b', 512);
	memset(buf + 1024, 'c', 512);
	/* One write of three blocks: three 512-byte records. */
	cr_assert_eq(ops->write(&dev, buf, 1536), 1536);
	STATUS(&dev, 0, 3, MID);
	cr_assert_eq(put(&dev, 513, 'x'), -EINVAL);
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	/* 700 bytes: block a and 188 bytes of b; the rest of b comes next. */
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(ops->read(&dev, buf, 700), 700);
	cr_assert_eq(buf[511], 'a');
	cr_assert_eq(buf[512], 'b');
	cr_assert_eq(buf[699], 'b');
	cr_assert_eq(ops->read(&dev, buf, 324), 324);
	cr_assert_eq(buf[0], 'b');
	cr_assert_eq(buf[323], 'b');
	/* A read across the filemark returns the blocks before it; the next one returns 0. */
	cr_assert_eq(ops->read(&dev, buf, 2048), 512);
	cr_assert_eq(buf[0], 'c');
	STATUS(&dev, 0, 3, MID);
	cr_assert_eq(ops->read(&dev, buf, 2048), 0);
	STATUS(&dev, 1, 0, EOFM);
	close_ok(&dev);
	{
		struct tapeimage_index index;

		scan_image("f.tap", &index);
		cr_assert_eq(index.n_objects, 4);
		cr_assert_eq(index.n_runs, 1);
		cr_assert_eq(index.runs[0].word, 512);
		cr_assert_eq(index.runs[0].count, 3);
		tapeimage_index_free(&index);
	}
}

/*
 * tar -b 20 on a drive set to 512-byte blocks: each 10 KiB read takes 20 blocks. They
 * come from the image's read-ahead (tapeimage_reader), not two system calls a block.
 */
Test(vtape, fixed_mode_small_blocks_are_read_ahead)
{
	struct device dev;
	char buf[10240];
	long before;

	make_tape("r.tap", 0, 0, false);
	open_ok(&dev, "r.tap", O_RDWR);
	cr_assert_eq(op(&dev, MTSETBLK, 512), 0);
	for (int i = 0; i < 10; i++) {
		memset(buf, 'a' + i, sizeof(buf));
		cr_assert_eq(ops->write(&dev, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	}
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	before = read_calls();
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(ops->read(&dev, buf, sizeof(buf)), (ssize_t)sizeof(buf));
		cr_assert_eq(buf[0], 'a' + i);
		cr_assert_eq(buf[sizeof(buf) - 1], 'a' + i);
	}
	/* 200 blocks, 104 KiB of image: two read-aheads and a few besides; not 400 calls. */
	cr_assert_leq(read_calls() - before, 10, "%ld read calls", read_calls() - before);
	STATUS(&dev, 0, 200, MID);
	close_ok(&dev);
}

/* What was read ahead is never served once the image changed under it. */
Test(vtape, a_record_written_over_read_ahead_reads_back_new)
{
	struct device dev;

	make_tape("o.tap", 0, 0, false);
	open_ok(&dev, "o.tap", O_RDWR);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(put(&dev, 100, 'a' + i), 100);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	/* Reading the first record reads the others ahead. */
	cr_assert_eq(get(&dev, 100, 'a'), 100);
	cr_assert_eq(put(&dev, 100, 'x'), 100); /* replaces b, and c and d are gone */
	cr_assert_eq(put(&dev, 100, 'y'), 100);
	cr_assert_eq(op(&dev, MTBSR, 2), 0);
	cr_assert_eq(get(&dev, 100, 'x'), 100);
	cr_assert_eq(get(&dev, 100, 'y'), 100);
	cr_assert_eq(get(&dev, 100, 0), -EIO); /* end of data: st's BLANK CHECK */
	close_ok(&dev);
}

Test(vtape, fixed_mode_wrong_size_record_is_eio_and_nothing_moves)
{
	struct device dev;

	make_tape("f.tap", 0, 0, false);
	open_ok(&dev, "f.tap", O_RDWR);
	cr_assert_eq(put(&dev, 1024, 'v'), 1024); /* variable: one 1024-byte record */
	cr_assert_eq(op(&dev, MTSETBLK, 512), 0);
	cr_assert_eq(put(&dev, 512, 'f'), 512);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(get(&dev, 512, 0), -EIO);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(get(&dev, 4096, 0), -EIO);
	cr_assert_eq(where(&dev), 0);
	cr_assert_eq(op(&dev, MTFSR, 1), 0);
	/* After the good block a wrong one ends the read; then it is EIO. */
	close_ok(&dev);
}

/*
 * st asks the drive for a window of blocks (the blocks wanted with direct I/O, 32 KiB of
 * read-ahead once a read split a block); a window that runs into end of data gets
 * BLANK CHECK, and st drops the blocks: EIO, at end of data, block unknown (0 right
 * after a filemark). Seen through the realtape rig (tests/realtape/scripts/29-*).
 */
Test(vtape, fixed_mode_read_window_into_end_of_data)
{
	struct device dev;
	char buf[2048];

	make_tape("e.tap", 0, 0, false);
	open_ok(&dev, "e.tap", O_RDWR);
	cr_assert_eq(op(&dev, MTSETBLK, 512), 0);
	cr_assert_eq(put(&dev, 512, 'a'), 512);
	cr_assert_eq(put(&dev, 512, 'b'), 512);
	cr_assert_eq(op(&dev, MTBSR, 1), 0); /* no filemark: end of data after b */
	cr_assert_eq(get(&dev, 2048, 'b'), -EIO);
	STATUS(&dev, 0, -1, MID);
	cr_assert_eq(where(&dev), 2);
	cr_assert_eq(get(&dev, 512, 0), -EIO);
	/* a window that ends before end of data reads whole blocks */
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(get(&dev, 512, 'a'), 512);
	cr_assert_eq(get(&dev, 512, 'b'), 512);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(ops->read(&dev, buf, 1024), 1024);
	cr_assert_eq(get(&dev, 512, 0), -EIO);
	/* a read that splits a block ends direct I/O: 32 KiB of read-ahead from then on */
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(get(&dev, 100, 'a'), -EIO);
	STATUS(&dev, 0, -1, MID);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(get(&dev, 512, 'a'), -EIO);
	close_ok(&dev);

	/* right after a filemark the same read returns 0, then EIO */
	open_ok(&dev, "e.tap", O_RDWR);
	cr_assert_eq(op(&dev, MTSETBLK, 512), 0);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(put(&dev, 512, 'a'), 512);
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	cr_assert_eq(put(&dev, 512, 'b'), 512);
	cr_assert_eq(put(&dev, 512, 'c'), 512);
	cr_assert_eq(op(&dev, MTBSR, 2), 0);
	cr_assert_eq(op(&dev, MTBSF, 1), 0);
	cr_assert_eq(get(&dev, 512, 0), 0); /* the filemark */
	cr_assert_eq(get(&dev, 2048, 0), 0);
	STATUS(&dev, 1, -1, EOD);
	cr_assert_eq(where(&dev), 4);
	cr_assert_eq(get(&dev, 2048, 0), -EIO);
	close_ok(&dev);
}

Test(vtape, block_size_density_compression_persist_across_open)
{
	struct device dev;
	struct tapeimage_meta meta;

	make_tape("p.tap", 0, 0, false);
	open_ok(&dev, "p.tap", O_RDWR);
	cr_assert_eq(op(&dev, MTSETBLK, 1024), 0);
	cr_assert_eq(op(&dev, MTSETDENSITY, 2), 0);
	cr_assert_eq(op(&dev, MTCOMPRESSION, 1), 0);
	STATUS_BS(&dev, 0, 0, BOT | 0x00400000ul, 0x02000400);
	close_ok(&dev);
	read_meta_file("p.tap", &meta);
	cr_assert_eq(meta.block_size, 1024);
	cr_assert_eq(meta.density, 2);
	cr_assert(meta.compression);
	tapeimage_meta_free(&meta);
	open_ok(&dev, "p.tap", O_RDONLY);
	STATUS_BS(&dev, 0, 0, BOT | 0x00400000ul, 0x02000400);
	cr_assert_eq(op(&dev, MTSETDENSITY, 0x1FF), 0); /* only 8 bits are kept */
	STATUS_BS(&dev, 0, 0, BOT, 0xFF000400);
	cr_assert_eq(op(&dev, MTSETBLK, 0), 0);
	STATUS_BS(&dev, 0, 0, BOT, 0xFF000000);
	close_ok(&dev);
}

/* ------------------------------------------------------------------ writing */

Test(vtape, one_write_is_one_record)
{
	struct device dev;
	struct tapeimage_index index;

	make_tape("w.tap", 0, 0, false);
	open_ok(&dev, "w.tap", O_RDWR);
	cr_assert_eq(put(&dev, 3001, 'q'), 3001);
	cr_assert_eq(put(&dev, 0, 'q'), 0); /* write(0): nothing */
	cr_assert_eq(put(&dev, 65536, 'r'), 65536);
	{
		char c = 0;

		cr_assert_eq(ops->write(&dev, &c, (size_t)TAPEIMAGE_MAX_RECORD + 1), -EINVAL);
	}
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	close_ok(&dev);
	scan_image("w.tap", &index);
	cr_assert_eq(index.n_objects, 3);
	cr_assert_eq(index.runs[0].word, 3001);
	cr_assert_eq(index.runs[1].word, 65536);
	cr_assert_eq(image_size("w.tap"), 8 + 3002 + 8 + 65536 + 4);
	tapeimage_index_free(&index);
}

Test(vtape, write_in_the_middle_truncates_everything_after)
{
	struct device dev;
	struct tapeimage_index index;

	two_files("t.tap", &dev);
	cr_assert_eq(put(&dev, 50, 'Y'), 50); /* at BOT: the whole tape is replaced */
	STATUS(&dev, 0, 1, MID);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, 0, -1, EOD);
	close_ok(&dev); /* MTEOM cleared the write state: no mark */
	scan_image("t.tap", &index);
	cr_assert_eq(index.n_objects, 1);
	cr_assert_eq(index.n_marks, 0);
	tapeimage_index_free(&index);

	two_files("u.tap", &dev);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(put(&dev, 20, 'X'), 20);
	STATUS(&dev, 1, 1, MID);
	close_ok(&dev);
	scan_image("u.tap", &index);
	/* A B | X | : C and the second file's mark are gone. */
	cr_assert_eq(index.n_objects, 5);
	cr_assert_eq(index.n_marks, 2);
	cr_assert_eq(index.runs[2].word, 20);
	tapeimage_index_free(&index);
	open_ok(&dev, "u.tap", O_RDONLY);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(get(&dev, 100, 'X'), 20);
	cr_assert_eq(get(&dev, 100, 0), 0);
	cr_assert_eq(get(&dev, 100, 0), 0);
	cr_assert_eq(get(&dev, 100, 0), -EIO);
	close_ok(&dev);
}

Test(vtape, filemarks_mid_tape_truncate_too)
{
	struct device dev;
	struct tapeimage_index index;

	two_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTFSR, 1), 0);
	cr_assert_eq(op(&dev, MTWEOF, 2), 0);
	STATUS(&dev, 2, 0, EOFM);
	close_ok(&dev);
	scan_image("t.tap", &index);
	cr_assert_eq(index.n_objects, 3); /* A | | */
	cr_assert_eq(index.n_marks, 2);
	tapeimage_index_free(&index);
}

/* ------------------------------------------------------------------ close and the automatic
 * filemark */

static size_t marks_in(const char *name)
{
	struct tapeimage_index index;
	size_t n;

	scan_image(name, &index);
	n = index.n_marks;
	tapeimage_index_free(&index);
	return n;
}

Test(vtape, close_after_write_writes_one_filemark)
{
	struct device dev;

	make_tape("c.tap", 0, 0, false);
	open_ok(&dev, "c.tap", O_RDWR);
	cr_assert_eq(put(&dev, 10, 'a'), 10);
	close_ok(&dev);
	cr_assert_eq(marks_in("c.tap"), 1);
	open_ok(&dev, "c.tap", O_RDWR);
	STATUS(&dev, 1, 0, EOFM);
	close_ok(&dev); /* nothing written: no mark */
	cr_assert_eq(marks_in("c.tap"), 1);
}

Test(vtape, two_fm_option_writes_two_and_stays_between)
{
	struct device dev;

	make_tape("c.tap", 0, 0, false);
	open_ok(&dev, "c.tap", O_RDWR);
	cr_assert_eq(op(&dev, MTSETDRVBUFFER, MT_ST_SETBOOLEANS | MT_ST_TWO_FM), 0);
	cr_assert_eq(put(&dev, 10, 'a'), 10);
	close_ok(&dev);
	cr_assert_eq(marks_in("c.tap"), 2);
	open_ok(&dev, "c.tap", O_RDWR);
	STATUS(&dev, 1, 0, EOFM);
	cr_assert_eq(where(&dev), 2); /* between the marks */
	/* The next file overwrites the second mark; close writes two again. */
	cr_assert_eq(put(&dev, 10, 'b'), 10);
	close_ok(&dev);
	cr_assert_eq(marks_in("c.tap"), 3); /* a | b | | */
	open_ok(&dev, "c.tap", O_RDWR);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(get(&dev, 100, 'a'), 10);
	cr_assert_eq(get(&dev, 100, 0), 0);
	cr_assert_eq(get(&dev, 100, 'b'), 10);
	cr_assert_eq(op(&dev, MTSETDRVBUFFER, MT_ST_CLEARBOOLEANS | MT_ST_TWO_FM), 0);
	close_ok(&dev);
}

/* What st does with "last operation was a write" for each operation. */
static void after_write(const char *name, int o, int count, int expect, size_t marks_expected)
{
	struct device dev;

	make_tape(name, 0, 0, false);
	open_ok(&dev, name, O_RDWR);
	cr_assert_eq(put(&dev, 10, 'a'), 10);
	cr_assert_eq(op(&dev, o, count), expect, "op %d", o);
	close_ok(&dev);
	cr_assert_eq(marks_in(name), marks_expected, "op %d: %zu marks", o, marks_in(name));
}

Test(vtape, operations_that_write_the_filemark_first)
{
	after_write("rew.tap", MTREW, 1, 0, 1);
	after_write("offl.tap", MTOFFL, 1, 0, 1);
	after_write("seek.tap", MTSEEK, 0, 0, 1);
	after_write("bsf.tap", MTBSF, 1, -EIO, 1);   /* BSF 2 from past the new mark: BOT */
	after_write("bsfm.tap", MTBSFM, 1, -EIO, 1); /* the same, and no FSF */
}

Test(vtape, operations_that_keep_the_write_state)
{
	/* close still writes the mark */
	after_write("nop.tap", MTNOP, 1, 0, 1);
	after_write("setblk.tap", MTSETBLK, 0, 0, 1);
	after_write("dens.tap", MTSETDENSITY, 0, 0, 1);
	after_write("wsm.tap", MTWSM, 1, -EIO, 1);
	after_write("drvbuf.tap", MTSETDRVBUFFER, MT_ST_SETBOOLEANS | MT_ST_FAST_MTEOM, 0, 1);
	after_write("setpart.tap", MTSETPART, 0, -EINVAL, 1);
}

Test(vtape, operations_that_clear_the_write_state)
{
	/* close writes nothing */
	after_write("fsr.tap", MTFSR, 1, -EIO, 0);
	after_write("eom.tap", MTEOM, 1, 0, 0);
	after_write("tell.tap", MTTELL, 1, -ENOSYS, 0);
	after_write("unload.tap", MTUNLOAD, 1, 0, 0);
	after_write("lock.tap", MTLOCK, 1, 0, 0);
	after_write("comp.tap", MTCOMPRESSION, 1, 0, 0);
	after_write("weof.tap", MTWEOF, 1, 0, 1);
	after_write("weofi.tap", MTWEOFI, 1, 0, 1);
	after_write("load.tap", MTLOAD, 1, 0, 0);
}

Test(vtape, bsf_after_write_steps_over_the_new_mark)
{
	struct device dev;

	make_tape("b.tap", 0, 0, false);
	open_ok(&dev, "b.tap", O_RDWR);
	cr_assert_eq(put(&dev, 10, 'a'), 10);
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	cr_assert_eq(put(&dev, 10, 'b'), 10);
	STATUS(&dev, 1, 1, MID);
	cr_assert_eq(op(&dev, MTBSF, 1), 0);
	/* A mark was written after b (file 2), then BSF 2: before the first mark. */
	STATUS(&dev, 0, -1, MID);
	cr_assert_eq(where(&dev), 1);
	cr_assert_eq(get(&dev, 100, 0), 0);
	cr_assert_eq(get(&dev, 100, 'b'), 10);
	close_ok(&dev);
	cr_assert_eq(marks_in("b.tap"), 2);

	make_tape("bm.tap", 0, 0, false);
	open_ok(&dev, "bm.tap", O_RDWR);
	cr_assert_eq(put(&dev, 10, 'a'), 10);
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	cr_assert_eq(put(&dev, 10, 'b'), 10);
	cr_assert_eq(op(&dev, MTBSFM, 1), 0);
	/* BSF 2 then FSF 1: at the start of the file just written. */
	STATUS(&dev, 1, 0, EOFM);
	cr_assert_eq(get(&dev, 100, 'b'), 10);
	close_ok(&dev);
	cr_assert_eq(marks_in("bm.tap"), 2);
}

Test(vtape, rewinding_variant_rewinds_after_the_close_mark)
{
	struct device dev;

	make_tape("r.tap", 0, 0, false);
	cr_assert_eq(open_ex(&dev, "r.tap", O_RDWR, true, 0), 0);
	cr_assert_eq(put(&dev, 10, 'a'), 10);
	close_ok(&dev);
	cr_assert_eq(marks_in("r.tap"), 1);
	open_ok(&dev, "r.tap", O_RDONLY);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(get(&dev, 100, 'a'), 10);
	close_ok(&dev);
	/* The non-rewinding name stays where it was. */
	open_ok(&dev, "r.tap", O_RDONLY);
	STATUS(&dev, 0, 1, MID);
	close_ok(&dev);
}

/* ------------------------------------------------------------------ persistence */

Test(vtape, two_sessions_append_two_archives_separated_by_a_filemark)
{
	struct device dev;
	struct tapeimage_index index;
	pid_t child;
	int status;

	/* Each rsh call is a new rmtd: the first "tar -cf" runs in another process. */
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct device d;

		if (open_ex(&d, "two.tap", O_WRONLY | O_CREAT | O_TRUNC, false, 1 << 20) != 0)
			_exit(1);
		if (put(&d, 10240, '1') != 10240 || put(&d, 10240, '1') != 10240)
			_exit(2);
		_exit(ops->close(&d) == 0 ? 0 : 3);
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	/* The second one: O_TRUNC is ignored, the position continues after the mark. */
	cr_assert_eq(open_ex(&dev, "two.tap", O_WRONLY | O_CREAT | O_TRUNC, false, 1 << 20), 0);
	STATUS(&dev, 1, 0, EOFM);
	cr_assert_eq(put(&dev, 10240, '2'), 10240);
	close_ok(&dev);
	scan_image("two.tap", &index);
	cr_assert_eq(index.n_objects, 5); /* 1 1 | 2 | */
	cr_assert_eq(index.n_marks, 2);
	cr_assert_eq(index.marks[0].object, 2);
	cr_assert_eq(index.marks[1].object, 4);
	tapeimage_index_free(&index);
	/* tar -t: rewind, read the first archive; mt fsf 1 for the second. */
	open_ok(&dev, "two.tap", O_RDONLY);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(get(&dev, 10240, '1'), 10240);
	close_ok(&dev);
	open_ok(&dev, "two.tap", O_RDONLY);
	STATUS(&dev, 0, 1, MID); /* left inside the file, as st does after tar -t */
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(get(&dev, 10240, '2'), 10240);
	close_ok(&dev);
	{
		struct tapeimage_meta meta;

		read_meta_file("two.tap", &meta);
		cr_assert_eq(meta.capacity, 1 << 20); /* create_capacity */
		cr_assert_eq(meta.position, 4);
		cr_assert_eq(meta.file_number, 1);
		cr_assert_eq(meta.block_number, 1);
		tapeimage_meta_free(&meta);
	}
}

Test(vtape, eof_state_survives_reopen)
{
	struct device dev;

	two_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(get(&dev, 1000, 'C'), 300);
	cr_assert_eq(get(&dev, 1000, 0), 0); /* the mark: state FM */
	close_ok(&dev);
	open_ok(&dev, "t.tap", O_RDONLY);
	STATUS(&dev, 2, 0, EOFM);
	cr_assert_eq(get(&dev, 1000, 0), 0); /* EOD right after a mark */
	close_ok(&dev);
	open_ok(&dev, "t.tap", O_RDONLY);
	STATUS(&dev, 2, -1, EOD);
	cr_assert_eq(get(&dev, 1000, 0), -EIO);
	close_ok(&dev);
}

Test(vtape, saved_position_is_checked_against_the_image)
{
	struct device dev;
	int fd;

	two_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	close_ok(&dev);
	/* Someone cut the image behind our back. */
	fd = open(path_of("t.tap"), O_RDWR);
	cr_assert_eq(ftruncate(fd, 100 + 8), 0);
	close(fd);
	open_ok(&dev, "t.tap", O_RDONLY);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(get(&dev, 1000, 'A'), 100);
	cr_assert_eq(get(&dev, 1000, 0), -EIO);
	close_ok(&dev);
}

/* ------------------------------------------------------------------ capacity */

Test(vtape, early_warning_then_alternating_enospc_then_hard_end)
{
	struct device dev;
	off_t size;

	/* Records of 10000 bytes take 10008 bytes; early warning at 70000. */
	make_tape("cap.tap", 100000, 30000, false);
	open_ok(&dev, "cap.tap", O_RDWR);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(put(&dev, 10000, 'd'), 10000);
	STATUS(&dev, 0, 6, MID);
	cr_assert_eq(put(&dev, 10000, 'e'), 10000); /* crosses: completes, EOT */
	STATUS(&dev, 0, 7, EOT);
	size = image_size("cap.tap");
	cr_assert_eq(put(&dev, 10000, 'n'), -ENOSPC); /* refused, nothing written */
	cr_assert_eq(image_size("cap.tap"), size);
	STATUS(&dev, 0, 7, EOD);
	cr_assert_eq(put(&dev, 10000, 't'), 10000); /* the trailer is allowed */
	STATUS(&dev, 0, 8, EOT);
	cr_assert_eq(put(&dev, 10000, 'n'), -ENOSPC);
	cr_assert_eq(put(&dev, 10000, 't'), 10000); /* ends at 90072 */
	cr_assert_eq(put(&dev, 10000, 'n'), -ENOSPC);
	size = image_size("cap.tap");
	cr_assert_eq(put(&dev, 10000, 'x'), -ENOSPC); /* would pass the capacity */
	cr_assert_eq(image_size("cap.tap"), size);
	STATUS(&dev, 0, 9, EOT);
	cr_assert_eq(put(&dev, 10000, 'x'), -ENOSPC);
	cr_assert_eq(put(&dev, 10000, 'x'), -ENOSPC);
	cr_assert_eq(image_size("cap.tap"), size);
	/* Filemarks in the early-warning zone succeed. */
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	STATUS(&dev, 1, 0, EOFM);
	close_ok(&dev);
	cr_assert_eq(image_size("cap.tap"), size + 4);
	cr_assert_eq(marks_in("cap.tap"), 1);
}

Test(vtape, fixed_mode_partial_write_at_the_physical_end)
{
	struct device dev;

	make_tape("fx.tap", 5000, 0, false);
	open_ok(&dev, "fx.tap", O_RDWR);
	cr_assert_eq(op(&dev, MTSETBLK, 512), 0);
	/* 10 blocks asked, 9 fit (520 bytes each in the image). */
	cr_assert_eq(put(&dev, 5120, 'p'), 4608);
	STATUS(&dev, 0, 9, EOT);
	cr_assert_eq(image_size("fx.tap"), 9 * 520);
	cr_assert_eq(put(&dev, 512, 'p'), -ENOSPC);
	cr_assert_eq(put(&dev, 512, 'p'), -ENOSPC);
	cr_assert_eq(image_size("fx.tap"), 9 * 520);
	close_ok(&dev);
}

/* ------------------------------------------------------------------ write protection */

Test(vtape, write_protect_tab)
{
	struct device dev;

	make_tape("wp.tap", 0, 0, true);
	cr_assert_eq(open_ex(&dev, "wp.tap", O_RDWR, false, 0), -EROFS);
	cr_assert_eq(open_ex(&dev, "wp.tap", O_WRONLY, false, 0), -EROFS);
	open_ok(&dev, "wp.tap", O_RDONLY);
	STATUS(&dev, 0, 0, BOT | WRPROT);
	cr_assert_eq(put(&dev, 10, 'a'), -EBADF); /* write(2) on an O_RDONLY descriptor */
	cr_assert_eq(op(&dev, MTWEOF, 1), -EACCES);
	cr_assert_eq(op(&dev, MTERASE, 1), -EACCES);
	close_ok(&dev);
	/* O_NONBLOCK opens anyway; writing is refused. */
	open_ok(&dev, "wp.tap", O_RDWR | O_NONBLOCK);
	STATUS(&dev, 0, 0, BOT | WRPROT);
	cr_assert_eq(put(&dev, 10, 'a'), -EACCES);
	cr_assert_eq(op(&dev, MTWEOFI, 1), -EACCES);
	cr_assert_eq(op(&dev, MTWSM, 1), -EACCES);
	close_ok(&dev);
	cr_assert_eq(image_size("wp.tap"), 0);
}

Test(vtape, read_only_open_refuses_writes_without_the_tab)
{
	struct device dev;

	two_files("t.tap", &dev);
	close_ok(&dev);
	open_ok(&dev, "t.tap", O_RDONLY);
	STATUS(&dev, 0, 0, BOT); /* no GMT_WR_PROT for a read-only open */
	/* The VFS answers write(2) before st does (realtape 20-read-only-open). */
	cr_assert_eq(put(&dev, 10, 'a'), -EBADF);
	cr_assert_eq(op(&dev, MTWEOF, 1), -EACCES);
	cr_assert_eq(op(&dev, MTWEOF, 0), -EACCES);
	cr_assert_eq(op(&dev, MTERASE, 0), -EACCES);
	cr_assert_eq(op(&dev, MTWSM, 1), -EACCES);
	cr_assert_eq(get(&dev, 1000, 'A'), 100);
	close_ok(&dev);
	cr_assert_eq(marks_in("t.tap"), 2);
}

/* An image this process cannot open for writing is a write-protected cartridge. */
static int unwritable_image_child(void)
{
	struct device dev;
	struct mtget s;

	if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return 10;
	if (open_ex(&dev, "ro.tap", O_RDWR, false, 0) != -EROFS)
		return 11;
	if (open_ex(&dev, "ro.tap", O_RDONLY, false, 0) != 0)
		return 12;
	if (ops->status(&dev, &s) != 0 || !(s.mt_gstat & WRPROT))
		return 13;
	if (get(&dev, 1000, 'A') != 100)
		return 14;
	ops->close(&dev);
	return 0;
}

Test(vtape, unwritable_image_is_write_protected)
{
	struct device dev;
	pid_t child;
	int status;

	two_files("ro.tap", &dev);
	close_ok(&dev);
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(chmod(path_of("ro.tap"), 0444), 0);
	{
		char meta[PATH_MAX];

		snprintf(meta, sizeof(meta), "%s.meta", path_of("ro.tap"));
		cr_assert_eq(chmod(meta, 0644), 0);
	}
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0)
		_exit(unwritable_image_child());
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status), "child died");
	cr_assert_eq(WEXITSTATUS(status), 0, "child check %d failed", WEXITSTATUS(status));
}

/* ------------------------------------------------------------------ operations */

/* Tape: A | B | C | (three files, EOD after the last mark) */
static void three_files(const char *name, struct device *dev)
{
	make_tape(name, 0, 0, false);
	open_ok(dev, name, O_RDWR);
	cr_assert_eq(put(dev, 10, 'A'), 10);
	cr_assert_eq(op(dev, MTWEOF, 1), 0);
	cr_assert_eq(put(dev, 20, 'B'), 20);
	cr_assert_eq(op(dev, MTWEOF, 1), 0);
	cr_assert_eq(put(dev, 30, 'C'), 30);
	cr_assert_eq(op(dev, MTWEOF, 1), 0);
	cr_assert_eq(op(dev, MTREW, 1), 0);
}

Test(vtape, fsf_hitting_eod_counts_the_marks_passed)
{
	struct device dev;

	three_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTFSF, 5), -EIO);
	STATUS(&dev, 3, -1, EOD);
	cr_assert_eq(where(&dev), 6);
	cr_assert_eq(get(&dev, 100, 0), -EIO);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(op(&dev, MTFSF, 3), -EIO);
	STATUS(&dev, 3, -1, EOD);
	close_ok(&dev);
}

Test(vtape, bsf_reaching_bot_is_eio)
{
	struct device dev;

	three_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTFSF, 2), 0);
	STATUS(&dev, 2, 0, EOFM);
	cr_assert_eq(op(&dev, MTBSF, 3), -EIO);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(where(&dev), 0);
	cr_assert_eq(op(&dev, MTBSF, 1), -EIO);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(op(&dev, MTBSF, 0), 0); /* no movement, but st forgets the block */
	STATUS(&dev, 0, -1, MID);
	close_ok(&dev);
}

Test(vtape, fsr_and_bsr_meet_filemarks_and_ends)
{
	struct device dev;

	make_tape("r.tap", 0, 0, false);
	open_ok(&dev, "r.tap", O_RDWR);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(put(&dev, 10, 'a'), 10);
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	cr_assert_eq(put(&dev, 10, 'b'), 10);
	cr_assert_eq(put(&dev, 10, 'b'), 10);
	cr_assert_eq(op(&dev, MTEOM, 1), 0); /* no closing mark: a | b b EOD */
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSR, 2), 0);
	STATUS(&dev, 0, 2, MID);
	/* FSR through a mark: EIO, after the mark. */
	cr_assert_eq(op(&dev, MTFSR, 5), -EIO);
	STATUS(&dev, 1, 0, EOFM);
	cr_assert_eq(where(&dev), 4);
	/* FSR to EOD: EIO, the records passed are counted. */
	cr_assert_eq(op(&dev, MTFSR, 5), -EIO);
	STATUS(&dev, 1, 2, EOD);
	cr_assert_eq(where(&dev), 6);
	cr_assert_eq(get(&dev, 100, 0), -EIO);
	/* BSR back to the mark: EIO, before it. */
	cr_assert_eq(op(&dev, MTBSR, 1), 0);
	STATUS(&dev, 1, 1, MID);
	cr_assert_eq(op(&dev, MTBSR, 4), -EIO);
	STATUS(&dev, 0, -1, MID);
	cr_assert_eq(where(&dev), 3);
	cr_assert_eq(get(&dev, 100, 0), 0); /* reads the mark */
	/* BSR to BOT. */
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSR, 1), 0);
	cr_assert_eq(op(&dev, MTBSR, 2), -EIO);
	STATUS(&dev, 0, 0, BOT);
	close_ok(&dev);
}

Test(vtape, fsfm_and_bsfm)
{
	struct device dev;

	three_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTFSFM, 2), 0);
	/* Before the second mark. */
	STATUS(&dev, 1, -1, MID);
	cr_assert_eq(where(&dev), 3);
	cr_assert_eq(get(&dev, 100, 0), 0);
	STATUS(&dev, 2, 0, EOFM);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, 3, -1, EOD);
	cr_assert_eq(op(&dev, MTBSFM, 2), 0);
	/* After the second-to-last mark: the start of C. */
	STATUS(&dev, 2, 0, EOFM);
	cr_assert_eq(get(&dev, 100, 'C'), 30);
	close_ok(&dev);
}

Test(vtape, eom_reports_the_number_of_marks_or_minus_one_with_fast_eom)
{
	struct device dev;

	three_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, 3, -1, EOD);
	cr_assert_eq(where(&dev), 6);
	cr_assert_eq(op(&dev, MTEOM, 1), 0); /* again at EOD */
	STATUS(&dev, 3, -1, EOD);
	cr_assert_eq(op(&dev, MTSETDRVBUFFER, MT_ST_SETBOOLEANS | MT_ST_FAST_MTEOM), 0);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, -1, -1, EOD);
	/* Appending after EOM. */
	cr_assert_eq(put(&dev, 40, 'D'), 40);
	STATUS(&dev, -1, -1, MID);
	close_ok(&dev);
	cr_assert_eq(marks_in("t.tap"), 4);
}

Test(vtape, seek_and_position_use_logical_object_numbers)
{
	struct device dev;

	three_files("t.tap", &dev);
	cr_assert_eq(where(&dev), 0);
	cr_assert_eq(op(&dev, MTSEEK, 2), 0); /* A | B: object 2 is B */
	STATUS(&dev, -1, -1, MID);
	cr_assert_eq(get(&dev, 100, 'B'), 20);
	STATUS(&dev, -1, -1, MID);
	cr_assert_eq(where(&dev), 3);
	cr_assert_eq(get(&dev, 100, 0), 0); /* the mark: fileno stays unknown, blkno 0 */
	STATUS(&dev, -1, 0, EOFM);
	cr_assert_eq(ops->locate(&dev, 4), 0);
	cr_assert_eq(get(&dev, 100, 'C'), 30);
	cr_assert_eq(op(&dev, MTSEEK, 0), 0);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(op(&dev, MTSEEK, 6), 0); /* EOD */
	STATUS(&dev, -1, -1, MID);
	cr_assert_eq(op(&dev, MTSEEK, 7), -EIO);
	STATUS(&dev, -1, -1, MID);
	cr_assert_eq(where(&dev), 6);
	cr_assert_eq(ops->locate(&dev, 1), 0);
	cr_assert_eq(get(&dev, 100, 0), 0);
	/* An MTFSF from an unknown file number still uses the index. */
	cr_assert_eq(op(&dev, MTSEEK, 2), 0);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	STATUS(&dev, -1, 0, EOFM);
	cr_assert_eq(get(&dev, 100, 'C'), 30);
	close_ok(&dev);
}

Test(vtape, lseek_is_a_noop)
{
	struct device dev;

	three_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(ops->seek(&dev, 12345, SEEK_SET), 0);
	cr_assert_eq(ops->seek(&dev, 0, SEEK_CUR), 0);
	cr_assert_eq(ops->seek(&dev, 0, SEEK_END), 0);
	STATUS(&dev, 1, 0, EOFM);
	cr_assert_eq(where(&dev), 2);
	close_ok(&dev);
}

Test(vtape, erase_truncates_at_the_position)
{
	struct device dev;

	three_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(op(&dev, MTERASE, 1), 0);
	STATUS(&dev, 1, 0, EOFM); /* st: nothing moves (realtape 16-erase) */
	cr_assert_eq(image_size("t.tap"), 18 + 4);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, 1, -1, EOD);
	/* After MTEOM the counters stay, the EOD state goes (realtape 13, "i3"). */
	cr_assert_eq(op(&dev, MTERASE, 1), 0);
	STATUS(&dev, 1, -1, MID);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(get(&dev, 100, 'A'), 10);
	cr_assert_eq(get(&dev, 100, 0), 0);
	cr_assert_eq(get(&dev, 100, 0), 0);
	cr_assert_eq(get(&dev, 100, 0), -EIO);
	/* A short erase (count 0) at BOT leaves a blank tape. */
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTERASE, 0), 0);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(get(&dev, 100, 0), -EIO);
	STATUS(&dev, 0, -1, MID);
	close_ok(&dev);
	cr_assert_eq(image_size("t.tap"), 0);
}

Test(vtape, unload_and_load)
{
	struct device dev;
	struct tapeimage_meta meta;
	char c;

	three_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(op(&dev, MTUNLOAD, 1), 0);
	STATUS(&dev, -1, -1, DR_OPEN | IMREP);
	cr_assert_eq(get(&dev, 100, 0), -ENOMEDIUM);
	cr_assert_eq(put(&dev, 100, 0), -ENOMEDIUM);
	cr_assert_eq(op(&dev, MTFSF, 1), -ENOMEDIUM);
	cr_assert_eq(op(&dev, MTREW, 1), -ENOMEDIUM);
	cr_assert_eq(op(&dev, MTNOP, 1), -ENOMEDIUM);
	cr_assert_eq(op(&dev, MTWEOF, 1), -ENOMEDIUM);
	cr_assert_eq(ops->position(&dev, &(int64_t){0}), -ENOMEDIUM);
	cr_assert_eq(ops->locate(&dev, 1), -ENOMEDIUM);
	cr_assert_eq(op(&dev, MTLOCK, 0), 0);
	cr_assert_eq(op(&dev, MTLOAD, 1), 0);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(get(&dev, 100, 'A'), 10);
	cr_assert_eq(op(&dev, MTOFFL, 1), 0);
	STATUS(&dev, -1, -1, DR_OPEN | IMREP);
	close_ok(&dev);
	read_meta_file("t.tap", &meta);
	cr_assert_not(meta.loaded);
	tapeimage_meta_free(&meta);
	/* Reopening loads the tape again, at BOT. */
	open_ok(&dev, "t.tap", O_RDONLY);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(ops->read(&dev, &c, 1), -ENOMEM);
	close_ok(&dev);
	read_meta_file("t.tap", &meta);
	cr_assert(meta.loaded);
	cr_assert_eq(meta.loads, 2); /* MTLOAD, then the reopen after MTOFFL */
	tapeimage_meta_free(&meta);
}

Test(vtape, remaining_operations)
{
	struct device dev;

	three_files("t.tap", &dev);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(op(&dev, MTRETEN, 1), 0);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(op(&dev, MTNOP, 1), 0);
	cr_assert_eq(op(&dev, MTLOCK, 1), 0);
	cr_assert_eq(op(&dev, MTUNLOCK, 1), 0);
	cr_assert_eq(op(&dev, MTCOMPRESSION, 0), 0);
	cr_assert_eq(op(&dev, MTTELL, 0), -ENOSYS);
	cr_assert_eq(op(&dev, MTFSS, 1), -EIO);
	cr_assert_eq(op(&dev, MTBSS, 1), -EIO);
	cr_assert_eq(op(&dev, MTWSM, 1), -EIO);
	cr_assert_eq(op(&dev, MTSETPART, 1), -EINVAL);
	cr_assert_eq(op(&dev, MTMKPART, 1), -EINVAL);
	cr_assert_eq(op(&dev, MTRESET, 0), -ENOSYS);
	cr_assert_eq(op(&dev, MTRAS1, 0), -ENOSYS);
	cr_assert_eq(op(&dev, 99, 0), -ENOSYS);
	cr_assert_eq(op(&dev, -5, 0), -ENOSYS);
	cr_assert_eq(op(&dev, MTSETDRVBUFFER, 1), 0);
	cr_assert_eq(op(&dev, MTSETDRVBUFFER, MT_ST_DEF_BLKSIZE | 512), 0);
	cr_assert_eq(op(&dev, MTSETDRVBUFFER, (int)0x90000000u), -EINVAL);
	cr_assert_eq(op(&dev, MTSETDRVBUFFER, MT_ST_BOOLEANS | MT_ST_TWO_FM), 0);
	/* Booleans replaced wholesale: no async writes, no drive buffer flag stays set. */
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(op(&dev, MTSETDRVBUFFER, 0), 0); /* drive buffer mode 0 */
	STATUS(&dev, 0, 0, 0x40000000ul | ONLINE);    /* nothing makes IM_REP_EN now */
	/* None of that moved the tape. */
	cr_assert_eq(where(&dev), 0);
	close_ok(&dev);
}

Test(vtape, mtnop_saves_the_index)
{
	struct device dev;
	struct tapeimage_index index;
	char name[PATH_MAX];
	int idx, img;

	make_tape("n.tap", 0, 0, false);
	open_ok(&dev, "n.tap", O_RDWR);
	cr_assert_eq(put(&dev, 100, 'a'), 100);
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	cr_assert_eq(put(&dev, 100, 'b'), 100);
	cr_assert_eq(op(&dev, MTNOP, 1), 0);
	/* While the tape is still open, the .idx describes the image exactly. */
	snprintf(name, sizeof(name), "%s.idx", path_of("n.tap"));
	idx = open(name, O_RDONLY);
	cr_assert_geq(idx, 0);
	img = open(path_of("n.tap"), O_RDONLY);
	tapeimage_index_init(&index);
	cr_assert_eq(tapeimage_index_load(idx, img, (uint64_t)image_size("n.tap"), &index),
	             TAPEIMAGE_INDEX_VALID);
	cr_assert_eq(index.n_objects, 3);
	tapeimage_index_free(&index);
	close(idx);
	close(img);
	close_ok(&dev);
}

/* ------------------------------------------------------------------ open */

Test(vtape, open_creates_locks_and_ignores_trunc)
{
	struct device dev, other;
	struct tapeimage_meta meta;

	cr_assert_eq(open_ex(&dev, "new.tap", O_RDWR, false, 0), -ENOENT);
	cr_assert_eq(open_ex(&dev, "new.tap", O_RDWR | O_CREAT, false, 0), 0);
	STATUS(&dev, 0, 0, BOT);
	/* Held: another open (another drive, another process) is refused. */
	cr_assert_eq(open_ex(&other, "new.tap", O_RDONLY, false, 0), -EBUSY);
	cr_assert_eq(put(&dev, 10, 'a'), 10);
	close_ok(&dev);
	read_meta_file("new.tap", &meta);
	cr_assert_eq(meta.capacity, VTAPE_DEFAULT_CAPACITY);
	cr_assert_eq(meta.early_warning, tapeimage_default_early_warning(VTAPE_DEFAULT_CAPACITY));
	cr_assert_gt(meta.created, 0);
	tapeimage_meta_free(&meta);
	/* O_TRUNC does not erase a tape. */
	open_ok(&dev, "new.tap", O_RDWR | O_TRUNC | O_NONBLOCK);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(get(&dev, 100, 'a'), 10);
	close_ok(&dev);
	cr_assert_eq(marks_in("new.tap"), 1);
	/* Not a regular file. */
	cr_assert_eq(mkdir(path_of("dir.tap"), 0700), 0);
	cr_assert_lt(open_ex(&dev, "dir.tap", O_RDONLY, false, 0), 0);
}

/* ------------------------------------------------------------------ damaged and foreign images */

static void append_raw(const char *name, const void *data, size_t length)
{
	int fd = open(path_of(name), O_WRONLY | O_APPEND);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, length), (ssize_t)length);
	close(fd);
}

Test(vtape, interrupted_write_is_repaired_on_open)
{
	struct device dev;
	struct tapeimage_index index;
	unsigned char torn[4 + 100];
	off_t good;

	three_files("t.tap", &dev);
	close_ok(&dev);
	good = image_size("t.tap");
	/* A leading length word for 5000 bytes and only 100 of them. */
	memset(torn, 'z', sizeof(torn));
	torn[0] = 0x88;
	torn[1] = 0x13;
	torn[2] = torn[3] = 0;
	append_raw("t.tap", torn, sizeof(torn));
	open_ok(&dev, "t.tap", O_RDWR);
	cr_assert_eq(image_size("t.tap"), good);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, 3, -1, EOD);
	cr_assert_eq(put(&dev, 7, 'n'), 7);
	close_ok(&dev);
	scan_image("t.tap", &index);
	cr_assert_eq(index.n_objects, 8);
	tapeimage_index_free(&index);

	/* A whole record whose trailer is wrong (a crash with the tail not yet written). */
	good = image_size("t.tap");
	{
		unsigned char rec[4 + 6 + 4] = {6,   0,   0,   0, 'x', 'x', 'x',
		                                'x', 'x', 'x', 0, 0,   0,   0};

		append_raw("t.tap", rec, sizeof(rec));
	}
	open_ok(&dev, "t.tap", O_RDONLY);
	cr_assert_eq(image_size("t.tap"), good);
	close_ok(&dev);
}

/* A child process opens the tape, writes count records of 1000 bytes and dies without C. */
static void killed_writer(const char *name, bool rewind, int count, int fill)
{
	pid_t child = fork();
	int status;

	cr_assert_geq(child, 0);
	if (child == 0) {
		struct device d;

		if (open_ex(&d, name, O_RDWR, rewind, 0) != 0)
			_exit(1);
		for (int i = 0; i < count; i++)
			if (put(&d, 1000, fill + i % 26) != 1000)
				_exit(2);
		_exit(0); /* no close: no filemark, no saved index or position */
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* As st when its holder dies: the filemark is written and the next archive goes after. */
Test(vtape, killed_writer_loses_nothing_acknowledged)
{
	struct tapeimage_meta meta;
	struct device dev;

	make_tape("k.tap", 0, 0, false);
	killed_writer("k.tap", false, 50, 'a');
	read_meta_file("k.tap", &meta);
	cr_assert(meta.in_use, "the writer's first record did not mark the tape as in use");
	tapeimage_meta_free(&meta);
	open_ok(&dev, "k.tap", O_RDONLY);
	STATUS(&dev, 1, 0, EOFM); /* after the filemark the open wrote */
	cr_assert_eq(where(&dev), 51);
	close_ok(&dev);
	read_meta_file("k.tap", &meta);
	cr_assert_not(meta.in_use);
	tapeimage_meta_free(&meta);
	cr_assert_eq(marks_in("k.tap"), 1);

	/* The next writer (a non-rewinding open, as tar -c) goes after the first archive. */
	killed_writer("k.tap", false, 5, 'A');
	/* and this one dies in the middle of a record: the torn tail is cut, the mark follows */
	append_raw("k.tap", "\x88\x13\0\0zzzz", 8);
	open_ok(&dev, "k.tap", O_RDWR);
	STATUS(&dev, 2, 0, EOFM);
	cr_assert_eq(where(&dev), 57);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	for (int i = 0; i < 50; i++)
		cr_assert_eq(get(&dev, 4096, 'a' + i % 26), 1000);
	cr_assert_eq(get(&dev, 4096, 0), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(get(&dev, 4096, 'A' + i), 1000);
	cr_assert_eq(get(&dev, 4096, 0), 0);
	cr_assert_eq(get(&dev, 4096, 0), 0); /* end of data right after a filemark */
	close_ok(&dev);
	cr_assert_eq(marks_in("k.tap"), 2);
}

/* The holder had the rewinding variant open: the mark is written, then the tape is at BOT. */
Test(vtape, killed_writer_on_the_rewinding_device_leaves_the_tape_at_bot)
{
	struct device dev;

	make_tape("kr.tap", 0, 0, false);
	killed_writer("kr.tap", true, 3, 'a');
	open_ok(&dev, "kr.tap", O_RDONLY);
	STATUS(&dev, 0, 0, BOT);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(get(&dev, 4096, 'a' + i), 1000);
	cr_assert_eq(get(&dev, 4096, 0), 0);
	close_ok(&dev);
	cr_assert_eq(marks_in("kr.tap"), 1);
}

/* Write-protected since: the filemark waits for an open that may write it. */
Test(vtape, killed_writer_then_write_protected_keeps_the_marker)
{
	struct tapeimage_meta meta;
	struct device dev;

	make_tape("kp.tap", 0, 0, false);
	killed_writer("kp.tap", false, 3, 'a');
	cr_assert_eq(vtape_set_write_protect(AT_FDCWD, path_of("kp.tap"), true), 0);
	open_ok(&dev, "kp.tap", O_RDONLY);
	cr_assert_eq(where(&dev), 3); /* at the end of data, where the next archive would go */
	close_ok(&dev);
	cr_assert_eq(marks_in("kp.tap"), 0);
	read_meta_file("kp.tap", &meta);
	cr_assert(meta.in_use);
	tapeimage_meta_free(&meta);
	cr_assert_eq(vtape_set_write_protect(AT_FDCWD, path_of("kp.tap"), false), 0);
	open_ok(&dev, "kp.tap", O_RDONLY);
	STATUS(&dev, 1, 0, EOFM);
	close_ok(&dev);
	cr_assert_eq(marks_in("kp.tap"), 1);
	read_meta_file("kp.tap", &meta);
	cr_assert_not(meta.in_use);
	tapeimage_meta_free(&meta);
}

/* A tape that was only read, or closed cleanly, keeps its position: no marker was left. */
Test(vtape, a_clean_close_clears_the_in_use_marker)
{
	struct tapeimage_meta meta;
	struct device dev;

	two_files("c.tap", &dev);
	close_ok(&dev);
	read_meta_file("c.tap", &meta);
	cr_assert_not(meta.in_use);
	tapeimage_meta_free(&meta);
	open_ok(&dev, "c.tap", O_RDONLY);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	close_ok(&dev);
	open_ok(&dev, "c.tap", O_RDONLY);
	STATUS(&dev, 1, 0, EOFM);
	close_ok(&dev);
	cr_assert_eq(marks_in("c.tap"), 2);
}

/* A .meta that cannot be saved at close (here: the file size limit) fails the close. */
Test(vtape, a_failed_metadata_save_fails_the_close)
{
	struct tapeimage_meta meta;
	struct device dev;
	struct rlimit limit;

	make_tape("m.tap", 0, 0, false);
	open_ok(&dev, "m.tap", O_RDWR);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(put(&dev, 10, 'a' + i), 10);
	/* room for the closing filemark, not for the metadata (several hundred bytes) */
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &limit), 0);
	limit.rlim_cur = (rlim_t)image_size("m.tap") + 16;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
	cr_assert_eq(ops->close(&dev), -EFBIG);
	limit.rlim_cur = limit.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
	cr_assert_eq(marks_in("m.tap"), 1);
	/* The saved metadata still says "in use": the next open finds the end of data. */
	read_meta_file("m.tap", &meta);
	cr_assert(meta.in_use);
	tapeimage_meta_free(&meta);
	open_ok(&dev, "m.tap", O_WRONLY);
	STATUS(&dev, 1, 0, EOFM);
	cr_assert_eq(put(&dev, 10, 'z'), 10);
	close_ok(&dev);
	cr_assert_eq(marks_in("m.tap"), 2);
}

/* O_CREAT|O_EXCL makes a new tape or fails with EEXIST, as open(2) does on a file. */
Test(vtape, exclusive_create_refuses_an_existing_tape)
{
	struct device dev;

	make_tape("x.tap", 0, 0, false);
	cr_assert_eq(open_ex(&dev, "x.tap", O_WRONLY | O_CREAT | O_EXCL, false, 0), -EEXIST);
	cr_assert_eq(open_ex(&dev, "new.tap", O_WRONLY | O_CREAT | O_EXCL, false, 0), 0);
	cr_assert_eq(put(&dev, 10, 'a'), 10);
	close_ok(&dev);
	cr_assert_eq(open_ex(&dev, "new.tap", O_WRONLY | O_CREAT | O_EXCL, false, 0), -EEXIST);
	cr_assert_eq(marks_in("new.tap"), 1);
}

/* Synchronous records: the same tape, each record synced before it is answered. */
Test(vtape, synchronous_records_write_the_same_tape)
{
	struct open_target t;
	struct device dev;

	make_tape("s.tap", 0, 0, false);
	memset(&t, 0, sizeof(t));
	memset(&dev, 0, sizeof(dev));
	dev.ops = ops;
	t.directory_fd = AT_FDCWD;
	t.name = t.canonical = path_of("s.tap");
	t.flags = O_RDWR;
	t.max_record = 1 << 24;
	t.sync_records = true;
	cr_assert_eq(ops->open(&dev, &t), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(put(&dev, 1000, 'a' + i), 1000);
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	cr_assert_eq(put(&dev, 10, 'q'), 10);
	close_ok(&dev);
	cr_assert_eq(marks_in("s.tap"), 2);
}

static void copy_sample(const char *sample, const char *name)
{
	char from[PATH_MAX];
	char buf[65536];
	int in, out;
	ssize_t n;

	snprintf(from, sizeof(from), "%s/%s", SAMPLES_DIR, sample);
	in = open(from, O_RDONLY);
	cr_assert_geq(in, 0);
	out = open(path_of(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

Test(vtape, foreign_image_with_error_flag_gap_and_eom)
{
	struct device dev;
	char buf[100];

	copy_sample("odd.tap", "odd.tap");
	open_ok(&dev, "odd.tap", O_RDONLY);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(ops->read(&dev, buf, sizeof(buf)), 5);
	cr_assert_arr_eq(buf, "abcde", 5);
	cr_assert_eq(ops->read(&dev, buf, sizeof(buf)), -EIO); /* flagged bad */
	STATUS(&dev, 0, -1, MID);
	cr_assert_eq(ops->read(&dev, buf, sizeof(buf)), 0); /* gap skipped, then the mark */
	STATUS(&dev, 1, 0, EOFM);
	cr_assert_eq(ops->read(&dev, buf, sizeof(buf)), 0); /* EOM word = EOD */
	STATUS(&dev, 1, -1, EOD);
	cr_assert_eq(ops->read(&dev, buf, sizeof(buf)), -EIO);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSR, 2), 0);
	cr_assert_eq(ops->read(&dev, buf, sizeof(buf)), 0);
	close_ok(&dev);

	/* Appending to a foreign image drops its EOM word. */
	copy_sample("sample.tap", "s.tap");
	open_ok(&dev, "s.tap", O_RDWR);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, 3, -1, EOD);
	cr_assert_eq(put(&dev, 10, 'n'), 10);
	close_ok(&dev);
	{
		struct tapeimage_index index;

		scan_image("s.tap", &index);
		cr_assert_eq(index.n_objects, 8);
		cr_assert_eq(index.n_marks, 4);
		tapeimage_index_free(&index);
	}
}

Test(vtape, garbage_image_does_not_crash)
{
	struct device dev;
	unsigned char junk[4096];
	char buf[8192];
	unsigned seed = 12345;

	for (size_t i = 0; i < sizeof(junk); i++) {
		seed = seed * 1103515245u + 12345u;
		junk[i] = (unsigned char)(seed >> 16);
	}
	junk[0] = 8; /* one good record first */
	junk[1] = junk[2] = junk[3] = 0;
	junk[12] = 8;
	junk[13] = junk[14] = junk[15] = 0;
	junk[16] = junk[17] = junk[18] = 0; /* then a reserved word: corrupt, not torn */
	junk[19] = 0x7f;
	{
		int fd = open(path_of("g.tap"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

		cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
		close(fd);
	}
	open_ok(&dev, "g.tap", O_RDONLY);
	cr_assert_eq(ops->read(&dev, buf, sizeof(buf)), 8);
	cr_assert_eq(ops->read(&dev, buf, sizeof(buf)), -EIO);
	cr_assert_eq(op(&dev, MTFSF, 1), -EIO);
	cr_assert_eq(op(&dev, MTBSF, 1), -EIO);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	cr_assert_eq(where(&dev), 1);
	close_ok(&dev);
	/* Unreadable data that is not an interrupted write is left alone. */
	cr_assert_eq(image_size("g.tap"), (off_t)sizeof(junk));
}

/* ------------------------------------------------------------------ the index does the spacing */

Test(vtape, spacing_uses_the_index_not_the_image)
{
	struct device dev;
	uint64_t offset;
	int fd;

	make_tape("many.tap", 0, 0, false);
	open_ok(&dev, "many.tap", O_RDWR);
	for (int i = 0; i < 2000; i++) {
		cr_assert_eq(put(&dev, 64, 'a' + i % 26), 64);
		cr_assert_eq(op(&dev, MTWEOFI, 1), 0); /* no fdatasync per mark */
	}
	close_ok(&dev);
	/* Spoil the framing of file 1000 (records are 72 bytes, marks 4). Only a scan would
	 * notice; the index (validated by size and tail) does not need to look there. */
	offset = 1000 * 76;
	fd = open(path_of("many.tap"), O_WRONLY);
	cr_assert_eq(pwrite(fd, "\x00\x00\x00\x7f", 4, (off_t)offset), 4);
	close(fd);
	open_ok(&dev, "many.tap", O_RDWR);
	STATUS(&dev, 2000, 0, EOFM);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSF, 1500), 0);
	STATUS(&dev, 1500, 0, EOFM);
	cr_assert_eq(get(&dev, 100, 'a' + 1500 % 26), 64);
	cr_assert_eq(op(&dev, MTBSF, 1200), 0);
	STATUS(&dev, 300, -1, MID);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, 2000, -1, EOD);
	cr_assert_eq(put(&dev, 64, 'z'), 64);
	cr_assert_eq(ops->locate(&dev, 2 * 1200 + 1), 0);
	cr_assert_eq(get(&dev, 100, 0), 0);
	/* The damaged record itself reads as an error. */
	cr_assert_eq(ops->locate(&dev, 2 * 1000), 0);
	cr_assert_eq(get(&dev, 100, 0), -EIO);
	close_ok(&dev);
}

/* ------------------------------------------------------------------ independent reader */

Test(vtape, mtdump_reads_what_we_wrote)
{
	static const unsigned sizes[] = {10240, 10240, 1, 65535, 3, 512, 65534, 777};
	struct device dev;
	char command[PATH_MAX + 64], line[512];
	FILE *p;
	size_t next = 0, marks = 0;
	bool physical_end = false;

	make_tape("d.tap", 0, 0, false);
	open_ok(&dev, "d.tap", O_RDWR);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cr_assert_eq(put(&dev, sizes[i], 'm'), (ssize_t)sizes[i]);
		if (i == 2 || i == 5)
			cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	}
	close_ok(&dev); /* the third mark */
	snprintf(command, sizeof(command), "/usr/bin/mtdump '%s' 2>&1", path_of("d.tap"));
	p = popen(command, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p) != NULL) {
		unsigned obj, length;
		unsigned long long position;
		int record;

		if (sscanf(line, "Obj %u, position %llu, record %d, length = %u", &obj, &position,
		           &record, &length) == 4) {
			cr_assert_lt(next, sizeof(sizes) / sizeof(sizes[0]), "extra record: %s",
			             line);
			cr_assert_eq(length, sizes[next], "record %zu: %s", next, line);
			next++;
		} else if (strstr(line, "end of tape file") != NULL) {
			marks++;
			cr_assert(next == 3 || next == 6 || next == 8, "mark after %zu records",
			          next);
		} else if (strstr(line, "End of physical tape") != NULL) {
			physical_end = true;
		} else {
			cr_assert(strstr(line, "Processing") != NULL, "mtdump says: %s", line);
		}
	}
	cr_assert_eq(pclose(p), 0);
	cr_assert_eq(next, sizeof(sizes) / sizeof(sizes[0]));
	cr_assert_eq(marks, 3);
	cr_assert(physical_end);
}

/* ------------------------------------------------------------------ performance */

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

Test(vtape, append_and_spacing_cost_does_not_grow_with_the_tape)
{
	struct device dev;
	struct timespec t0;
	char *block = malloc(8192);
	double first, last, fsf;

	memset(block, 'p', 8192);
	make_tape("perf.tap", 0, 0, false);
	open_ok(&dev, "perf.tap", O_RDWR);
	/* 5000 files of one 8 KiB record. Time the first and the last 500 appends. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 500; i++) {
		cr_assert_eq(ops->write(&dev, block, 8192), 8192);
		cr_assert_eq(op(&dev, MTWEOFI, 1), 0);
	}
	first = seconds_since(&t0);
	for (int i = 500; i < 4500; i++) {
		cr_assert_eq(ops->write(&dev, block, 8192), 8192);
		cr_assert_eq(op(&dev, MTWEOFI, 1), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 4500; i < 5000; i++) {
		cr_assert_eq(ops->write(&dev, block, 8192), 8192);
		cr_assert_eq(op(&dev, MTWEOFI, 1), 0);
	}
	last = seconds_since(&t0);
	close_ok(&dev);
	open_ok(&dev, "perf.tap", O_RDONLY);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(op(&dev, MTFSF, 5000), 0);
	fsf = seconds_since(&t0);
	STATUS(&dev, 5000, 0, EOFM);
	close_ok(&dev);
	cr_log_info("append: first 500 files %.3f s, last 500 files %.3f s; fsf 5000: %.6f s",
	            first, last, fsf);
	/* O(1) append: the last appends cost about what the first did (generous margin). */
	cr_assert_lt(last, first * 4 + 0.5, "append slowed down: %.3f s -> %.3f s", first, last);
	cr_assert_lt(fsf, 0.05, "fsf 5000 took %.3f s", fsf);
	free(block);
}

/* ------------------------------------------------------------------ rmt-vtape */

/* Run rmt-vtape with arguments; return its exit status and up to size bytes of output. */
static int tool(char *out, size_t size, const char *arguments)
{
	char command[PATH_MAX * 2];
	size_t used = 0;
	FILE *p;
	int status;

	snprintf(command, sizeof(command), "cd '%s' && '%s/rmtd/rmt-vtape' %s 2>&1", dir, BUILD_DIR,
	         arguments);
	p = popen(command, "r");
	cr_assert_not_null(p);
	while (used + 1 < size && fgets(out + used, (int)(size - used), p) != NULL)
		used += strlen(out + used);
	out[used] = '\0';
	while (fgetc(p) != EOF)
		;
	status = pclose(p);
	cr_assert(WIFEXITED(status), "rmt-vtape %s: died", arguments);
	return WEXITSTATUS(status);
}

/* rmt-vtape info tells a tape whose writer died from one that was closed. */
Test(vtape, rmt_vtape_info_shows_an_unclean_end)
{
	char out[16384];
	struct device dev;

	make_tape("u.tap", 0, 0, false);
	killed_writer("u.tap", false, 2, 'a');
	cr_assert_eq(tool(out, sizeof(out), "info u.tap"), 0, "%s", out);
	cr_assert_not_null(strstr(out, "ended without closing it"), "%s", out);
	open_ok(&dev, "u.tap", O_RDONLY);
	close_ok(&dev);
	cr_assert_eq(tool(out, sizeof(out), "info u.tap"), 0, "%s", out);
	cr_assert_null(strstr(out, "ended without closing it"), "%s", out);
}

Test(vtape, rmt_vtape_create_list_info)
{
	char out[16384];
	struct tapeimage_meta meta;
	struct device dev;

	cr_assert_eq(tool(out, sizeof(out), "--help"), 0);
	cr_assert_not_null(strstr(out, "usage: rmt-vtape create"));
	cr_assert_eq(tool(out, sizeof(out),
	                  "create --capacity 2M --early-warning 64K "
	                  "--barcode VOL042 t.tap"),
	             0, "%s", out);
	read_meta_file("t.tap", &meta);
	cr_assert_eq(meta.capacity, 2 << 20);
	cr_assert_eq(meta.early_warning, 64 << 10);
	cr_assert_str_eq(meta.barcode, "VOL042");
	cr_assert_not(meta.write_protect);
	tapeimage_meta_free(&meta);
	cr_assert_eq(image_size("t.tap"), 0);
	cr_assert_eq(tool(out, sizeof(out), "create t.tap"), 1); /* exists */
	cr_assert_not_null(strstr(out, "File exists"));
	cr_assert_eq(tool(out, sizeof(out), "create --capacity 12X u.tap"), 2);
	cr_assert_eq(tool(out, sizeof(out), "create --capacity 1M --early-warning 1M u.tap"), 2);
	cr_assert_eq(tool(out, sizeof(out), "create --barcode 'a b' u.tap"), 2);
	cr_assert_eq(tool(out, sizeof(out), "frobnicate t.tap"), 2);
	cr_assert_eq(tool(out, sizeof(out), "create --write-protect wp.tap"), 0);
	read_meta_file("wp.tap", &meta);
	cr_assert(meta.write_protect);
	cr_assert_eq(meta.capacity, VTAPE_DEFAULT_CAPACITY);
	tapeimage_meta_free(&meta);

	open_ok(&dev, "t.tap", O_RDWR);
	cr_assert_eq(put(&dev, 10240, 'a'), 10240);
	cr_assert_eq(put(&dev, 10240, 'a'), 10240);
	cr_assert_eq(put(&dev, 512, 'a'), 512);
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	cr_assert_eq(put(&dev, 100, 'b'), 100);
	close_ok(&dev);
	/* A client holds the tape while we look: list and info still work. */
	open_ok(&dev, "t.tap", O_RDONLY);
	cr_assert_eq(tool(out, sizeof(out), "list t.tap"), 0, "%s", out);
	cr_assert_str_eq(out, "file 0: 3 records, 20992 bytes\n"
	                      "  2 x 10240 bytes (objects 0-1)\n"
	                      "  1 x 512 bytes (objects 2-2)\n"
	                      "  filemark (object 3, offset 21016)\n"
	                      "file 1: 1 record, 100 bytes\n"
	                      "  1 x 100 bytes (objects 4-4)\n"
	                      "  filemark (object 5, offset 21128)\n"
	                      "end of data: object 6, offset 21132\n");
	cr_assert_eq(tool(out, sizeof(out), "info t.tap"), 0, "%s", out);
	cr_assert_not_null(strstr(out, "barcode:        VOL042\n"), "%s", out);
	cr_assert_not_null(strstr(out, "filemarks:      2\n"), "%s", out);
	cr_assert_not_null(strstr(out, "records:        4\n"), "%s", out);
	cr_assert_not_null(strstr(out, "position:       object 6 (offset 21132), file 2, block 0, "
	                               "eof state fm\n"),
	                   "%s", out);
	cr_assert_not_null(strstr(out, "in use:         yes"), "%s", out);
	cr_assert_not_null(strstr(out, "index:          saved index is valid\n"), "%s", out);
	close_ok(&dev);
	cr_assert_eq(tool(out, sizeof(out), "list missing.tap"), 1);
}

/* A mistake: what is wrong on the first line, then the usage, exit status 2. */
static void tool_mistake(const char *arguments, const char *first_line)
{
	char out[4096];

	cr_assert_eq(tool(out, sizeof(out), arguments), 2, "rmt-vtape %s: %s", arguments, out);
	cr_assert_eq(strncmp(out, first_line, strlen(first_line)), 0, "rmt-vtape %s: %s", arguments,
	             out);
	cr_assert_eq(out[strlen(first_line)], '\n', "rmt-vtape %s: %s", arguments, out);
	cr_assert_not_null(strstr(out, "\nusage: rmt-vtape create"), "%s", out);
}

Test(vtape, rmt_vtape_says_what_is_wrong_before_the_usage)
{
	tool_mistake("", "rmt-vtape: no command");
	tool_mistake("frobnicate t.tap", "rmt-vtape: unknown command 'frobnicate'");
	tool_mistake("create", "rmt-vtape: create: no FILE.tap named");
	tool_mistake("create a.tap b.tap", "rmt-vtape: create: one FILE.tap, not more");
	tool_mistake("create --bogus t.tap", "rmt-vtape: create: unknown option '--bogus'");
	tool_mistake("create -wx t.tap", "rmt-vtape: create: unknown option '-x'");
	tool_mistake("create --capacity",
	             "rmt-vtape: create: this option wants a value: '--capacity'");
	tool_mistake("create -c", "rmt-vtape: create: this option wants a value: '-c'");
	tool_mistake("list", "rmt-vtape: list takes one FILE.tap");
	tool_mistake("info a.tap b.tap", "rmt-vtape: info takes one FILE.tap");
	tool_mistake("write-protect on",
	             "rmt-vtape: write-protect takes on or off, then one FILE.tap");
	tool_mistake("write-protect maybe t.tap",
	             "rmt-vtape: write-protect takes on or off, not 'maybe'");
	for (const char *const *name = (const char *const[]){"t.tap", "a.tap", NULL}; *name;
	     name++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", dir, *name);
		cr_assert_eq(access(path, F_OK), -1, "a mistake created %s", path);
	}
}

Test(vtape, rmt_vtape_create_refuses_names_rmtd_would_not_serve_as_a_tape)
{
	char out[4096], path[PATH_MAX + 32];

	/* rmtd serves only NAME.tap as a virtual tape; NAME.tap.rewind is NAME.tap */
	cr_assert_eq(tool(out, sizeof(out), "create backup.img"), 2, "%s", out);
	cr_assert_not_null(strstr(out, "ends in .tap"), "%s", out);
	snprintf(path, sizeof(path), "%s/backup.img", dir);
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(tool(out, sizeof(out), "create t.tap.rewind"), 2, "%s", out);
	cr_assert_not_null(strstr(out, "rewinding name of t.tap"), "%s", out);
	snprintf(path, sizeof(path), "%s/t.tap.rewind", dir);
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(tool(out, sizeof(out), "create .tap"), 2, "%s", out);
	cr_assert_eq(tool(out, sizeof(out), "create t.tap"), 0, "%s", out);
}

Test(vtape, rmt_vtape_write_protect_toggles_the_tab)
{
	char out[4096];
	struct tapeimage_meta meta;
	struct device dev;
	int fd;

	make_tape("t.tap", 1 << 20, 0, false);
	cr_assert_eq(tool(out, sizeof(out), "write-protect on t.tap"), 0, "%s", out);
	cr_assert_eq(open_ex(&dev, "t.tap", O_RDWR, false, 0), -EROFS);
	read_meta_file("t.tap", &meta);
	cr_assert(meta.write_protect);
	cr_assert_eq(meta.capacity, 1 << 20, "the rest of the metadata is kept");
	tapeimage_meta_free(&meta);

	/* A drive holding the tape would write its own copy back: refused, tab unchanged. */
	open_ok(&dev, "t.tap", O_RDONLY);
	cr_assert_eq(tool(out, sizeof(out), "write-protect off t.tap"), 1);
	cr_assert_not_null(strstr(out, "in use by a drive"), "%s", out);
	close_ok(&dev);
	read_meta_file("t.tap", &meta);
	cr_assert(meta.write_protect);
	tapeimage_meta_free(&meta);

	cr_assert_eq(tool(out, sizeof(out), "write-protect off t.tap"), 0, "%s", out);
	open_ok(&dev, "t.tap", O_RDWR);
	cr_assert_eq(put(&dev, 10, 'a'), 10);
	close_ok(&dev);

	cr_assert_eq(tool(out, sizeof(out), "write-protect maybe t.tap"), 2);
	cr_assert_eq(tool(out, sizeof(out), "write-protect on"), 2);
	cr_assert_eq(tool(out, sizeof(out), "write-protect on missing.tap"), 1);
	cr_assert_not_null(strstr(out, "No such file"), "%s", out);

	/* An image copied from elsewhere has no .meta: it gets one, still without a limit. */
	fd = open(path_of("bare.tap"), O_WRONLY | O_CREAT | O_EXCL, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(tool(out, sizeof(out), "write-protect on bare.tap"), 0, "%s", out);
	read_meta_file("bare.tap", &meta);
	cr_assert(meta.write_protect);
	cr_assert_eq(meta.capacity, 0);
	tapeimage_meta_free(&meta);
	cr_assert_eq(open_ex(&dev, "bare.tap", O_WRONLY, false, 0), -EROFS);
}

Test(vtape, torn_tail_described_by_a_saved_index_is_repaired_too)
{
	struct device dev;
	struct tapeimage_index index;
	char name[PATH_MAX];
	uint32_t check;
	int img, idx;
	off_t good;

	three_files("t.tap", &dev);
	close_ok(&dev);
	good = image_size("t.tap");
	append_raw("t.tap", "\x10\x00\x00\x00half", 8);
	/* An index that already knows about the torn tail (saved by an open that could not
	 * cut it) is valid for the image: the open must still repair. */
	img = open(path_of("t.tap"), O_RDONLY);
	tapeimage_index_init(&index);
	cr_assert_eq(tapeimage_scan(img, (uint64_t)image_size("t.tap"), &index), 0);
	cr_assert_eq(index.end, TAPEIMAGE_END_TORN);
	cr_assert_eq(tapeimage_tail_check(img, index.file_size, &check), 0);
	snprintf(name, sizeof(name), "%s.idx", path_of("t.tap"));
	idx = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(tapeimage_index_save(idx, &index, check), 0);
	close(idx);
	close(img);
	tapeimage_index_free(&index);
	open_ok(&dev, "t.tap", O_RDONLY);
	cr_assert_eq(image_size("t.tap"), good);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, 3, -1, EOD);
	close_ok(&dev);
}

/* tests/realtape/scripts/26-negative-counts.ops: st hands the sign to SCSI SPACE, so
 * the tape moves the other way, and keeps its bookkeeping for the op's own direction. */
Test(vtape, negative_counts_move_the_other_way)
{
	struct device dev;

	make_tape("neg.tap", 0, 0, false);
	open_ok(&dev, "neg.tap", O_RDWR);
	cr_assert_eq(put(&dev, 100, 'A'), 100);
	cr_assert_eq(op(&dev, MTWEOF, 3), 0);
	cr_assert_eq(put(&dev, 100, 'B'), 100);
	cr_assert_eq(put(&dev, 100, 'C'), 100);
	cr_assert_eq(op(&dev, MTWEOF, 1), 0);
	STATUS(&dev, 4, 0, EOFM);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSF, 2), 0);
	STATUS(&dev, 2, 0, EOFM);
	cr_assert_eq(op(&dev, MTFSF, -1), 0); /* back over the second mark */
	STATUS(&dev, 1, 0, EOFM);
	cr_assert_eq(get(&dev, 65536, 0), 0);
	STATUS(&dev, 2, 0, EOFM);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSF, 4), 0);
	STATUS(&dev, 4, 0, EOFM);
	cr_assert_eq(op(&dev, MTBSF, -1), -EIO); /* forward into EOD */
	STATUS(&dev, 6, 0, EOFM | 0x08000000ul);
	cr_assert_eq(get(&dev, 65536, 0), -EIO);
	STATUS(&dev, 6, 0, EOFM | 0x08000000ul);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSF, 3), 0);
	STATUS(&dev, 3, 0, EOFM);
	cr_assert_eq(op(&dev, MTFSR, 2), 0);
	STATUS(&dev, 3, 2, MID);
	cr_assert_eq(op(&dev, MTBSR, -1), -EIO); /* forward over the last mark */
	STATUS(&dev, 2, -1, MID);
	cr_assert_eq(get(&dev, 65536, 0), -EIO);
	STATUS(&dev, 2, -1, MID);
	cr_assert_eq(op(&dev, MTFSR, -1), -EIO); /* back to before that mark */
	STATUS(&dev, 3, 0, EOFM);
	cr_assert_eq(get(&dev, 65536, 0), 0);
	STATUS(&dev, 4, 0, EOFM);
	/* Writing filemarks with a negative count is refused. */
	cr_assert_eq(op(&dev, MTWEOF, -1), -EINVAL);
	cr_assert_eq(op(&dev, MTSEEK, -1), -EIO); /* an unsigned block: past the end */
	STATUS(&dev, -1, -1, MID);
	close_ok(&dev);
}

/* tests/realtape/scripts/24-blank-tape-spacing.ops. */
Test(vtape, spacing_on_a_blank_tape_and_position_at_bop)
{
	struct device dev;

	make_tape("blank.tap", 0, 0, false);
	open_ok(&dev, "blank.tap", O_RDWR);
	cr_assert_eq(op(&dev, MTFSF, 1), -EIO);
	STATUS(&dev, 0, -1, EOD);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTFSR, 1), -EIO);
	STATUS(&dev, 0, 0, BOT | 0x08000000ul);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(op(&dev, MTBSF, 1), -EIO);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(op(&dev, MTBSR, 1), -EIO);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(op(&dev, MTEOM, 1), 0);
	STATUS(&dev, 0, -1, EOD);
	/* READ POSITION says BOP: st sets file and block to 0. */
	cr_assert_eq(where(&dev), 0);
	STATUS(&dev, 0, 0, BOT | 0x08000000ul);
	cr_assert_eq(op(&dev, MTREW, 1), 0);
	cr_assert_eq(where(&dev), 0);
	STATUS(&dev, 0, 0, BOT);
	close_ok(&dev);
}

Test(vtape, an_open_that_changes_nothing_does_not_rewrite_the_metadata)
{
	struct device dev;
	char meta[PATH_MAX];
	struct stat before, after;

	two_files("t.tap", &dev);
	close_ok(&dev);
	snprintf(meta, sizeof(meta), "%s.meta", path_of("t.tap"));
	cr_assert_eq(stat(meta, &before), 0);
	open_ok(&dev, "t.tap", O_RDONLY);
	STATUS(&dev, 0, 0, BOT);
	cr_assert_eq(op(&dev, MTNOP, 1), 0);
	close_ok(&dev);
	cr_assert_eq(stat(meta, &after), 0);
	cr_assert_eq(before.st_ino, after.st_ino, "the .meta was replaced");
	/* A change of position is saved (a new file replaces the old one). */
	open_ok(&dev, "t.tap", O_RDONLY);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	close_ok(&dev);
	cr_assert_eq(stat(meta, &after), 0);
	cr_assert_neq(before.st_ino, after.st_ino);
}

Test(vtape, planted_fifos_do_not_hang_the_drive)
{
	struct device dev;
	char name[PATH_MAX];

	cr_assert_eq(mkfifo(path_of("fifo.tap"), 0600), 0);
	cr_assert_eq(open_ex(&dev, "fifo.tap", O_RDONLY, false, 0), -EINVAL);
	cr_assert_eq(open_ex(&dev, "fifo.tap", O_RDWR, false, 0), -EINVAL);

	two_files("t.tap", &dev);
	close_ok(&dev);
	snprintf(name, sizeof(name), "%s.idx", path_of("t.tap"));
	cr_assert_eq(unlink(name), 0);
	cr_assert_eq(mkfifo(name, 0600), 0); /* the index is rebuilt by a scan instead */
	snprintf(name, sizeof(name), "%s.meta.new", path_of("t.tap"));
	cr_assert_eq(mkfifo(name, 0600), 0); /* saving the position fails, and says so */
	open_ok(&dev, "t.tap", O_RDONLY);
	cr_assert_eq(op(&dev, MTFSF, 1), 0);
	cr_assert_eq(get(&dev, 1000, 'C'), 300);
	cr_assert_eq(ops->close(&dev), -ENXIO);
}
