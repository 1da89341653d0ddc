/*
 * Internals shared by the malloc shim's files: the originals from dlsym,
 * the per-thread guard, the live-pointer table, the interned traces and
 * the process-wide counters. Included from preload/ only.
 */
#ifndef CPROF_PRELOAD_INTERNAL_H
#define CPROF_PRELOAD_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/clock.h"
#include "../common/format.h"
#include "../common/modmap.h"
#include "../common/rtenv.h"
#include "../instrument/instrument.h"	/* struct cprof_shadow_frame */
#include "room_commit.h"

#define HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* The allocator's originals, from dlsym(RTLD_NEXT): written once by
 * runtime_resolve() before rt.is_tracing is set, read-only afterwards. */
struct real_fns {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
};

/*
 * Per-thread state. busy is set while this thread is inside the shim
 * (a hook, a snapshot, the helper thread): allocations made meanwhile,
 * by libunwind, by dlsym or by a signal handler, go straight to the real
 * allocator untraced, which is what keeps the shim from recursing.
 */
struct trace_ctr;
struct ctr_set;
struct size_ctr;
/* A thread's recent stacks -> trace id (traces.c), two ways a set,
 * the set chosen by the innermost frame: no hash of the whole stack on
 * a hit, which is checked frame by frame against the interned trace, so
 * it is exact. */
#define TCACHE_SIZE 64
#define MODS_CACHED 4
#define CCT_MEMO 16	/* DEFAULT_FRAMES: deeper CPROF_FRAMES read it all each time */
#define CFI_MEMO 16	/* DEFAULT_FRAMES: deeper CPROF_FRAMES walk it all each time */
/* CPROF_UNWIND=cfi (cfi.c): a frame as the walk found it, and what it
 * read to step to its caller (the caller's rbp: 0 if kept in the
 * register). */
struct cfi_frame {
	uint64_t pc;			/* the return address into it */
	uintptr_t rsp, rbp;		/* as they were when the call returned there */
	uintptr_t rbp_at;
};
/* A thread's last walk, of n frames: frames[cur]; the next walk is
 * written to the other one. */
struct cfi_memo {
	struct cfi_frame frames[2][CFI_MEMO];
	int n, cur;
	uint32_t gen;			/* the load generation it was made in */
};
struct tcache_entry {
	uint64_t first;			/* the innermost frame */
	uint32_t id;
	uint32_t frames_at;		/* the trace's frames in the arena */
	uint32_t nframes;		/* 0 = empty */
	uint32_t gen;			/* load generation the trace was made in */
	/* The trace's counters in this thread's set, NULL until its chunk
	 * is mapped: an allocation from a cached stack goes straight to its
	 * line. Cleared when the thread hands its set on. */
	struct trace_ctr *line;
};
struct tls_state {
	int busy;
	/* Hooks left before the next snapshot_tick() (hook_leave); 0 after
	 * a block of TICK_BYTES or more (counters_add_current). */
	int tick_left;
	int ctr_state;			/* CTR_*: this thread's counter set */
	struct trace_ctr *_Atomic *ctr_dir;	/* ctr_set's chunks, NULL until acquired */
	struct size_ctr *sizes;		/* ctr_set's size histogram, set with ctr_dir */
	struct ctr_set *ctr_set;
	uintptr_t stack_lo, stack_hi;	/* CPROF_UNWIND=fp: this thread's stack, 0 = not yet */
	struct tcache_entry tcache[TCACHE_SIZE];
	/* CPROF_UNWIND=cct: modules' address ranges seen lately (traces.c). */
	struct { uintptr_t lo, hi; } mods[MODS_CACHED];
	uint32_t mods_gen;		/* load generation they were found in */
	uint32_t mods_next;		/* the entry replaced next */
	/* CPROF_UNWIND=cct: the shadow stack as last read (hooks.c), when
	 * it made a whole trace; frames reused while their calls are open. */
	int cct_nmemo;
	struct cprof_shadow_frame cct_memo[CCT_MEMO];
	/* CPROF_UNWIND=cct: the contexts known (cct.c), NULL until the
	 * thread's first cct stack; cct_state: CCT_*. */
	struct cct_cache *cct;
	int cct_state;
	struct cfi_memo cfi;		/* CPROF_UNWIND=cfi: the last walk (cfi.c) */
	int *errno_ptr;			/* &errno, once (errno_ptr()) */
	/* Temporaries: this thread's latest allocation while it is the
	 * latest allocation-family event of the thread (0: none). */
	uintptr_t temp_ptr;
	uint32_t temp_trace;
	struct trace_ctr *temp_line;	/* its counters in this thread's set, or NULL */
	/* The trace this thread last freed a block of, and its counters in
	 * this thread's set (NULL: none): traces_account_free's memo. */
	struct trace_ctr *free_line;
	uint32_t free_id;
	/* current.c: this thread's room (NULL: none yet), its slot + 1 (-1:
	 * none to be had), and whether it holds (or waits for) the lock. */
	_Atomic int64_t *cur_room;
	uint64_t cur_cap;		/* the most the room may hold (current.c) */
	int cur_slot;
	int cur_locked;
	int cur_rseq;			/* the room is updated by room_commit */
};
extern __thread struct tls_state tls
	__attribute__((visibility("hidden"), tls_model("initial-exec")));

