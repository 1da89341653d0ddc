/*
 * The calibration loop's probe figure (instrument/probe_figure.h) on a
 * clock that ticks in coarse steps, as the TSC of an AMD EPYC VM does (26
 * ticks at a time): windows of a known length, started at random within
 * a step, read as whole steps.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include "../../instrument/probe_figure.h"

#define STEP 26
#define ROUNDS 25
#define PER_ROUND 31	/* about 2000 calls a round, one probe in 64 */

static uint32_t rng = 12345;

static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* A window of length ticks (times 100), read on the coarse clock. */
static uint64_t coarse_window(uint64_t length_x100)
{
	uint64_t start = next_random() % (100 * STEP);
	uint64_t end = start + length_x100;

	return (end / (100 * STEP) - start / (100 * STEP)) * STEP;
}

/* Rounds of windows of length_x100 / 100 ticks; rounds [0, slow) each
 * ten times as long (a busy machine). */
static double figure_of(uint64_t length_x100, int slow)
{
	uint64_t n[ROUNDS], ticks[ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		n[r] = PER_ROUND;
		ticks[r] = 0;
		for (int i = 0; i < PER_ROUND; i++)
			ticks[r] += coarse_window(r < slow ? 10 * length_x100 : length_x100);
	}
	return probe_loop_figure(n, ticks, ROUNDS, 100);
}

Test(probe_figure, finds_a_window_between_two_clock_steps)
{
	/* The windows read 26 or 52 ticks; what they last is in between.
	 * Each round's mean is within about a tick and a half of it
	 * (26 / sqrt(12 * 31)); the median of 25 such, well within 3. */
	static const uint64_t lengths_x100[] = { 2700, 3730, 4490, 5110, 3900 };

	for (size_t i = 0; i < sizeof(lengths_x100) / sizeof(lengths_x100[0]); i++) {
		double want = (double)lengths_x100[i] / 100, got = figure_of(lengths_x100[i], 0);
		cr_expect(got > want - 3 && got < want + 3, "windows of %.2f ticks: figure %.2f", want,
			  got);
	}
}

Test(probe_figure, a_few_slow_rounds_do_not_move_it)
{
	double got = figure_of(3730, 5);

	cr_expect(got > 37.3 - 3 && got < 37.3 + 3, "5 of 25 rounds ten times slower: %.2f", got);
}

Test(probe_figure, the_median_of_the_round_means)
{
	uint64_t n[4] = { 2, 1, 4, 2 }, ticks[4] = { 8, 1, 8, 6 };	/* means 4, 1, 2, 3 */

	cr_expect_float_eq(probe_loop_figure(n, ticks, 4, 1), 2.5, 1e-12);
	cr_expect_float_eq(probe_loop_figure(n, ticks, 3, 1), 2.0, 1e-12);
}

Test(probe_figure, too_few_probes_give_none)
{
	uint64_t n[4] = { 30, 30, 30, 0 }, ticks[4] = { 900, 900, 900, 0 };

	cr_expect_eq(probe_loop_figure(n, ticks, 4, 100), 0, "90 probes, 100 needed");
	cr_expect_float_eq(probe_loop_figure(n, ticks, 4, 90), 30.0, 1e-12);
	uint64_t sparse_n[4] = { 200, 0, 0, 0 }, sparse_ticks[4] = { 6000, 0, 0, 0 };
	cr_expect_eq(probe_loop_figure(sparse_n, sparse_ticks, 4, 100), 0,
		     "1 round of 4 with probes");
}
