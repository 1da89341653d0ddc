/*
 * The hot path: __cyg_profile_func_enter/exit. Two clock reads, a
 * shadow-stack push/pop and one hash probe per call; no lock, no malloc,
 * no system call, no call into instrumented code. Written by hand because
 * no library offers a lock-free, allocation-free calling-context tree.
 */
#include "internal.h"
#include "instrument.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* A frame deeper than sp by less than this is dead (longjmp'd over).
 * Farther away it is another stack (sigaltstack), left alone. */
#define STALE_WINDOW ((uintptr_t)64 << 20)

static inline uint64_t now_ticks(void)
{
	return rt.counts_only ? 0 : clock_calib_ticks(&rt.clock);
}

static inline uint32_t slot_hash(uint64_t fn, uint32_t parent)
{
	uint64_t h = (fn ^ ((uint64_t)parent << 32 | parent)) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32);
}

/* The child of parent for fn, created if new; UINT32_MAX when full. */
static inline uint32_t child_node(struct thread_data *td, uint32_t parent, uint64_t fn)
{
	uint32_t i = slot_hash(fn, parent) & td->slot_mask;

	for (;;) {
		uint32_t n = td->slots[i];
		if (!n)
			break;
		if (td->nodes[n].fn == fn && td->nodes[n].parent == parent)
			return n;
		i = (i + 1) & td->slot_mask;
	}
	uint32_t n = atomic_load_explicit(&td->nnodes, memory_order_relaxed);
	if (unlikely(n >= td->max_nodes)) {
		td->dropped_nodes++;
		return UINT32_MAX;
	}
	td->nodes[n] = (struct fmt_node){ .fn = fn, .parent = parent };
	td->slots[i] = n;
	atomic_store_explicit(&td->nnodes, n + 1, memory_order_release);
	return n;
}

static inline void close_top(struct thread_data *td, uint64_t now)
{
	struct frame *f = &td->stack[--td->depth];
	uint64_t elapsed = now > f->start_ticks ? now - f->start_ticks : 0;

	if (f->node != UINT32_MAX) {
		struct fmt_node *n = &td->nodes[f->node];
		n->calls++;
		n->incl_ticks += elapsed;
		n->self_ticks += elapsed > f->child_ticks ? elapsed - f->child_ticks : 0;
		if (td->depth)
			td->stack[td->depth - 1].child_ticks += elapsed;
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
		td->dropped_frames++;
		return;
	}
	uint32_t parent = td->depth ? td->stack[td->depth - 1].node : 0;
	if (unlikely(parent == UINT32_MAX))
		parent = 0;	/* under an unrecorded call: file it at the root */
	struct frame *f = &td->stack[td->depth++];
	f->fn = fn;
	f->sp = sp;
	f->child_ticks = 0;
	f->node = child_node(td, parent, fn);
	/* Read last so the tree lookup is not charged to the callee. */
	f->start_ticks = now_ticks();
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
	td->mismatched_exits++;
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
	if (unlikely(td->busy)) {
		td->skipped_reentrant++;
		return;
	}
	td->busy = 1;
	atomic_signal_fence(memory_order_seq_cst);
	if (likely(atomic_load_explicit(&rt.is_enabled, memory_order_relaxed)))
		enter_on(td, (uint64_t)(uintptr_t)fn, (uintptr_t)__builtin_frame_address(0));
	else if (td->depth)
		hook_close_all(td, now_ticks());
	atomic_signal_fence(memory_order_seq_cst);
	td->busy = 0;
}

__attribute__((visibility("default"))) void __cyg_profile_func_exit(void *fn, void *call_site)
{
	struct thread_data *td = threads_self;
	(void)call_site;

	if (unlikely(!td || td->busy))
		return;
	td->busy = 1;
	atomic_signal_fence(memory_order_seq_cst);
	if (likely(atomic_load_explicit(&rt.is_enabled, memory_order_relaxed)))
		exit_on(td, (uint64_t)(uintptr_t)fn, (uintptr_t)__builtin_frame_address(0));
	else if (td->depth)
		hook_close_all(td, now_ticks());
	atomic_signal_fence(memory_order_seq_cst);
	td->busy = 0;
}
