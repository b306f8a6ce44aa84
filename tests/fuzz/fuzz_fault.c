/*
 * fuzz_fault.c - the fault drive's schedule parser on arbitrary text: it must
 * report an error or give rules that hold their promises, never crash or overrun.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fault_spec.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fault_schedule schedule;
	char error[160];

	memset(error, 'x', sizeof(error));
	if (fault_schedule_parse((const char *)data, size, &schedule, error, sizeof(error)) < 0) {
		/* Every error is a message, cut to fit. */
		if (error[0] == '\0' || memchr(error, '\0', sizeof(error)) == NULL)
			__builtin_trap();
		return 0;
	}
	if (schedule.rule_count < 0 || schedule.rule_count > FAULT_RULES_MAX)
		__builtin_trap();
	for (int i = 0; i < schedule.rule_count; i++) {
		const struct fault_rule *rule = &schedule.rules[i];

		if (rule->first < 1 || rule->first > rule->last || rule->call > FAULT_CALL_ANY)
			__builtin_trap();
		if (rule->action == FAULT_FAIL && (rule->error < 1 || rule->error > 4095))
			__builtin_trap();
		if (rule->action == FAULT_SHORT && rule->call != FAULT_CALL_READ &&
		    rule->call != FAULT_CALL_WRITE)
			__builtin_trap();
		/* The rule's own first call is matched by it or by an earlier rule. */
		if (fault_schedule_match(
		        &schedule, rule->call == FAULT_CALL_ANY ? FAULT_CALL_READ : rule->call,
		        rule->first, rule->first) == NULL)
			__builtin_trap();
	}
	return 0;
}
