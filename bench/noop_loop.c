/*
 * For bench/compensation.sh: what a pair of hook calls costs in a
 * calibration-style loop when the hooks do nothing (glibc's no-op
 * __cyg_profile_func_enter/exit): the call runtime's own calibration
 * loop (instrument/calib_loop.h), with and without hooks, the fastest of
 * 200 rounds each. Built with the hook flag under test; prints ns a call.
 * The same no-op hooks inside a real program cost more (its caches, its
 * branch history, the registers the compiler saves around each hook
 * call): that difference is outside every hook, where no clock read of
 * a hook can see it.
 */
#include <stdio.h>
#include <time.h>

#include "../instrument/calib_loop.h"

#define ROUNDS 200

PLAIN static double ns_of(void (*fn)(void))
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	fn();
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / CALIB_CALLS;
}

PLAIN int main(void)
{
	double plain = 1e30, traced = 1e30;

	for (int r = 0; r < ROUNDS; r++) {
		double p = ns_of(plain_loop), t = ns_of(traced_loop);
		if (p < plain)
			plain = p;
		if (t < traced)
			traced = t;
	}
	printf("%.3f\n", traced - plain);
	return 0;
}
