/*
 * Allocation sites: the caller's stack from libunwind's unw_backtrace()
 * (the cached fast path; never the unw_step cursor API, which makes a
 * system call per frame), interned once per distinct trace in a table
 * that is read without a lock and appended under one. Per-trace
 * counters are atomics. All storage is mmap'd, never malloc'd.
 *
 * libunwind is dlopen'ed RTLD_LOCAL, never linked: a libunwind in the
 * global scope would take over the host's own backtrace() and
 * _Unwind_Backtrace. (Debian's libunwind.a is not position-independent,
 * so it cannot be linked into the shim with hidden symbols.)
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "internal.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <libunwind.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

/* Frames of the shim itself (hook, capture, unw_backtrace) that sit on
 * top of every stack; they are skipped by address, this bounds them. */
#define SKIP_MAX 4
/* Frame arena: on average this many frames a trace before it is full. */
#define ARENA_FRAMES_PER_TRACE 32

/* Written by traces_init() before tracing starts; recs, frames and slots
 * are appended under lock, and read lock-free after their publication
 * (a slot, or count, stored with release order after the record). */
static struct {
	struct trace_rec *recs;
	uint64_t *frames;
	_Atomic uint32_t *slots;	/* trace id + 1; 0 = empty */
	uint32_t slot_mask;
	uint32_t max_traces;
	uint64_t max_frames_total;
	_Atomic int lock;		/* protects the append fields below */
	_Atomic uint32_t count;		/* published records */
	uint64_t frames_used;
} tt;

