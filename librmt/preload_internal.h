/*
 * preload_internal.h - what the parts of librmt-preload.so share: the device
 * names (preload_names.c), the table of placeholders and their connections
 * (preload_table.c), fork/exec inheritance (preload_exec.c), the stat family
 * (preload_stat.c) and the other interposers (preload.c). None of it is
 * exported: preload.map lists the libc names the library interposes and hides
 * everything else.
 */
#ifndef RMTD_PRELOAD_INTERNAL_H
#define RMTD_PRELOAD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct rmt_handle;

#define EXPORT          __attribute__((visibility("default")))
#define DEVICES_MAX     32
#define PRELOAD_FDS_VAR "RMT_PRELOAD_FDS"

/* Hidden sockets go at or above this descriptor, out of the way of the program's. */
#define HIDDEN_FD_BASE 200

/* One remote connection; several placeholders of this process may refer to it. */
struct remote {
	struct rmt_handle *handle;
	int sock;             /* the hidden socket (rmt_fileno of the handle) */
	pthread_mutex_t lock; /* one request at a time on the stream */
	int refs;             /* placeholders of this process that refer to it */
	bool shared;          /* another process may hold it too: no C on the last close */
	int open_flags;       /* what F_GETFL reports */
	ino_t ino;            /* the socket's inode: identifies it across exec */
	dev_t rdev;           /* the character device it pretends to be */
	struct remote *next;  /* all remotes of this process */
};

struct device_map {
	char *local;      /* normalised local path */
	char *remote;     /* librmt name */
	const char *base; /* last component of local, for a quick test of relative names */
};

/* preload_names.c: RMT_DEVICES, parsed once by the constructor */
extern struct device_map devices[DEVICES_MAX];
extern int device_count;

/* preload.c */
extern bool verbose;
extern int (*real_close)(int);
extern int (*real_fcntl)(int, int, ...);
extern int (*real_fstat)(int, struct stat *); /* preload_stat.c */

/* libc's function, looked up on first use (calls may come before our constructor). */
void *resolve(void **slot, const char *name);

#define REAL(name)                                                                                 \
	(__builtin_expect(real_##name != NULL, 1)                                                  \
	     ? real_##name                                                                         \
	     : (__typeof__(real_##name))resolve((void **)&real_##name, #name))

/* preload_table.c: the placeholders, under table_lock */
extern pthread_mutex_t table_lock;
extern struct remote **table;
extern int table_size;
extern struct remote *remotes;
extern atomic_int remote_fds;

static inline bool any_remote(void)
{
	return __builtin_expect(atomic_load_explicit(&remote_fds, memory_order_relaxed) != 0, 0);
}

/* preload_names.c */
void parse_devices(const char *spec);
const struct device_map *match_device(const char *path);

/* preload_table.c (the comment at each says whether it wants table_lock held) */
struct remote *placeholder(int fd);
bool is_hidden_socket(int fd);
void sync_cloexec(struct remote *r);
int format_inherited(char *buffer, size_t size, bool mark_shared);
void update_environment(void);
int table_put(int fd, struct remote *r);
struct remote *acquire(int fd);
void release(struct remote *r);
struct remote *detach(int fd, bool *last);
int finish_remote(struct remote *r);
struct remote *new_remote(struct rmt_handle *handle, int open_flags, bool shared);
int move_high(int fd);
void vacate(int fd);

/* preload.c: one line on stderr when RMT_VERBOSE is set */
void report(const char *what, const char *name, const char *text);

#endif
