/*
 * preload_exec.c - placeholders across fork and exec: the exec and spawn
 * interposers put RMT_PRELOAD_FDS into the new program's environment, the
 * fork handlers keep the table consistent, and the constructor adopts the
 * connections the program that exec'd us held.
 */
#undef _FILE_OFFSET_BITS /* we define open and open64, stat and stat64 ... side by side */
#undef _FORTIFY_SOURCE   /* and read, open and friends without glibc's inline wrappers */
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_internal.h"
#include "connection.h"
#include "number.h"
#include "preload_internal.h"

/* ------------------------------------------------------------------ fork and exec */

static bool is_preload_variable(const char *entry)
{
	return strncmp(entry, PRELOAD_FDS_VAR "=", sizeof(PRELOAD_FDS_VAR)) == 0;
}

/* Room for the variable: about 8 KiB of "fd:inode:caps:flags" entries. */
#define PRELOAD_VARIABLE_SIZE (8192 + sizeof(PRELOAD_FDS_VAR))

static size_t environment_count(char *const envp[])
{
	size_t count = 0;

	while (envp != NULL && envp[count] != NULL)
		count++;
	return count;
}

/*
 * Shells (bash, dash) build a child's environment from their own variables, not
 * from environ, so the exec calls that take an environment get RMT_PRELOAD_FDS
 * put in here: envp without any old copy, plus the current table, in storage
 * (environment_count(envp) + 2 entries) and variable (PRELOAD_VARIABLE_SIZE).
 * No malloc: this may run in a vfork child.
 */
static char *const *preload_environment(char *const envp[], char **storage, char *variable)
{
	size_t kept = 0, prefix = sizeof(PRELOAD_FDS_VAR);

	for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
		if (!is_preload_variable(envp[i]))
			storage[kept++] = envp[i];
	if (any_remote()) {
		memcpy(variable, PRELOAD_FDS_VAR "=", prefix);
		pthread_mutex_lock(&table_lock);
		if (format_inherited(variable + prefix, PRELOAD_VARIABLE_SIZE - prefix, true) > 0)
			storage[kept++] = variable;
		pthread_mutex_unlock(&table_lock);
	}
	storage[kept] = NULL;
	return storage;
}

static int (*real_execve)(const char *, char *const[], char *const[]);
static int (*real_execvpe)(const char *, char *const[], char *const[]);
static int (*real_execveat)(int, const char *, char *const[], char *const[], int);
static int (*real_fexecve)(int, char *const[], char *const[]);
static int (*real_posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                               const posix_spawnattr_t *, char *const[], char *const[]);
static int (*real_posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                                const posix_spawnattr_t *, char *const[], char *const[]);

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	char *storage[environment_count(envp) + 2];
	char variable[PRELOAD_VARIABLE_SIZE];

	return REAL(execve)(path, argv, preload_environment(envp, storage, variable));
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	char *storage[environment_count(envp) + 2];
	char variable[PRELOAD_VARIABLE_SIZE];

	return REAL(execvpe)(file, argv, preload_environment(envp, storage, variable));
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	char *storage[environment_count(envp) + 2];
	char variable[PRELOAD_VARIABLE_SIZE];

	return REAL(execveat)(dirfd, path, argv, preload_environment(envp, storage, variable),
	                      flags);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	char *storage[environment_count(envp) + 2];
	char variable[PRELOAD_VARIABLE_SIZE];

	return REAL(fexecve)(fd, argv, preload_environment(envp, storage, variable));
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t count = 1;
	char *const *envp;

	va_start(ap, arg);
	while (va_arg(ap, char *) != NULL)
		count++;
	va_end(ap);
	char *argv[count + 1];

	va_start(ap, arg);
	argv[0] = (char *)arg;
	for (size_t i = 1; i <= count; i++)
		argv[i] = va_arg(ap, char *);
	envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                       const posix_spawnattr_t *attributes, char *const argv[], char *const envp[])
{
	char *storage[environment_count(envp) + 2];
	char variable[PRELOAD_VARIABLE_SIZE];

	return REAL(posix_spawn)(pid, path, actions, attributes, argv,
	                         preload_environment(envp, storage, variable));
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                        const posix_spawnattr_t *attributes, char *const argv[], char *const envp[])
{
	char *storage[environment_count(envp) + 2];
	char variable[PRELOAD_VARIABLE_SIZE];

	return REAL(posix_spawnp)(pid, file, actions, attributes, argv,
	                          preload_environment(envp, storage, variable));
}

