/*
 * test_fault.c - the fault drive: its schedule parser, and the wrapper over the
 * file and virtual tape backends (each fault does what the schedule says and
 * nothing else; the calls around it reach the device unchanged).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mtio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "backend_fault.h"
#include "backend_vtape.h"
#include "fault_spec.h"
#include "tapeimage.h"
#include "tapeindex.h"
#include "tapemeta.h"

/* ---------------------------------------------------------------- parser */

static struct fault_schedule parse_ok(const char *text)
{
	struct fault_schedule schedule;
	char error[160];

	cr_assert_eq(fault_schedule_parse(text, strlen(text), &schedule, error, sizeof(error)), 0,
	             "\"%s\": %s", text, error);
	return schedule;
}

static void parse_bad(const char *text, const char *expected)
{
	struct fault_schedule schedule;
	char error[160];

	cr_assert_eq(fault_schedule_parse(text, strlen(text), &schedule, error, sizeof(error)), -1,
	             "\"%s\" was accepted", text);
	cr_assert_not_null(strstr(error, expected), "\"%s\": error \"%s\" lacks \"%s\"", text,
	                   error, expected);
}

Test(fault_spec, every_form_of_rule)
{
	struct fault_schedule s =
	    parse_ok(" write#3=EIO ; write#4=EIO@after;read#2+=5;ioctl#1-4=ENOSPC;"
	             "write#*=short:1000;open#1=delay:250;status#2=hang;any#9=4095;;");
	const struct fault_rule *r = s.rules;

	cr_assert_eq(s.rule_count, 8);
	cr_assert(r[0].call == FAULT_CALL_WRITE && r[0].first == 3 && r[0].last == 3);
	cr_assert(r[0].action == FAULT_FAIL && r[0].error == EIO && !r[0].after);
	cr_assert(r[1].after && r[1].error == EIO);
	cr_assert(r[2].call == FAULT_CALL_READ && r[2].first == 2 && r[2].last == UINT64_MAX);
	cr_assert_eq(r[2].error, 5);
	cr_assert(r[3].call == FAULT_CALL_IOCTL && r[3].first == 1 && r[3].last == 4);
	cr_assert_eq(r[3].error, ENOSPC);
	cr_assert(r[4].action == FAULT_SHORT && r[4].amount == 1000 && r[4].first == 1 &&
	          r[4].last == UINT64_MAX);
	cr_assert(r[5].call == FAULT_CALL_OPEN && r[5].action == FAULT_DELAY && r[5].amount == 250);
	cr_assert(r[6].call == FAULT_CALL_STATUS && r[6].action == FAULT_HANG);
	cr_assert(r[7].call == FAULT_CALL_ANY && r[7].error == 4095);
	cr_assert_eq(parse_ok("").rule_count, 0);
}

Test(fault_spec, errors_name_the_rule_and_what_is_wrong)
{
	char many[FAULT_RULES_MAX * 16 + 16] = "";

	parse_bad("write", "rule 1: expected CALL#WHICH=ACTION");
	parse_bad("write=EIO#3", "rule 1: expected CALL#WHICH=ACTION");
	parse_bad("read#1=EIO;writ#3=EIO", "rule 2: unknown call");
	parse_bad("write#0=EIO", "rule 1: expected N");
	parse_bad("write#5-2=EIO", "rule 1: expected N");
	parse_bad("write#0+=EIO", "rule 1: expected N");
	parse_bad("write#99999999999999999999=EIO", "rule 1: expected N");
	parse_bad("write#1=EWHAT", "rule 1: expected an errno");
	parse_bad("write#1=0", "rule 1: expected an errno");
	parse_bad("write#1=4096", "rule 1: expected an errno");
	parse_bad("write#1=EIO@before", "rule 1: expected an errno");
	parse_bad("write#1=short:", "rule 1: expected an errno");
	parse_bad("write#1=delay:x", "rule 1: expected an errno");
	parse_bad("ioctl#1=short:10", "rule 1: short: applies to read and write only");
	parse_bad("write#1=E\0IO", "rule 1:");
	for (int i = 0; i <= FAULT_RULES_MAX; i++)
		strcat(many, "read#1=EIO;");
	parse_bad(many, "more than 32 rules");
}

