/*
 * path.c - lexical resolution of client names against the allowed directories,
 * and the kernel-enforced open below a directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file_journal.h"
#include "path.h"

#define CREATE_FLAGS (O_CREAT | O_TRUNC | O_APPEND | O_EXCL)

static bool is_tape_device_name(const char *normalised, bool *rewinding);
static bool has_suffix(const char *s, const char *suffix);

void path_policy_init(struct path_policy *policy)
{
	memset(policy, 0, sizeof(*policy));
	policy->allow_tape_devices = true;
}

int path_policy_allow(struct path_policy *policy, const char *directory, bool may_create)
{
	struct allowed_directory *allowed;
	char *canonical;
	int fd;

	if (policy->directory_count >= PATH_ALLOWED_MAX)
		return -E2BIG;
	canonical = realpath(directory, NULL);
	if (canonical == NULL)
		return -errno;
	if (strlen(canonical) >= PATH_MAX) {
		free(canonical);
		return -ENAMETOOLONG;
	}
	fd = open(canonical, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int error = -errno;

		free(canonical);
		return error;
	}
	allowed = &policy->directories[policy->directory_count++];
	snprintf(allowed->path, sizeof(allowed->path), "%s",
	         strcmp(canonical, "/") ? canonical : "");
	allowed->fd = fd;
	allowed->may_create = may_create;
	free(canonical);
	return 0;
}

void path_policy_free(struct path_policy *policy)
{
	for (int i = 0; i < policy->directory_count; i++)
		close(policy->directories[i].fd);
	policy->directory_count = 0;
}

int path_policy_declare_drive(struct path_policy *policy, const char *name, const char *device)
{
	struct declared_drive *drive;

	if (policy->drive_count >= PATH_ALLOWED_MAX)
		return -E2BIG;
	if (name[0] == '\0' || strlen(name) >= sizeof(drive->name) || strchr(name, '/') ||
	    device[0] != '/' || strlen(device) >= sizeof(drive->device))
		return -EINVAL;
	for (int i = 0; i < policy->drive_count; i++)
		if (strcmp(policy->drives[i].name, name) == 0)
			return -EEXIST;
	drive = &policy->drives[policy->drive_count++];
	snprintf(drive->name, sizeof(drive->name), "%s", name);
	snprintf(drive->device, sizeof(drive->device), "%s", device);
	return 0;
}

static int resolve_declared(const struct declared_drive *drive, int flags,
                            struct resolved_path *out)
{
	bool rewinding = false;
	const char *device = drive->device;

	out->directory_fd = AT_FDCWD;
	strlcpy(out->drive_name, drive->name, sizeof(out->drive_name));
	snprintf(out->name, sizeof(out->name), "%s", device);
	snprintf(out->canonical, sizeof(out->canonical), "%s", device);
	out->flags = flags;
	if (is_tape_device_name(device + 1, &rewinding)) {
		out->kind = DEVICE_KIND_TAPE;
		out->flags = flags & ~CREATE_FLAGS;
		out->rewind_on_close = rewinding;
	} else if (has_suffix(device, ".tap.rewind")) {
		out->name[strlen(out->name) - strlen(".rewind")] = '\0';
		out->canonical[strlen(out->canonical) - strlen(".rewind")] = '\0';
		out->kind = DEVICE_KIND_VTAPE;
		out->rewind_on_close = true;
	} else if (has_suffix(device, ".tap")) {
		out->kind = DEVICE_KIND_VTAPE;
	} else {
		out->kind = DEVICE_KIND_FILE;
		out->flags = flags & ~CREATE_FLAGS;
	}
	return 0;
}

/*
 * Normalise an absolute or relative name into components joined by '/', dropping
 * empty and "." components. ".." anywhere is refused rather than interpreted: a
 * name that needs it is never the straightforward name of a tape.
 */
static int normalise(const char *name, char *out, size_t size, const char **reason)
{
	size_t used = 0;
	const char *p = name;

	while (*p != '\0') {
		const char *end;
		size_t length;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, '/');
		length = end ? (size_t)(end - p) : strlen(p);
		if (length == 1 && p[0] == '.') {
			p += length;
			continue;
		}
		if (length == 2 && p[0] == '.' && p[1] == '.') {
			*reason = "'..' is not allowed in a device name";
			return -EACCES;
		}
		if (used + length + 2 > size) {
			*reason = "name too long";
			return -ENAMETOOLONG;
		}
		if (used > 0)
			out[used++] = '/';
		memcpy(out + used, p, length);
		used += length;
		p += length;
	}
	out[used] = '\0';
	return 0;
}

