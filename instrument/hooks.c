/*
 * The hot path: __cyg_profile_func_enter/exit. Two clock reads, a
 * shadow-stack push/pop and one hash probe per call; no lock, no malloc,
 * no system call, no call into instrumented code. Written by hand because
 * no library offers a lock-free, allocation-free calling-context tree.
 */
#include "internal.h"
#include "instrument.h"

#include "../common/modmap.h"

#include <signal.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* A frame deeper than sp by less than this is dead (longjmp'd over).
 * Farther away it is another stack (sigaltstack), left alone. */
#define STALE_WINDOW ((uintptr_t)64 << 20)

/* The fields the exit writer may read while this thread runs (another
 * thread calling exit()) are stored whole, with relaxed atomic stores:
 * plain movs on x86-64, no cost, and no data race for the writer's
 * relaxed loads (ThreadSanitizer checks it). Only the owner writes, so
 * its own plain reads are safe. */
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ADD(p, v) STORE((p), *(p) + (v))

static inline uint64_t now_ticks(void)
{
	return rt.counts_only ? 0 : clock_calib_ticks(&rt.clock);
}

static inline uint32_t slot_hash(uint64_t fn, uint32_t parent)
{
	uint64_t h = (fn ^ ((uint64_t)parent << 32 | parent)) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32);
}

/* The child of parent for fn, created if new; UINT32_MAX when full.
 * Keyed by the load generation too: after a dlclose, another library
 * may sit at fn's address (one relaxed load of a global that changes
 * only when a dlclose unloads something). */
static inline uint32_t child_node(struct thread_data *td, uint32_t parent, uint64_t fn)
{
	uint32_t gen = atomic_load_explicit(&modmap_generation, memory_order_relaxed);
	uint32_t i = slot_hash(fn ^ gen, parent) & td->slot_mask;

	for (;;) {
		uint32_t n = td->slots[i];
		if (!n)
			break;
		if (td->nodes[n].fn == fn && td->nodes[n].parent == parent &&
		    td->nodes[n].gen == gen)
			return n;
		i = (i + 1) & td->slot_mask;
	}
	uint32_t n = atomic_load_explicit(&td->nnodes, memory_order_relaxed);
	if (unlikely(n >= td->max_nodes)) {
		ADD(&td->dropped_nodes, 1);
		return UINT32_MAX;
	}
	td->nodes[n] = (struct fmt_node){ .fn = fn, .parent = parent, .gen = gen };
	td->slots[i] = n;
	atomic_store_explicit(&td->nnodes, n + 1, memory_order_release);
	return n;
}

static inline void close_top(struct thread_data *td, uint64_t now)
{
	uint32_t depth = td->depth - 1;
	struct frame *f = &td->stack[depth];
	uint64_t elapsed = now > f->start_ticks ? now - f->start_ticks : 0;

	STORE(&td->depth, depth);
	if (f->node != UINT32_MAX) {
		struct fmt_node *n = &td->nodes[f->node];
		ADD(&n->calls, 1);
		ADD(&n->incl_ticks, elapsed);
		ADD(&n->self_ticks, elapsed > f->child_ticks ? elapsed - f->child_ticks : 0);
		if (depth)
			ADD(&td->stack[depth - 1].child_ticks, elapsed);
	}
	/* An unrecorded call's time stays in its caller's own time. */
}

void hook_close_all(struct thread_data *td, uint64_t now)
{
	while (td->depth)
		close_top(td, now);
	td->overflow = 0;
}

/* Closes frames a longjmp left behind: deeper than sp, same stack. */
static inline void drop_stale(struct thread_data *td, uintptr_t sp, uint64_t now)
{
	while (td->depth && td->stack[td->depth - 1].sp < sp &&
	       sp - td->stack[td->depth - 1].sp < STALE_WINDOW)
		close_top(td, now);
}

