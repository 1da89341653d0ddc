/*
 * Per-function statistics as pstats shows them, derived from the
 * calling-context trees of a profile: calls, primitive calls, tottime,
 * cumtime (cProfile's rule: counted at the outermost activation only),
 * and caller->callee edges. Never writes to stdout.
 */
#ifndef CPROF_REPORTER_CALLSTATS_H
#define CPROF_REPORTER_CALLSTATS_H

#include "profile.h"

struct func_stat {
	uint64_t fn;
	uint64_t calls, pcalls;
	double tottime, cumtime;	/* seconds */
	/* The hooks' overhead taken out of each (0 without compensation):
	 * measured minus reported. */
	double tottime_taken, cumtime_taken;
};

/* caller == SIZE_MAX: called from a thread's root (no instrumented caller). */
struct edge_stat {
	size_t caller, callee;		/* indices into callstats.funcs */
	uint64_t calls, pcalls;
	double tottime, cumtime;
};

struct callstats {
	struct func_stat *funcs;
	size_t nfuncs;
	struct edge_stat *edges;
	size_t nedges;
	uint64_t total_calls, total_pcalls;
	double total_time;		/* sum of tottime */
	double total_taken;		/* sum of tottime_taken */
	uint32_t *node_func;		/* per profile node: index into funcs (root: UINT32_MAX) */
	double *node_incl;		/* per profile node: inclusive seconds, compensated
					 * like everything else here */
	double *node_self;		/* per profile node: own seconds, compensated */
};

/*
 * Builds the statistics of p. With compensate, the hooks' measured
 * per-call overhead (profile.inner_s/outer_s) is taken out of every
 * time, never below zero. Caller releases with callstats_release().
 */
void callstats_build(struct callstats *cs, const struct profile *p, int compensate);
void callstats_release(struct callstats *cs);

/*
 * How far a compensated time may lie from the program's own time, as a
 * share of the overhead taken out of it. The hooks cost the program more
 * than they measure: glibc's no-op hooks alone cost 0.9-2.6 ns a call
 * more in SQLite and the demo than in a loop, all of it outside any
 * hook's clock reads, while the probes' fenced windows also take in
 * some of the program's own work in flight. bench/compensation.sh
 * measures the compensated totals of four builds against their plain
 * builds: 20 runs on a quiet machine were off by -4.7% to +12.0% of the
 * overhead taken out (-4.0% to +8.9% in a run before the fastest-leaf
 * cap was dropped for probed processes).
 */
#define CALLSTATS_UNCERTAIN_HIGH 0.15	/* the program's time may be this much lower */
#define CALLSTATS_UNCERTAIN_LOW 0.10	/* or this much higher */

/* The range [*lo, *hi] a compensated time t that had taken out of it
 * may stand for (t itself when nothing was taken). */
void callstats_range(double t, double taken, double *lo, double *hi);

/* For an export's comment: one line saying how much overhead was taken
 * out and what range each time stands for; NULL when nothing was taken
 * out. Caller frees. */
char *callstats_range_note(const struct callstats *cs);

/* Orders two functions: negative when a comes first. */
typedef int (*callstats_cmp)(const struct func_stat *a, const struct func_stat *b, void *ctx);

/*
 * The called functions (calls > 0) among the first k by cmp, without
 * sorting the others: those that tie with the k-th are kept too, so that
 * a finer order (a name) can still choose among them. Their indices into
 * cs->funcs, in no order, *n of them. O(nfuncs log k). Caller frees.
 */
size_t *callstats_top(const struct callstats *cs, size_t k, callstats_cmp cmp, void *ctx,
		      size_t *n);

/* Index of the function with entry address fn, or SIZE_MAX. */
size_t callstats_find(const struct callstats *cs, uint64_t fn);

#endif