Test(fault_spec, first_matching_rule_decides)
{
	struct fault_schedule s = parse_ok("write#2=ENOSPC;write#1-3=EIO;any#5=ENXIO");

	cr_assert_null(fault_schedule_match(&s, FAULT_CALL_READ, 1, 1));
	cr_assert_eq(fault_schedule_match(&s, FAULT_CALL_WRITE, 1, 2)->error, EIO);
	cr_assert_eq(fault_schedule_match(&s, FAULT_CALL_WRITE, 2, 3)->error, ENOSPC);
	cr_assert_eq(fault_schedule_match(&s, FAULT_CALL_WRITE, 3, 4)->error, EIO);
	cr_assert_null(fault_schedule_match(&s, FAULT_CALL_WRITE, 4, 6));
	/* any counts every call together */
	cr_assert_eq(fault_schedule_match(&s, FAULT_CALL_STATUS, 1, 5)->error, ENXIO);
	cr_assert_str_eq(fault_call_name(FAULT_CALL_LOCATE), "locate");
	cr_assert_str_eq(fault_errno_name(ENOMEDIUM), "ENOMEDIUM");
	cr_assert_null(fault_errno_name(4095));
}

/* ---------------------------------------------------------------- the wrapper */

static char dir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void setup(void)
{
	strcpy(dir, "/tmp/fault-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(fault_drive, .init = setup, .fini = teardown, .timeout = 60);

static const char *path_of(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void schedule(const char *text)
{
	struct fault_schedule s = parse_ok(text);

	backend_fault_set_schedule(&s);
}

static int open_wrapped(struct device *dev, const struct backend_ops *inner, const char *name,
                        int flags)
{
	struct open_target t = {
	    .directory_fd = AT_FDCWD,
	    .name = path_of(name),
	    .canonical = path_of(name),
	    .flags = flags,
	    .max_record = 1 << 20,
	};

	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	dev->ops = backend_fault_wrap(inner);
	return dev->ops->open(dev, &t);
}

static off_t size_of(const char *name)
{
	struct stat st;

	cr_assert_eq(stat(path_of(name), &st), 0);
	return st.st_size;
}

Test(fault_drive, write_faults_before_after_and_short)
{
	struct device dev;
	char record[100];

	memset(record, 'r', sizeof(record));
	schedule("write#2=EIO;write#3=ENOSPC@after;write#4=short:30");
	cr_assert_eq(open_wrapped(&dev, &backend_file_ops, "f", O_WRONLY | O_CREAT), 0);
	cr_assert_str_eq(dev.ops->name, "fault+file");
	cr_assert_eq(dev.ops->write(&dev, record, 100), 100);
	/* before: nothing reached the file */
	cr_assert_eq(dev.ops->write(&dev, record, 100), -EIO);
	cr_assert_eq(size_of("f"), 100);
	/* after: the record was written, the error reported */
	cr_assert_eq(dev.ops->write(&dev, record, 100), -ENOSPC);
	cr_assert_eq(size_of("f"), 200);
	/* short: the device got 30 bytes and said so */
	cr_assert_eq(dev.ops->write(&dev, record, 100), 30);
	cr_assert_eq(size_of("f"), 230);
	cr_assert_eq(dev.ops->write(&dev, record, 100), 100);
	cr_assert_eq(backend_fault_calls(FAULT_CALL_WRITE), 5);
	cr_assert_eq(dev.ops->close(&dev), 0);
	cr_assert_eq(size_of("f"), 330);
}

Test(fault_drive, open_close_read_and_seek_faults)
{
	struct device dev;
	char buffer[64];
	int fd = open(path_of("g"), O_WRONLY | O_CREAT, 0644);

	cr_assert_eq(write(fd, "0123456789", 10), 10);
	close(fd);
	schedule("open#1=EACCES;open#2=EROFS@after;read#1=short:4;read#2=EIO;seek#1=ESPIPE;"
	         "close#1=EIO");
	cr_assert_eq(open_wrapped(&dev, &backend_file_ops, "h", O_WRONLY | O_CREAT), -EACCES);
	cr_assert_eq(access(path_of("h"), F_OK), -1, "a failed open created the file");
	/* opened, then failed: the device is closed again */
	cr_assert_eq(open_wrapped(&dev, &backend_file_ops, "g", O_RDONLY), -EROFS);
	cr_assert_eq(open_wrapped(&dev, &backend_file_ops, "g", O_RDONLY), 0);
	cr_assert_eq(dev.ops->read(&dev, buffer, sizeof(buffer)), 4);
	cr_assert_eq(memcmp(buffer, "0123", 4), 0);
	cr_assert_eq(dev.ops->read(&dev, buffer, sizeof(buffer)), -EIO);
	cr_assert_eq(dev.ops->seek(&dev, 0, SEEK_SET), -ESPIPE);
	cr_assert_eq(dev.ops->read(&dev, buffer, sizeof(buffer)), 6, "the seek moved the file");
	cr_assert_eq(memcmp(buffer, "456789", 6), 0);
	cr_assert_eq(dev.ops->seek(&dev, 2, SEEK_SET), 2);
	fd = dev.fd;
	/* close fails, yet releases the descriptor */
	cr_assert_eq(dev.ops->close(&dev), -EIO);
	cr_assert_eq(fcntl(fd, F_GETFD), -1);
	cr_assert_eq(backend_fault_calls(FAULT_CALL_OPEN), 3);
	cr_assert_eq(backend_fault_calls(FAULT_CALL_ANY), 9);
}

Test(fault_drive, delay_makes_the_call_late)
{
	struct device dev;
	struct timespec start, end;
	char byte = 'x';

	schedule("write#1=delay:150");
	cr_assert_eq(open_wrapped(&dev, &backend_file_ops, "d", O_WRONLY | O_CREAT), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	cr_assert_eq(dev.ops->write(&dev, &byte, 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &end);
	cr_assert_geq((end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000,
	              150);
	cr_assert_eq(dev.ops->close(&dev), 0);
	cr_assert_eq(size_of("d"), 1);
}

Test(fault_drive, hang_never_returns)
{
	pid_t child;
	int status;

	schedule("status#1=hang");
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct device dev;
		struct tapeimage_meta meta;
		struct mtget mt;

		tapeimage_meta_init(&meta, 1 << 20);
		if (vtape_create(AT_FDCWD, path_of("hang.tap"), &meta) < 0 ||
		    open_wrapped(&dev, &backend_vtape_ops, "hang.tap", O_RDONLY) < 0)
			_exit(3);
		dev.ops->status(&dev, &mt);
		_exit(4); /* returned: the hang did not hang */
	}
	usleep(500 * 1000);
	cr_assert_eq(waitpid(child, &status, WNOHANG), 0, "the hung call returned");
	kill(child, SIGKILL);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFSIGNALED(status));
}

Test(fault_drive, tape_operations_and_status_on_a_virtual_tape)
{
	struct device dev;
	struct tapeimage_meta meta;
	struct mtget mt;
	struct tapeimage_index index;
	char record[512];
	int64_t block;

	memset(record, 'v', sizeof(record));
	tapeimage_meta_init(&meta, 1 << 20);
	cr_assert_eq(vtape_create(AT_FDCWD, path_of("t.tap"), &meta), 0);
	tapeimage_meta_free(&meta);
	schedule("ioctl#1=EIO;status#1=ENXIO;position#1=EIO;locate#1=EIO");
	cr_assert_eq(open_wrapped(&dev, &backend_vtape_ops, "t.tap", O_RDWR), 0);
	cr_assert_str_eq(dev.ops->name, "fault+vtape");
	cr_assert(dev.is_tape);
	cr_assert_eq(dev.ops->write(&dev, record, sizeof(record)), 512);
	/* the filemark is refused before it reaches the tape */
	cr_assert_eq(dev.ops->tape_op(&dev, MTWEOF, 1), -EIO);
	cr_assert_eq(dev.ops->status(&dev, &mt), -ENXIO);
	cr_assert_eq(dev.ops->status(&dev, &mt), 0);
	cr_assert_eq(mt.mt_fileno, 0, "a refused filemark moved the tape");
	cr_assert_eq(mt.mt_blkno, 1);
	cr_assert_eq(dev.ops->position(&dev, &block), -EIO);
	cr_assert_eq(dev.ops->position(&dev, &block), 0);
	cr_assert_eq(block, 1);
	cr_assert_eq(dev.ops->locate(&dev, 0), -EIO);
	cr_assert_eq(dev.ops->tape_op(&dev, MTWEOF, 1), 0);
	cr_assert_eq(dev.ops->close(&dev), 0);
	/* the image holds one record and one filemark */
	int fd = open(path_of("t.tap"), O_RDONLY);
	cr_assert_geq(fd, 0);
	tapeimage_index_init(&index);
	cr_assert_eq(tapeimage_scan(fd, (uint64_t)size_of("t.tap"), &index), 0);
	close(fd);
	cr_assert_eq(index.end, TAPEIMAGE_END_CLEAN);
	cr_assert_eq(index.n_objects, 2);
	cr_assert_eq(index.n_marks, 1);
	tapeimage_index_free(&index);
}
