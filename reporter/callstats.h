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
