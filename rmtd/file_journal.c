/*
 * file_journal.c - how much of a plain file being written is whole records
 * (file_journal.h says why and when).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "file_journal.h"
#include "log.h"
#include "path.h"

/* The journal's directory (O_PATH) and name, for the file name below directory_fd. */
static int journal_locate(int directory_fd, const char *name, char journal[NAME_MAX + 1])
{
	const char *base;
	int parent = path_open_parent(directory_fd, name, O_PATH, &base);

	if (parent < 0)
		return parent;
	if ((size_t)snprintf(journal, NAME_MAX + 1, "%s%s", base, FILE_JOURNAL_SUFFIX) > NAME_MAX) {
		close(parent);
		return -ENAMETOOLONG;
	}
	return parent;
}

static void journal_log(const char *canonical, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void journal_log(const char *canonical, const char *fmt, ...)
{
	char shown[4 * 256 + 1], what[512]; /* the longest message with three 20-digit numbers */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", escape_text(shown, sizeof(shown), canonical), what);
}

/* The journal judged against the file; a journal that is no regular file is foreign. */
static enum file_journal_verdict journal_read(int journal_fd, const struct stat *st,
                                              struct file_journal_page *page)
{
	unsigned char bytes[sizeof(*page) + 1];
	struct stat js;
	ssize_t n;

	if (fstat(journal_fd, &js) < 0 || !S_ISREG(js.st_mode) || js.st_nlink != 1)
		n = 0;
	else
		n = pread(journal_fd, bytes, sizeof(bytes), 0);
	return file_journal_judge(bytes, n > 0 ? (size_t)n : 0, st, page);
}

/* Cut the file to length; fd may be read-only, then a second open writes. */
static int journal_cut(int directory_fd, const char *name, int fd, int flags, const struct stat *st,
                       uint64_t length)
{
	int writer = fd, error = 0;
	struct stat ws;

	if ((flags & O_ACCMODE) == O_RDONLY) {
		writer = path_open_beneath(directory_fd, name, O_WRONLY | O_NONBLOCK, 0);
		if (writer < 0)
			return writer;
		if (fstat(writer, &ws) < 0)
			error = -errno;
		else if (ws.st_dev != st->st_dev || ws.st_ino != st->st_ino)
			error = -ESTALE; /* replaced since it was opened */
	}
	if (error == 0 && (ftruncate(writer, (off_t)length) < 0 || fdatasync(writer) < 0))
		error = -errno;
	if (writer != fd)
		close(writer);
	return error;
}

int file_journal_recover(int directory_fd, const char *name, int fd, int flags, struct stat *st,
                         const char *canonical)
{
	struct file_journal_page page;
	char journal[NAME_MAX + 1];
	int parent, journal_fd, error = 0;
	uint64_t size = (uint64_t)st->st_size, tail;

	parent = journal_locate(directory_fd, name, journal);
	if (parent < 0)
		return 0; /* no journal can be there either */
	journal_fd = openat(parent, journal, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (journal_fd < 0) {
		close(parent);
		return 0;
	}
	switch (journal_read(journal_fd, st, &page)) {
	case FILE_JOURNAL_FOREIGN:
		journal_log(canonical, "%s is not this file's journal; removed", journal);
		break;
	case FILE_JOURNAL_WHOLE:
		journal_log(canonical,
		            "the last process writing this file ended without closing it; the "
		            "file ends with its last whole record (%llu bytes)",
		            (unsigned long long)size);
		break;
	case FILE_JOURNAL_CUT:
		tail = size - page.whole;
		error = journal_cut(directory_fd, name, fd, flags, st, page.whole);
		if (error < 0) {
			journal_log(
			    canonical,
			    "the last process writing this file was killed inside a record, "
			    "whose first %llu bytes cannot be cut off now (%s); the next "
			    "open tries again",
			    (unsigned long long)tail, strerror(-error));
			goto keep;
		}
		st->st_size = (off_t)page.whole;
		journal_log(
		    canonical,
		    "the last process writing this file was killed inside the write of a "
		    "%llu-byte record it had not acknowledged; cut off the %llu bytes of it "
		    "that had reached the file, which ends with its last whole record "
		    "(%llu bytes)",
		    (unsigned long long)page.in_flight, (unsigned long long)tail,
		    (unsigned long long)page.whole);
		break;
	case FILE_JOURNAL_JUST_AFTER:
		journal_log(canonical,
		            "the last process writing this file ended without closing it, just "
		            "after writing a %llu-byte record it may not have acknowledged; the "
		            "file ends with that record (%llu bytes)",
		            (unsigned long long)page.in_flight, (unsigned long long)size);
		break;
	case FILE_JOURNAL_UNSURE:
		journal_log(canonical,
		            "the last process writing this file ended without closing it; the "
		            "file (%llu bytes) is left as it is (its journal says %llu)",
		            (unsigned long long)size, (unsigned long long)page.whole);
		break;
	}
	unlinkat(parent, journal, 0); /* one left behind is looked at again, harmlessly */
keep:
	close(journal_fd);
	close(parent);
	/* A reader reads what is there; a writer does not write after a torn record. */
	return (flags & O_ACCMODE) == O_RDONLY ? 0 : error;
}

void file_journal_begin(struct file_journal *j, int directory_fd, const char *name,
                        const struct stat *st, const char *canonical)
{
	struct file_journal_page page;
	char journal[NAME_MAX + 1];
	int journal_fd, error;
	void *mapped;

	j->page = NULL;
	j->base = NULL;
	j->parent_fd = journal_locate(directory_fd, name, journal);
	if (j->parent_fd < 0) {
		error = j->parent_fd;
		goto none;
	}
	file_journal_page_init(&page, st);
	journal_fd = openat(j->parent_fd, journal,
	                    O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (journal_fd < 0) {
		error = -errno;
		goto none;
	}
	/* Written first, so that its block is there before the mapping's stores (no SIGBUS). */
	if (pwrite(journal_fd, &page, sizeof(page), 0) != (ssize_t)sizeof(page)) {
		error = errno != 0 ? -errno : -ENOSPC;
		goto unlink;
	}
	mapped = mmap(NULL, sizeof(page), PROT_READ | PROT_WRITE, MAP_SHARED, journal_fd, 0);
	if (mapped == MAP_FAILED) {
		error = -errno;
		goto unlink;
	}
	j->base = strdup(journal);
	if (j->base == NULL) {
		munmap(mapped, sizeof(page));
		error = -ENOMEM;
		goto unlink;
	}
	close(journal_fd);
	j->page = mapped;
	return;
unlink:
	unlinkat(j->parent_fd, journal, 0);
	close(journal_fd);
none:
	if (j->parent_fd >= 0)
		close(j->parent_fd);
	j->parent_fd = -1;
	journal_log(canonical,
	            "cannot keep a journal beside it (%s): rmtd killed inside a record's write "
	            "may leave part of that record in the file",
	            strerror(-error));
}

void file_journal_writing(struct file_journal *j, uint64_t length)
{
	if (j->page != NULL)
		__atomic_store_n(&j->page->in_flight, length, __ATOMIC_RELEASE);
}

void file_journal_written(struct file_journal *j, uint64_t size)
{
	if (j->page != NULL) {
		__atomic_store_n(&j->page->whole, size, __ATOMIC_RELEASE);
		__atomic_store_n(&j->page->in_flight, 0, __ATOMIC_RELEASE);
	}
}

int file_journal_end(struct file_journal *j, uint64_t size)
{
	int error = 0;

	if (j->page == NULL)
		return 0;
	file_journal_written(j, size);
	/* Durable before it goes: a journal a power cut brings back says the file is whole. */
	if (msync(j->page, sizeof(*j->page), MS_SYNC) < 0)
		error = -errno;
	if (unlinkat(j->parent_fd, j->base, 0) < 0 && errno != ENOENT && error == 0)
		error = -errno;
	file_journal_drop(j);
	return error;
}

void file_journal_drop(struct file_journal *j)
{
	if (j->page != NULL)
		munmap(j->page, sizeof(*j->page));
	if (j->parent_fd >= 0)
		close(j->parent_fd);
	free(j->base);
	j->page = NULL;
	j->parent_fd = -1;
	j->base = NULL;
}
