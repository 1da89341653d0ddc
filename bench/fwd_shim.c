/*
 * The forwarder-only shim of bench/mem.sh: every allocation function goes
 * straight to the original from dlsym(RTLD_NEXT), nothing recorded; the
 * cost of interposing alone. bench/unwind_shim.c includes this file with
 * BENCH_ON_ALLOC defined to add its per-allocation work. Built with
 * BENCH_PAD=16, every malloc, calloc and realloc block is asked of glibc
 * that much larger (at its end: the pointers are glibc's own), so that
 * the cost of cprof's 16-byte header in memory alone can be told apart.
 * Built with BENCH_FRONT, the 16 bytes go in front, as cprof's header
 * does (size, then a tag where glibc keeps its chunk-size word), and
 * free reads and clears them: cprof's block layout with no bookkeeping,
 * what the layout alone costs when threads free each other's blocks.
 * Built with BENCH_SPIN=N, every malloc, calloc, realloc and free also
 * makes N dependent multiplies in registers: per-call work that touches
 * no memory, to tell what a second thread does to any work a shim adds
 * from what it does to cprof's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

#ifndef BENCH_ON_ALLOC
#define BENCH_ON_ALLOC() ((void)0)
#endif
#ifdef BENCH_FRONT
#define BENCH_PAD 16
#endif
#ifndef BENCH_SPIN
#define BENCH_SPIN 0
#endif
#ifndef BENCH_PAD
#define BENCH_PAD 0
#endif

/* size + BENCH_PAD, or SIZE_MAX (which glibc refuses) when that wraps. */
static size_t padded(size_t size)
{
	size_t out;

	return __builtin_add_overflow(size, (size_t)BENCH_PAD, &out) ? SIZE_MAX : out;
}

/* BENCH_SPIN's work: a chain of multiplies kept in a register (a store
 * to memory both threads write would measure false sharing instead). */
static inline void spin(void)
{
	uint64_t x = 3;

	for (int i = 0; i < BENCH_SPIN; i++)
		__asm__ volatile("imul %0, %0" : "+r"(x));
	__asm__ volatile("" : : "r"(x));
}

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);
static size_t (*real_malloc_usable_size)(void *);

#ifdef BENCH_FRONT
/* Bit 63 marks the tag: glibc's chunk-size word, at the same offset in
 * the blocks glibc hands out itself (the aligned family here), never has
 * it. The other bits are the block's address, checked as cprof checks
 * its hash. */
#define FRONT_MARK (1ull << 63)
#define front_block(p) ((char *)(p) - 16)	/* what glibc handed out */

static void *front_put(void *r, size_t size)
{
	uint64_t *h = r;

	if (!r)
		return NULL;
	h[0] = size;
	h[1] = FRONT_MARK | (uintptr_t)(h + 2);
	return h + 2;
}

static int front_ours(const void *p)
{
	return ((const uint64_t *)p)[-1] >> 63;
}

/* 1 when p had the header and is freed: read, checked (a bad tag
 * traps) and cleared as cprof does, without counting it anywhere. */
static int front_free(void *p)
{
	uint64_t *h = (uint64_t *)p - 2;

	if (!front_ours(p))
		return 0;
	if (h[1] != (FRONT_MARK | (uintptr_t)p))
		__builtin_trap();
	__asm__ volatile("" : : "r"(h[0]));	/* the size, read as cprof reads it */
	h[1] = 0;
	real_free(front_block(p));
	return 1;
}
#else
#define front_put(r, size) (r)
#define front_ours(p) 0
#define front_block(p) ((char *)(p))
#define front_free(p) 0
#endif

/* dlsym() itself callocs (its error state) before the originals are
 * known: those few requests come from here and are never freed. */
static _Alignas(64) unsigned char boot[64 * 1024];
static _Atomic size_t boot_used;
static _Atomic int resolving;

static void *boot_alloc(size_t size)
{
	size_t at = atomic_fetch_add(&boot_used, (size + 15) & ~(size_t)15);

	return at + size <= sizeof(boot) ? boot + at : NULL;	/* static: zeroed */
}

