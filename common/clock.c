/*
 * Clock choice and TSC calibration against CLOCK_MONOTONIC. Called at
 * start-up and when a file is written, never from a hook's hot path.
 */
#include "clock.h"
#include "rtenv.h"

#include <cpuid.h>
#include <stdlib.h>
#include <string.h>

int clock_tsc_is_invariant(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
		return 0;
	__get_cpuid(0x80000007u, &a, &b, &c, &d);
	return (d >> 8) & 1;
}

/*
 * A (CLOCK_MONOTONIC, ticks) pair taken at one moment: the clock read is
 * bracketed by two tick reads, and the narrowest bracket of a few tries
 * is kept. A preemption between two plain reads (several ms on a loaded
 * machine) would otherwise skew the ratio of the whole run by as much.
 */
static void read_pair(const struct clock_calib *c, uint64_t *ns, uint64_t *ticks)
{
	uint64_t narrowest = UINT64_MAX;

	for (int i = 0; i < 8; i++) {
		uint64_t before = clock_calib_ticks(c);
		uint64_t now_ns = clock_mono_ns();
		uint64_t after = clock_calib_ticks(c);
		if (after - before < narrowest) {
			narrowest = after - before;
			*ns = now_ns;
			*ticks = before + (after - before) / 2;
		}
	}
}

void clock_calib_start(struct clock_calib *c)
{
	const char *force = rtenv_get("CPROF_CLOCK");	/* also before environ */

	c->use_tsc = clock_tsc_is_invariant() && !(force && strcmp(force, "mono") == 0);
	read_pair(c, &c->start_ns, &c->start_ticks);
}

double clock_calib_ns_per_tick(const struct clock_calib *c, uint64_t *elapsed_ticks)
{
	uint64_t now_ns, now_ticks;

	do
		read_pair(c, &now_ns, &now_ticks);
	while (now_ns - c->start_ns < 20000000u);
	*elapsed_ticks = now_ticks - c->start_ticks;
	if (!c->use_tsc || now_ticks <= c->start_ticks)
		return 1.0;
	return (double)(now_ns - c->start_ns) / (double)(now_ticks - c->start_ticks);
}