/* /dev/nstN or /dev/stN, with the optional mode letter l, m or a (st.rst). */
static bool is_tape_device_name(const char *normalised, bool *rewinding)
{
	const char *p;

	if (strncmp(normalised, "dev/", 4) != 0)
		return false;
	p = normalised + 4;
	if (strncmp(p, "nst", 3) == 0) {
		*rewinding = false;
		p += 3;
	} else if (strncmp(p, "st", 2) == 0) {
		*rewinding = true;
		p += 2;
	} else {
		return false;
	}
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == 'l' || *p == 'm' || *p == 'a')
		p++;
	return *p == '\0';
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

int path_resolve(const struct path_policy *policy, const char *client_name, int flags,
                 struct resolved_path *out, const char **reason)
{
	char normalised[PATH_MAX];
	bool rewinding = false;
	int error;

	memset(out, 0, sizeof(*out));
	*reason = NULL;
	if (client_name[0] == '\0') {
		*reason = "empty device name";
		return -ENOENT;
	}
	/* A descriptor without data (O_PATH) or a file without a name (O_TMPFILE) is no device. */
	if (flags & (O_PATH | __O_TMPFILE)) {
		*reason = "O_PATH and O_TMPFILE are not allowed";
		return -EINVAL;
	}
	error = normalise(client_name, normalised, sizeof(normalised), reason);
	if (error < 0)
		return error;
	for (int i = 0; i < policy->drive_count; i++)
		if (strcmp(policy->drives[i].name, normalised) == 0)
			return resolve_declared(&policy->drives[i], flags, out);

	if (client_name[0] == '/' && is_tape_device_name(normalised, &rewinding)) {
		if (!policy->allow_tape_devices) {
			*reason = "tape devices are not allowed";
			return -EACCES;
		}
		out->kind = DEVICE_KIND_TAPE;
		out->directory_fd = AT_FDCWD;
		/* A tape device name is short: is_tape_device_name() accepted it. */
		out->name[0] = '/';
		strlcpy(out->name + 1, normalised, sizeof(out->name) - 1);
		strlcpy(out->canonical, out->name, sizeof(out->canonical));
		/* A tape cannot be created or truncated: st ignores these, and so do we. */
		out->flags = flags & ~CREATE_FLAGS;
		out->rewind_on_close = rewinding;
		return 0;
	}

	for (int i = 0; i < policy->directory_count; i++) {
		const struct allowed_directory *allowed = &policy->directories[i];
		const char *relative;
		size_t prefix = strlen(allowed->path);

		if (client_name[0] == '/') {
			/* allowed->path is "/a/b"; normalised lacks the leading slash. */
			if (prefix == 0) {
				relative = normalised;
			} else if (strncmp(normalised, allowed->path + 1, prefix - 1) == 0 &&
			           (normalised[prefix - 1] == '/' ||
			            normalised[prefix - 1] == '\0')) {
				/* "" when the name is the allowed directory itself */
				relative = normalised + prefix - (normalised[prefix - 1] == '\0');
			} else {
				continue;
			}
		} else if (i == 0) {
			relative = normalised;
		} else {
			break;
		}
		if (relative[0] == '\0') {
			*reason = "that is an allowed directory, not a device";
			return -EISDIR;
		}
		if ((flags & CREATE_FLAGS) && !allowed->may_create) {
			*reason = "creating or truncating files is not allowed there";
			return -EACCES;
		}
		out->directory_fd = allowed->fd;
		out->flags = flags;
		if (snprintf(out->canonical, sizeof(out->canonical), "%s/%s", allowed->path,
		             relative) >= (int)sizeof(out->canonical)) {
			*reason = "name too long";
			return -ENAMETOOLONG;
		}
		snprintf(out->name, sizeof(out->name), "%s", relative);
		/* A virtual tape's index and metadata belong to the tape, not to clients. */
		if (has_suffix(out->name, ".tap.idx") || has_suffix(out->name, ".tap.meta") ||
		    has_suffix(out->name, ".tap.idx.new") ||
		    has_suffix(out->name, ".tap.meta.new")) {
			*reason = "that is part of a virtual tape; open the .tap";
			return -EACCES;
		}
		if (has_suffix(out->name, FILE_JOURNAL_SUFFIX)) {
			*reason = "that is rmtd's journal of a file being written; open the file";
			return -EACCES;
		}
		if (has_suffix(out->name, ".tap.rewind")) {
			out->name[strlen(out->name) - strlen(".rewind")] = '\0';
			out->canonical[strlen(out->canonical) - strlen(".rewind")] = '\0';
			out->kind = DEVICE_KIND_VTAPE;
			out->rewind_on_close = true;
		} else if (has_suffix(out->name, ".tap")) {
			out->kind = DEVICE_KIND_VTAPE;
		} else {
			out->kind = DEVICE_KIND_FILE;
		}
		return 0;
	}
	*reason = "outside the allowed directories";
	return -EACCES;
}

