/*
 * preload_table.c - the placeholders: descriptor -> remote connection, the
 * hidden sockets, close-on-exec kept in step, RMT_PRELOAD_FDS kept current,
 * and placeholders made and undone.
 */
#undef _FILE_OFFSET_BITS /* we define open and open64, stat and stat64 ... side by side */
#undef _FORTIFY_SOURCE   /* and read, open and friends without glibc's inline wrappers */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "client_internal.h"
#include "preload_internal.h"

pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
struct remote **table; /* placeholders, indexed by descriptor */
int table_size;
struct remote *remotes; /* every remote, for the hidden sockets */
/* Placeholders in the table: 0 keeps every call on the fast path. */
atomic_int remote_fds;

/* ------------------------------------------------------------------ the table */

/* Under table_lock: the placeholder's remote, or NULL. */
struct remote *placeholder(int fd)
{
	return fd >= 0 && fd < table_size ? table[fd] : NULL;
}

/* Under table_lock: the remote whose hidden socket is fd, or NULL. */
static struct remote *hidden_socket(int fd)
{
	for (struct remote *r = remotes; r != NULL; r = r->next)
		if (r->sock == fd)
			return r;
	return NULL;
}

bool is_hidden_socket(int fd)
{
	bool hidden;

	if (!any_remote())
		return false;
	pthread_mutex_lock(&table_lock);
	hidden = hidden_socket(fd) != NULL;
	pthread_mutex_unlock(&table_lock);
	return hidden;
}

static bool inherited_on_exec(int fd)
{
	int flags = REAL(fcntl)(fd, F_GETFD);

	return flags >= 0 && !(flags & FD_CLOEXEC);
}

/* Under table_lock: the socket goes across exec exactly when some placeholder does. */
void sync_cloexec(struct remote *r)
{
	bool inherit = false;
	int flags;

	/* A TLS session lives in this process's memory: it cannot follow across exec. */
	for (int fd = 0; fd < table_size && !inherit && !librmt_is_tls(r->handle); fd++)
		if (table[fd] == r)
			inherit = inherited_on_exec(fd);
	flags = REAL(fcntl)(r->sock, F_GETFD);
	if (flags >= 0)
		REAL(fcntl)(r->sock, F_SETFD, inherit ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC);
}

/*
 * "placeholder:socket:inode:caps:flags,..." for the placeholders an exec'd
 * program inherits, into buffer. Under table_lock. Returns the number of entries.
 */
int format_inherited(char *buffer, size_t size, bool mark_shared)
{
	size_t used = 0;
	int entries = 0;

	buffer[0] = '\0';
	for (int fd = 0; fd < table_size; fd++) {
		struct remote *r = table[fd];
		int n;

		if (r == NULL || librmt_is_tls(r->handle) || !inherited_on_exec(fd))
			continue;
		n = snprintf(buffer + used, size - used, "%s%d:%d:%lu:%u:%d",
		             entries > 0 ? "," : "", fd, r->sock, (unsigned long)r->ino,
		             rmt_capabilities(r->handle), r->open_flags);
		if (n < 0 || (size_t)n >= size - used) {
			buffer[used] = '\0';
			break;
		}
		used += (size_t)n;
		entries++;
		/* Another program will hold it: this process may no longer end it with C. */
		if (mark_shared)
			r->shared = true;
	}
	return entries;
}

/* Keep RMT_PRELOAD_FDS in environ for programs that exec with it (execv, execvp, system). */
void update_environment(void)
{
	char text[8192];

	if (atomic_load(&remote_fds) == 0 || format_inherited(text, sizeof(text), false) == 0)
		unsetenv(PRELOAD_FDS_VAR);
	else
		setenv(PRELOAD_FDS_VAR, text, 1);
}

