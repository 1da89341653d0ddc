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
 * Own time per node in ns, rounded per function so that each function's
 * nodes add up to llround(tottime * 1e9) exactly (the totals `cprof
 * report` prints). Caller frees.
 */
uint64_t *stacks_node_ns(const struct profile *p, const struct callstats *cs);

/* funcs[0] is the outermost function index (into cs->funcs) of node's
 * context, funcs[depth - 1] the node's own. Valid during the call. */
typedef void (*stacks_node_visit)(void *ctx, uint32_t node, const uint32_t *funcs, int depth);
/* Calls visit for every non-root node, depth first, parents first. */
void stacks_walk_profile(const struct profile *p, const struct callstats *cs,
			 stacks_node_visit visit, void *ctx);

/*
 * Calls visit once per calling-context node with own time: the value is
 * its own time in ns (stacks_node_ns), or its calls for a counts-only
 * profile. names[i] names cs->funcs[i].
 */
void stacks_of_profile(const struct profile *p, const struct callstats *cs,
		       const char *const *names, stacks_visit visit, void *ctx);

/*
 * The same for a drawing that shows frames down to 1/resolution of the
 * total: the stacks through a node whose subtree is narrower are cut at
 * that node, renamed STACKS_NARROW, so that one frame stands for the
 * whole subtree: one visit with the subtree's value. The values add up
 * to the same total, but a flame graph of a 16M-node profile holds a few
 * thousand frames, from as many visits.
 */
#define STACKS_NARROW "[frames too narrow to draw]"
void stacks_of_profile_drawn(const struct profile *p, const struct callstats *cs,
			     const char *const *names, int resolution, stacks_visit visit,
			     void *ctx);

/* Calls visit once per trace with live blocks; value = live bytes.
 * Inline frames are expanded. */
void stacks_of_snapshot(const struct snapshot *s, struct symbolizer *sym, stacks_visit visit,
			void *ctx);

#endif
