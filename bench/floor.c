/*
 * The floor runtime of `make bench`: the least a calling-context profiler
 * does per call (two rdtsc, fixed-array shadow-stack push/pop, one open-
 * addressing probe on (function, parent)). No calibration, file, longjmp.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <x86intrin.h>

#define FLOOR_DEPTH 4096
#define FLOOR_SLOTS (1u << 16)		/* power of two */
#define FLOOR_MAX_USED (FLOOR_SLOTS / 2)
#define FLOOR_SPILL FLOOR_SLOTS		/* the extra last node: table full */
#define EXPORT __attribute__((visibility("default")))

struct floor_node {
	uint64_t fn;			/* 0: empty slot */
	uint32_t parent;		/* slot of the caller's node + 1; 0 = root */
	uint32_t reserved;
	uint64_t calls;
	uint64_t ticks;
};

struct floor_frame {
	uint64_t start_ticks;
	uint32_t node;
	uint32_t reserved;
};

/* One thread's data, mmap'd on its first call; written by that thread only. */
struct floor_thread {
	uint32_t depth;
	uint32_t overflow;		/* calls deeper than FLOOR_DEPTH, still open */
	uint32_t nused;
	struct floor_frame stack[FLOOR_DEPTH];
	struct floor_node nodes[FLOOR_SLOTS + 1];
};

static __thread struct floor_thread *floor_self __attribute__((tls_model("initial-exec")));
static struct floor_thread *floor_main;	/* the first thread's, for the exit report */

static struct floor_thread *floor_attach(void)
{
	void *p = mmap(NULL, sizeof(struct floor_thread), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();	/* a benchmark yardstick: no graceful degradation */
	if (!floor_main)
		floor_main = p;
	return floor_self = p;
}

static inline uint32_t floor_find(struct floor_thread *t, uint64_t fn, uint32_t parent)
{
	uint64_t h = (fn ^ ((uint64_t)parent << 32)) * 0x9e3779b97f4a7c15ull;
	uint32_t i = (uint32_t)(h >> 40) & (FLOOR_SLOTS - 1);

	while (t->nodes[i].fn) {
		if (t->nodes[i].fn == fn && t->nodes[i].parent == parent)
			return i;
		i = (i + 1) & (FLOOR_SLOTS - 1);
	}
	if (t->nused >= FLOOR_MAX_USED)
		return FLOOR_SPILL;
	t->nused++;
	t->nodes[i].fn = fn;
	t->nodes[i].parent = parent;
	return i;
}

EXPORT void __cyg_profile_func_enter(void *fn, void *call_site)
{
	struct floor_thread *t = floor_self;
	(void)call_site;

	if (__builtin_expect(!t, 0))
		t = floor_attach();
	if (__builtin_expect(t->depth >= FLOOR_DEPTH, 0)) {
		t->overflow++;
		return;
	}
	uint32_t parent = t->depth ? t->stack[t->depth - 1].node + 1 : 0;
	struct floor_frame *f = &t->stack[t->depth++];
	f->node = floor_find(t, (uint64_t)(uintptr_t)fn, parent);
	f->start_ticks = __rdtsc();
}

EXPORT void __cyg_profile_func_exit(void *fn, void *call_site)
{
	uint64_t now = __rdtsc();
	struct floor_thread *t = floor_self;
	(void)fn;
	(void)call_site;

	if (__builtin_expect(!t || !t->depth, 0))
		return;
	if (__builtin_expect(t->overflow != 0, 0)) {
		t->overflow--;
		return;
	}
	struct floor_frame *f = &t->stack[--t->depth];
	t->nodes[f->node].calls++;
	t->nodes[f->node].ticks += now - f->start_ticks;
}

/* BENCH_FLOOR_REPORT=1: the first thread's call total on stderr, so the
 * bench can check the workload's own call count. */
__attribute__((destructor)) static void floor_report(void)
{
	uint64_t calls = 0;

	if (!floor_main || !getenv("BENCH_FLOOR_REPORT"))
		return;
	for (uint32_t i = 0; i <= FLOOR_SLOTS; i++)
		calls += floor_main->nodes[i].calls;
	fprintf(stderr, "floor: calls=%llu paths=%u\n", (unsigned long long)calls,
		floor_main->nused);
}
