/*
 * libFuzzer target for the .prof reader: container checks, profile
 * parsing and the statistics built from whatever it accepts. Must never
 * crash, leak, or fail without saying why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/format.h"
#include "fuzz_input.h"
#include "../reporter/callstats.h"
#include "../reporter/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fmt_file f;
	char err[512] = "";

	if (fuzz_input_parse(&f, data, size, "fuzz.prof", err, sizeof(err)) < 0)
		return 0;
	struct profile *p = profile_parse(&f, err, sizeof(err));
	if (!p) {
		if (!err[0])
			__builtin_trap();
	} else {
		uint64_t alone = 0;
		for (int compensate = 0; compensate <= 1; compensate++) {
			struct callstats cs;
			callstats_build(&cs, p, compensate);
			/* Sums the report prints must stay finite and non-negative. */
			if (!(cs.total_time >= 0 && cs.total_time <= 1e300) ||
			    cs.total_pcalls > cs.total_calls)
				__builtin_trap();
			alone = cs.total_calls;
			callstats_release(&cs);
		}
		/* Merged with a forked child of itself (the same file as the
		 * child's): modules placed twice, inherited calls taken off,
		 * and nothing else. */
		if (alone > UINT64_MAX / 2) {	/* twice would wrap: the set is refused */
			profile_free(p);
			fmt_file_close(&f);
			return 0;
		}
		struct profile *child = profile_parse(&f, err, sizeof(err));
		if (!child)
			__builtin_trap();	/* accepted once, refused the next time */
		child->processes[0].ppid = p->processes[0].pid;
		child->processes[0].pid = p->processes[0].pid + 1;
		struct profile *both[2] = { p, child }, *merged = profile_merge(both, 2);
		struct callstats ms;
		callstats_build(&ms, merged, 1);
		if (!(ms.total_time >= 0 && ms.total_time <= 1e300) ||
		    ms.total_pcalls > ms.total_calls ||
		    ms.total_calls + merged->inherited_calls_removed != 2 * alone)
			__builtin_trap();
		callstats_release(&ms);
		profile_free(merged);
	}
	fmt_file_close(&f);
	return 0;
}
