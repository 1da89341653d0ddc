/*
 * Measures the hooks' per-call overhead on real instrumented code: this
 * file alone is built with -finstrument-functions, and runs only from
 * start-up with a scratch thread_data, never from a hook. The same loop
 * built without hooks (calib_loop.h) gives the baseline the overhead is
 * measured over.
 */
#include "internal.h"
#include "calib_loop.h"
#include "probe_figure.h"

#define ROUNDS 25
/* Rounds with the hooks' in-band probes counted (see hooks.c), one in
 * about PROBE_LOOP_PERIOD calls: some 30 of each window a round. Still
 * rare and at random for the branch predictor, as in the program. */
#define PROBE_ROUNDS 25
#define PROBE_LOOP_PERIOD 64
#define PROBE_MIN 100	/* probes of a window in all, for a figure */

PLAIN static uint64_t ticks_of(void (*fn)(void))
{
	uint64_t t0 = clock_calib_ticks(&rt.clock);
	fn();
	return clock_calib_ticks(&rt.clock) - t0;
}

/*
 * inner: what lands in a callee's inclusive time per call (the leaf's
 * measured time, its body being empty); outer: the rest of the extra
 * time per call, which lands in the caller's own time. Each of the three
 * timings keeps its own fastest round: an interruption only ever adds
 * time, and a difference of two timings taken from one round would turn
 * an interrupted plain loop into a too-small overhead (0 at worst).
 */
PLAIN void hook_measure_overhead(double *inner_ticks, double *outer_ticks,
				 double probe[PROBE_WINDOWS])
{
	struct thread_data *saved = threads_self, *scratch = threads_new_data();
	double best_plain = -1, best_traced = -1, best_inner = -1;

	*inner_ticks = *outer_ticks = 0;
	for (int w = 0; w < PROBE_WINDOWS; w++)
		probe[w] = 0;
	if (!scratch || rt.counts_only)
		goto out;
	threads_self = scratch;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t before = 0;
		uint32_t n = atomic_load(&scratch->nnodes);
		for (uint32_t i = 1; i < n; i++)
			if (scratch->nodes[i].parent != 0)
				before = scratch->nodes[i].incl_ticks;
		double plain = (double)ticks_of(plain_loop) / CALIB_CALLS;
		double traced = (double)ticks_of(traced_loop) / CALIB_CALLS;
		/* traced_leaf is the only node whose parent is not the root. */
		n = atomic_load(&scratch->nnodes);
		double inner = 0;
		for (uint32_t i = 1; i < n; i++)
			if (scratch->nodes[i].parent != 0)
				inner = (double)(scratch->nodes[i].incl_ticks - before) / CALIB_CALLS;
		if (best_plain < 0 || plain < best_plain)
			best_plain = plain;
		if (best_traced < 0 || traced < best_traced)
			best_traced = traced;
		if (best_inner < 0 || inner < best_inner)
			best_inner = inner;
	}
	*inner_ticks = best_inner;
	*outer_ticks = best_traced - best_plain > best_inner ? best_traced - best_plain - best_inner : 0;
	uint64_t n[PROBE_WINDOWS][PROBE_ROUNDS], ticks[PROBE_WINDOWS][PROBE_ROUNDS];
	for (int w = 0; w < PROBE_WINDOWS; w++)
		scratch->probe_n[w] = scratch->probe_ticks[w] = 0;
	scratch->probe_period = PROBE_LOOP_PERIOD;
	scratch->probe_countdown = 1;
	for (int r = 0; r < PROBE_ROUNDS; r++) {
		for (int w = 0; w < PROBE_WINDOWS; w++) {
			n[w][r] = scratch->probe_n[w];
			ticks[w][r] = scratch->probe_ticks[w];
		}
		traced_loop();
		for (int w = 0; w < PROBE_WINDOWS; w++) {
			n[w][r] = scratch->probe_n[w] - n[w][r];
			ticks[w][r] = scratch->probe_ticks[w] - ticks[w][r];
		}
	}
	for (int w = 0; w < PROBE_WINDOWS; w++)
		probe[w] = probe_loop_figure(n[w], ticks[w], PROBE_ROUNDS, PROBE_MIN);
out:
	threads_self = saved;
	threads_free_data(scratch);
}
