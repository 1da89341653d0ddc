/*
 * Allocation interposers (the malloc family, posix_memalign, free) and
 * the bootstrap arena that serves requests until dlsym has resolved the
 * originals. Owns the per-thread reentrancy flag. Must never call the
 * traced malloc, stdio, or a lock the host can hold across fork().
 */
#define _GNU_SOURCE
#include "internal.h"
#include "preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
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
HOOK_INLINE uint32_t intern_skipping_self(uint64_t *buf, int n, int max,
					  struct trace_ctr **line)
{
	int skip = 0;

	while (skip < n && skip < SKIP_MAX && buf[skip] >= rt.self_lo && buf[skip] < rt.self_hi)
		skip++;
	n -= skip;
	if (n > max)
		n = max;
	*line = NULL;
	return n > 0 ? traces_intern(buf + skip, (uint32_t)n, line) : 0;
}

/*
 * CPROF_UNWIND=cct: the stack from the call runtime's shadow stack, no
 * unwinding. The hook's return address, then that of each open
 * instrumented call but the outermost: the trace ends at the outermost
 * instrumented frame (its caller, libc's start-up or a thread's start,
 * is left out). Each address must lie in the module of the function the
 * shadow stack says called from there; one that does not (a library
 * calling back, libc's strdup calling malloc, a signal handler, or no
 * instrumented call open) returns 0, and the stack is unwound instead.
 * A function without instrumentation in the same module is not noticed:
 * its caller's frame is missing from the trace.
 */
HOOK_INLINE int cct_read(shadow_fn sf, struct cprof_shadow_frame *f, int nprev, uint64_t *buf,
			 int max, const void *hook_fp)
{
	int fresh, n = sf(f, max, nprev, &fresh);

	if (n <= 0)
		return 0;
	buf[0] = ((const uint64_t *)hook_fp)[1];
	if (!traces_same_module(buf[0], f[0].fn))
		return 0;
	if (n > max)
		n = max;
	/* The pairs among frames kept from the last read were checked then. */
	for (int i = 1; i < n; i++) {
		buf[i] = f[i - 1].ret;
		if (i <= fresh && !traces_same_module(buf[i], f[i].fn))
			return 0;
	}
	return n;
}

/* CPROF_FRAMES > CCT_MEMO: read whole each time, into a buffer too big
 * for every hook's frame. */
static __attribute__((noinline)) int cct_read_whole(shadow_fn sf, uint64_t *buf, int max,
						    const void *hook_fp)
{
	struct cprof_shadow_frame f[FMT_FRAMES_MAX];

	return cct_read(sf, f, 0, buf, max, hook_fp);
}

/* The thread's last read is kept, once checked whole, and reused. */
HOOK_INLINE int cct_stack(shadow_fn sf, uint64_t *buf, int max, const void *hook_fp)
{
	if (unlikely(max > CCT_MEMO))
		return cct_read_whole(sf, buf, max, hook_fp);
	int nprev = tls.cct_nmemo;

	tls.cct_nmemo = 0;	/* the memo is rewritten in place: invalid until checked */
	int n = cct_read(sf, tls.cct_memo, nprev, buf, max, hook_fp);
	tls.cct_nmemo = n;
	return n;
}

/*
 * CPROF_UNWIND=cct: 1 and the stack's trace in *id and *line, or 0 when
 * the shadow stack cannot vouch for it (then it is unwound). The stack
 * cct_read makes is a function of the open calls (their functions and
 * return addresses), the hook's return address and the load generation
 * (module checks, trace ids): cct.c names the open calls' chain by a
 * context id, so only the calls opened since the last allocation are
 * read and looked up, and a trace is found by (context, return address,
 * generation) with no walk, module check, hash or frame comparison.
 * Anything cct.c cannot take (counts-only mode's stamps, which are all 0;
 * deep or many new calls; a full table) takes cct_stack's walk.
 */
