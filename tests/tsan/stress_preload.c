/*
 * ThreadSanitizer stress of the malloc shim's tables, linked from
 * preload/live.c, traces.c, current.c, snapshot.c and timeline.c (run by
 * tests/tsan/run.sh).
 * The shim cannot be preloaded under TSan (TSan owns malloc), so this
 * drives its internal API the way the hooks do, with fake addresses,
 * from 24 worker threads at a time (72 in all: threads end and start
 * while others run, so counter sets are handed on), while the helper
 * thread writes interval and "signal" snapshots, another thread takes
 * API snapshots and walks the fork handlers' lock sequence, and a
 * reader sums the counters. At the end every figure is checked exactly
 * against what the workers did; the exit snapshot's figures are printed
 * as "expect KEY=VALUE" lines for run.sh to compare with cprof stats.
 */
#define _GNU_SOURCE
#include "../../preload/internal.h"

#include "generations.h"
#include "tally.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What runtime.c and hooks.c define in the shim (not linked here). */
struct mem_runtime rt;
__thread struct tls_state tls __attribute__((tls_model("initial-exec")));

void runtime_quiet_begin(void)
{
}

void runtime_quiet_end(void)
{
}

extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

#define NWORKERS 24		/* at a time */
#define NGENERATIONS 3		/* each worker slot is refilled this many times */
#define ITERS 8000		/* allocations a worker */
#define KEEP 4096		/* blocks a worker holds: 24 x ~3500 live make every shard grow */
#define POOL 3000		/* distinct traces the workers share */
#define MAX_TRACES 2048		/* fewer than POOL: the table fills, drops are counted */
#define MAILBOX 256		/* blocks handed from one thread to another */

static _Atomic uint64_t mailbox[MAILBOX];	/* address of a live block, 0 = empty */
static _Atomic uint32_t pool_id[POOL];		/* id + 1 of pool trace k; 0 = not seen yet */
static _Atomic int is_running = 1;
static struct tally tallies[NWORKERS * NGENERATIONS];

static uint64_t size_of(uint64_t addr)
{
	return 16 + (addr >> 4) % 200;	/* the taker of a block knows its size */
}

static uint32_t pool_frames(uint32_t k, uint64_t *f)
{
	uint32_t n = 2 + k % 5;

	for (uint32_t j = 0; j < n; j++)
		f[j] = 0x400000 + ((uint64_t)k * 7 + j) * 16;
	return n;
}

static void free_block(uint64_t addr, struct tally *t)
{
	struct live_block b;

	if (!live_remove((void *)(uintptr_t)addr, &b) || b.size != size_of(addr)) {
		t->mismatches++;
		return;
	}
	traces_account_free(b.trace, b.size);
	counters_add_current(-b.size);
	t->frees++;
	t->free_bytes += b.size;
}

static void *worker(void *arg)
{
	long w = (long)arg;
	struct tally *t = &tallies[w];
	uint64_t mine[KEEP] = { 0 }, f[8], walked[16];
	uint32_t x = (uint32_t)w * 2654435761u + 1;

	for (uint64_t i = 0; i < ITERS; i++) {
		x = x * 1103515245u + 12345u;
		uint32_t k = (x >> 8) % POOL, n = pool_frames(k, f);
		uint64_t addr = (uint64_t)(w + 1) << 36 | (i + 1) << 4;
		uint64_t size = size_of(addr);
		struct live_block old;

		/* As a hook: hint, stack, intern, insert, count. */
		live_prefetch((void *)(uintptr_t)addr);
		tls.busy = 1;
		traces_fp_walk(walked, 16, __builtin_frame_address(0));
		struct trace_ctr *line;	/* the counter line the thread's cache keeps */
		uint32_t id = traces_intern(f, n, &line);
		uint32_t want = 0;
		if (!id) {
			t->dropped_traces++;
		} else if (!atomic_compare_exchange_strong(&pool_id[k], &want, id + 1) &&
			   want != id + 1) {
			t->mismatches++;	/* the same frames interned twice */
		}
		if (live_insert((void *)(uintptr_t)addr, size, id, &old) != 0) {
			t->mismatches++;
			tls.busy = 0;
			continue;
		}
		traces_account_alloc_at(line, id, size);
		counters_add_current(size);
		t->allocs++;
		t->alloc_bytes += size;

		/* Free one of ours, or hand it to another thread, or take one. */
		uint64_t *slot = &mine[x % KEEP];
		if (*slot && (x >> 20) % 4 == 0) {
			uint64_t prev = atomic_exchange(&mailbox[(x >> 12) % MAILBOX], *slot);
			if (prev)
				free_block(prev, t);
		} else if (*slot) {
			free_block(*slot, t);
		}
		*slot = addr;
		if ((x >> 24) % 8 == 0) {
			uint64_t got = atomic_exchange(&mailbox[(x >> 4) % MAILBOX], 0);
			if (got)
				free_block(got, t);
		}
		tls.busy = 0;
	}
	/* Half of what is left stays live to the end (as do the blocks
	 * left in the mailbox), the rest is freed. */
	tls.busy = 1;
	for (int s = 1; s < KEEP; s += 2)
		if (mine[s])
			free_block(mine[s], t);
	tls.busy = 0;
	return NULL;
}

