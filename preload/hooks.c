/*
 * Allocation interposers (the malloc family, posix_memalign, free) and
 * the bootstrap arena that serves requests until dlsym has resolved the
 * originals. Owns the per-thread reentrancy flag. Must never call the
 * traced malloc, stdio, or a lock the host can hold across fork().
 */
#define _GNU_SOURCE
#include "internal.h"
#include "preload.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

__thread struct tls_state tls __attribute__((tls_model("initial-exec")));

#define EXPORT __attribute__((visibility("default")))

/* ---- bootstrap arena ----
 * dlsym() allocates (dlerror state, calloc) while we resolve the
 * originals; those requests are served from here. Blocks carry their
 * size in a 16-byte header; free() ignores them, realloc() copies out. */
#define ARENA_BYTES (256 * 1024)
static _Alignas(64) unsigned char arena[ARENA_BYTES];
static _Atomic size_t arena_used;

static inline int arena_owns(const void *p)
{
	return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + ARENA_BYTES;
}

static void *arena_alloc(size_t size, size_t align)
{
	if (align < 16)
		align = 16;
	if (size > ARENA_BYTES || (align & (align - 1)))
		return NULL;
	size_t old = atomic_load(&arena_used), start, end;
	do {
		start = ((size_t)(arena + old) + 16 + align - 1) / align * align - (size_t)arena;
		end = start + ((size + 15) & ~(size_t)15);
		if (end > ARENA_BYTES)
			return NULL;	/* static memory is zeroed: calloc is served too */
	} while (!atomic_compare_exchange_weak(&arena_used, &old, end));
	((size_t *)(arena + start))[-1] = size;
	return arena + start;
}

static inline size_t arena_size(const void *p)
{
	return ((const size_t *)p)[-1];
}

/* ---- recording ----
 * Inlined into every hook, so that the hook is the only frame of the
 * shim above the program's when the stack is taken: libunwind is asked
 * for exactly CPROF_FRAMES + 1 frames, and the frame-pointer walk starts
 * from the hook's own frame (this file is built with frame pointers). */
#define HOOK_INLINE static inline __attribute__((always_inline))

/* Frames of the shim that may sit on top of a stack (the hook, or a hook
 * called by another, as realloc_from_arena calls malloc): skipped by
 * address, this bounds them. */
#define SKIP_MAX 4

/* Frames beyond the hook's, then the skip and the cap. */
static inline uint32_t intern_skipping_self(uint64_t *buf, int n, int max)
{
	int skip = 0;

	while (skip < n && skip < SKIP_MAX && buf[skip] >= rt.self_lo && buf[skip] < rt.self_hi)
		skip++;
	n -= skip;
	if (n > max)
		n = max;
	return n > 0 ? traces_intern(buf + skip, (uint32_t)n) : 0;
}

/* CPROF_FRAMES >= SHALLOW_FRAMES: a buffer too big for every hook's
 * frame (the hooks' stack stays small and hot), one more shim frame. */
static __attribute__((noinline)) uint32_t capture_deep(const void *hook_fp)
{
	uint64_t buf[FMT_FRAMES_MAX + 2];
	int n, max = (int)rt.max_frames;

	if (rt.unwind == UNWIND_FP) {
		n = traces_fp_walk(buf, max, hook_fp);
	} else {
		int (*bt)(void **, int) =
			atomic_load_explicit(&traces_backtrace_fn, memory_order_relaxed);
		if (unlikely(!bt))
			return 0;
		n = bt((void **)buf, max + 2);
	}
	return intern_skipping_self(buf, n, max);
}

#define SHALLOW_FRAMES 48

HOOK_INLINE uint32_t capture(const void *hook_fp)
{
	uint64_t buf[SHALLOW_FRAMES + 1];
	int n, max = (int)rt.max_frames;

	if (unlikely(max >= SHALLOW_FRAMES))
		return capture_deep(hook_fp);
	if (rt.unwind == UNWIND_FP) {
		n = traces_fp_walk(buf, max, hook_fp);
	} else {
		int (*bt)(void **, int) =
			atomic_load_explicit(&traces_backtrace_fn, memory_order_relaxed);
		if (unlikely(!bt))
			return 0;
		/* void * and uint64_t have the same size here (x86-64 only). */
		n = bt((void **)buf, max + 1);
	}
	return intern_skipping_self(buf, n, max);
}

HOOK_INLINE void record_alloc(void *p, size_t size, const void *hook_fp)
{
	struct live_block old;

	if (unlikely(size > LIVE_SIZE_LIMIT)) {
		atomic_fetch_add_explicit(&rt.dropped_allocs, 1, memory_order_relaxed);
		return;
	}
	live_prefetch(p);
	uint32_t id = capture(hook_fp);
	int r = live_insert(p, size, id, &old);
	if (unlikely(r < 0)) {
		atomic_fetch_add_explicit(&rt.dropped_allocs, 1, memory_order_relaxed);
		return;
	}
	if (unlikely(r == 1)) {
		/* p was freed behind our back (reentered free): drop the stale block. */
		traces_account_free(old.trace, old.size);
		counters_add_current(-old.size);
	}
	traces_account_alloc(id, size);
	counters_add_current(size);
}

static void record_free(void *p)
{
	struct live_block b;

	if (live_remove(p, &b)) {
		traces_account_free(b.trace, b.size);
		counters_add_current(-b.size);
	} else {
		atomic_fetch_add_explicit(&rt.untraced_frees, 1, memory_order_relaxed);
	}
}

/* The hook's own frame, for the frame-pointer walk: taken in the
 * exported function itself, never in an inlined helper. */
#define HOOK_FP __builtin_frame_address(0)

