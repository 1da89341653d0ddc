/*
 * The calibration loop: CALIB_CALLS calls of an empty function, built
 * with hooks (traced_loop: the translation unit is compiled with the
 * hook flag) and without (plain_loop). Shared by the call runtime's
 * calibration (calibrate.c) and bench/noop_loop.c, which times it with
 * glibc's no-op hooks, so the benchmark measures the very loop the
 * runtime calibrates on.
 */
#ifndef CPROF_INSTRUMENT_CALIB_LOOP_H
#define CPROF_INSTRUMENT_CALIB_LOOP_H

#define PLAIN __attribute__((noinline, no_instrument_function))
#define TRACED __attribute__((noinline))
#define CALIB_CALLS 2000

TRACED static void traced_leaf(void)
{
	__asm__ volatile("");
}

TRACED static void traced_loop(void)
{
	for (int i = 0; i < CALIB_CALLS; i++)
		traced_leaf();
}

PLAIN static void plain_leaf(void)
{
	__asm__ volatile("");
}

PLAIN static void plain_loop(void)
{
	for (int i = 0; i < CALIB_CALLS; i++)
		plain_leaf();
}

#endif