enum { STATE_FRESH, STATE_RESOLVING, STATE_RESOLVED };
/* rt.is_tracing: off; on; on, with work for the next hook: the helper
 * thread to start (the process went multi-threaded, or unshare is
 * over) or a signal snapshot a handler could not write (snapshot.c). */
enum { TRACING_OFF, TRACING_ON, TRACING_PENDING };
enum { CTR_NONE, CTR_OWNED, CTR_EXITED };	/* tls.ctr_state */
/* CPROF_UNWIND; UNWIND_AUTO is resolved by traces_start_unwinder(). */
enum { UNWIND_LIBUNWIND, UNWIND_FP, UNWIND_CCT, UNWIND_CFI, UNWIND_AUTO };

#define DEFAULT_FRAMES 16	/* see runtime.c for the measurement */
#define DEFAULT_MAX_TRACES (1u << 20)
#define MAX_TRACES_LIMIT ((1u << 24) - 1)	/* trace ids are 24 bits in the live table */
#define LIVE_SIZE_LIMIT ((1ull << 40) - 1)	/* sizes are 40 bits in the live table */

/*
 * Process-wide state (one per process; a forked child keeps its copy).
 * Configuration fields are written by runtime_resolve() before
 * is_tracing is set and read-only afterwards; counters are atomics.
 */
struct mem_runtime {
	_Atomic int state;		/* STATE_*: who resolves the originals */
	_Atomic int is_tracing;		/* TRACING_*: hooks record once tables exist */
	struct real_fns real;
	uint32_t max_frames;		/* CPROF_FRAMES */
	int unwind;			/* CPROF_UNWIND: UNWIND_* */
	_Atomic int cfi_ready;		/* cfi_walk may be used (not before the constructor) */
	uint32_t max_traces;		/* CPROF_MAX_TRACES */
	uint32_t interval_ms;		/* CPROF_INTERVAL, 0 = off */
	int snap_signal;		/* CPROF_SNAPSHOT_SIGNAL, 0 = off */
	uint32_t timeline_us;		/* CPROF_TIMELINE, 0 = off */
	int headers;			/* blocks of malloc/calloc/realloc carry a header */
	uint64_t secret;		/* per process: keys the headers' tags */
	/* current_setup(): rooms may be updated by room_commit (membarrier's
	 * rseq command is registered); glibc's __rseq_offset. */
	int room_rseq;
	long rseq_offset;
	uintptr_t self_lo, self_hi;	/* our own code: frames skipped */
	uint64_t start_unix_ns;
	uint64_t start_mono_ns;
	uint64_t start_tsc;
	char output_dir[PATH_MAX];

	/* Hot counters, each on its own line so threads do not bounce
	 * them more than they must. */
	_Alignas(64) _Atomic uint64_t peak_bytes;	/* written by current.c */
	_Atomic uint64_t peak_tsc;	/* when peak_bytes was reached */
	/* Counts new peaks (and resets): a trace counter whose peak_gen is
	 * older has not changed since the latest peak. */
	_Atomic uint64_t peak_gen;
	_Alignas(64) _Atomic uint64_t dropped_allocs;
	_Atomic uint64_t dropped_traces;
	_Atomic uint64_t untraced_frees;
	_Atomic uint64_t corrupt_headers;	/* frees of blocks whose header was overwritten */
	_Atomic uint64_t libunwind_stacks;	/* stacks cfi_walk left to libunwind */
};

extern struct mem_runtime rt HIDDEN;

/* Hooks between two looks at the clock (snapshot_tick), and the block
 * size from which a block ticks at once (counters_add_current). */
#define TICK_CALLS 128
#define TICK_BYTES (64u * 1024)