#define ENSURE_REAL(fn)                         \
	do {                                    \
		if (unlikely(!rt.real.fn))      \
			runtime_resolve();      \
	} while (0)

/* ---- the interposers ---- */

HOOK_INLINE void *do_malloc(size_t size, const void *hook_fp)
{
	ENSURE_REAL(malloc);
	if (unlikely(!rt.real.malloc))
		return arena_alloc(size, 16);
	void *p = rt.real.malloc(size);
	int err = errno;	/* the caller sees the allocator's errno */

	if (p && hook_enter()) {	/* false when reentered or stopped */
		record_alloc(p, size, hook_fp);
		hook_leave();
	}
	errno = err;
	return p;
}

EXPORT void *malloc(size_t size)
{
	return do_malloc(size, HOOK_FP);
}

EXPORT void *calloc(size_t n, size_t size)
{
	ENSURE_REAL(calloc);
	if (unlikely(!rt.real.calloc)) {
		size_t bytes;
		if (__builtin_mul_overflow(n, size, &bytes)) {
			errno = ENOMEM;
			return NULL;
		}
		return arena_alloc(bytes, 16);
	}
	void *p = rt.real.calloc(n, size);
	int err = errno;

	if (p && hook_enter()) {
		record_alloc(p, n * size, HOOK_FP);	/* no overflow: calloc succeeded */
		hook_leave();
	}
	errno = err;
	return p;
}

EXPORT void free(void *p)
{
	if (!p || unlikely(arena_owns(p)))
		return;
	int err = errno;

	if (hook_enter()) {	/* a free is recorded before the real one */
		record_free(p);
		hook_leave();
	}
	ENSURE_REAL(free);
	if (likely(rt.real.free))
		rt.real.free(p);
	errno = err;
}

static void *realloc_from_arena(void *p, size_t size)
{
	size_t old = arena_size(p);

	if (size == 0)
		return NULL;	/* glibc: realloc(p, 0) frees p */
	void *q = malloc(size);
	if (q)
		memcpy(q, p, old < size ? old : size);
	return q;
}

HOOK_INLINE void *do_realloc(void *p, size_t size, const void *hook_fp)
{
	struct live_block old;
	int had = 0;

	if (!p)
		return do_malloc(size, hook_fp);
	if (unlikely(arena_owns(p)))
		return realloc_from_arena(p, size);
	ENSURE_REAL(realloc);
	if (unlikely(!rt.real.realloc)) {
		errno = ENOMEM;
		return NULL;
	}
	int is_tracing = hook_enter();
	/* Taken out before the call: once the real realloc has freed p,
	 * another thread may get p back from malloc and insert it. */
	if (is_tracing)
		had = live_remove(p, &old);
	void *q = rt.real.realloc(p, size);
	int err = errno;

	if (is_tracing) {
		if (q) {
			if (had)
				traces_account_free(old.trace, old.size);
			else
				atomic_fetch_add_explicit(&rt.untraced_frees, 1,
							  memory_order_relaxed);
			/* Old block out first: the peak never counts both. */
			if (had)
				counters_add_current(-old.size);
			record_alloc(q, size, hook_fp);
		} else if (size == 0) {
			if (had) {	/* glibc freed p and returned NULL */
				traces_account_free(old.trace, old.size);
				counters_add_current(-old.size);
			}
		} else if (had) {	/* failed: p is unchanged and still live */
			struct live_block stale;
			if (live_insert(p, old.size, old.trace, &stale) < 0) {
				traces_account_free(old.trace, old.size);
				counters_add_current(-old.size);
				atomic_fetch_add_explicit(&rt.dropped_allocs, 1,
							  memory_order_relaxed);
			}
		}
		hook_leave();
	}
	errno = err;
	return q;
}

EXPORT void *realloc(void *p, size_t size)
{
	return do_realloc(p, size, HOOK_FP);
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;	/* as glibc's reallocarray */
		return NULL;
	}
	return do_realloc(p, bytes, HOOK_FP);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	ENSURE_REAL(posix_memalign);
	if (unlikely(!rt.real.posix_memalign)) {
		if (align % sizeof(void *) || (align & (align - 1)) || !align)
			return EINVAL;
		void *p = arena_alloc(size, align);
		if (!p)
			return ENOMEM;
		*out = p;
		return 0;
	}
	int r = rt.real.posix_memalign(out, align, size);
	int err = errno;

	if (r == 0 && hook_enter()) {
		record_alloc(*out, size, HOOK_FP);
		hook_leave();
	}
	errno = err;
	return r;
}

#define ALIGNED_HOOK(name, params, args, bootstrap_align, size_expr)    \
	EXPORT void *name params                                        \
	{                                                               \
		ENSURE_REAL(name);                                      \
		if (unlikely(!rt.real.name))                            \
			return arena_alloc(size_expr, bootstrap_align); \
		void *p = rt.real.name args;                            \
		int err = errno;                                        \
		if (p && hook_enter()) {                                \
			record_alloc(p, size_expr, HOOK_FP);            \
			hook_leave();                                   \
		}                                                       \
		errno = err;                                            \
		return p;                                               \
	}

ALIGNED_HOOK(aligned_alloc, (size_t align, size_t size), (align, size), align, size)
ALIGNED_HOOK(memalign, (size_t align, size_t size), (align, size), align, size)
ALIGNED_HOOK(valloc, (size_t size), (size), 4096, size)
ALIGNED_HOOK(pvalloc, (size_t size), (size), 4096, size)

EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (unlikely(arena_owns(p)))
		return arena_size(p);
	ENSURE_REAL(malloc_usable_size);
	return rt.real.malloc_usable_size ? rt.real.malloc_usable_size(p) : 0;
}
