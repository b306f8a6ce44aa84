/*
 * fuzz_vtape.c - libFuzzer target for the virtual tape backend on whole images with
 * their sidecars (rmtd/backend_vtape.c over rmtd/tapeimage.c).
 *
 * Input: [u8 flags][u16 LE .meta length][.meta text][u16 LE .idx length][.idx bytes]
 * [u16 LE image length][image bytes][operation bytes...]. A length past the input's end
 * takes what is left. Flags bit 0 leaves the .meta out, bit 1 the .idx, bit 2 opens
 * read-only, bit 3 opens the rewinding variant. The files are written as NAME.tap,
 * NAME.tap.meta and NAME.tap.idx in a private directory (tmpfs when there is one); then
 * rmt-vtape's inspection reads them, the tape is opened as a drive, the operations run
 * (read, write, filemarks, spacing, locate, status, position, drive options), it is
 * closed, inspected and opened once more. Besides "never crash", it checks what a
 * client relies on: a read never reports more than it was asked for, a status or
 * position that succeeds is sane, and a tape that closed cleanly opens again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mtio.h>
#include <unistd.h>

#include "backend.h"
#include "backend_vtape.h"
#include "vtape_internal.h"
#include "fuzz_common.h"

#define MAX_OPS    64
#define MAX_RECORD (256 * 1024)
#define IMAGE      "fuzz.tap"
#define MAX_IMAGE  (1 << 20)

/*
 * At most this many fixed-size blocks in one read or write: a call walks its
 * blocks one by one, and 64 calls of 64 Ki one-byte blocks (a .meta may say
 * block_size=1) made single inputs take half a second of a campaign's time.
 */
#define MAX_BLOCKS_PER_CALL 256

/* The next length-prefixed part of the input. */
static const uint8_t *take_part(struct input *in, size_t *length, size_t max)
{
	size_t want = take(in, 2);
	const uint8_t *part = in->p;

	if (want > in->left)
		want = in->left;
	if (want > max)
		want = max;
	in->p += want;
	in->left -= want;
	*length = want;
	return part;
}

static int dir_fd = -1;
static char dir_path[256];
static uint8_t buffer[MAX_RECORD];

static void make_directory(void)
{
	const char *bases[] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]) && dir_fd < 0; i++) {
		if (bases[i] == NULL)
			continue;
		snprintf(dir_path, sizeof(dir_path), "%s/fuzz_vtape.XXXXXX", bases[i]);
		if (mkdtemp(dir_path) != NULL)
			dir_fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	REQUIRE(dir_fd >= 0);
}