HOOK_INLINE int cct_trace_walk(shadow_fn sf, uint64_t *buf, int max, const void *hook_fp,
			       uint32_t *id, struct trace_ctr **line)
{
	shadow_fresh_fn fresh = atomic_load_explicit(&traces_shadow_fresh_fn, memory_order_relaxed);
	struct cct_cache *c = tls.cct;
	uint64_t ret = ((const uint64_t *)hook_fp)[1];
	/* Read before the trace is interned: one interned under a later
	 * generation is then never found under this one. */
	uint32_t gen = atomic_load_explicit(&modmap_generation, memory_order_relaxed);
	int below, changed, n;

	if (unlikely(!c) && fresh)
		c = cct_map();
	if (likely(c) &&
	    (n = fresh(c->known, CCT_DEPTHS, c->fresh, CCT_FRESH, &below, &changed)) >= 0 &&
	    (n ? likely(c->fresh[0].stamp != 0) : below >= 0)) {
		/* The same calls made again: only their stamps are new. */
		for (int k = changed; k < n; k++)
			c->known[c->fresh[k].depth].stamp = c->fresh[k].stamp;
		int top = n ? (int)c->fresh[0].depth : below;
		uint32_t ctx = changed ? cct_learn(c, changed, changed < n ? (int)c->fresh[changed].depth
									   : below)
				       : c->known[top].ctx;
		if (likely(ctx)) {
			if (likely(cct_trace_found(cct_trace_slot(c->traces, CCT_TRACE_BITS, ctx, ret),
						   ctx, ret, gen, id, line)))
				return 1;
			return cct_trace_miss(c, ctx, top, ret, buf, max, gen, id, line);
		}
	}
	n = cct_stack(sf, buf, max, hook_fp);
	if (n <= 0)
		return 0;
	*id = traces_intern(buf, (uint32_t)n, line);
	return 1;
}

/*
 * cct_trace_walk's stack with no walk when the call runtime can vouch
 * for the chain: every open call made from its node's first call site
 * (cprof_rt_shadow_node), so the innermost call's node names each call's
 * function and return address, and the trace is a function of (node,
 * hook's return address, load generation). The first time, the walk
 * makes it; then it is kept under that key. memheavy reopens its 14
 * calls every step, which the walk reads anew each time. An innermost
 * call whose CFA is not above the hook's was left by a longjmp with no
 * hook since: neither the node nor the shadow stack can be trusted, and
 * the stack is unwound (mem_cct_reuse's far_b, whose return address was
 * still in its slot, gave its dead caller to the next allocation).
 */
HOOK_INLINE int cct_trace(shadow_fn sf, uint64_t *buf, int max, const void *hook_fp, uint32_t *id,
			  struct trace_ctr **line)
{
	struct cct_cache *c = tls.cct;
	struct cct_trace *t = NULL;
	uint64_t ret = ((const uint64_t *)hook_fp)[1];
	/* Read before the walk interns: as cct_trace_walk. */
	uint32_t gen = atomic_load_explicit(&modmap_generation, memory_order_relaxed);
	shadow_node_fn node_fn = atomic_load_explicit(&traces_shadow_node_fn, memory_order_relaxed);
	unsigned node;

	if (likely(c) && unlikely(!c->sites_noted))
		c->sites_noted = cct_note_sites();
	if (likely(node_fn)) {
		/* The hook's CFA (this file keeps frame pointers). */
		int vouched = node_fn(&node, (uintptr_t)hook_fp + 16);
		if (vouched == -2)
			return 0;	/* a call a longjmp left behind: unwind */
		if (vouched == 1 && likely(c) && c->sites_noted > 0) {
			t = cct_trace_slot(c->by_node, CCT_NODE_TRACE_BITS, node, ret);
			if (likely(cct_trace_found(t, node, ret, gen, id, line)))
				return 1;
		}
	}
	if (!cct_trace_walk(sf, buf, max, hook_fp, id, line))
		return 0;
	if (t && *id)	/* 0: the table was full */
		cct_trace_keep(t, node, ret, gen, *id, *line);
	return 1;
}

/* The allocation's stack into buf, which has room for rt.max_frames plus
 * the shim's own frames that backtrace() sees (skipped by address). */