/* snapshot.c: the next hook's work (rt.is_tracing == TRACING_PENDING). */
void snapshot_pending(void) HIDDEN;
/* Every TICK_CALLS hooks of a thread (sooner after a large block), from
 * hook_leave: the timeline's sample while no helper runs, and the
 * helper's start once the process has a second thread. */
void snapshot_tick(void) HIDDEN;

/* hooks.c: the guard. False when reentered or not tracing. */
static inline int hook_enter(void)
{
	if (unlikely(tls.busy))
		return 0;
	int on = atomic_load_explicit(&rt.is_tracing, memory_order_relaxed);
	if (unlikely(on != TRACING_ON)) {
		if (on != TRACING_PENDING)
			return 0;
		snapshot_pending();
	}
	tls.busy = 1;
	return 1;
}

/* The tick comes here, at the end of a hook of this thread's own, when
 * nothing of the shim is held and the call has been counted. */
static inline void hook_leave(void)
{
	if (unlikely(--tls.tick_left < 0))
		snapshot_tick();
	tls.busy = 0;
}

/* This thread's errno: the address is the thread's for its life (and its
 * fork child's), so the hooks save and restore errno without a call to
 * __errno_location each. */
static inline int *errno_ptr(void)
{
	int *e = tls.errno_ptr;

	if (unlikely(!e))
		e = tls.errno_ptr = &errno;
	return e;
}

/* live.c: the live-pointer table, 64 independently locked shards. */
struct live_block {
	uint64_t size;
	uint32_t trace;
};
int live_init(void) HIDDEN;
/* 0 inserted, 1 replaced a stale entry (its old block in *old), -1 table full. */
int live_insert(void *p, uint64_t size, uint32_t trace, struct live_block *old) HIDDEN;
/* A hint that p is inserted soon (the unwinding in between hides the
 * table's cache miss). No lock; any thread, any time. */
void live_prefetch(const void *p) HIDDEN;
/* 1 and the block in *out when p was live (the entry is removed), else 0. */
int live_remove(void *p, struct live_block *out) HIDDEN;
/* Blocks in the table: a free skips the lookup (and its lock) when none
 * is (in-band headers leave only the aligned family there). The block
 * being freed was inserted before the free, so a relaxed load sees it. */
extern _Atomic uint64_t live_count HIDDEN;
static inline int live_is_empty(void)
{
	return atomic_load_explicit(&live_count, memory_order_relaxed) == 0;
}
/* Fork: lock every shard (prepare), unlock them (parent and child). */
void live_lock_all(void) HIDDEN;
void live_unlock_all(void) HIDDEN;

/* traces.c: interned stack traces and their counters. */
struct trace_rec {
	uint64_t hash;
	uint32_t nframes;
	uint32_t frames_at;		/* index into the frame arena */
	uint32_t gen;			/* load generation (see common/modmap.h) */
};
int traces_init(void) HIDDEN;
/* Loads libunwind unless CPROF_UNWIND=fp, and the key that hands a
 * finished thread's counters on (from the constructor: dlopen is not for
 * a hook). */
void traces_start_unwinder(void) HIDDEN;
/* libunwind's unw_backtrace (glibc's backtrace if it is missing), NULL
 * until traces_start_unwinder() ran: the hooks call it themselves so
 * that exactly one shim frame (the hook) sits on top of the stack. */
extern int (*_Atomic traces_backtrace_fn)(void **, int) HIDDEN;
/* CPROF_UNWIND=fp: return addresses by the frame-pointer chain, starting
 * with the frame at hook_fp (the hook's own, built with frame pointers):
 * its return address, then its callers'. Stops at max frames, or when
 * the next frame pointer is not above the current one, not 16-aligned or
 * outside this thread's stack. Returns the count. */
int traces_fp_walk(uint64_t *out, int max, const void *hook_fp) HIDDEN;
/* This thread's stack into tls.stack_lo and stack_hi (an empty range
 * when unknown: the fp walk then takes only the hook's return address,
 * the cfi walk leaves the stack to libunwind). */
void traces_stack_bounds(void) HIDDEN;

/* cfi.c: CPROF_UNWIND=cfi. The return addresses from the hook's caller
 * up (the hook's frame at hook_fp keeps a frame pointer), at most max:
 * the count, or -1 when this walk cannot vouch for the stack (then
 * libunwind takes it). The same frames as libunwind's unw_backtrace
 * gives after the hook's own. */
int cfi_walk(uint64_t *out, int max, const void *hook_fp) HIDDEN;
/* In a forked child: the lock a thread of the parent may have held. */
void cfi_fork_child(void) HIDDEN;
/* CPROF_UNWIND=cct (or auto): the call runtime's cprof_rt_shadow_stack,
 * set by traces_start_unwinder(); NULL when it is not loaded (then the
 * cfi walk, or libunwind, takes every stack). */
