/*
 * Every stack of a profile or a snapshot with its value, outermost frame
 * first: the one walk the folded export and the flame graph share.
 * Never writes to stdout.
 */
#ifndef CPROF_REPORTER_STACKS_H
#define CPROF_REPORTER_STACKS_H

#include <stdint.h>

#include "callstats.h"
#include "snapshot.h"
#include "symbolize.h"

/* frames[0] is the outermost; valid during the call only. */
typedef void (*stacks_visit)(void *ctx, const char *const *frames, int nframes, uint64_t value);

/*
 * Calls visit once per calling-context node with own time: the value is
 * its own time in ns (compensated), or its calls for a counts-only
 * profile. names[i] names cs->funcs[i].
 */
void stacks_of_profile(const struct profile *p, const struct callstats *cs,
		       const char *const *names, stacks_visit visit, void *ctx);

/* Calls visit once per trace with live blocks; value = live bytes.
 * Inline frames are expanded. */
void stacks_of_snapshot(const struct snapshot *s, struct symbolizer *sym, stacks_visit visit,
			void *ctx);

#endif
