/*
 * ThreadSanitizer stress of the malloc shim's hooks (preload/hooks.c and
 * runtime.c, linked with live.c, traces.c and snapshot.c; run by
 * tests/tsan/run.sh). TSan owns malloc, so run.sh compiles the hooks with
 * their exported names prefixed (malloc -> cprof_malloc, ...): this
 * program calls them as a host calls malloc, and the shim's "real"
 * allocator is TSan's. runtime.c's constructor has set the shim up from
 * the environment (the helper thread serves SIGUSR2); main turns the
 * in-band headers on over TSan's allocator (its start-up check wants
 * glibc's) before any block is made, and every block freed here is one of
 * the shim's, so no foreign block is ever inspected.
 *
 * 8 workers at a time (24 in all) malloc, calloc, realloc and free, hand
 * blocks to each other through a mailbox (frees across threads), while
 * one thread takes API snapshots and sends SIGUSR2 and another calls
 * unshare(CLONE_NEWUSER) (refused: the process has threads; the helper
 * is stopped and started again by the next hook). At the end the traced
 * figures must equal what the workers did, exactly; the exit snapshot's
 * are printed as "expect KEY=VALUE" for run.sh.
 */
#define _GNU_SOURCE
#include "../../preload/internal.h"

#include "generations.h"
#include "tally.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void *cprof_malloc(size_t size);
void *cprof_calloc(size_t n, size_t size);
void *cprof_realloc(void *p, size_t size);
void cprof_free(void *p);
size_t cprof_malloc_usable_size(void *p);
int cprof_rt_snapshot(const char *label);

#define NWORKERS 8
#define NGENERATIONS 3
#define ITERS 6000
#define KEEP 256
#define MAILBOX 128

/* A block's size lives in its first 8 bytes: whoever frees it knows it. */
static void *_Atomic mailbox[MAILBOX];
static _Atomic int is_running = 1;
static struct tally tallies[NWORKERS * NGENERATIONS];

static void put(struct tally *t, void *p, uint64_t size)
{
	*(uint64_t *)p = size;
	t->allocs++;
	t->alloc_bytes += size;
}

static void drop(struct tally *t, void *p)
{
	uint64_t size = *(uint64_t *)p;

	if (cprof_malloc_usable_size(p) < size)
		t->bad++;
	cprof_free(p);
	t->frees++;
	t->free_bytes += size;
}

static void *worker(void *arg)
{
	struct tally *t = &tallies[(long)arg];
	void *mine[KEEP] = { 0 };
	uint32_t x = (uint32_t)(long)arg * 2654435761u + 7;

	for (int i = 0; i < ITERS; i++) {
		x = x * 1103515245u + 12345u;
		uint64_t size = 8 + (x >> 8) % 300;
		void **slot = &mine[(x >> 4) % KEEP];
		switch ((x >> 20) % 5) {
		case 0:
		case 1:
			if (*slot)
				drop(t, *slot);
			*slot = (x >> 25) & 1 ? cprof_malloc(size) : cprof_calloc(1, size);
			if (!*slot)
				abort();
			put(t, *slot, size);
			break;
		case 2:	/* realloc: the old block out, the new one in */
			if (*slot) {
				uint64_t old = *(uint64_t *)*slot;
				void *q = cprof_realloc(*slot, size);
				if (!q || *(uint64_t *)q != old)
					t->bad++;	/* the contents move with the block */
				t->frees++;
				t->free_bytes += old;
				put(t, q, size);
				*slot = q;
			}
			break;
		case 3:	/* hand one on, free what was there */
			if (*slot) {
				void *prev = atomic_exchange(&mailbox[(x >> 9) % MAILBOX], *slot);
				*slot = NULL;
				if (prev)
					drop(t, prev);
			}
			break;
		default:
			if (*slot)
				drop(t, *slot);
			*slot = NULL;
		}
	}
	/* Half of what is left stays live to the end. */
	for (int s = 1; s < KEEP; s += 2)
		if (mine[s])
			drop(t, mine[s]);
	return NULL;
}

static void *poker(void *arg)
{
	(void)arg;
	for (int i = 0; atomic_load(&is_running); i++) {
		if (i % 2)
			cprof_rt_snapshot("api");
		else
			kill(getpid(), SIGUSR2);
		if (i % 5 == 0 && unshare(CLONE_NEWUSER) == 0)
			abort();	/* cannot succeed: this process has threads */
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(void)
{
	pthread_t poke;

	if (atomic_load(&rt.is_tracing) != TRACING_ON) {
		printf("FAIL the shim is not tracing after its constructor\n");
		return 1;
	}
	/* TSan's allocator under the hooks, with headers (no block exists yet). */
	rt.real.malloc = malloc;
	rt.real.calloc = calloc;
	rt.real.realloc = realloc;
	rt.real.free = free;
	rt.real.malloc_usable_size = malloc_usable_size;
	rt.secret = 0x5eed;
	rt.headers = 1;

	pthread_create(&poke, NULL, poker, NULL);
	run_generations(worker, NWORKERS, NGENERATIONS);
	atomic_store(&is_running, 0);
	pthread_join(poke, NULL);

	struct tally sum = tally_sum(tallies, NWORKERS * NGENERATIONS);
	expect_eq("blocks with their size and contents", sum.bad, 0);
	uint32_t ntraces;
	struct fmt_trace total = tally_traces(&ntraces);
	expect_eq("allocations summed over traces", total.total_blocks, sum.allocs);
	expect_eq("bytes summed over traces", total.total_bytes, sum.alloc_bytes);
	expect_eq("live blocks", total.live_blocks, sum.allocs - sum.frees);
	expect_eq("live bytes", total.live_bytes, sum.alloc_bytes - sum.free_bytes);
	expect_eq("current bytes", current_bytes(), sum.alloc_bytes - sum.free_bytes);
	expect_eq("untraced frees", atomic_load(&rt.untraced_frees), 0);
	expect_eq("overwritten headers", atomic_load(&rt.corrupt_headers), 0);
	printf("expect traced_size=%llu traced_count=%llu allocated_size=%llu allocated_count=%llu "
	       "freed_count=%llu\n",
	       (unsigned long long)(sum.alloc_bytes - sum.free_bytes),
	       (unsigned long long)(sum.allocs - sum.frees), (unsigned long long)sum.alloc_bytes,
	       (unsigned long long)sum.allocs, (unsigned long long)sum.frees);
	printf("%s: %llu allocations, %llu frees through the hooks\n", failures ? "FAIL" : "ok",
	       (unsigned long long)sum.allocs, (unsigned long long)sum.frees);
	fflush(stdout);
	return failures ? 1 : 0;
}
