/*
 * The shadow stack as the memory runtime sees it: an allocation's stack
 * taken from the calls already open (libcprof-malloc.so finds
 * cprof_rt_shadow_stack with dlsym). Reads the calling thread's own
 * data only; must never write it, allocate, lock or make a system call.
 */
#include "internal.h"
#include "instrument.h"

__attribute__((visibility("default"))) int cprof_rt_shadow_stack(struct cprof_shadow_frame *out,
								 int max)
{
	const struct thread_data *td = threads_self;
	int n = 0;

	/* busy: a hook (or the runtimes' own code) is half-way through
	 * this stack, and a signal handler's calls are not on it. */
	if (!td || td->busy || td->overflow)
		return -1;
	const struct frame *s = td->stack;
	uint32_t i = td->depth;

	while (i && n < max) {
		/* Functions inlined into one another share its CFA and call
		 * site: one entry, named after the outermost (the function
		 * whose code holds the call sites of the inner ones). */
		uintptr_t cfa = s[i - 1].cfa;
		while (i > 1 && s[i - 2].cfa == cfa)
			i--;
		i--;
		/* The full return address, at the slot below the CFA (the
		 * frame only keeps its low bits); it must agree with them, or
		 * the CFA was the hook's fallback (see entry_cfa). */
		uint64_t ret = ((const uint64_t *)cfa)[-1];
		if ((uint32_t)ret != s[i].site)
			return -1;
		out[n].fn = s[i].fn;
		out[n].ret = ret;
		n++;
	}
	return n;
}
