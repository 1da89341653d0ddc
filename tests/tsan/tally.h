/*
 * What the preload stress programs check after their threads joined:
 * per-worker tallies summed, the trace table's counters summed, and
 * expect_eq(), which prints one FAIL line per mismatch and counts it.
 * Include after preload/internal.h.
 */
#ifndef CPROF_TESTS_TSAN_TALLY_H
#define CPROF_TESTS_TSAN_TALLY_H

#include <stdint.h>
#include <stdio.h>

/* One worker's counts; each program fills the fields it checks. */
struct tally {
	uint64_t allocs, alloc_bytes, frees, free_bytes;
	uint64_t dropped_traces;
	uint64_t mismatches;	/* stress_preload: a block or trace not found as made */
	uint64_t bad;		/* stress_hooks: a block whose size or contents changed */
};

static struct tally tally_sum(const struct tally *t, int n)
{
	struct tally sum = { 0 };

	for (int w = 0; w < n; w++) {
		sum.allocs += t[w].allocs;
		sum.alloc_bytes += t[w].alloc_bytes;
		sum.frees += t[w].frees;
		sum.free_bytes += t[w].free_bytes;
		sum.dropped_traces += t[w].dropped_traces;
		sum.mismatches += t[w].mismatches;
		sum.bad += t[w].bad;
	}
	return sum;
}

/* Every trace's counters added up (quiescent: each one is exact). */
static struct fmt_trace tally_traces(uint32_t *ntraces)
{
	struct fmt_trace total = { 0 };

	traces_all(ntraces);
	for (uint32_t i = 0; i < *ntraces; i++) {
		struct fmt_trace ft;
		traces_read(i, &ft);
		total.total_blocks += ft.total_blocks;
		total.total_bytes += ft.total_bytes;
		total.live_blocks += ft.live_blocks;
		total.live_bytes += ft.live_bytes;
	}
	return total;
}

static int failures;

static void expect_eq(const char *what, uint64_t got, uint64_t want)
{
	if (got != want) {
		printf("FAIL %s: expected %llu, got %llu\n", what, (unsigned long long)want,
		       (unsigned long long)got);
		failures++;
	}
}

#endif