HOOK_INLINE uint32_t capture_into(uint64_t *buf, int room, const void *hook_fp,
				  struct trace_ctr **line)
{
	int n, max = (int)rt.max_frames;
	shadow_fn sf;
	uint32_t id;

	if (rt.unwind == UNWIND_FP)
		n = traces_fp_walk(buf, max, hook_fp);
	else if ((sf = atomic_load_explicit(&traces_shadow_fn, memory_order_relaxed)) &&
		 cct_trace(sf, buf, max, hook_fp, &id, line))
		return id;
	/* libunwind sees room - max shim frames (the hook's, and
	 * capture_deep's) above the hook's caller, where cfi_walk starts:
	 * both give max frames of the rest. */
	else if (!(atomic_load_explicit(&rt.cfi_ready, memory_order_relaxed) &&
		   (n = cfi_walk(buf, max, hook_fp)) >= 0)) {
		int (*bt)(void **, int) =
			atomic_load_explicit(&traces_backtrace_fn, memory_order_relaxed);
		if (unlikely(!bt)) {
			*line = NULL;
			return 0;
		}
		if (atomic_load_explicit(&rt.cfi_ready, memory_order_relaxed))
			atomic_fetch_add_explicit(&rt.libunwind_stacks, 1, memory_order_relaxed);
		/* void * and uint64_t have the same size here (x86-64 only). */
		n = bt((void **)buf, room);
	}
	return intern_skipping_self(buf, n, max, line);
}

/* CPROF_FRAMES >= SHALLOW_FRAMES: a buffer too big for every hook's
 * frame (the hooks' stack stays small and hot), one more shim frame. */
static __attribute__((noinline)) uint32_t capture_deep(const void *hook_fp,
							struct trace_ctr **line)
{
	uint64_t buf[FMT_FRAMES_MAX + 2];

	return capture_into(buf, (int)rt.max_frames + 2, hook_fp, line);
}

#define SHALLOW_FRAMES 48

/* The stack's trace id; *line: its counters in this thread's set, or
 * NULL (traces_intern). */
HOOK_INLINE uint32_t capture(const void *hook_fp, struct trace_ctr **line)
{
	uint64_t buf[SHALLOW_FRAMES + 1];

	if (unlikely(rt.max_frames >= SHALLOW_FRAMES))
		return capture_deep(hook_fp, line);
	return capture_into(buf, (int)rt.max_frames + 1, hook_fp, line);
}

HOOK_INLINE void record_alloc(void *p, size_t size, const void *hook_fp)
{
	struct live_block old;

	temp_clear();	/* an allocation event, traced or not */
	if (unlikely(size > LIVE_SIZE_LIMIT)) {
		atomic_fetch_add_explicit(&rt.dropped_allocs, 1, memory_order_relaxed);
		return;
	}
	live_prefetch(p);
	struct trace_ctr *line;
	uint32_t id = capture(hook_fp, &line);
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
	traces_account_alloc_at(line, id, size);
	counters_add_current(size);
	temp_note_alloc(p, id, line);
}

static void record_free(void *p)
{
	struct live_block b;

	if (!live_is_empty() && live_remove(p, &b)) {
		traces_account_free(b.trace, b.size);
		counters_add_current(-b.size);
		temp_note_free(p);
	} else {
		atomic_fetch_add_explicit(&rt.untraced_frees, 1, memory_order_relaxed);
		temp_clear();
	}
}

/* ---- in-band headers ----
 * A block of malloc, calloc or realloc is allocated HDR bytes larger and
 * handed out HDR bytes in (16-aligned still):
 *   p - 16: size | trace << 40 (the live table's packing)
 *   p - 8:  the tag, at the offset of glibc's chunk-size word in glibc's
 *           own blocks. That word is below 2^55 (a chunk size and three
 *           flag bits); the tag has bits 63 and 55 set, so any of bits
 *           55..63 says "ours" and an underflow that overwrites the top
 *           byte alone (p[-1]) still does. Its other bits hash the
 *           address, a per-process secret and the first word: a tag that
 *           does not match is a header the program overwrote.
 * Only with glibc's allocator next (runtime.c checks), whose every block
 * has that word; the aligned family stays in the live table. */