static inline __attribute__((always_inline)) void enter_on(struct thread_data *td, uint64_t fn,
							       uintptr_t sp)
{
	if (unlikely(td->depth && td->stack[td->depth - 1].sp < sp))
		drop_stale(td, sp, now_ticks());
	if (unlikely(td->depth >= td->max_depth)) {
		td->overflow++;
		ADD(&td->dropped_frames, 1);
		return;
	}
	uint32_t parent = td->depth ? td->stack[td->depth - 1].node : 0;
	if (unlikely(parent == UINT32_MAX))
		parent = 0;	/* under an unrecorded call: file it at the root */
	struct frame *f = &td->stack[td->depth];
	STORE(&f->fn, fn);
	STORE(&f->sp, sp);
	STORE(&f->child_ticks, 0);
	STORE(&f->node, child_node(td, parent, fn));
	/* Read last so the tree lookup is not charged to the callee. */
	STORE(&f->start_ticks, now_ticks());
	/* Pushed only once whole: a handler that siglongjmps out of this
	 * hook leaves no half-made frame (with an older call's node). */
	atomic_signal_fence(memory_order_seq_cst);
	STORE(&td->depth, td->depth + 1);
}

static inline __attribute__((always_inline)) void exit_on(struct thread_data *td, uint64_t fn,
							      uintptr_t sp)
{
	uint64_t now = now_ticks();

	if (unlikely(td->overflow)) {
		td->overflow--;
		return;
	}
	if (unlikely(!td->depth))
		return;		/* entered before cprof_enable(): not ours */
	if (likely(td->stack[td->depth - 1].fn == fn)) {
		close_top(td, now);
		return;
	}
	/* Not the top: frames above fn's may have been longjmp'd over. */
	for (uint32_t i = td->depth; i-- > 0;) {
		const struct frame *f = &td->stack[i];
		if (f->fn == fn) {
			while (td->depth > i + 1)
				close_top(td, now);
			close_top(td, now);
			return;
		}
		if (f->sp >= sp || sp - f->sp >= STALE_WINDOW)
			break;	/* a live frame that is not fn's: give up */
	}
	ADD(&td->mismatched_exits, 1);
}

/*
 * busy holds the frame address of the hook that set it. A signal
 * handler that interrupted that hook runs below the kernel's signal
 * frame (siginfo, ucontext and FPU state: over 1 KiB on x86-64, plus the
 * red zone) or on the alternate signal stack: its calls are skipped. A
 * hook less deep than that on the same stack means the hook that set
 * busy is gone: a handler siglongjmp'd out of it; profiling goes on.
 * (1, set outside hooks, is never left behind.)
 */
#define SIGFRAME_MIN 1024

static __attribute__((noinline)) int is_left_behind(uintptr_t busy_sp, uintptr_t sp)
{
	stack_t ss;

	if (sp + SIGFRAME_MIN <= busy_sp || sp + SIGFRAME_MIN - busy_sp >= STALE_WINDOW)
		return 0;
	/* A system call, but only on this rare path. */
	return !(sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK));
}

/*
 * The exported hooks. busy keeps a signal handler that interrupts a hook
 * from touching the half-updated stack: its calls are skipped whole
 * (enter and exit alike, so the stack stays balanced).
 */
__attribute__((visibility("default"))) void __cyg_profile_func_enter(void *fn, void *call_site)
{
	struct thread_data *td = threads_self;
	(void)call_site;

	if (unlikely(!td)) {
		td = threads_attach();
		if (!td)
			return;
	}
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (unlikely(td->busy) && !is_left_behind(td->busy, sp)) {
		ADD(&td->skipped_reentrant, 1);
		return;
	}
	td->busy = sp;
	atomic_signal_fence(memory_order_seq_cst);
	if (likely(atomic_load_explicit(&rt.is_enabled, memory_order_relaxed)))
		enter_on(td, (uint64_t)(uintptr_t)fn, sp);
	else if (td->depth)
		hook_close_all(td, now_ticks());
	atomic_signal_fence(memory_order_seq_cst);
	td->busy = 0;
}

__attribute__((visibility("default"))) void __cyg_profile_func_exit(void *fn, void *call_site)
{
	struct thread_data *td = threads_self;
	(void)call_site;

	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (unlikely(!td) || (unlikely(td->busy) && !is_left_behind(td->busy, sp)))
		return;
	td->busy = sp;
	atomic_signal_fence(memory_order_seq_cst);
	if (likely(atomic_load_explicit(&rt.is_enabled, memory_order_relaxed)))
		exit_on(td, (uint64_t)(uintptr_t)fn, sp);
	else if (td->depth)
		hook_close_all(td, now_ticks());
	atomic_signal_fence(memory_order_seq_cst);
	td->busy = 0;
}
