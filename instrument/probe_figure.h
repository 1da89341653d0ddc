/*
 * The calibration loop's figure for one probe window (calibrate.c): the
 * median over the loop's rounds of each round's mean window.
 *
 * A mean, because the clock may tick in steps as long as a window: on an
 * AMD EPYC VM the TSC moves 26 ticks at a time (about 10 ns), so a hook's
 * window reads one step or two. A median of windows is then one of those
 * two values, while the program's mean window (runtime.c) lies between;
 * their difference, the probes' correction, was off by up to 8.5 ticks
 * a window there. A mean of many windows is not, as long as they start at
 * random within a step. The median over rounds, because a busy machine
 * slows some rounds throughout.
 *
 * Header-only and never hooked: calibrate.c, built with the hooks, and
 * tests/unit/test_probe_figure.c include it.
 */
#ifndef CPROF_INSTRUMENT_PROBE_FIGURE_H
#define CPROF_INSTRUMENT_PROBE_FIGURE_H

#include <stdint.h>

#define PROBE_FIGURE_ROUNDS_MAX 64

/*
 * n[r], ticks[r]: round r's probes of the window and their ticks summed.
 * 0 when there are fewer than min_probes probes in all, or when fewer than
 * half of the rounds have any.
 */
static inline __attribute__((no_instrument_function)) double
probe_loop_figure(const uint64_t *n, const uint64_t *ticks, int rounds, uint64_t min_probes)
{
	double mean[PROBE_FIGURE_ROUNDS_MAX];
	uint64_t total = 0;
	int k = 0;

	if (rounds > PROBE_FIGURE_ROUNDS_MAX)
		rounds = PROBE_FIGURE_ROUNDS_MAX;
	for (int r = 0; r < rounds; r++) {
		total += n[r];
		if (!n[r])
			continue;
		/* Insertion sort as they come: a few dozen, and no qsort,
		 * which may call malloc. */
		double m = (double)ticks[r] / (double)n[r];
		int i = k++;
		for (; i > 0 && mean[i - 1] > m; i--)
			mean[i] = mean[i - 1];
		mean[i] = m;
	}
	if (total < min_probes || 2 * k < rounds)
		return 0;
	return k % 2 ? mean[k / 2] : (mean[k / 2 - 1] + mean[k / 2]) / 2;
}

#endif