/* After fork, either side may go on using a connection: neither may end it with C alone. */
static void fork_prepare(void)
{
	if (connection_internal_fork)
		return;
	pthread_mutex_lock(&table_lock);
	/* Writes in flight are answered now: a reply must not reach the wrong process. */
	for (struct remote *r = remotes; r != NULL; r = r->next) {
		pthread_mutex_lock(&r->lock);
		librmt_settle(r->handle);
		pthread_mutex_unlock(&r->lock);
	}
}

static void fork_parent(void)
{
	if (connection_internal_fork)
		return;
	for (struct remote *r = remotes; r != NULL; r = r->next)
		r->shared = true;
	pthread_mutex_unlock(&table_lock);
}

static void fork_child(void)
{
	if (connection_internal_fork)
		return;
	for (struct remote *r = remotes; r != NULL; r = r->next) {
		r->shared = true;
		/* A lock another thread held at fork time would stay held forever here. */
		pthread_mutex_init(&r->lock, NULL);
	}
	pthread_mutex_unlock(&table_lock);
}

/* One entry of RMT_PRELOAD_FDS, each field a strict decimal (number.c). */
static bool parse_inherited(char *item, int *fd, int *sock, unsigned long *ino, unsigned int *caps,
                            int *flags)
{
	static const uint64_t maximum[5] = {INT_MAX, INT_MAX, ULONG_MAX, UINT_MAX, INT_MAX};
	uint64_t value[5];
	char *save = NULL, *field = strtok_r(item, ":", &save);

	for (int i = 0; i < 5; i++, field = strtok_r(NULL, ":", &save))
		if (field == NULL || decimal_parse_u64(field, strlen(field), &value[i]) < 0 ||
		    value[i] > maximum[i])
			return false;
	if (field != NULL)
		return false;
	*fd = (int)value[0];
	*sock = (int)value[1];
	*ino = (unsigned long)value[2];
	*caps = (unsigned int)value[3];
	*flags = (int)value[4];
	return true;
}

/*
 * Re-adopt the connections the program that exec'd us held: RMT_PRELOAD_FDS is
 * "placeholder:socket:inode:caps:flags,...". An entry counts only if the socket
 * is still that socket (same inode) and the placeholder is open.
 */
static void adopt_inherited(void)
{
	const char *spec = getenv(PRELOAD_FDS_VAR);
	char *copy, *save = NULL;

	if (spec == NULL || *spec == '\0')
		return;
	copy = strdup(spec);
	if (copy == NULL)
		return;
	pthread_mutex_lock(&table_lock);
	for (char *item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		int fd, sock, flags;
		unsigned long ino;
		unsigned int caps;
		struct stat st;
		struct remote *r = NULL;

		if (!parse_inherited(item, &fd, &sock, &ino, &caps, &flags) || fd == sock)
			continue;
		if (REAL(fstat)(sock, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_ino != ino ||
		    REAL(fcntl)(fd, F_GETFD) < 0)
			continue;
		for (struct remote *other = remotes; other != NULL && r == NULL;
		     other = other->next)
			if (other->sock == sock)
				r = other;
		if (r == NULL) {
			struct rmt_handle *handle = librmt_adopt(sock, caps, flags);

			if (handle == NULL)
				continue;
			r = new_remote(handle, flags, true);
			if (r == NULL) {
				librmt_abandon(handle, true);
				continue;
			}
			r->next = remotes;
			remotes = r;
		}
		table_put(fd, r);
	}
	for (struct remote *r = remotes; r != NULL; r = r->next)
		sync_cloexec(r);
	update_environment();
	pthread_mutex_unlock(&table_lock);
	free(copy);
}

__attribute__((constructor)) static void preload_init(void)
{
	const char *v = getenv("RMT_VERBOSE");

	verbose = v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
	parse_devices(getenv("RMT_DEVICES"));
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	adopt_inherited();
}