typedef int (*shadow_fn)(struct cprof_shadow_frame *, int, int, int *);
extern shadow_fn _Atomic traces_shadow_fn HIDDEN;
/* And its cprof_rt_shadow_fresh, set with it (NULL with it). */
typedef int (*shadow_fresh_fn)(const struct cprof_shadow_known *, int,
			       struct cprof_shadow_frame *, int, int *, int *);
extern shadow_fresh_fn _Atomic traces_shadow_fresh_fn HIDDEN;
/* And its cprof_rt_shadow_node and cprof_rt_shadow_node_start, set with
 * fresh (NULL with it). */
typedef int (*shadow_node_fn)(unsigned *, uintptr_t);
typedef int (*shadow_node_start_fn)(void);
extern shadow_node_fn _Atomic traces_shadow_node_fn HIDDEN;
extern shadow_node_start_fn _Atomic traces_shadow_node_start_fn HIDDEN;
/* The span of info's module: from its lowest PT_LOAD segment to the end
 * of its highest (for callbacks of dl_iterate_phdr). */
struct dl_phdr_info;
void traces_module_span(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi) HIDDEN;
/* The span of the loaded module holding addr (its PT_LOAD segments): 1,
 * or 0 when no module holds it. Takes the loader's lock. */
int traces_module_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi) HIDDEN;
/* traces_same_module's miss: dl_iterate_phdr (takes the loader's lock). */
int traces_same_module_slow(uint64_t a, uint64_t b) HIDDEN;

/* Whether a and b lie in one module, from a per-thread cache of ranges. */
static inline int traces_same_module(uint64_t a, uint64_t b)
{
	if (likely(tls.mods_gen == atomic_load_explicit(&modmap_generation, memory_order_relaxed)))
		for (int i = 0; i < MODS_CACHED; i++)
			if (b - tls.mods[i].lo < tls.mods[i].hi - tls.mods[i].lo)
				return a - tls.mods[i].lo < tls.mods[i].hi - tls.mods[i].lo;
	return traces_same_module_slow(a, b);
}
/* The frame arena (written by traces_init before tracing starts). */
extern uint64_t *traces_arena HIDDEN;
/* traces_intern's slow path: the global table, then the thread's cache. */
uint32_t traces_intern_miss(const uint64_t *f, uint32_t n, uint32_t gen,
			    struct trace_ctr **line) HIDDEN;

/* The first of the two entries of f0's set. */
static inline struct tcache_entry *tcache_set(uint64_t f0)
{
	return &tls.tcache[((f0 * 0x9e3779b97f4a7c15ull) >> 59) * 2];
}

static inline uint64_t traces_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/*
 * Each frame is mixed on its own (its position in the key) and the
 * results added: the multiplies do not wait on each other, so a 16-frame
 * hash costs ~20 cycles instead of a 16-link multiply chain (~80).
 */
static inline uint64_t traces_hash(const uint64_t *f, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull * (n + 1), k = 0x9e3779b97f4a7c15ull;

	for (uint32_t i = 0; i < n; i++, k += 0x632be59bd9b4e019ull) {
		unsigned __int128 m = (unsigned __int128)(f[i] ^ k) * 0xd6e8feb86659fd93ull;
		h += (uint64_t)m ^ (uint64_t)(m >> 64);
	}
	return traces_mix64(h) | 1;	/* never 0 */
}

/* Records [0, *count): complete, frames published. */
const struct trace_rec *traces_all(uint32_t *count) HIDDEN;
const uint64_t *traces_frames(const struct trace_rec *t) HIDDEN;
/* Per-trace counters live in per-thread sets (plain stores, no lock
 * prefix); a thread that frees another's block counts the free in its
 * own set. traces_read() sums every set, clamped to a consistent record.
 * Counter sets are directories of chunks of 2^CTR_CHUNK_BITS traces
 * (32 KiB), mapped on a thread's first use of a trace in the chunk. */
#define CTR_CHUNK_BITS 9
#define CTR_CHUNK (1u << CTR_CHUNK_BITS)

