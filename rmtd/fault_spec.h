/*
 * fault_spec.h - the schedule of a fault-injecting drive, parsed from text.
 *
 * A schedule is a list of rules separated by ';'. Each rule names a device call,
 * which calls of that kind it hits (counted from 1 over the process's life), and
 * what happens to them:
 *
 *   write#3=EIO            the 3rd write fails with EIO; nothing reaches the device
 *   write#3=EIO@after      the 3rd write is done, then reported as failed with EIO
 *   read#2+=5              every read from the 2nd on fails with errno 5
 *   ioctl#1-4=ENOSPC       tape operations 1 to 4 fail with ENOSPC
 *   write#*=short:1000     every write passes at most 1000 bytes to the device
 *   open#1=delay:250       the first open waits 250 ms, then proceeds
 *   status#2=hang          the 2nd status call never returns
 *
 * Calls: open close read write ioctl (MTIOCTOP) status (MTIOCGET) seek position
 * (MTIOCPOS) locate (MTSEEK), and any (every call, counted together).
 * The first rule that matches a call decides. Parsing is pure: no I/O, no
 * allocation, so it can be fuzzed on its own.
 */
#ifndef RMTD_FAULT_SPEC_H
#define RMTD_FAULT_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAULT_RULES_MAX 32

enum fault_call {
	FAULT_CALL_OPEN,
	FAULT_CALL_CLOSE,
	FAULT_CALL_READ,
	FAULT_CALL_WRITE,
	FAULT_CALL_IOCTL,
	FAULT_CALL_STATUS,
	FAULT_CALL_SEEK,
	FAULT_CALL_POSITION,
	FAULT_CALL_LOCATE,
	FAULT_CALL_KINDS, /* the number of call kinds above */
	FAULT_CALL_ANY = FAULT_CALL_KINDS,
};

enum fault_action {
	FAULT_FAIL,  /* return -error, before the call (or after it, with after) */
	FAULT_SHORT, /* pass at most amount bytes to a read or write */
	FAULT_DELAY, /* sleep amount milliseconds, then make the call */
	FAULT_HANG,  /* never return */
};

struct fault_rule {
	enum fault_call call;
	uint64_t first, last; /* call numbers hit, from 1; last UINT64_MAX: no end */
	enum fault_action action;
	int error;       /* FAULT_FAIL: the errno */
	bool after;      /* FAULT_FAIL: make the call first, then report the error */
	uint64_t amount; /* FAULT_SHORT: bytes; FAULT_DELAY: milliseconds */
};

struct fault_schedule {
	struct fault_rule rules[FAULT_RULES_MAX];
	int rule_count;
};

/*
 * Parse text (length bytes, no NUL needed). Returns 0, or -1 with error holding a
 * short message naming the rule at fault.
 */
int fault_schedule_parse(const char *text, size_t length, struct fault_schedule *schedule,
                         char *error, size_t error_size);

/*
 * The rule for the number-th call of kind call, which is also the any_number-th
 * call of any kind; NULL when none applies.
 */
const struct fault_rule *fault_schedule_match(const struct fault_schedule *schedule,
                                              enum fault_call call, uint64_t number,
                                              uint64_t any_number);

/* "open", "write", ...; "any" for FAULT_CALL_ANY. */
const char *fault_call_name(enum fault_call call);
/* "EIO", "ENOSPC", ... for the errnos the parser knows by name; NULL otherwise. */
const char *fault_errno_name(int error);

#endif
