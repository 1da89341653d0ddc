/*
 * The unwinding floor of bench/mem.sh: the forwarder shim plus one
 * unw_backtrace() of 17 frames per allocation, result discarded: the
 * shim's own frame (floor_unwind is inlined into it) and the 16 of the
 * program that cprof keeps by default, as cprof's hook unwinds its own
 * frame and 16 more. libunwind
 * is loaded as preload/traces.c loads it (dlopen RTLD_LOCAL, per-thread
 * caches), so the floor and cprof unwind with the same code.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>

#define FLOOR_FRAMES 17

static int (*unwind_fn)(void **, int);
static __thread int in_unwind __attribute__((tls_model("initial-exec")));

/* libunwind may allocate while unwinding (and dlopen does): those
 * allocations are forwarded without unwinding again. */
static void floor_unwind(void)
{
	void *buf[FLOOR_FRAMES];

	if (!unwind_fn || in_unwind)
		return;
	in_unwind = 1;
	unwind_fn(buf, FLOOR_FRAMES);
	__asm__ volatile("" : : "r"(buf) : "memory");	/* keep the frames "used" */
	in_unwind = 0;
}

#define BENCH_ON_ALLOC() floor_unwind()
#include "fwd_shim.c"

__attribute__((constructor)) static void floor_init(void)
{
	in_unwind = 1;
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	int (*bt)(void **, int) = h ? (int (*)(void **, int))dlsym(h, "unw_backtrace") : NULL;
	int (*policy)(unw_addr_space_t, unw_caching_policy_t) =
		h ? (int (*)(unw_addr_space_t, unw_caching_policy_t))dlsym(h, "_ULx86_64_set_caching_policy")
		  : NULL;
	unw_addr_space_t *as = h ? (unw_addr_space_t *)dlsym(h, "_ULx86_64_local_addr_space") : NULL;

	if (policy && as)
		policy(*as, UNW_CACHE_PER_THREAD);
	unwind_fn = bt;
	in_unwind = 0;
}