static void remove_directory(void)
{
	const char *names[] = {IMAGE, IMAGE ".meta", IMAGE ".idx", IMAGE ".meta.new",
	                       IMAGE ".idx.new"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlinkat(dir_fd, names[i], 0);
	close(dir_fd);
	rmdir(dir_path);
}

/* Write NAME (or remove it when data is NULL); truncated, not replaced: no inode to free. */
static void put_file(const char *name, const uint8_t *data, size_t length)
{
	int fd;

	if (data == NULL) {
		unlinkat(dir_fd, name, 0);
		return;
	}
	fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(length == 0 || write(fd, data, length) == (ssize_t)length);
	close(fd);
}

static int open_tape(struct device *dev, int flags, bool rewind)
{
	struct open_target t;

	memset(&t, 0, sizeof(t));
	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	dev->ops = &backend_vtape_ops;
	t.directory_fd = dir_fd;
	t.name = IMAGE;
	t.canonical = IMAGE;
	t.flags = flags;
	t.rewind_on_close = rewind;
	t.max_record = MAX_RECORD;
	return dev->ops->open(dev, &t);
}

static void inspect(void)
{
	struct vtape_inspection inspection;

	memset(&inspection, 0, sizeof(inspection));
	if (vtape_inspect(dir_fd, IMAGE, &inspection) == 0) {
		REQUIRE(inspection.index.data_size <= inspection.image_size);
		vtape_inspection_free(&inspection);
	}
}

static void check_status(struct device *dev)
{
	struct mtget status;
	int64_t block;

	if (dev->ops->status(dev, &status) == 0)
		REQUIRE(status.mt_type != 0);
	if (dev->ops->position(dev, &block) == 0)
		REQUIRE(block >= 0);
}

/*
 * The length of a record to write: below 1 KiB, or, when the first two bytes have
 * their top six bits set, any length up to 64 KiB from two more. Large records stay
 * within reach, but do not make every input grow the image by megabytes: the
 * backend's check of an image's tail reads up to 64 KiB at each index load and save.
 */
static size_t record_length(struct input *in)
{
	unsigned v = take(in, 2);

	return (v >> 10) == 0x3f ? take(in, 2) : v & 0x3ff;
}

/*
 * A read or write length within MAX_BLOCKS_PER_CALL blocks of the drive's block
 * size, read from the drive's settings (an MTIOCGET would flush st's read-ahead
 * and so change what is fuzzed); still a whole number of blocks when cut.
 */
static size_t bounded_length(struct device *dev, size_t length)
{
	size_t block = vtape_of(dev)->meta.block_size;

	if (block > 0 && length / block > MAX_BLOCKS_PER_CALL)
		length = block * MAX_BLOCKS_PER_CALL;
	return length;
}

/* One operation from the input; the tape ops take a small signed count. */
static void run_op(struct device *dev, struct input *in)
{
	static const int tape_ops[] = {MTFSF,  MTBSF,    MTFSR,   MTBSR,          MTWEOF,
	                               MTREW,  MTNOP,    MTEOM,   MTERASE,        MTSETBLK,
	                               MTFSFM, MTBSFM,   MTWEOFI, MTSETDRVBUFFER, MTOFFL,
	                               MTLOAD, MTUNLOAD, MTRETEN, MTSETDENSITY,   MTCOMPRESSION};
	unsigned op = take(in, 1);
	int count = (int)(int8_t)take(in, 1);
	size_t length;
	ssize_t n;

	switch (op % 8) {
	case 0: /* read */
		length = bounded_length(dev, take(in, 2) * 4u);
		n = dev->ops->read(dev, buffer, length);
		REQUIRE(n <= (ssize_t)length);
		break;
	case 1: /* write a record of a repeated byte */
		length = bounded_length(dev, record_length(in));
		memset(buffer, count, length);
		n = dev->ops->write(dev, buffer, length);
		REQUIRE(n <= (ssize_t)length);
		break;
	case 2:
	case 3:
	case 4: {
		int tape_op = tape_ops[take(in, 1) % (sizeof(tape_ops) / sizeof(tape_ops[0]))];

		/* Block sizes and drive options want larger values than a byte gives. */
		if (tape_op == MTSETBLK)
			count = (count & 0x0f) * 512;
		else if (tape_op == MTSETDRVBUFFER)
			count = (int)take(in, 4);
		dev->ops->tape_op(dev, tape_op, count);
		break;
	}
	case 5:
		dev->ops->locate(dev, (int64_t)take(in, 2) - 8);
		break;
	case 6:
		dev->ops->seek(dev, count, (int)(take(in, 1) % 5));
		break;
	default:
		check_status(dev);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	const uint8_t *meta, *idx, *image;
	size_t meta_length, idx_length, image_length;
	unsigned flags;
	struct device dev;
	int open_flags, error;

	if (dir_fd < 0) {
		make_directory();
		atexit(remove_directory);
	}
	flags = take(&in, 1);
	meta = take_part(&in, &meta_length, 64 * 1024);
	idx = take_part(&in, &idx_length, MAX_IMAGE);
	image = take_part(&in, &image_length, MAX_IMAGE);
	put_file(IMAGE, image, image_length);
	put_file(IMAGE ".meta", flags & 1 ? NULL : meta, meta_length);
	put_file(IMAGE ".idx", flags & 2 ? NULL : idx, idx_length);
	unlinkat(dir_fd, IMAGE ".meta.new", 0);
	unlinkat(dir_fd, IMAGE ".idx.new", 0);

	inspect();
	open_flags = flags & 4 ? O_RDONLY : O_RDWR;
	if (open_tape(&dev, open_flags, (flags & 8) != 0) < 0)
		return 0;
	check_status(&dev);
	for (int i = 0; i < MAX_OPS && in.left > 0; i++)
		run_op(&dev, &in);
	error = dev.ops->close(&dev);
	inspect();

	/* What this drive left behind, a drive must be able to load again. */
	if (error == 0) {
		REQUIRE(open_tape(&dev, O_RDONLY, false) == 0);
		check_status(&dev);
		dev.ops->read(&dev, buffer, sizeof(buffer));
		dev.ops->close(&dev);
	}
	return 0;
}