static const struct path_open_watch *open_watch;

void path_set_open_watch(const struct path_open_watch *watch)
{
	open_watch = watch;
}

void path_open_watch_begin(void)
{
	if (open_watch != NULL)
		open_watch->begin();
}

int path_open_watch_interrupted(void)
{
	return open_watch != NULL ? open_watch->interrupted() : 0;
}

void path_open_watch_end(void)
{
	if (open_watch != NULL)
		open_watch->end();
}

/*
 * Kernels before 5.6, and container seccomp profiles older than it, answer
 * openat2 with ENOSYS. Then the name is walked a component at a time, each
 * opened O_NOFOLLOW below the last and ".." refused: what RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS give (O_PATH on a symlink opens the link itself, as
 * there), without their protection from a rename racing the walk (a directory
 * moved out from under it mid-way). Once seen, for good.
 */
static atomic_bool openat2_missing;

/* A directory on the way was a symlink (ENOTDIR for O_PATH | O_DIRECTORY): ELOOP. */
static int walk_error(int directory_fd, const char *part, int error)
{
	struct stat st;

	if (error == ENOTDIR && fstatat(directory_fd, part, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return ELOOP;
	return error;
}

/* openat2's job by openat alone; -1 with errno set, as a system call fails. */
static int open_by_walk(int directory_fd, const char *name, int flags, mode_t mode)
{
	char copy[PATH_MAX], *part, *next, *save = NULL;
	int at = directory_fd, fd = -1, error = 0;

	if (name[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	if (strlcpy(copy, name, sizeof(copy)) >= sizeof(copy)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	part = strtok_r(copy, "/", &save);
	if (part == NULL) {
		errno = ENOENT;
		return -1;
	}
	for (; part != NULL; part = next) {
		next = strtok_r(NULL, "/", &save);
		if (strcmp(part, "..") == 0) {
			error = EXDEV;
			break;
		}
		if (next == NULL)
			fd = openat(at, part, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		else
			fd = openat(at, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			error = next != NULL ? walk_error(at, part, errno) : errno;
		if (at != directory_fd)
			close(at);
		if (fd < 0)
			break;
		at = fd;
	}
	if (error != 0) {
		errno = error;
		return -1;
	}
	return fd;
}

bool path_openat2_available(void)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH};
	int fd;

	if (atomic_load(&openat2_missing))
		return false;
	fd = (int)syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));
	if (fd >= 0)
		close(fd);
	else if (errno == ENOSYS)
		atomic_store(&openat2_missing, true);
	return !atomic_load(&openat2_missing);
}

int path_open_beneath(int directory_fd, const char *name, int flags, mode_t mode)
{
	struct open_how how;
	int fd, error = 0;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(flags | O_NOFOLLOW | O_CLOEXEC);
	how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	path_open_watch_begin();
	for (;;) {
		bool walked = false;

		if (directory_fd == AT_FDCWD) {
			fd = open(name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		} else if (atomic_load(&openat2_missing)) {
			fd = open_by_walk(directory_fd, name, flags, mode);
			walked = true;
		} else {
			fd = (int)syscall(SYS_openat2, directory_fd, name, &how, sizeof(how));
		}
		if (fd < 0 && errno == ENOSYS && directory_fd != AT_FDCWD && !walked) {
			atomic_store(&openat2_missing, true);
			continue;
		}
		if (fd >= 0 || (errno != EINTR && (errno != EAGAIN || directory_fd == AT_FDCWD)))
			break;
		if (errno == EINTR && (error = path_open_watch_interrupted()) != 0)
			break;
	}
	if (fd < 0 && error == 0)
		error = errno;
	path_open_watch_end();
	if (fd >= 0)
		return fd;
	if (directory_fd != AT_FDCWD && (error == ELOOP || error == EXDEV))
		return -EACCES; /* a symlink on the way, or a way out: refused, not followed */
	return -error;
}

int path_open_parent(int directory_fd, const char *name, int flags, const char **base)
{
	const char *slash = strrchr(name, '/');
	char parent[PATH_MAX];

	if (base != NULL)
		*base = slash != NULL ? slash + 1 : name;
	if (slash == NULL) {
		strlcpy(parent, ".", sizeof(parent));
	} else if (slash == name) {
		strlcpy(parent, "/", sizeof(parent));
	} else {
		if ((size_t)(slash - name) >= sizeof(parent))
			return -ENAMETOOLONG;
		memcpy(parent, name, (size_t)(slash - name));
		parent[slash - name] = '\0';
	}
	return path_open_beneath(directory_fd, parent, flags | O_DIRECTORY, 0);
}