#define HDR 16
#define TAG_MARK (1ull << 63 | 1ull << 55)

static inline uint64_t tag_of(const void *p, uint64_t word)
{
	uint64_t h = ((uint64_t)(uintptr_t)p ^ rt.secret) * 0x9e3779b97f4a7c15ull;

	h = (h ^ word) * 0xd6e8feb86659fd93ull;
	return (h ^ h >> 32) | TAG_MARK;
}

/* Ours: headers on (else p[-1] may not even be mapped) and a marked tag. */
static inline int has_header(const void *p)
{
	return rt.headers && ((const uint64_t *)p)[-1] >> 55;
}

static inline void put_header(void *p, uint64_t size, uint32_t id)
{
	uint64_t word = size | (uint64_t)id << 40;

	((uint64_t *)p)[-2] = word;
	((uint64_t *)p)[-1] = tag_of(p, word);
}

/* The block behind header p: 1 and its size and trace, or 0 when the
 * header was overwritten. */
static inline int read_header(const void *p, struct live_block *b)
{
	uint64_t word = ((const uint64_t *)p)[-2];

	b->size = word & LIVE_SIZE_LIMIT;
	b->trace = (uint32_t)(word >> 40);
	return likely(((const uint64_t *)p)[-1] == tag_of(p, word));
}

/* A block with an overwritten header leaves: its bytes stay counted live
 * under its site (which cannot be known now), the snapshot says how many. */
static void count_corrupt(void)
{
	atomic_fetch_add_explicit(&rt.corrupt_headers, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rt.untraced_frees, 1, memory_order_relaxed);
}

/* Counts a block in or out; is_own: this thread entered the hook (else
 * it was inside the shim already: a signal handler in a hook, the helper). */
HOOK_INLINE void account_trace(const struct live_block *b, int is_free, int is_own,
			       struct trace_ctr *line)
{
	if (likely(is_own)) {
		if (is_free)
			traces_account_free(b->trace, b->size);
		else
			traces_account_alloc_at(line, b->trace, b->size);
	} else {
		traces_account_shared(b->trace, b->size, is_free);
	}
}

/* The same, and the current total. */
HOOK_INLINE void account(const struct live_block *b, int is_free, int is_own,
			 struct trace_ctr *line)
{
	account_trace(b, is_free, is_own, line);
	counters_add_current(is_free ? -b->size : b->size);
}

/* A fresh block r of size + HDR bytes from the allocator, inside a hook. */
HOOK_INLINE void *header_new(void *r, size_t size, const void *hook_fp)
{
	struct trace_ctr *line;
	struct live_block b = { size, capture(hook_fp, &line) };
	void *p = (char *)r + HDR;

	put_header(p, size, b.trace);
	account(&b, 0, 1, line);
	temp_note_alloc(p, b.trace, line);
	return p;
}

/* free() of a block with a header: counted out, then freed. */
HOOK_INLINE void header_free(void *p)
{
	struct live_block b;
	int is_own = hook_enter();

	if (read_header(p, &b))
		account(&b, 1, is_own, NULL);
	else
		count_corrupt();
	/* Not own: a signal handler inside a hook, whose thread state the
	 * interrupted hook is changing. */
	if (is_own)
		temp_note_free(p);
	((uint64_t *)p)[-1] = 0;	/* a second free finds no header: glibc's to judge */
	if (is_own)
		hook_leave();
	rt.real.free((char *)p - HDR);
}

/* The hook's own frame, for the frame-pointer walk: taken in the
 * exported function itself, never in an inlined helper. */
#define HOOK_FP __builtin_frame_address(0)

#define ENSURE_REAL(fn)                         \
	do {                                    \
		if (unlikely(!rt.real.fn))      \
			runtime_resolve();      \
	} while (0)

