/*
 * sandbox.h - least privilege once start-up is over.
 *
 * After the listeners are bound and the files it needs at start are open, the
 * daemon (1) becomes the configured user and group, with no capabilities and
 * no way back; (2) confines its filesystem view with Landlock to the spools,
 * declared drives, tape devices, state and status directories (best effort:
 * as much as the kernel's Landlock ABI can express, nothing on kernels
 * without it); (3) installs a seccomp filter that
 * refuses the system calls a tape server never needs (exec, ptrace, mount,
 * module and key management, ...).
 */
#ifndef RMTD_SANDBOX_H
#define RMTD_SANDBOX_H

struct config;

/* Become user/group (names; NULL or "" keeps the current ones). 0, or -1 (logged). */
int sandbox_drop_privileges(const char *user, const char *group);

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
