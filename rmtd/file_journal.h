/*
 * file_journal.h - how much of a plain file being written is whole records,
 * kept where a kill cannot tear it, so that the next open cuts off a record a
 * kill tore.
 *
 * The kernel copies a write(2) to the page cache a page at a time and stops
 * between pages when the process is killed, so a SIGKILL (the OOM killer, a
 * crashed host's watchdog, kill -9) inside the write of a record can leave its
 * first pages in the file. While a session writes a regular file, NAME.rmtd-journal
 * beside it holds the file's length after its last whole record and the length
 * of the record being written, updated by plain stores into a shared mapping:
 * no system call per record, and a store is never half done. The next open
 * (any mode) that finds a journal cuts the torn part off, logs it and removes
 * the journal; a clean close removes it. The page is synced at close, so a
 * power cut after the close never cuts what the close made durable.
 */
#ifndef RMTD_FILE_JOURNAL_H
#define RMTD_FILE_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* The journal's name is the file's with this added; clients cannot open it (path.c). */
#define FILE_JOURNAL_SUFFIX ".rmtd-journal"

/* The journal file as it is on disk and mapped; native byte order (it never leaves the host). */
struct file_journal_page {
	char magic[16];
	uint64_t device; /* the file's st_dev and st_ino: a journal for another file is stale */
	uint64_t inode;
	uint64_t whole;     /* the file's length after its last whole record */
	uint64_t in_flight; /* the length of the record being written, 0: none */
};

/* A new journal for the file st describes, st_size bytes long and nothing in flight. */
void file_journal_page_init(struct file_journal_page *page, const struct stat *st);

/* What a journal found at open says to do with the file (file_journal_judge.c, no I/O). */
enum file_journal_verdict {
	FILE_JOURNAL_FOREIGN,    /* not a journal, or another file's: nothing to do */
	FILE_JOURNAL_WHOLE,      /* the file ends with its last whole record */
	FILE_JOURNAL_CUT,        /* the file goes back to page->whole bytes: the rest is torn */
	FILE_JOURNAL_JUST_AFTER, /* the file ends with the whole record that was in flight */
	FILE_JOURNAL_UNSURE,     /* the file is not as the journal says: left as it is */
};

/*
 * Judge length bytes read from a journal against the file st describes; *page gets
 * them (zeroed when they are too few). Only FILE_JOURNAL_CUT changes the file, and
 * then by less than one record of at most RMT_MAX_RECORD_DEFAULT bytes.
 */
enum file_journal_verdict file_journal_judge(const void *bytes, size_t length,
                                             const struct stat *st, struct file_journal_page *page);

struct file_journal {
	struct file_journal_page *page; /* the mapped journal, NULL: none kept */
	int parent_fd;                  /* the directory that holds it (O_PATH) */
	char *base;                     /* its name in that directory */
};

/*
 * At open, with the file's lock held: a journal left by a writer that did not
 * close cuts the torn record's part off the file (fd, opened with flags; a
 * read-only fd is helped by a second, writing open) and goes. *st is the
 * file's, updated when it is cut. 0, or -errno when a journal is there but the
 * file could not be repaired (the journal stays for a later open).
 */
int file_journal_recover(int directory_fd, const char *name, int fd, int flags, struct stat *st,
                         const char *canonical);
/*
 * Start keeping a journal for a file opened for writing, now length bytes
 * long. Where none can be made (a directory rmtd may not create in, a full
 * disk) the file is written without one, as the log says; j->page is NULL.
 */
void file_journal_begin(struct file_journal *j, int directory_fd, const char *name,
                        const struct stat *st, const char *canonical);
/* Before a record of length bytes goes into the file. */
void file_journal_writing(struct file_journal *j, uint64_t length);
/* After it: the file is size bytes long and ends with whole records. */
void file_journal_written(struct file_journal *j, uint64_t size);
/*
 * The writer is done, its data synced: the journal says so durably, then goes.
 * 0, or -errno (the file itself is fine; a later open finds nothing to cut).
 */
int file_journal_end(struct file_journal *j, uint64_t size);
/* Let go of it as it is (a failed open): the next open looks at it. */
void file_journal_drop(struct file_journal *j);

#endif