/*
 * Headers on unless CPROF_HEADERS=0, and only over glibc's allocator (the
 * tag relies on its chunk-size word): malloc, calloc, realloc and free
 * from dlsym must be glibc's own __libc_* entry points. From configure(),
 * after the originals are resolved, before tracing starts.
 */
void headers_setup(void)
{
	const char *s = getenv("CPROF_HEADERS");
	const uint64_t *random = (const uint64_t *)getauxval(AT_RANDOM);
	Dl_info a, b;

	if (s && *s && strcmp(s, "1") != 0) {
		if (strcmp(s, "0") != 0)
			rtenv_say("ignoring bad CPROF_HEADERS='", s, "' (use 0 or 1; using 0)",
				  NULL, NULL);
		return;
	}
	if (rt.real.malloc != dlsym(RTLD_NEXT, "__libc_malloc") ||
	    rt.real.calloc != dlsym(RTLD_NEXT, "__libc_calloc") ||
	    rt.real.realloc != dlsym(RTLD_NEXT, "__libc_realloc") ||
	    rt.real.free != dlsym(RTLD_NEXT, "__libc_free") ||
	    !rt.real.malloc_usable_size ||
	    !dladdr((void *)rt.real.malloc_usable_size, &a) || !dladdr((void *)rt.real.malloc, &b) ||
	    a.dli_fbase != b.dli_fbase)
		return;	/* another allocator: the live table takes every block */
	/* AT_RANDOM's second half (the first is the stack guard), and the clock. */
	rt.secret = (random ? random[1] : 0) ^ __builtin_ia32_rdtsc() * 0x9e3779b97f4a7c15ull;
	rt.headers = 1;
}

/* ---- the interposers ---- */

HOOK_INLINE void *do_malloc(size_t size, const void *hook_fp)
{
	ENSURE_REAL(malloc);
	if (unlikely(!rt.real.malloc))
		return arena_alloc(size, 16);
	if (likely(rt.headers) && likely(size <= LIVE_SIZE_LIMIT) && hook_enter()) {
		void *r = rt.real.malloc(size + HDR);
		int *errp = errno_ptr(), err = *errp;	/* the caller sees the allocator's errno */
		void *p = r ? header_new(r, size, hook_fp) : NULL;
		hook_leave();
		*errp = err;
		return p;
	}
	void *p = rt.real.malloc(size);
	int *errp = errno_ptr(), err = *errp;

	if (p && hook_enter()) {	/* false when reentered or stopped */
		record_alloc(p, size, hook_fp);
		hook_leave();
	}
	*errp = err;
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
	size_t bytes;
	if (likely(rt.headers) && !__builtin_mul_overflow(n, size, &bytes) &&
	    likely(bytes <= LIVE_SIZE_LIMIT) && hook_enter()) {
		void *r = rt.real.calloc(1, bytes + HDR);
		int *errp = errno_ptr(), err = *errp;
		void *p = r ? header_new(r, bytes, HOOK_FP) : NULL;
		hook_leave();
		*errp = err;
		return p;
	}
	void *p = rt.real.calloc(n, size);
	int *errp = errno_ptr(), err = *errp;

	if (p && hook_enter()) {
		record_alloc(p, n * size, HOOK_FP);	/* no overflow: calloc succeeded */
		hook_leave();
	}
	*errp = err;
	return p;
}

