/*
 * The shadow stack as the memory runtime sees it: an allocation's stack
 * taken from the calls already open (libcprof-malloc.so finds
 * cprof_rt_shadow_stack with dlsym). Reads the calling thread's own
 * data only; must never write it, allocate, lock or make a system call
 * (but cprof_rt_shadow_node_start, once a thread, below).
 */
#include "internal.h"
#include "instrument.h"

/* The next entry below frame i (exclusive): functions inlined into one
 * another share its CFA and call site, so they are one entry, named
 * after the outermost (the function whose code holds the call sites of
 * the inner ones). Returns its frame's index. */
static inline uint32_t entry_below(const struct frame *s, uint32_t i)
{
	uintptr_t cfa = s[i - 1].cfa;

	while (i > 1 && s[i - 2].cfa == cfa)
		i--;
	return i - 1;
}

/*
 * An open call is known again by its depth, function, call site and
 * entry stamp (its start ticks: the TSC, or CLOCK_MONOTONIC's ns, read at
 * every entry, so two calls at one depth do not share one; counts-only
 * mode reads no clock, its stamps are 0 and never match). The frames
 * below a call that is still open are those they were when the caller
 * last looked: the walk stops there and keeps the rest of buf, moved
 * into place.
 */
__attribute__((visibility("default"))) int cprof_rt_shadow_stack(struct cprof_shadow_frame *buf,
								 int max, int nprev, int *fresh)
{
	const struct thread_data *td = threads_self;
	int n = 0, p = 0, kept = 0;

	*fresh = 0;
	/* busy: a hook (or the runtimes' own code) is half-way through
	 * this stack, and a signal handler's calls are not on it. */
	if (!td || td->busy || td->overflow)
		return -1;
	const struct frame *s = td->stack;
	uint32_t i = td->depth;

	/* The new calls on top, down to the first one buf knows (and that
	 * has enough below it in buf: all down to the outermost call, or as
	 * many as are needed now). */
	while (i && n < max) {
		i = entry_below(s, i);
		while (p < nprev && buf[p].depth > i)
			p++;
		if (p < nprev && buf[p].depth == i && buf[p].stamp == s[i].start_ticks &&
		    buf[p].stamp && buf[p].fn == s[i].fn && (uint32_t)buf[p].ret == s[i].site &&
		    (nprev < max || nprev - p >= max - n)) {
			kept = nprev - p < max - n ? nprev - p : max - n;
			if (p != n)
				__builtin_memmove(buf + n, buf + p, (size_t)kept * sizeof(*buf));
			break;
		}
		n++;
	}
	/* Then those new ones, read. The full return address is at the slot
	 * below the CFA (the frame keeps only its low bits); it must agree
	 * with them, or the CFA was the hook's fallback (see entry_cfa). */
	i = td->depth;
	for (int k = 0; k < n; k++) {
		i = entry_below(s, i);
		uint64_t ret = ((const uint64_t *)s[i].cfa)[-1];
		if (unlikely((uint32_t)ret != s[i].site))
			return -1;
		buf[k].fn = s[i].fn;
		buf[k].ret = ret;
		buf[k].stamp = s[i].start_ticks;
		buf[k].depth = i;
	}
	*fresh = n;
	return n + kept;
}

/*
 * The open entries the caller has not seen yet, innermost first: read
 * down to the first entry whose depth i has known[i] (i < nknown) holding
 * its stamp and function. known[i] was then recorded from this very
 * call (stamps are unique per call; 0, counts-only mode's, never
 * matches), and while a call is open the entries below it stay as they
 * were: the caller's record of them holds. *below: that entry's depth,
 * or -1 when the walk reached the outermost call. Of the entries read,
 * those below the top *changed ones are the calls known there made again
 * (the same function and return address on the same entry below, and so
 * on down to the entry found). Returns the count in out, or -1 when the
 * stack cannot be read now (as cprof_rt_shadow_stack), or -2 when more
 * than max entries are new or one lies at a depth of nknown or more
 * (read it with cprof_rt_shadow_stack).
 */