/* Under table_lock. */
int table_put(int fd, struct remote *r)
{
	if (fd < 0)
		return -EBADF;
	if (fd >= table_size) {
		int size = table_size > 0 ? table_size : 64;
		struct remote **bigger;

		while (size <= fd)
			size *= 2;
		bigger = realloc(table, sizeof(*table) * (size_t)size);
		if (bigger == NULL)
			return -ENOMEM;
		memset(bigger + table_size, 0, sizeof(*table) * (size_t)(size - table_size));
		table = bigger;
		table_size = size;
	}
	if (table[fd] == NULL)
		atomic_fetch_add(&remote_fds, 1);
	table[fd] = r;
	r->refs++;
	return 0;
}

/* The remote behind placeholder fd, locked for one operation, or NULL. */
struct remote *acquire(int fd)
{
	struct remote *r;

	if (!any_remote())
		return NULL;
	pthread_mutex_lock(&table_lock);
	r = placeholder(fd);
	if (r != NULL)
		pthread_mutex_lock(&r->lock);
	pthread_mutex_unlock(&table_lock);
	return r;
}

void release(struct remote *r)
{
	pthread_mutex_unlock(&r->lock);
}

/*
 * Take placeholder fd out of the table. Returns its remote, or NULL if fd is no
 * placeholder; *last: no placeholder of this process refers to it any more (it
 * is then off the list too, and the caller ends it).
 */
struct remote *detach(int fd, bool *last)
{
	struct remote *r;

	*last = false;
	if (!any_remote())
		return NULL;
	pthread_mutex_lock(&table_lock);
	r = placeholder(fd);
	if (r != NULL) {
		table[fd] = NULL;
		atomic_fetch_sub(&remote_fds, 1);
		r->refs--;
		*last = r->refs == 0;
		if (*last) {
			for (struct remote **p = &remotes; *p != NULL; p = &(*p)->next)
				if (*p == r) {
					*p = r->next;
					break;
				}
		} else {
			sync_cloexec(r);
		}
		update_environment();
	}
	pthread_mutex_unlock(&table_lock);
	return r;
}

/* The last placeholder of r in this process is being closed: end the remote side. */
int finish_remote(struct remote *r)
{
	int result = 0;

	/* Wait for an operation another thread may still run on it. */
	pthread_mutex_lock(&r->lock);
	pthread_mutex_unlock(&r->lock);
	if (r->shared) {
		result = librmt_abandon(r->handle, false);
		if (result < 0) {
			/* A write in flight failed: this close reports it, as st would. */
			errno = -result;
			result = -1;
			report("close", "remote device", NULL);
		}
	} else {
		result = rmt_close(r->handle);
		if (result < 0)
			report("close", "remote device", NULL);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
	return result;
}

struct remote *new_remote(struct rmt_handle *handle, int open_flags, bool shared)
{
	struct remote *r = calloc(1, sizeof(*r));
	struct stat st;

	if (r == NULL)
		return NULL;
	r->handle = handle;
	r->sock = rmt_fileno(handle);
	r->open_flags = open_flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC);
	r->shared = shared;
	pthread_mutex_init(&r->lock, NULL);
	if (REAL(fstat)(r->sock, &st) == 0)
		r->ino = st.st_ino;
	/* Like the first no-rewind SCSI tape, /dev/nst0: major 9, minor 128. */
	r->rdev = makedev(9, 128);
	return r;
}

/* Move a descriptor of ours out of the program's way (to HIDDEN_FD_BASE or above). */
int move_high(int fd)
{
	int high = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, HIDDEN_FD_BASE);

	if (high < 0)
		return fd; /* a low limit on descriptors: stay where it is */
	REAL(close)(fd);
	return high;
}

/* The program wants descriptor fd (dup2 onto it): if it is a hidden socket, move that. */
void vacate(int fd)
{
	struct remote *r;

	if (!any_remote())
		return;
	pthread_mutex_lock(&table_lock);
	r = hidden_socket(fd);
	if (r != NULL) {
		pthread_mutex_lock(&r->lock);
		r->sock = move_high(fd);
		librmt_set_fd(r->handle, r->sock);
		pthread_mutex_unlock(&r->lock);
		sync_cloexec(r);
		update_environment();
	}
	pthread_mutex_unlock(&table_lock);
}