EXPORT void free(void *p)
{
	if (!p || unlikely(arena_owns(p)))
		return;
	int *errp = errno_ptr(), err = *errp;

	if (has_header(p)) {
		header_free(p);
		*errp = err;
		return;
	}
	if (hook_enter()) {	/* a free is recorded before the real one */
		record_free(p);
		hook_leave();
	}
	ENSURE_REAL(free);
	if (likely(rt.real.free))
		rt.real.free(p);
	*errp = err;
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

/* realloc() of a block with a header: the header moves with the data
 * (the new one gets the realloc's stack); a failed realloc leaves p and
 * its header as they were. */
HOOK_INLINE void *header_realloc(void *p, size_t size, const void *hook_fp)
{
	struct live_block old, now;

	if (size == 0) {	/* glibc: realloc(p, 0) frees p and returns NULL */
		header_free(p);
		return NULL;
	}
	if (unlikely(size > LIVE_SIZE_LIMIT)) {
		/* Too big for a header: an untraced copy (a dropped allocation). */
		size_t old_size = rt.real.malloc_usable_size((char *)p - HDR) - HDR;
		void *q = rt.real.malloc(size);
		if (!q)
			return NULL;	/* errno from malloc; p untouched */
		memcpy(q, p, old_size);
		atomic_fetch_add_explicit(&rt.dropped_allocs, 1, memory_order_relaxed);
		header_free(p);
		return q;
	}
	int is_own = hook_enter();
	int had = read_header(p, &old);	/* the tag hashes p: read it here */
	void *r = rt.real.realloc((char *)p - HDR, size + HDR);
	int *errp = errno_ptr(), err = *errp;

	if (r) {
		if (had)
			account_trace(&old, 1, is_own, NULL);
		else
			count_corrupt();
		if (is_own)	/* realloc frees p: a temporary if p was the latest */
			temp_note_free(p);
		now.size = size;
		/* In a hook already (a signal handler's realloc): no stack, the
		 * block keeps its site. */
		struct trace_ctr *line = NULL;
		now.trace = is_own ? capture(hook_fp, &line) : had ? old.trace : 0;
		put_header((char *)r + HDR, size, now.trace);
		account_trace(&now, 0, is_own, line);
		/* One change of the total, the new size less the old: the
		 * peak never counts both blocks, as if the old left first. */
		counters_add_current(now.size - (had ? old.size : 0));
		r = (char *)r + HDR;
		if (is_own)
			temp_note_alloc(r, now.trace, line);
	} else if (is_own) {
		temp_clear();	/* a failed realloc is an event too */
	}
	if (is_own)
		hook_leave();
	*errp = err;
	return r;
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
	if (has_header(p))
		return header_realloc(p, size, hook_fp);
	int is_tracing = hook_enter();
	/* Taken out before the call: once the real realloc has freed p,
	 * another thread may get p back from malloc and insert it. */
	if (is_tracing && !live_is_empty())
		had = live_remove(p, &old);
	void *q = rt.real.realloc(p, size);
	int *errp = errno_ptr(), err = *errp;

	if (is_tracing) {
		if (q) {
			if (had) {
				traces_account_free(old.trace, old.size);
				temp_note_free(p);	/* realloc frees p */
			} else {
				atomic_fetch_add_explicit(&rt.untraced_frees, 1,
							  memory_order_relaxed);
			}
			/* Old block out first: the peak never counts both. */
			if (had)
				counters_add_current(-old.size);
			record_alloc(q, size, hook_fp);
		} else if (size == 0) {
			if (had) {	/* glibc freed p and returned NULL */
				traces_account_free(old.trace, old.size);
				counters_add_current(-old.size);
				temp_note_free(p);
			} else {
				temp_clear();
			}
		} else {
			temp_clear();
		}
		if (!q && size && had) {	/* failed: p is unchanged and still live */
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
	*errp = err;
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
	int *errp = errno_ptr(), err = *errp;

	if (r == 0 && hook_enter()) {
		record_alloc(*out, size, HOOK_FP);
		hook_leave();
	}
	*errp = err;
	return r;
}

#define ALIGNED_HOOK(name, params, args, bootstrap_align, size_expr)    \
	EXPORT void *name params                                        \
	{                                                               \
		ENSURE_REAL(name);                                      \
		if (unlikely(!rt.real.name))                            \
			return arena_alloc(size_expr, bootstrap_align); \
		void *p = rt.real.name args;                            \
		int *errp = errno_ptr(), err = *errp;                   \
		if (p && hook_enter()) {                                \
			record_alloc(p, size_expr, HOOK_FP);            \
			hook_leave();                                   \
		}                                                       \
		*errp = err;                                            \
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
	if (has_header(p))
		return rt.real.malloc_usable_size((char *)p - HDR) - HDR;
	return rt.real.malloc_usable_size ? rt.real.malloc_usable_size(p) : 0;
}
