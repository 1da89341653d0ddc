/*
 * ThreadSanitizer stress of the call profiler's runtime (instrument/),
 * linked into this program instead of preloaded, which is built with
 * -finstrument-functions as a user's would be (run by tests/tsan/run.sh).
 * 4 waves of 16 threads, each starting and joining 2 threads of its own
 * while all call instrumented functions; then 8 threads call toggled()
 * while main disables and enables profiling 50 times; then the exit
 * write (with "running" as argv[1], while 4 threads still call
 * instrumented functions). Exact counts are printed as "expect" lines
 * for run.sh to compare with cprof report --json. The nested threads
 * also ask the runtime to note call sites (as the memory runtime's cct
 * stacks do) and check cprof_rt_shadow_node in leaf: "nodes" line.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../include/cprof.h"

#define NWAVES 4
#define NTHREADS 16
#define NINNER 2
#define CALLS 2000
#define INNER_CALLS (CALLS / 4)
#define REC_EVERY 100
#define REC_DEPTH 10
#define NTOGGLERS 8
#define TOGGLE_CALLS 1000
#define NRUNNING 4

static _Atomic long sink;

/* instrument/shadow.c, linked in. */
int cprof_rt_shadow_node_start(void);
int cprof_rt_shadow_node(unsigned *node, uintptr_t hook_cfa);
static _Thread_local int noting;	/* this thread's call sites are noted */
static _Atomic long node_first, node_other, node_wrong;

/* second_site: called from mid's second call of leaf, which is not the
 * first call site leaf's node was entered from. */
__attribute__((noinline)) static void leaf(long i, int second_site)
{
	atomic_fetch_add_explicit(&sink, i, memory_order_relaxed);
	if (noting) {
		unsigned node;
		/* Asked from leaf's own frame, below its CFA. */
		if (cprof_rt_shadow_node(&node, (uintptr_t)__builtin_frame_address(0)) != !second_site)
			atomic_fetch_add(&node_wrong, 1);
		else
			atomic_fetch_add(second_site ? &node_other : &node_first, 1);
	}
}

__attribute__((noinline)) static void mid(long i)
{
	leaf(i, 0);
	leaf(i + 1, 1);
}

__attribute__((noinline)) static long rec(int n)
{
	return n ? rec(n - 1) + 1 : 0;
}

__attribute__((noinline)) static void *inner_thread(void *arg)
{
	noting = cprof_rt_shadow_node_start() == 0;
	for (long i = 0; i < INNER_CALLS; i++)
		mid(i + (long)arg);
	return NULL;
}

__attribute__((noinline)) static void *thread_body(void *arg)
{
	pthread_t inner[NINNER];

	for (long t = 0; t < NINNER; t++)
		pthread_create(&inner[t], NULL, inner_thread, (void *)t);
	for (long i = 0; i < CALLS; i++) {
		mid(i + (long)arg);
		if (i % REC_EVERY == 0)
			rec(REC_DEPTH);
	}
	for (long t = 0; t < NINNER; t++)
		pthread_join(inner[t], NULL);
	return NULL;
}

__attribute__((noinline)) static void toggled(void)
{
	atomic_fetch_add_explicit(&sink, 1, memory_order_relaxed);
}

__attribute__((noinline)) static void *toggle_body(void *arg)
{
	(void)arg;
	for (long i = 0; i < TOGGLE_CALLS; i++)
		toggled();
	return NULL;
}

__attribute__((noinline)) static void *running_body(void *arg)
{
	(void)arg;
	for (;;)
		mid(1);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS > NTOGGLERS ? NTHREADS : NTOGGLERS];

	for (int w = 0; w < NWAVES; w++) {
		for (long t = 0; t < NTHREADS; t++)
			pthread_create(&th[t], NULL, thread_body, (void *)t);
		for (long t = 0; t < NTHREADS; t++)
			pthread_join(th[t], NULL);
		mid(w);
	}

	for (long t = 0; t < NTOGGLERS; t++)
		pthread_create(&th[t], NULL, toggle_body, NULL);
	for (int i = 0; i < 50; i++) {
		cprof_disable();
		cprof_enable();
	}
	for (long t = 0; t < NTOGGLERS; t++)
		pthread_join(th[t], NULL);

	long threads = (long)NWAVES * NTHREADS;
	long mids = threads * CALLS + threads * NINNER * INNER_CALLS + NWAVES;
	long recs = threads * (CALLS / REC_EVERY);
	printf("expect main=1/1 thread_body=%ld/%ld inner_thread=%ld/%ld mid=%ld/%ld leaf=%ld/%ld "
	       "rec=%ld/%ld\n",
	       threads, threads, threads * NINNER, threads * NINNER, mids, mids, 2 * mids,
	       2 * mids, recs * (REC_DEPTH + 1), recs);
	printf("at most toggled=%d\n", NTOGGLERS * TOGGLE_CALLS);
	printf("nodes first=%ld other=%ld wrong=%ld expected=%ld\n", atomic_load(&node_first),
	       atomic_load(&node_other), atomic_load(&node_wrong), threads * NINNER * INNER_CALLS);
	if (argc > 1 && strcmp(argv[1], "running") == 0)
		for (long t = 0; t < NRUNNING; t++) {
			pthread_t r;
			pthread_create(&r, NULL, running_body, NULL);
			pthread_detach(r);
		}
	fflush(stdout);
	return 0;
}
