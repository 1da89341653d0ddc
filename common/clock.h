/*
 * The runtimes' clock: the TSC where it is invariant (one rdtsc, ~11 ns
 * on our VMs), CLOCK_MONOTONIC otherwise (~26 ns here). Ticks are
 * converted to nanoseconds with a ratio calibrated over the whole run.
 */
#ifndef CPROF_COMMON_CLOCK_H
#define CPROF_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>
#include <x86intrin.h>

static inline uint64_t clock_tsc_ticks(void)
{
	return __rdtsc();
}

static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* True when CPUID says the TSC runs at a constant rate in every power
 * state (leaf 0x80000007, EDX bit 8), so ticks measure time. */
int clock_tsc_is_invariant(void);

struct clock_calib {
	int use_tsc;
	uint64_t start_ticks;
	uint64_t start_ns;	/* CLOCK_MONOTONIC at start_ticks */
};

/* Picks the clock and records the start point. CPROF_CLOCK=mono forces
 * clock_gettime (for comparison and for CPUs without invariant TSC). */
void clock_calib_start(struct clock_calib *c);
/* Current ticks of the chosen clock. */
static inline uint64_t clock_calib_ticks(const struct clock_calib *c)
{
	return c->use_tsc ? clock_tsc_ticks() : clock_mono_ns();
}
/*
 * Nanoseconds per tick measured from start to now; spins until at least
 * 20 ms have passed so short runs still get a ratio good to ~0.1%.
 * Sets *elapsed_ticks to the ticks since start.
 */
double clock_calib_ns_per_tick(const struct clock_calib *c, uint64_t *elapsed_ticks);

#endif
