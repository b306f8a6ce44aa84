/*
 * path.h - where a client may open: the answer to "which device does this name
 * mean, and may this caller open it with these flags?".
 *
 * Resolution is lexical and does no I/O, so it can run on the event loop: the
 * name is normalised, checked against the allowed directories and the tape
 * device names, and turned into a canonical name (the drive's identity). The
 * open itself happens later on the drive's worker with path_open_beneath(),
 * which makes the kernel enforce the same rule (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), so a symlink swapped in after the check cannot lead out.
 */
#ifndef RMTD_PATH_H
#define RMTD_PATH_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#define PATH_ALLOWED_MAX 64

struct allowed_directory {
	char path[PATH_MAX]; /* canonical, absolute, no trailing slash */
	int fd;              /* O_PATH | O_DIRECTORY descriptor, opened at start-up */
	bool may_create;     /* O_CREAT, O_TRUNC and O_APPEND are honoured below it */
};

/* A drive the administrator declared by name (vt0 -> /srv/tapes/vt0.tap, st0 -> /dev/nst0). */
struct declared_drive {
	char name[64];
	char device[PATH_MAX]; /* absolute */
};

struct path_policy {
	struct allowed_directory directories[PATH_ALLOWED_MAX];
	int directory_count;
	struct declared_drive drives[PATH_ALLOWED_MAX];
	int drive_count;
	bool allow_tape_devices; /* /dev/nst* and /dev/st* */
};

enum device_kind {
	DEVICE_KIND_FILE,  /* regular file, FIFO, or non-tape device below an allowed dir */
	DEVICE_KIND_VTAPE, /* NAME.tap below an allowed dir (NAME.tap.rewind: rewinding) */
	DEVICE_KIND_TAPE,  /* /dev/nst*, /dev/st* */
};

struct resolved_path {
	enum device_kind kind;
	char canonical[PATH_MAX]; /* drive identity and what logs show */
	int directory_fd;         /* where to open (AT_FDCWD for tape devices) */
	char name[PATH_MAX];      /* relative to directory_fd (absolute for tape devices) */
	int flags;                /* flags after the policy */
	bool rewind_on_close;     /* /dev/st* or NAME.tap.rewind */
	char drive_name[64];      /* the declared drive's name, "" for other names */
};

void path_policy_init(struct path_policy *policy);
/* Add an allowed directory (must exist). Returns 0 or -errno. */
int path_policy_allow(struct path_policy *policy, const char *directory, bool may_create);
void path_policy_free(struct path_policy *policy);
/* Declare a drive by name. device: an absolute path (a tape device, a .tap image, a file). */
int path_policy_declare_drive(struct path_policy *policy, const char *name, const char *device);

/*
 * Resolve a client's name: a declared drive's name (with or without a leading
 * "/"), a tape device, or a name below an allowed directory. Other relative
 * names are taken below the first allowed directory. Returns 0, or -EACCES with *reason set to a
 * short text for the client and the log ("outside the allowed directories", "'..' is not allowed",
 * ...).
 */
int path_resolve(const struct path_policy *policy, const char *client_name, int flags,
                 struct resolved_path *out, const char **reason);

/*
 * Open name below directory_fd without following any symlink and without leaving
 * the directory (openat2). With AT_FDCWD and an absolute name (tape devices) only
 * the last component is protected (O_NOFOLLOW). Returns an fd or -errno.
 */
int path_open_beneath(int directory_fd, const char *name, int flags, mode_t mode);
/*
 * Does openat2(2) work here? Where it answers ENOSYS (a kernel before 5.6, an
 * old container seccomp profile), path_open_beneath() walks the name a
 * component at a time instead (path.c says what that cannot give).
 */
bool path_openat2_available(void);
/*
 * Open the directory that holds name (below directory_fd, as path_open_beneath
 * does) with flags; *base, when not NULL, points at name's last component.
 * Returns the fd or -errno.
 */
int path_open_parent(int directory_fd, const char *name, int flags, const char **base);

/*
 * An open that blocks (a FIFO with no partner, a tape drive becoming ready) can
 * wait for ever. In the daemon its drive is abandoned after a grace period; in
 * stdio mode the process itself waits, so a watch is installed: begin() before
 * the call (it arranges to be interrupted now and then), end() after it, and at
 * each EINTR interrupted() says whether to go on waiting (0) or to give up with
 * that errno. No watch (the default): an interrupted open is simply retried.
 * Opening with O_NONBLOCK instead would change what the open means: a FIFO's
 * reader would see end of data at once and its writer ENXIO, and st would not
 * wait for a drive becoming ready.
 */
struct path_open_watch {
	void (*begin)(void);
	int (*interrupted)(void);
	void (*end)(void);
};
void path_set_open_watch(const struct path_open_watch *watch);
/* For the backends' own blocking opens: 0 to retry an EINTR, or the errno to give. */
void path_open_watch_begin(void);
int path_open_watch_interrupted(void);
void path_open_watch_end(void);

#endif