/* One trace's counters in one set. Live = alloc - free, summed over sets. */
struct trace_ctr {
	_Atomic uint64_t alloc_bytes;
	_Atomic uint64_t alloc_blocks;
	_Atomic uint64_t free_bytes;
	_Atomic uint64_t free_blocks;
	_Atomic uint64_t temp_blocks;	/* freed as their thread's next event */
	/* The peak's composition, O(1) a call: alloc - free in this set as
	 * of peak generation peak_gen, saved by the first change after that
	 * peak. A counter whose peak_gen is older than rt.peak_gen has not
	 * changed since the peak: its current value is its value then. */
	_Atomic uint64_t peak_gen;
	_Atomic uint64_t peak_bytes;
	_Atomic uint64_t peak_blocks;
};	/* 64 bytes: one cache line a trace */

/*
 * Before c changes: keeps its value at the latest peak (owner only).
 * CPROF_BENCH_NO_PEAK_COMPOSITION builds a shim without it, only so that
 * bench/mem.sh can print what it costs a call (its --peak is then wrong).
 */
static inline void ctr_keep_peak(struct trace_ctr *c)
{
#ifdef CPROF_BENCH_NO_PEAK_COMPOSITION
	(void)c;
	return;
#endif
	uint64_t gen = atomic_load_explicit(&rt.peak_gen, memory_order_relaxed);

	if (unlikely(atomic_load_explicit(&c->peak_gen, memory_order_relaxed) != gen)) {
		atomic_store_explicit(&c->peak_bytes,
				      atomic_load_explicit(&c->alloc_bytes, memory_order_relaxed) -
					      atomic_load_explicit(&c->free_bytes, memory_order_relaxed),
				      memory_order_relaxed);
		atomic_store_explicit(&c->peak_blocks,
				      atomic_load_explicit(&c->alloc_blocks, memory_order_relaxed) -
					      atomic_load_explicit(&c->free_blocks, memory_order_relaxed),
				      memory_order_relaxed);
		/* Release: a snapshot that sees the generation sees the values. */
		atomic_store_explicit(&c->peak_gen, gen, memory_order_release);
	}
}

/* One bucket of the allocation-size histogram (common/format.h) in one
 * counter set, indexed by is_free: live = [0] - [1], summed over sets. */
struct size_ctr {
	_Atomic uint64_t blocks[2];
	_Atomic uint64_t bytes[2];
};

/* This thread's counters for trace id, NULL when it has no set or the
 * chunk is not mapped yet (traces_account_slow maps it). */
static inline struct trace_ctr *ctr_line(uint32_t id)
{
	struct trace_ctr *_Atomic *dir = tls.ctr_dir;
	struct trace_ctr *c;

	if (unlikely(!dir) ||
	    unlikely(!(c = atomic_load_explicit(&dir[id >> CTR_CHUNK_BITS], memory_order_relaxed))))
		return NULL;
	return c + (id & (CTR_CHUNK - 1));
}

/* The thread's first use of a chunk, or a thread without a set yet. */
void traces_account_slow(uint32_t id, uint64_t bytes, int is_free) HIDDEN;

