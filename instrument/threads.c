/*
 * Per-thread data: created on a thread's first hook (mmap, never malloc),
 * published on a lock-free list so the exit writer finds threads that
 * already ended, closed by a pthread key destructor when a thread exits.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct thread_data *threads_self __attribute__((tls_model("initial-exec")));

static pthread_key_t exit_key;
static int has_exit_key;

static void *map_zeroed(size_t bytes)
{
	/* NORESERVE: only pages a deep or wide program touches cost memory. */
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static size_t slots_for(uint32_t max_nodes)
{
	size_t n = 1;

	while (n < (size_t)max_nodes * 2)	/* load factor <= 1/2 */
		n <<= 1;
	return n;
}

_Atomic uint64_t threads_lost_calls;
static __thread int has_failed __attribute__((tls_model("initial-exec")));

static struct thread_data *new_data_sized(uint32_t max_nodes, uint32_t max_depth)
{
	struct thread_data *td = map_zeroed(sizeof(*td));
	size_t nslots = slots_for(max_nodes);

	if (!td)
		return NULL;
	td->max_nodes = max_nodes;
	td->max_depth = max_depth;
	td->nodes = map_zeroed((size_t)max_nodes * sizeof(*td->nodes));
	td->slots = map_zeroed(nslots * sizeof(*td->slots));
	td->stack = map_zeroed((size_t)max_depth * sizeof(*td->stack));
	if (!td->nodes || !td->slots || !td->stack) {
		threads_free_data(td);
		return NULL;
	}
	td->slot_mask = (uint32_t)(nslots - 1);
	atomic_store(&td->nnodes, 1);	/* the root */
	td->tid = (pid_t)syscall(SYS_gettid);
	prctl(PR_GET_NAME, td->name, 0, 0, 0);
	return td;
}

struct thread_data *threads_new_data(void)
{
	/* Under an address-space limit (RLIMIT_AS) the full tables (~60 MB
	 * of NORESERVE mappings) may not fit: a sixteenth, then a 256th,
	 * still records the thread; a tree or stack that fills counts its
	 * drops as usual. */
	for (uint32_t shrink = 1; shrink <= 256; shrink *= 16) {
		uint32_t nodes = rt.max_nodes / shrink, depth = rt.max_depth / shrink;
		struct thread_data *td = new_data_sized(nodes < 16 ? 16 : nodes,
							depth < 16 ? 16 : depth);
		if (td)
			return td;
	}
	return NULL;
}

void threads_free_data(struct thread_data *td)
{
	if (!td)
		return;
	if (td->nodes)
		munmap(td->nodes, (size_t)td->max_nodes * sizeof(*td->nodes));
	if (td->slots)
		munmap(td->slots, slots_for(td->max_nodes) * sizeof(*td->slots));
	if (td->stack)
		munmap(td->stack, (size_t)td->max_depth * sizeof(*td->stack));
	munmap(td, sizeof(*td));
}

static void thread_exiting(void *arg)
{
	struct thread_data *td = arg;

	td->busy = BUSY_RUNTIME;
	hook_close_all(td, rt.counts_only ? 0 : clock_calib_ticks(&rt.clock));
	prctl(PR_GET_NAME, td->name, 0, 0, 0);	/* names are often set after start */
	td->busy = 0;
	/* Calls made by later TLS destructors still land in td; they open
	 * and close in pairs, so nothing is left open. */
}

/* The first hook of a thread: the program's errno is kept whatever
 * fails here (mmap under RLIMIT_AS, reading the environment). */
struct thread_data *threads_attach(void)
{
	struct thread_data *td = NULL;
	int err = errno;

	if (hook_is_quiet() || !rt_init() || atomic_load(&rt.is_finished))
		goto out;
	/* No tables even at a 256th: this thread's calls are counted as
	 * dropped (one per entry), without trying again each time. */
	if (has_failed || !(td = threads_new_data())) {
		has_failed = 1;
		atomic_fetch_add_explicit(&threads_lost_calls, 1, memory_order_relaxed);
		goto out;
	}
	td->next = atomic_load(&rt.threads);
	while (!atomic_compare_exchange_weak(&rt.threads, &td->next, td))
		;
	threads_self = td;
	if (has_exit_key)
		pthread_setspecific(exit_key, td);	/* key < 32: no allocation */
out:
	errno = err;
	return td;
}

static void fork_child(void)
{
	struct thread_data *me = threads_self;
	uint64_t now = rt.counts_only ? 0 : clock_calib_ticks(&rt.clock);

	atomic_store(&rt.is_finished, 0);
	/* The other threads do not exist in the child; their data stays
	 * with the parent's profile. Ours starts again from zero, keeping
	 * the call stack we are in so its exits still match. */
	atomic_store(&rt.threads, NULL);
	if (!me)
		return;
	me->next = NULL;
	atomic_store(&rt.threads, me);
	uint32_t n = atomic_load(&me->nnodes);
	for (uint32_t i = 0; i < n; i++) {
		me->nodes[i].calls = 0;
		me->nodes[i].incl_ticks = 0;
		me->nodes[i].self_ticks = 0;
	}
	for (uint32_t i = 0; i < me->depth; i++) {
		me->stack[i].start_ticks = now;
		me->stack[i].child_ticks = 0;
	}
	me->dropped_nodes = me->dropped_frames = me->mismatched_exits = 0;
	me->skipped_reentrant = 0;
	me->tid = (pid_t)syscall(SYS_gettid);
	rt_restamp_start();
}

void threads_init(void)
{
	has_exit_key = pthread_key_create(&exit_key, thread_exiting) == 0;
	pthread_atfork(NULL, NULL, fork_child);
}