static int is_boot(const void *p)
{
	return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof(boot);
}

static void resolve(void)
{
	if (atomic_exchange(&resolving, 1))
		return;		/* reentered from dlsym: boot_alloc serves it */
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_free = dlsym(RTLD_NEXT, "free");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_valloc = dlsym(RTLD_NEXT, "valloc");
	real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
	real_malloc_usable_size = dlsym(RTLD_NEXT, "malloc_usable_size");
}

__attribute__((constructor)) static void shim_init(void)
{
	if (!real_free)
		resolve();
}

EXPORT void *malloc(size_t size)
{
	if (__builtin_expect(!real_malloc, 0)) {
		resolve();
		if (!real_malloc)
			return boot_alloc(size);
	}
	spin();
	void *p = front_put(real_malloc(padded(size)), size);
	if (p)
		BENCH_ON_ALLOC();
	return p;
}

EXPORT void *calloc(size_t n, size_t size)
{
	if (__builtin_expect(!real_calloc, 0)) {
		resolve();
		if (!real_calloc)
			return n && size > sizeof(boot) / n ? NULL : boot_alloc(n * size);
	}
	size_t bytes;
	spin();
	void *p = BENCH_PAD && !__builtin_mul_overflow(n, size, &bytes)
			  ? front_put(real_calloc(1, padded(bytes)), bytes)
			  : real_calloc(n, size);	/* glibc says ENOMEM on overflow */
	if (p)
		BENCH_ON_ALLOC();
	return p;
}

EXPORT void *realloc(void *old, size_t size)
{
	if (__builtin_expect(!real_realloc || is_boot(old), 0)) {
		/* A boot block moves out to the real heap (its size is unknown:
		 * copy what fits, it is at most what is left of boot). */
		void *p = malloc(size);
		if (p && old)
			memcpy(p, old, size < (size_t)(boot + sizeof(boot) - (unsigned char *)old)
					       ? size : (size_t)(boot + sizeof(boot) - (unsigned char *)old));
		return p;
	}
	/* realloc(p, 0) frees p, as glibc's does, padded or not. A block
	 * from before the shim, or of the aligned family, has no header and
	 * keeps none. */
	void *p;
	spin();
	if (!old || front_ours(old))
		p = front_put(real_realloc(old ? front_block(old) : NULL, size ? padded(size) : 0),
			      size);
	else
		p = real_realloc(old, size ? padded(size) : 0);
	if (p)
		BENCH_ON_ALLOC();
	return p;
}

EXPORT void free(void *p)
{
	if (!p || is_boot(p))
		return;
	spin();
	if (!front_free(p))
		real_free(p);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (!real_posix_memalign)
		resolve();
	int r = real_posix_memalign(out, align, size);
	if (r == 0)
		BENCH_ON_ALLOC();
	return r;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (!real_aligned_alloc)
		resolve();
	void *p = real_aligned_alloc(align, size);
	if (p)
		BENCH_ON_ALLOC();
	return p;
}

EXPORT void *memalign(size_t align, size_t size)
{
	if (!real_memalign)
		resolve();
	void *p = real_memalign(align, size);
	if (p)
		BENCH_ON_ALLOC();
	return p;
}

EXPORT void *valloc(size_t size)
{
	if (!real_valloc)
		resolve();
	void *p = real_valloc(size);
	if (p)
		BENCH_ON_ALLOC();
	return p;
}

EXPORT void *pvalloc(size_t size)
{
	if (!real_pvalloc)
		resolve();
	void *p = real_pvalloc(size);
	if (p)
		BENCH_ON_ALLOC();
	return p;
}

EXPORT size_t malloc_usable_size(void *p)
{
	if (!p || is_boot(p))
		return 0;
	if (!real_malloc_usable_size)
		resolve();
	if (front_ours(p))
		return real_malloc_usable_size(front_block(p)) - BENCH_PAD;
	return real_malloc_usable_size(p);
}