static void *map_noreserve(size_t bytes)
{
	/* NORESERVE: only the pages that fill up cost memory. */
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int traces_init(void)
{
	size_t nslots = 1;

	while (nslots < (size_t)rt.max_traces * 2)	/* load <= 1/2 */
		nslots <<= 1;
	tt.max_traces = rt.max_traces;
	tt.max_frames_total = (uint64_t)rt.max_traces * ARENA_FRAMES_PER_TRACE;
	tt.recs = map_noreserve((size_t)tt.max_traces * sizeof(*tt.recs));
	tt.frames = map_noreserve(tt.max_frames_total * sizeof(*tt.frames));
	tt.slots = map_noreserve(nslots * sizeof(*tt.slots));
	if (!tt.recs || !tt.frames || !tt.slots)
		return -1;
	tt.slot_mask = (uint32_t)(nslots - 1);
	/* Trace 0: the empty trace, for blocks whose stack is unknown. */
	atomic_store(&tt.count, 1);
	return 0;
}

/* Until the unwinder is loaded (allocations made before our constructor
 * ran), blocks are filed under the empty trace. */
static int (*_Atomic backtrace_fn)(void **, int);

void traces_start_unwinder(void)
{
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	int (*bt)(void **, int) = h ? (int (*)(void **, int))dlsym(h, "unw_backtrace") : NULL;
	int (*policy)(unw_addr_space_t, unw_caching_policy_t) =
		h ? (int (*)(unw_addr_space_t, unw_caching_policy_t))dlsym(h, "_ULx86_64_set_caching_policy")
		  : NULL;
	unw_addr_space_t *as = h ? (unw_addr_space_t *)dlsym(h, "_ULx86_64_local_addr_space") : NULL;

	if (!bt) {
		rtenv_say("cannot load libunwind.so.8 (install libunwind8); using glibc's slower backtrace()",
			    NULL, NULL, NULL, NULL);
		bt = backtrace;
	} else if (policy && as) {
		/* Per-thread caches: no lock shared by threads while unwinding. */
		policy(*as, UNW_CACHE_PER_THREAD);
	}
	atomic_store(&backtrace_fn, bt);
}

static inline uint64_t hash_frames(const uint64_t *f, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;

	for (uint32_t i = 0; i < n; i++) {
		h ^= f[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h | 1;	/* never 0 */
}

static inline int same(const struct trace_rec *t, uint64_t h, const uint64_t *f, uint32_t n)
{
	return t->hash == h && t->nframes == n &&
	       memcmp(tt.frames + t->frames_at, f, n * sizeof(*f)) == 0;
}

void traces_lock(void)
{
	int expected;

	for (;;) {
		expected = 0;
		if (atomic_compare_exchange_weak(&tt.lock, &expected, 1))
			return;
		sched_yield();
	}
}

void traces_unlock(void)
{
	atomic_store(&tt.lock, 0);
}

static uint32_t intern(const uint64_t *f, uint32_t n)
{
	uint64_t h = hash_frames(f, n);
	uint32_t i = (uint32_t)h & tt.slot_mask;

	/* Lock-free lookup: the common case once the program is warm. */
	for (;;) {
		uint32_t s = atomic_load_explicit(&tt.slots[i], memory_order_acquire);
		if (!s)
			break;
		if (same(&tt.recs[s - 1], h, f, n))
			return s - 1;
		i = (i + 1) & tt.slot_mask;
	}
	traces_lock();
	/* Another thread may have added it, or others, since we looked. */
	for (;;) {
		uint32_t s = atomic_load_explicit(&tt.slots[i], memory_order_acquire);
		if (!s)
			break;
		if (same(&tt.recs[s - 1], h, f, n)) {
			traces_unlock();
			return s - 1;
		}
		i = (i + 1) & tt.slot_mask;
	}
	uint32_t id = atomic_load_explicit(&tt.count, memory_order_relaxed);
	if (id >= tt.max_traces || tt.frames_used + n > tt.max_frames_total) {
		traces_unlock();
		atomic_fetch_add_explicit(&rt.dropped_traces, 1, memory_order_relaxed);
		return 0;
	}
	struct trace_rec *t = &tt.recs[id];
	t->hash = h;
	t->nframes = n;
	t->frames_at = (uint32_t)tt.frames_used;
	memcpy(tt.frames + tt.frames_used, f, n * sizeof(*f));
	tt.frames_used += n;
	atomic_store_explicit(&tt.slots[i], id + 1, memory_order_release);
	atomic_store_explicit(&tt.count, id + 1, memory_order_release);
	traces_unlock();
	return id;
}

uint32_t traces_capture(void)
{
	void *buf[FMT_FRAMES_MAX + SKIP_MAX];
	int (*bt)(void **, int) = atomic_load_explicit(&backtrace_fn, memory_order_relaxed);
	int skip = 0;

	if (unlikely(!bt))
		return 0;
	int n = bt(buf, (int)rt.max_frames + SKIP_MAX);

	while (skip < n && skip < SKIP_MAX && (uintptr_t)buf[skip] >= rt.self_lo &&
	       (uintptr_t)buf[skip] < rt.self_hi)
		skip++;
	n -= skip;
	if (n > (int)rt.max_frames)
		n = (int)rt.max_frames;
	if (n <= 0)
		return 0;
	/* void * and uint64_t have the same size here (x86-64 only). */
	return intern((const uint64_t *)(buf + skip), (uint32_t)n);
}

const struct trace_rec *traces_all(uint32_t *count)
{
	*count = atomic_load_explicit(&tt.count, memory_order_acquire);
	return tt.recs;
}

const uint64_t *traces_frames(const struct trace_rec *t)
{
	return tt.frames + t->frames_at;
}

void traces_account_alloc(uint32_t id, uint64_t size)
{
	struct trace_rec *t = &tt.recs[id];

	atomic_fetch_add_explicit(&t->live_bytes, size, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->live_blocks, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->total_bytes, size, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->total_blocks, 1, memory_order_relaxed);
}

void traces_account_free(uint32_t id, uint64_t size)
{
	struct trace_rec *t = &tt.recs[id];

	atomic_fetch_sub_explicit(&t->live_bytes, size, memory_order_relaxed);
	atomic_fetch_sub_explicit(&t->live_blocks, 1, memory_order_relaxed);
}
