/*
 * sandbox.h - least privilege once start-up is over.
 *
 * After the listeners are bound and the files it needs at start are open, the
 * daemon (1) becomes the configured user and group, else the rmtd account if
 * it exists, else keeps its uid without capabilities; root only when the
 * configuration says "user root"; with no way back in any case; (2) confines
 * its filesystem view with Landlock to the spools, declared drives, tape
 * devices, state and status directories (best effort: as much as the
 * kernel's Landlock ABI can express, nothing on kernels without it); (3)
 * installs a seccomp filter that
 * refuses the system calls a tape server never needs (exec, ptrace, mount,
 * module and key management, ...).
 */
#ifndef RMTD_SANDBOX_H
#define RMTD_SANDBOX_H

#include <sys/types.h>

struct config;

/* The account a daemon without a "user" line runs as, when it exists. */
#define SANDBOX_DEFAULT_USER "rmtd"

/*
 * Become user/group (names; NULL or "": the default account if started as root
 * and it exists, else the current uid with every capability dropped). 0, or
 * -1 (logged).
 */
int sandbox_drop_privileges(const char *user, const char *group);

/* The uid sandbox_drop_privileges(user, ...) will leave the daemon with. */
uid_t sandbox_run_uid(const char *user);

/*
 * Confine the filesystem to what the configuration names. Returns the Landlock
 * ABI version applied, 0 when the kernel has none (logged), or -1 on failure.
 */
int sandbox_restrict_filesystem(const struct config *config);

/*
 * Confine the filesystem to reading files below directory, nothing else (the
 * configuration reader). The ABI applied, 0 without Landlock, -1 on failure.
 */
int sandbox_restrict_to_reading(const char *directory);

/* Refuse the system calls rmtd never makes. 0, or -1 (logged). */
int sandbox_restrict_system_calls(void);

#endif
