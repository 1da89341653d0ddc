/*
 * Amdahl's law on a real profile: how much of the run the named
 * functions take (inclusive, a function inside another named one counted
 * once, under the outer one), and the run time predicted when each is
 * made FACTOR times faster. Never writes to stdout.
 */
#ifndef CPROF_REPORTER_WHATIF_H
#define CPROF_REPORTER_WHATIF_H

#include "callstats.h"

struct whatif_target {
	const char *name;	/* as the user wrote it (borrowed) */
	size_t *funcs;		/* indices into callstats.funcs it matched (owned) */
	size_t nfuncs;
	double factor;		/* > 0; the speedup asked for */
	double covered_s;	/* filled by whatif_measure */
	double covered_taken_s;	/* and the hooks' overhead taken out of it */
};

/*
 * Fills each target's covered_s: the inclusive time of its functions'
 * activations that are not inside an activation of any target's
 * function. Returns the profile's total time (sum of tottime).
 */
double whatif_measure(const struct profile *p, const struct callstats *cs,
		      struct whatif_target *t, size_t n);

/* Predicted total: total - sum(covered) + sum(covered / factor). With
 * is_upper_bound, the targets take no time at all. */
double whatif_predict(double total, const struct whatif_target *t, size_t n, int is_upper_bound);

/*
 * The same prediction at the two ends of the compensated times' range
 * (callstats_range): every time as far off as its share of the overhead
 * taken out of it allows, all in the same direction (one per-call
 * overhead misjudged), [0] CALLSTATS_UNCERTAIN_HIGH of it lower, [1]
 * CALLSTATS_UNCERTAIN_LOW higher. total_at: the total at each end (for
 * the speedups); predicted_at: the prediction.
 */
void whatif_predict_range(double total, double total_taken, const struct whatif_target *t,
			  size_t n, int is_upper_bound, double total_at[2], double predicted_at[2]);

#endif