__attribute__((visibility("default"))) int cprof_rt_shadow_fresh(const struct cprof_shadow_known *known,
								 int nknown,
								 struct cprof_shadow_frame *out,
								 int max, int *below, int *changed)
{
	const struct thread_data *td = threads_self;
	int n = 0, top_changed = 0;
	/* The depth the entry read last was called from if it is the call
	 * known at its depth made again; -2 if it is not. */
	int same_below = -2;

	if (!td || td->busy || td->overflow)
		return -1;
	const struct frame *s = td->stack;
	uint32_t i = td->depth;

	/* Depths only fall from here: the innermost's is the one to check. */
	if (unlikely(i > (uint32_t)nknown))
		return -2;
	while (i) {
		i = entry_below(s, i);
		if (same_below != (int)i)
			top_changed = n;
		const struct cprof_shadow_known *k = &known[i];
		const struct frame *f = &s[i];
		uint64_t stamp = f->start_ticks, fn = f->fn;
		if (k->stamp == stamp && k->fn == fn && stamp) {
			*below = (int)i;
			*changed = top_changed;
			return n;
		}
		if (unlikely(n == max))
			return -2;
		/* As in cprof_rt_shadow_stack: the slot must agree with the site. */
		uint64_t ret = ((const uint64_t *)f->cfa)[-1];
		if (unlikely((uint32_t)ret != f->site))
			return -1;
		same_below = k->fn == fn && k->ret == ret ? k->below : -2;
		out[n].fn = fn;
		out[n].ret = ret;
		out[n].stamp = stamp;
		out[n].depth = i;
		n++;
	}
	*below = -1;
	*changed = same_below == -1 ? top_changed : n;
	return n;
}

/*
 * The memory runtime's shortcut past the walk above (CPROF_UNWIND=cct):
 * once asked for on a thread, cprof_rt_shadow_node checks whether every
 * open call was made from its node's first call site (the first it saw
 * for that node). Then the innermost call's node names every open call's
 * function and return address: a stack made from them once is that
 * node's for as long as the thread lives and nothing is unloaded. The
 * thread's array of first sites is mapped here once (the memory
 * runtime's hook asks until the thread has made a call): the one
 * function here that makes a system call.
 */
__attribute__((visibility("default"))) int cprof_rt_shadow_node_start(void)
{
	struct thread_data *td = threads_self;

	if (!td || td->busy)
		return -1;
	return td->node_site || threads_map_sites(td) == 0 ? 0 : -2;
}

/*
 * The innermost open call's node in *node, and 1 when it and every call
 * below it were made from their nodes' first call sites; 0 when not (or
 * not asked for), -1 when the stack cannot be read now (as
 * cprof_rt_shadow_stack), -2 when the innermost call's CFA is not above
 * hook_cfa (left by a longjmp: see instrument.h). Each call's return
 * address must be in its slot below its CFA, as cprof_rt_shadow_stack
 * checks of every call it reads. Writes the thread's canon_upto and a
 * node's first site on first sight: on the thread itself, outside its
 * hooks; a signal handler meanwhile pushes and pops calls only above the
 * depth being checked.
 */
__attribute__((visibility("default"))) int cprof_rt_shadow_node(unsigned *node,
									uintptr_t hook_cfa)
{
	struct thread_data *td = threads_self;

	if (!td || td->busy || td->overflow || !td->depth)
		return -1;
	if (td->stack[td->depth - 1].cfa <= hook_cfa)
		return -2;
	if (!td->node_site)
		return 0;
	uint32_t depth = td->depth, from = td->canon_upto, d;
	const struct frame *f;
	uint64_t ret, *first;
	int r = 1;

	/* Only the calls opened since the last check: canon_upto is kept at
	 * or below every depth popped since. A node past the room (or none:
	 * UINT32_MAX) has no first site kept. */
	for (d = from; d < depth; d++) {
		f = &td->stack[d];
		if (f->node >= td->node_site_room) {
			r = 0;
			break;
		}
		ret = ((const uint64_t *)f->cfa)[-1];
		if ((uint32_t)ret != f->site) {
			r = -1;	/* its return address is not in its slot */
			break;
		}
		first = &td->node_site[f->node];
		if (!*first)
			*first = ret;
		if (*first != ret) {
			r = 0;
			break;
		}
	}
	td->canon_upto = d;
	if (r != 1)
		return r;
	f = &td->stack[depth - 1];
	/* Checked at an earlier allocation: still in its slot? */
	if (from == depth && ((const uint64_t *)f->cfa)[-1] != td->node_site[f->node])
		return -1;
	*node = f->node;
	return 1;
}