static void *snapshotter(void *arg)
{
	(void)arg;
	for (int i = 0; atomic_load(&is_running); i++) {
		snapshot_take("api");
		/* The fork handlers' sequence, minus the fork. */
		snapshot_fork_prepare();
		traces_lock();
		live_lock_all();
		current_fork_prepare();
		current_fork_parent();
		live_unlock_all();
		traces_unlock();
		snapshot_fork_parent();
		snapshot_request_from_signal();
		struct timespec ts = { 0, 3000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *reader(void *arg)
{
	uint64_t *reads = arg;

	while (atomic_load(&is_running)) {
		uint32_t n;
		traces_all(&n);
		for (uint32_t i = 0; i < n; i += 7) {
			struct fmt_trace ft;
			traces_read(i, &ft);
			if (ft.live_blocks > ft.total_blocks)
				abort();
		}
		uint64_t cur, peak;
		cur = current_bytes();
		peak = atomic_load(&rt.peak_bytes);
		(void)cur;
		(void)peak;
		(*reads)++;
		sched_yield();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t snap_th, read_th;
	uint64_t reads = 0;
	const char *out = argc > 1 ? argv[1] : "tsan-out";

	rt.max_frames = 16;
	rt.unwind = UNWIND_FP;
	rt.max_traces = MAX_TRACES;
	rt.interval_ms = 5;
	/* 50 us: the helper samples the timeline, decimating it, between the
	 * snapshots of the helper and of another thread. */
	rt.timeline_us = 50;
	rt.snap_signal = 0;
	rt.start_unix_ns = rtenv_unix_ns();
	rt.start_mono_ns = clock_mono_ns();
	rt.start_tsc = __builtin_ia32_rdtsc();
	snprintf(rt.output_dir, sizeof(rt.output_dir), "%s", out);
	if (live_init() < 0 || traces_init() < 0) {
		printf("FAIL cannot map the tables\n");
		return 1;
	}
	traces_start_unwinder();
	atomic_store(&rt.is_tracing, 1);
	snapshot_start_helper();
	__cxa_atexit(snapshot_at_exit, NULL, NULL);	/* as runtime.c's constructor does */

	pthread_create(&snap_th, NULL, snapshotter, NULL);
	pthread_create(&read_th, NULL, reader, &reads);
	run_generations(worker, NWORKERS, NGENERATIONS);
	atomic_store(&is_running, 0);
	pthread_join(snap_th, NULL);
	pthread_join(read_th, NULL);

	struct tally sum = tally_sum(tallies, NWORKERS * NGENERATIONS);
	expect_eq("allocations recorded", sum.allocs, (uint64_t)NWORKERS * NGENERATIONS * ITERS);
	expect_eq("blocks found with their size on free", sum.mismatches, 0);

	/* Quiescent now: every counter is exact. */
	uint32_t ntraces;
	struct fmt_trace total = tally_traces(&ntraces);
	uint64_t entries = atomic_load(&live_count);
	expect_eq("traces interned (table full)", ntraces, MAX_TRACES);
	expect_eq("allocations summed over traces", total.total_blocks, sum.allocs);
	expect_eq("bytes summed over traces", total.total_bytes, sum.alloc_bytes);
	expect_eq("live blocks summed over traces", total.live_blocks, sum.allocs - sum.frees);
	expect_eq("live bytes summed over traces", total.live_bytes,
		  sum.alloc_bytes - sum.free_bytes);
	expect_eq("live table entries", entries, sum.allocs - sum.frees);
	/* 64 shards of 1024 slots at start: holding more entries than that,
	 * every insert having succeeded, it grew while other threads probed
	 * and prefetched. */
	if (entries <= 64 * 1024)
		expect_eq("live table grew (more entries than its first slots)", entries,
			  64 * 1024 + 1);
	expect_eq("current bytes", current_bytes(),
		  sum.alloc_bytes - sum.free_bytes);
	expect_eq("dropped traces", atomic_load(&rt.dropped_traces), sum.dropped_traces);
	if (atomic_load(&rt.peak_bytes) < sum.alloc_bytes - sum.free_bytes)
		expect_eq("peak >= current", 0, 1);
	if (!reads)
		expect_eq("reader ran", 0, 1);

	/* The exit snapshot (snapshot_at_exit) is written after main
	 * returns, while the helper may be writing: run.sh checks it. */
	printf("expect traced_size=%llu traced_count=%llu allocated_size=%llu "
	       "allocated_count=%llu freed_count=%llu dropped_traces=%llu traces=%u\n",
	       (unsigned long long)(sum.alloc_bytes - sum.free_bytes),
	       (unsigned long long)(sum.allocs - sum.frees), (unsigned long long)sum.alloc_bytes,
	       (unsigned long long)sum.allocs, (unsigned long long)sum.frees,
	       (unsigned long long)sum.dropped_traces, ntraces);
	printf("%s: %llu allocations, %llu frees, %llu dropped traces, %llu live entries, "
	       "%llu reader passes\n",
	       failures ? "FAIL" : "ok", (unsigned long long)sum.allocs,
	       (unsigned long long)sum.frees, (unsigned long long)sum.dropped_traces,
	       (unsigned long long)entries, (unsigned long long)reads);
	fflush(stdout);
	return failures ? 1 : 0;
}
