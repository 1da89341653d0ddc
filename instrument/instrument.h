/*
 * libcprof-instrument.so: the call profiler's runtime. Preloaded into a
 * program built with -finstrument-functions, it replaces glibc's no-op
 * __cyg_profile_func_enter/exit and writes DIR/PROG.PID.prof at exit.
 *
 * Environment (read once at start-up, however early the first hook runs:
 * from /proc/self/environ before libc has set up environ; a bad value is
 * reported once and the default used):
 *   CPROF_OUTPUT=DIR        where files go (default ./cprof-out)
 *   CPROF_PAUSED=1          start disabled; cprof_enable() starts
 *   CPROF_COUNTS_ONLY=1     exact call counts, no clock reads
 *   CPROF_CLOCK=mono        clock_gettime instead of the TSC
 *   CPROF_MAX_MEMORY=BYTES  the calling-context trees of all threads grow
 *                           until then (K, M, G, T: powers of 1024;
 *                           default a quarter of the RAM); a call past
 *                           it is counted as not recorded
 *   CPROF_MAX_NODES=N       calling-context nodes per thread (no limit)
 *   CPROF_MAX_DEPTH=N       shadow-stack depth per thread (256k)
 *   CPROF_PROBE=0           no in-band probes of the hooks' own cost:
 *                           compensation by the calibration loop alone
 */
#ifndef CPROF_INSTRUMENT_H
#define CPROF_INSTRUMENT_H

void __cyg_profile_func_enter(void *fn, void *call_site);
void __cyg_profile_func_exit(void *fn, void *call_site);

void cprof_rt_enable(void);
void cprof_rt_disable(void);

/* For the memory runtime (it calls them through weak references): its own
 * work on this thread (start-up, snapshots) may run the program's
 * instrumented code, a malloc of its own for one; between these, no such
 * call is recorded, counted or given thread data. They nest. */
void cprof_rt_quiet_begin(void);
void cprof_rt_quiet_end(void);

/* For the memory runtime's CPROF_UNWIND=cct (it finds this with dlsym):
 * the calling thread's open instrumented calls, innermost first, at most
 * max, into buf: each call's function, the address it returns to in its
 * caller, its entry stamp and depth. buf[0..nprev) holds this thread's
 * previous result (or nprev is 0): the calls still open since are kept
 * from it (*fresh: how many entries, on top, were read anew). Returns
 * the count, or -1 when the stack cannot be read now (a hook or the
 * runtime's own code is half-way through it, or it overflowed; buf is
 * then undefined). Allocation-free, lock-free, async-signal-safe. */
struct cprof_shadow_frame {
	unsigned long long fn;
	unsigned long long ret;
	unsigned long long stamp;
	unsigned depth;
};
int cprof_rt_shadow_stack(struct cprof_shadow_frame *buf, int max, int nprev, int *fresh);
/* The same, for a caller that keeps what it has read by depth: the open
 * calls down to the first one known[depth] names by its stamp and
 * function (depth < nknown), innermost first, into out (at most max);
 * *below: that call's depth, or -1 when none is known. Of those, the
 * ones under the top *changed are calls known there again: the same
 * function and return address, called from the call known[depth].below
 * (so on down). Returns the count, -1 as above, or -2 when more than max
 * are new or one is at a depth of nknown or more. While a call stays
 * open, the calls below it stay as they were: a caller's record of them
 * holds. Same guarantees. */
struct cprof_shadow_known {
	unsigned long long stamp;	/* 0: nothing known at this depth */
	unsigned long long fn;		/* 0: nothing known at this depth */
	unsigned long long ret;
	int below;			/* the depth of the call below, -1: none */
	unsigned ctx;			/* the caller's own, not read */
};
int cprof_rt_shadow_fresh(const struct cprof_shadow_known *known, int nknown,
			  struct cprof_shadow_frame *out, int max, int *below, int *changed);
/* From this thread's next call on, its calls note whether they and all
 * below them were made from their nodes' first call sites: 0; -1 when not
 * now (no call of this thread seen yet, or inside a hook), -2 when it
 * cannot be had (no memory). Maps once per thread. */
int cprof_rt_shadow_node_start(void);
/* The innermost open call's node (a number for its chain of functions,
 * this thread's only) in *node, and 1 when that chain was called from
 * each node's first call site, so that the node alone names every call's
 * function and return address; 0 when not, -1 as above; -2 when the
 * innermost open call's CFA is not above hook_cfa (the CFA of the
 * caller's hook, which such a call must have made or called into): a
 * longjmp left it behind, no hook has run since, and the stack must be
 * unwound. Same guarantees as cprof_rt_shadow_stack. */
int cprof_rt_shadow_node(unsigned *node, uintptr_t hook_cfa);

#endif