static inline void ctr_bump(_Atomic uint64_t *c, uint64_t delta)
{
	/* Only the owner writes: no lock prefix, but whole 8-byte stores
	 * that a snapshot may read at any time. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + delta,
			      memory_order_relaxed);
}

/* The size histogram, in the same set as the trace's counters (owner
 * only): the bucket by bit length (lea and bsr), two plain adds. Sizes
 * fit 40 bits here (LIVE_SIZE_LIMIT): the bucket is at most 40. */
static inline void sizes_bump(struct size_ctr *z, uint64_t size, int is_free)
{
	z += fmt_size_bucket_of(size);
	ctr_bump(&z->bytes[is_free], size);
	ctr_bump(&z->blocks[is_free], 1);
}

/* The counting itself, on this thread's line c for the trace. */
static inline __attribute__((always_inline)) void ctr_count(struct trace_ctr *c, uint64_t size,
							    int is_free)
{
	ctr_keep_peak(c);
	ctr_bump(is_free ? &c->free_bytes : &c->alloc_bytes, size);
	ctr_bump(is_free ? &c->free_blocks : &c->alloc_blocks, 1);
	sizes_bump(tls.sizes, size, is_free);	/* set with the line */
}

/* Inline, is_free a constant: a call each on every allocation and free
 * is measurable. */
static inline __attribute__((always_inline)) void traces_account(uint32_t id, uint64_t size,
								  int is_free)
{
	struct trace_ctr *c = ctr_line(id);

	if (unlikely(!c)) {
		traces_account_slow(id, size, is_free);
		return;
	}
	ctr_count(c, size, is_free);
}

/* An allocation whose line traces_intern found (NULL: by its id). */
static inline __attribute__((always_inline)) void traces_account_alloc_at(struct trace_ctr *line,
									   uint32_t id, uint64_t size)
{
	if (likely(line))
		ctr_count(line, size, 0);
	else
		traces_account(id, size, 0);
}

/*
 * A free of a block from the trace freed last takes that trace's line
 * from the memo: its address then comes from this thread's state, not
 * from the block's header, which for a block another thread wrote is a
 * cache miss. The empty asm keeps the compiler from choosing between
 * the two lines with a select, which would make the address wait for
 * the header again. With 2 threads freeing each other's blocks
 * (bench/memheavy xstep 2, 21 paired rounds) that saved 1.7 and 2.3 ns
 * of CPU a call; with 1 thread, 0.06.
 */
static inline __attribute__((always_inline)) void traces_account_free(uint32_t id,
									 uint64_t size)
{
	struct trace_ctr *c = tls.free_line;

	if (likely(id == tls.free_id) && likely(c)) {
		__asm__ volatile("" : "+r"(c));
		ctr_count(c, size, 1);
		return;
	}
	c = ctr_line(id);
	if (unlikely(!c)) {
		traces_account_slow(id, size, 1);
		return;
	}
	tls.free_id = id;
	tls.free_line = c;
	ctr_count(c, size, 1);
}

/*
 * The id of the trace f[0..n) (innermost first), interned on first
 * sight; 0 (the empty trace) when n is 0 or the table is full. *line:
 * its counters in this thread's set, or NULL (then traces_account finds
 * them). The thread's cache first: a program allocates from a few stacks
 * over and over, and the global table's slot and record are two cache
 * misses a call once it is large; the cache also keeps the counter line,
 * which saves the set's directory on every allocation from a cached
 * stack. A hit is compared frame by frame with the interned trace's own
 * frames (published before its id): exact.
 */
static inline uint32_t traces_intern(const uint64_t *f, uint32_t n, struct trace_ctr **line)
{
	*line = NULL;
	if (unlikely(!n))
		return 0;
	/* After a dlclose, the same addresses may be another library's. */
	uint32_t gen = atomic_load_explicit(&modmap_generation, memory_order_relaxed);
	struct tcache_entry *e = tcache_set(f[0]);

	for (int way = 0; way < 2; way++, e++) {
		if (e->first != f[0] || e->nframes != n || e->gen != gen)
			continue;
		const uint64_t *g = traces_arena + e->frames_at;
		uint64_t diff = 0;
		for (uint32_t i = 1; i < n; i++)	/* short and branch-free: no memcmp call */
			diff |= g[i] ^ f[i];
		if (likely(!diff)) {
			if (unlikely(!e->line))
				e->line = ctr_line(e->id);
			*line = e->line;
			return e->id;
		}
	}
	return traces_intern_miss(f, n, gen, line);
}

void traces_count_temp_slow(uint32_t id) HIDDEN;

/*
 * cct.c: CPROF_UNWIND=cct's calling contexts, per thread. An open call
 * read from the call runtime is recorded at its depth in known (its
 * stamp, function, return address and the depth of the call below it)
 * and named by a context id: its function and return address on top of
 * its caller's context, so the same chain of calls gets the same id each
 * time it is made again. The records form chains: a record whose call
 * below changed is dropped, and so are all above it. An allocation's
 * trace is a function of the innermost open call's context, the hook's
 * return address and the load generation, kept in traces (one slot
 * each, overwritten on a collision). Context ids are slot numbers in
 * ctx; when it is half full everything is forgotten at once.
 */
#define CCT_DEPTHS 256		/* calls deeper take cct_stack's walk */
#define CCT_FRESH 32		/* more new calls at once: the same */
#define CCT_CONTEXTS 1024	/* power of 2 */
#define CCT_TRACE_BITS 8		/* traces by context: 256 */
enum { CCT_NONE, CCT_MAPPED, CCT_GONE };	/* tls.cct_state */
struct cct_ctx {
	uint64_t fn;			/* 0 = empty slot */
	uint64_t ret;
	uint32_t parent;		/* the caller's context, 0: none */
};
/* A trace kept under (key, hook_ret, gen): the key a context id, or the
 * call runtime's node for the chain of open calls (cct_trace in hooks.c). */
struct cct_trace {
	uint64_t hook_ret;
	uint32_t key;
	uint32_t gen;
	uint32_t id;			/* 0 = empty */
	struct trace_ctr *line;		/* as tcache_entry's */
};
#define CCT_NODE_TRACE_BITS 10	/* traces by node: 1024 */
struct cct_cache {
	struct cprof_shadow_known known[CCT_DEPTHS];	/* ctx: the record's context */
	int sites_noted;		/* cct_note_sites: 1 yes, 0 not yet, -1 never */
	struct cct_trace by_node[1 << CCT_NODE_TRACE_BITS];
	int high;			/* no record above this depth */
	struct cprof_shadow_frame fresh[CCT_FRESH];	/* the runtime's answer */
	struct cct_trace traces[1 << CCT_TRACE_BITS];	/* by context */
	uint32_t nctx;
	struct cct_ctx ctx[CCT_CONTEXTS];
};
/* This thread's, mapped on first use; NULL if it cannot be (or it was
 * given back at thread exit). */
struct cct_cache *cct_map(void) HIDDEN;
/* At thread exit (with the counter set): unmapped, never mapped again. */
void cct_thread_exit(void) HIDDEN;
/* Asks the call runtime to note this thread's first call sites (see
 * cct_trace in hooks.c): 1 when it does from now on, 0 when it cannot
 * yet (no call of this thread seen), -1 when it never will. */
int cct_note_sites(void) HIDDEN;
/* Records c->fresh[0..n) (innermost first, called from the recorded call
 * at depth below, or from none: -1); the innermost's context, or 0 when
 * the table had to be emptied (the caller takes the whole walk). */
uint32_t cct_learn(struct cct_cache *c, int n, int below) HIDDEN;
/* A context's first trace from hook_ret: built from the records (the
 * innermost at depth), interned and kept; 1, or 0 when the shadow stack
 * cannot vouch for it (see cct_read in hooks.c). */
int cct_trace_miss(struct cct_cache *c, uint32_t ctx, int depth, uint64_t hook_ret,
		   uint64_t *buf, int max, uint32_t gen, uint32_t *id,
		   struct trace_ctr **line) HIDDEN;

/* The slot for (key, hook_ret) in a table of 2^bits. */
static inline struct cct_trace *cct_trace_slot(struct cct_trace *table, unsigned bits,
					       uint32_t key, uint64_t hook_ret)
{
	uint64_t h = (hook_ret ^ (uint64_t)key << 32) * 0x9e3779b97f4a7c15ull;

	return &table[h >> (64 - bits)];
}

/* 1, and the trace in *id and *line, when t holds (key, hook_ret, gen).
 * Always inline: gcc left it a call in each hook, measurable there. */
static inline __attribute__((always_inline)) int cct_trace_found(struct cct_trace *t, uint32_t key,
								 uint64_t hook_ret, uint32_t gen,
								 uint32_t *id, struct trace_ctr **line)
{
	if (!(t->id && t->key == key && t->hook_ret == hook_ret && t->gen == gen))
		return 0;
	if (unlikely(!t->line))
		t->line = ctr_line(t->id);
	*line = t->line;
	*id = t->id;
	return 1;
}

static inline void cct_trace_keep(struct cct_trace *t, uint32_t key, uint64_t hook_ret,
				  uint32_t gen, uint32_t id, struct trace_ctr *line)
{
	t->hook_ret = hook_ret;
	t->key = key;
	t->gen = gen;
	t->id = id;
	t->line = line;
}

/*
 * Temporaries, heaptrack's definition per thread: an allocation whose
 * thread's next allocation-family event is its own free (a realloc frees
 * too, as in heaptrack). Only hooks that entered (hook_enter) call these:
 * plain thread-local stores, nothing shared.
 */
static inline void temp_note_alloc(const void *p, uint32_t id, struct trace_ctr *line)
{
	tls.temp_ptr = (uintptr_t)p;
	tls.temp_trace = id;
	tls.temp_line = line;
}

/* Any other event: the latest allocation was not freed next. */
static inline void temp_clear(void)
{
	tls.temp_ptr = 0;
}

/* A free (or realloc) of the traced block p, by this thread. */
static inline void temp_note_free(const void *p)
{
	if (tls.temp_ptr == (uintptr_t)p) {
		/* The allocation counted in this set: its chunk is mapped. */
		struct trace_ctr *c = tls.temp_line;
		if (likely(c) || likely(c = ctr_line(tls.temp_trace)))
			ctr_bump(&c->temp_blocks, 1);
		else
			traces_count_temp_slow(tls.temp_trace);
	}
	tls.temp_ptr = 0;
}

/* The same from a thread that is inside the shim already (a signal
 * handler that interrupted a hook, the helper): into the shared set,
 * with atomic adds, so the interrupted update of the thread's own set
 * loses nothing. */
void traces_account_shared(uint32_t id, uint64_t size, int is_free) HIDDEN;
void traces_read(uint32_t id, struct fmt_trace *out) HIDDEN;
/* The size histogram summed over every set into out[FMT_SIZE_BUCKETS],
 * clamped as traces_read's counts are. Returns the buckets up to the
 * last one used (the count a snapshot writes). */
uint32_t traces_read_sizes(struct fmt_size_bucket *out) HIDDEN;
void traces_lock(void) HIDDEN;
void traces_unlock(void) HIDDEN;

/* current.c: current and peak traced bytes (see there for the design). */
/* The shared add: the room was too small, taken back, or not there. */
void current_add_shared(int64_t delta) HIDDEN;
/* The exact current total (any thread; async-signal-safe). */
uint64_t current_bytes(void) HIDDEN;
/* The peak := the current total, as of now. */
void current_reset_peak(void) HIDDEN;
/* From the counter set's key destructor: the thread's room given back. */
void current_thread_exit(void) HIDDEN;
/* From configure(): whether rooms can be updated by room_commit. */
void current_setup(void) HIDDEN;
void current_fork_prepare(void) HIDDEN;
void current_fork_parent(void) HIDDEN;
void current_fork_child(void) HIDDEN;

/* Adds delta (two's complement) to the current total; keeps the peak.
 * The fast path: from this thread's room, by rseq or a CAS on its own
 * line (current.c). */
static inline __attribute__((always_inline)) void counters_add_current(uint64_t delta)
{
	_Atomic int64_t *room = tls.cur_room;

	/* A large block in or out: the timeline's tick at this hook's end. */
	if (unlikely(delta + TICK_BYTES > 2 * TICK_BYTES))
		tls.tick_left = 0;

	if (likely(room)) {
#ifdef ROOM_RSEQ
		if (likely(tls.cur_rseq)) {
			if (likely(room_commit((int64_t *)room, (int64_t)delta, tls.cur_cap,
					       rt.rseq_offset)))
				return;
		} else
#endif
		{
			int64_t left = atomic_load_explicit(room, memory_order_relaxed);
			int64_t want = left - (int64_t)delta;

			if (likely((uint64_t)want <= tls.cur_cap) &&	/* as room_commit's */
			    likely(atomic_compare_exchange_strong_explicit(
				    room, &left, want, memory_order_relaxed, memory_order_relaxed)))
				return;
		}
	}
	current_add_shared((int64_t)delta);
}

/* snapshot.c */
/* Writes DIR/PROG.PID.SEQ.snap; 0, or -1 (said once on stderr). Takes
 * the snapshot lock; the calling thread must not be inside a hook. */
int snapshot_take(const char *label) HIDDEN;
/* Starts the helper thread that serves signal and interval snapshots and
 * samples the timeline, when the process needs one (see snapshot.c) and
 * it is not running. */
void snapshot_start_helper(void) HIDDEN;
/* The snapshot signal's handler: wakes the helper, writes the snapshot
 * itself when that is safe, or leaves it to the next hook. */
void snapshot_request_from_signal(void) HIDDEN;
/* The exit snapshot: an exit handler (__cxa_atexit), see snapshot.c. */
void snapshot_at_exit(void *arg) HIDDEN;
void snapshot_fork_prepare(void) HIDDEN;
void snapshot_fork_parent(void) HIDDEN;
void snapshot_fork_child(void) HIDDEN;

/* timeline.c: memory over time. The caller holds the snapshot lock. */
/* Appends a sample (traced_bytes, RSS, now); does nothing when off. */
void timeline_sample(uint64_t traced_bytes) HIDDEN;
/* Between the helper's samples: CPROF_TIMELINE, doubled per decimation. */
uint64_t timeline_interval_ns(void) HIDDEN;
/* The FMT_SEC_TIMELINE section of every sample so far; none when off. */
void timeline_write(struct fmt_writer *w) HIDDEN;

/* hooks.c: in-band headers on if CPROF_HEADERS allows and the allocator
 * next is glibc's (sets rt.headers and rt.secret); from configure(). */
void headers_setup(void) HIDDEN;

/* runtime.c */
/* Resolves the originals and builds the tables, once. Returns with
 * rt.real filled, or (while resolving, from a nested call) without. */
void runtime_resolve(void) HIDDEN;
/* Around the shim's own work on a thread (with tls.busy): the call
 * runtime, if loaded, records none of the calls it makes. They nest. */
void runtime_quiet_begin(void) HIDDEN;
void runtime_quiet_end(void) HIDDEN;
/* One line on stderr, "cprof: " and the parts that are not NULL, then a
 * newline; without stdio or malloc. */

#endif
