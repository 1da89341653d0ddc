/*
 * The hot path: __cyg_profile_func_enter/exit. Two clock reads, a
 * shadow-stack push/pop, one hash probe and one stack check (entry_cfa)
 * per call; no lock, no malloc, no system call, no call into
 * instrumented code. Written by hand because no library offers a
 * lock-free, allocation-free calling-context tree.
 */
#include "internal.h"
#include "instrument.h"

#include "../common/modmap.h"

#include <errno.h>
#include <signal.h>

/* A frame whose CFA is not above the new one's by less than this is
 * dead (longjmp'd over). Farther away it is another stack (sigaltstack),
 * left alone. */
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
		if (hook_grow(td) < 0) {
			ADD(&td->dropped_nodes, 1);
			return UINT32_MAX;
		}
		for (i = slot_hash(fn ^ gen, parent) & td->slot_mask; td->slots[i];)
			i = (i + 1) & td->slot_mask;
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

	/* The call at depth is no longer the one cprof_rt_shadow_node may
	 * have checked there. */
	if (td->canon_upto > depth)
		td->canon_upto = depth;
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

/*
 * The tree grows on demand, doubling: nodes go in a reserved mapping
 * whose pages are touched as nodes are added (moved once to one as big
 * as the thread may need, see threads_move_nodes), the slot table is
 * remade twice the size and rehashed. Only the owner reads the slots, so
 * the old table is unmapped at once.
 */
__attribute__((noinline)) int hook_grow(struct thread_data *td)
{
	uint32_t nnodes = atomic_load_explicit(&td->nnodes, memory_order_relaxed);
	uint64_t room = (uint64_t)td->max_nodes * 2;
	size_t nslots = ((size_t)td->slot_mask + 1) * 2;

	if (room > td->node_limit)
		room = td->node_limit;
	if (room <= td->max_nodes)
		return -1;
	int64_t bytes = (int64_t)((room - td->max_nodes) * sizeof(struct fmt_node) +
				  (nslots / 2) * sizeof(uint32_t));
	if (threads_charge(bytes) < 0)
		return -1;
	uint32_t *slots = threads_map_slots(nslots);
	if (!slots || (room > td->nodes_reserved && threads_move_nodes(td) < 0)) {
		if (slots)
			threads_unmap_slots(slots, nslots);
		threads_charge(-bytes);
		return -1;
	}
	uint32_t mask = (uint32_t)(nslots - 1);
	for (uint32_t n = 1; n < nnodes; n++) {
		uint32_t i = slot_hash(td->nodes[n].fn ^ td->nodes[n].gen, td->nodes[n].parent) & mask;
		while (slots[i])
			i = (i + 1) & mask;
		slots[i] = n;
	}
	threads_unmap_slots(td->slots, (size_t)td->slot_mask + 1);
	td->slots = slots;
	td->slot_mask = mask;
	td->table_bytes += (uint64_t)bytes;
	td->max_nodes = (uint32_t)room;
	return 0;
}

void hook_close_all(struct thread_data *td, uint64_t now)
{
	while (td->depth)
		close_top(td, now);
	td->overflow = 0;
}

/*
 * The CFA of the instrumented function (its stack pointer before the
 * call, above its whole frame), found without knowing its frame size:
 * the compiler passes call_site = its return address, which sits just
 * below its CFA, somewhere above the hook's own CFA. The first slot
 * holding it, scanning up, gives the distance, cached per function and
 * verified with one load on each call; a mismatch (a realigned frame,
 * or another function sharing the cache entry) scans again.
 */
#define CFA_SCAN_WORDS 0xffff		/* 512 KiB: larger frames use the fallback */
#define CFA_NOT_FOUND (1ull << 63)	/* entry flag: scanned in vain, do not scan again */

/* The hook's own CFA: it keeps a frame pointer (it takes its address). */
#define HOOK_CFA() ((uintptr_t)__builtin_frame_address(0) + 16)

static __attribute__((noinline)) uintptr_t scan_cfa(uint64_t *entry, uint64_t fn,
						    uintptr_t call_site, uintptr_t hook_cfa)
{
	const uintptr_t *slot = (const uintptr_t *)hook_cfa;
	uint32_t i = 0;

	if (*entry != (CFA_NOT_FOUND | fn << 16)) {
		while (call_site && i < CFA_SCAN_WORDS && slot[i] != call_site)
			i++;
		if (call_site && i < CFA_SCAN_WORDS) {
			*entry = fn << 16 | i;
			return (uintptr_t)(slot + i + 1);
		}
		*entry = CFA_NOT_FOUND | fn << 16;
	}
	/* No usable call_site: the hook's own CFA, as if the frame were
	 * empty; a jump is then noticed only when the next frame is not
	 * smaller. */
	return hook_cfa + sizeof(uintptr_t);
}

static inline uintptr_t entry_cfa(struct thread_data *td, uint64_t fn, uintptr_t call_site,
				  uintptr_t hook_cfa)
{
	uint64_t *entry = &td->cfa_cache[(fn >> 4) & (CFA_CACHE_SIZE - 1)];
	uint64_t v = *entry;

	/* A found entry of fn: the same function's frame, so reading at
	 * its offset stays on the stack. */
	if (likely(v >> 16 == fn)) {
		const uintptr_t *slot = (const uintptr_t *)hook_cfa + (v & 0xffff);
		if (likely(*slot == call_site))
			return (uintptr_t)(slot + 1);
	}
	return scan_cfa(entry, fn, call_site, hook_cfa);
}

/*
 * A new call whose CFA is not below the top frame's (the rare path): the
 * frames a longjmp left behind are closed. A live caller's CFA is
 * strictly above its callee's, whatever either frame's size; but a
 * function inlined into its caller calls the hooks from the caller's
 * frame, with the caller's CFA and call site. So frames at the new CFA
 * and call site are live callers unless one of them is the new call's
 * function: then they are a call made again from the same place (a loop
 * around a setjmp), and were jumped over.
 */
static inline int is_below(const struct frame *f, uintptr_t cfa)
{
	return f->cfa < cfa && cfa - f->cfa < STALE_WINDOW;
}

static __attribute__((noinline)) void enter_slow(struct thread_data *td, uint64_t fn,
						 uintptr_t cfa, uint32_t site)
{
	uint32_t depth = td->depth, i;
	/* The clock only when closing: inlined callees come here on every
	 * call. */
	uint64_t now = td->depth && is_below(&td->stack[td->depth - 1], cfa) ? now_ticks() : 0;

	while (td->depth && is_below(&td->stack[td->depth - 1], cfa))
		close_top(td, now);
	for (i = td->depth; i && td->stack[i - 1].cfa == cfa && td->stack[i - 1].site == site &&
			    td->stack[i - 1].fn != fn;)
		i--;
	if (i == td->depth || (i && td->stack[i - 1].cfa == cfa)) {
		if (td->depth && td->stack[td->depth - 1].cfa == cfa && td->depth == depth)
			now = now_ticks();
		while (td->depth && td->stack[td->depth - 1].cfa == cfa)
			close_top(td, now);
	}	/* else: inlined callees of the live frame below them */
	if (td->depth != depth)
		td->overflow = 0;	/* unrecorded calls deeper than a dead frame: dead too */
}

/* Past max_depth: calls are counted, not recorded. The first such call's
 * CFA tells when a jump has left them all behind. */
static __attribute__((noinline)) void enter_overflow(struct thread_data *td, uint64_t fn,
						     uintptr_t cfa)
{
	if (td->overflow && td->overflow_cfa <= cfa && cfa - td->overflow_cfa < STALE_WINDOW)
		td->overflow = 0;
	if (!td->overflow) {
		td->overflow_cfa = cfa;
		td->overflow_fn = fn;
	}
	td->overflow++;
	ADD(&td->dropped_frames, 1);
}

static inline __attribute__((always_inline)) void enter_on(struct thread_data *td, uint64_t fn,
							       uintptr_t cfa, uint64_t call_site)
{
	uint32_t site = (uint32_t)call_site;

	if (unlikely(td->depth && td->stack[td->depth - 1].cfa <= cfa))
		enter_slow(td, fn, cfa, site);
	if (unlikely(td->depth >= td->max_depth)) {
		enter_overflow(td, fn, cfa);
		td->last_now = 0;
		return;
	}
	uint32_t parent = td->depth ? td->stack[td->depth - 1].node : 0;
	if (unlikely(parent == UINT32_MAX))
		parent = 0;	/* under an unrecorded call: file it at the root */
	struct frame *f = &td->stack[td->depth];
	STORE(&f->fn, fn);
	STORE(&f->cfa, cfa);
	STORE(&f->site, site);
	STORE(&f->child_ticks, 0);
	STORE(&f->node, child_node(td, parent, fn));
	/* Read last so the tree lookup is not charged to the callee. */
	uint64_t now = now_ticks();
	STORE(&f->start_ticks, now);
	td->last_now = now;
	/* Pushed only once whole: a handler that siglongjmps out of this
	 * hook leaves no half-made frame (with an older call's node). */
	atomic_signal_fence(memory_order_seq_cst);
	STORE(&td->depth, td->depth + 1);
}

/*
 * An exit hook's CFA is fn's stack pointer when it calls the hook, or
 * fn's own CFA when fn jumps to the hook as its last call: fn's frame is
 * at or above it, a frame below it was jumped over. A frame exactly at
 * it may be either (called at the stack pointer of fn's exit).
 */
static __attribute__((noinline)) void exit_slow(struct thread_data *td, uint64_t fn,
						uintptr_t hook_cfa, uint64_t now)
{
	if (td->overflow) {
		if (td->overflow_cfa > hook_cfa && td->overflow_cfa - hook_cfa < STALE_WINDOW) {
			td->overflow--;		/* an unrecorded call returns */
			return;
		}
		int is_first = td->overflow_cfa == hook_cfa && td->overflow_fn == fn;
		td->overflow = 0;	/* all jumped over, or all but the first */
		if (is_first)
			return;
	}
	while (td->depth && td->stack[td->depth - 1].cfa < hook_cfa &&
	       hook_cfa - td->stack[td->depth - 1].cfa < STALE_WINDOW)
		close_top(td, now);
	for (uint32_t i = td->depth; i-- > 0;) {
		const struct frame *f = &td->stack[i];
		if (f->fn == fn) {
			while (td->depth > i)
				close_top(td, now);
			return;
		}
		if (f->cfa != hook_cfa)
			break;	/* a live frame that is not fn's */
	}
	/* fn was entered while disabled, or past the stack's depth and not
	 * counted as such (a handler's call), or nothing is open. */
	if (td->depth)
		ADD(&td->mismatched_exits, 1);
}

static inline __attribute__((always_inline)) void exit_on(struct thread_data *td, uint64_t fn,
							      uintptr_t hook_cfa)
{
	uint64_t now = now_ticks();

	td->last_now = now;
	if (likely(!td->overflow && td->depth)) {
		const struct frame *top = &td->stack[td->depth - 1];
		if (likely(top->fn == fn && top->cfa >= hook_cfa)) {
			close_top(td, now);
			return;
		}
	}
	exit_slow(td, fn, hook_cfa, now);
}

/*
 * In-band probes. The calibration loop's hooks run warm: one node, every
 * branch predicted. The program's hooks miss caches in a big tree, so
 * they cost more there than any loop shows. One enter hook in about
 * td->probe_period, and the next exit hook, time themselves in four windows
 * (enum probe_window): from each hook's start to its clock read, and
 * from that read to its end. Chosen at random, so no loop of the program
 * is always caught at one phase. The extra reads are fenced, so a window
 * does not end before the hook's loads are done. The calibration loop
 * is probed the same way, and the difference between the program's mean
 * windows and the loop's (probe_figure.h) is what the loop missed.
 */
/* A window this long was interrupted (a timer tick, a page fault): the
 * program's own code is interrupted as often, so it is not the hooks'. */
#define PROBE_MAX_TICKS 20000

static inline uint32_t probe_next(struct thread_data *td)
{
	uint32_t x = td->probe_rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	td->probe_rng = x;
	return td->probe_period / 2 + x % td->probe_period;
}

static inline uint64_t probe_ticks(void)
{
	__builtin_ia32_lfence();
	return clock_calib_ticks(&rt.clock);
}

static void probe_add(struct thread_data *td, enum probe_window w, uint64_t from, uint64_t to)
{
	if (!from || to < from || to - from > PROBE_MAX_TICKS)
		return;
	ADD(&td->probe_n[w], 1);
	ADD(&td->probe_ticks[w], to - from);
}

/*
 * A probe begins at a hook's start and ends at its end, where the hook
 * finds its own frame address in td->probe_sp. A signal handler's hook
 * that runs between the two (after busy is cleared) may begin and end a
 * probe of its own, which only loses the interrupted one. A probe whose
 * end never ran (a handler that jumped out of the hook) leaves a stale
 * start: a later hook at that address ends it with a window far past
 * PROBE_MAX_TICKS, dropped. The probed hook's clock read is in
 * td->last_now, so the hot path keeps no more in registers.
 */
static __attribute__((noinline)) void probe_enter_begin(struct thread_data *td, uintptr_t sp)
{
	td->probe_countdown = probe_next(td);
	if (rt.counts_only)
		return;		/* no clock: no probe */
	td->probe_sp = sp;
	td->probe_start = probe_ticks();
}

static __attribute__((noinline)) void probe_enter_end(struct thread_data *td)
{
	uint64_t end = probe_ticks(), now = td->last_now;

	td->probe_sp = 0;
	if (!now)
		return;		/* not recorded (past max_depth) */
	probe_add(td, PROBE_ENTER_OUTER, td->probe_start, now);
	probe_add(td, PROBE_ENTER_INNER, now, end);
	td->probe_exit_armed = 1;
}

static __attribute__((noinline)) void probe_exit_begin(struct thread_data *td, uintptr_t sp)
{
	td->probe_exit_armed = 0;
	td->probe_sp = sp;
	td->probe_start = probe_ticks();
}

static __attribute__((noinline)) void probe_exit_end(struct thread_data *td)
{
	uint64_t end = probe_ticks(), now = td->last_now;

	td->probe_sp = 0;
	probe_add(td, PROBE_EXIT_INNER, td->probe_start, now);
	probe_add(td, PROBE_EXIT_OUTER, now, end);
}

/*
 * busy is 0 outside hooks and, inside one, the frame address of the hook
 * that set it. A signal handler that interrupted that hook runs below
 * the kernel's signal frame (siginfo, ucontext and FPU state: over 1 KiB
 * on x86-64, plus the red zone) or on the alternate signal stack: its
 * calls are skipped. A hook less deep than that on the same stack means
 * the hook that set busy is gone: a handler siglongjmp'd out of it;
 * profiling goes on. BUSY_RUNTIME and BUSY_QUIET (the runtimes' own
 * code, outside any hook) are never left behind.
 */
#define SIGFRAME_MIN 1024

static __attribute__((noinline)) int is_left_behind(uintptr_t busy_sp, uintptr_t sp)
{
	stack_t ss;
	int err = errno, r;

	if (busy_sp <= BUSY_QUIET || sp + SIGFRAME_MIN <= busy_sp ||
	    sp + SIGFRAME_MIN - busy_sp >= STALE_WINDOW)
		return 0;
	/* A system call, but only on this rare path. */
	r = !(sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK));
	errno = err;
	return r;
}

/* Whether a hook may run while busy is set: skipped calls are counted,
 * but for the runtimes' own (BUSY_QUIET), which are none of the
 * program's. */
static __attribute__((noinline)) int may_enter_busy(struct thread_data *td, uintptr_t sp)
{
	if (is_left_behind(td->busy, sp))
		return 1;
	if (td->busy != BUSY_QUIET)
		ADD(&td->skipped_reentrant, 1);
	return 0;
}

/*
 * The exported hooks. busy keeps a signal handler that interrupts a hook
 * from touching the half-updated stack: its calls are skipped whole
 * (enter and exit alike, so the stack stays balanced). gcc and clang pass
 * call_site = the instrumented function's return address.
 */
__attribute__((visibility("default"))) void __cyg_profile_func_enter(void *fn, void *call_site)
{
	struct thread_data *td = threads_self;

	if (unlikely(!td)) {
		td = rt.attach_thread();
		if (!td)
			return;
	}
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (unlikely(td->busy) && !may_enter_busy(td, sp))
		return;
	td->busy = sp;
	atomic_signal_fence(memory_order_seq_cst);
	if (likely(atomic_load_explicit(&rt.is_enabled, memory_order_relaxed))) {
		if (unlikely(--td->probe_countdown == 0))
			probe_enter_begin(td, sp);
		enter_on(td, (uint64_t)(uintptr_t)fn,
			 entry_cfa(td, (uint64_t)(uintptr_t)fn, (uintptr_t)call_site, HOOK_CFA()),
			 (uint64_t)(uintptr_t)call_site);
	} else if (td->depth)
		hook_close_all(td, now_ticks());
	atomic_signal_fence(memory_order_seq_cst);
	td->busy = 0;
	if (unlikely(td->probe_sp == sp))
		probe_enter_end(td);
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
	if (likely(atomic_load_explicit(&rt.is_enabled, memory_order_relaxed))) {
		if (unlikely(td->probe_exit_armed))
			probe_exit_begin(td, sp);
		exit_on(td, (uint64_t)(uintptr_t)fn, HOOK_CFA());
	} else if (td->depth)
		hook_close_all(td, now_ticks());
	atomic_signal_fence(memory_order_seq_cst);
	td->busy = 0;
	if (unlikely(td->probe_sp == sp))
		probe_exit_end(td);
}

/* ---- the runtimes' own work: none of the program's calls ---- */

/* Nested begin/end pairs on one thread; see cprof_rt_quiet_begin. */
static __thread uint32_t quiet_depth __attribute__((tls_model("initial-exec")));
static __thread uintptr_t quiet_saved_busy __attribute__((tls_model("initial-exec")));

int hook_is_quiet(void)
{
	return quiet_depth != 0;
}

__attribute__((visibility("default"))) void cprof_rt_quiet_begin(void)
{
	struct thread_data *td = threads_self;

	if (quiet_depth++ == 0 && td) {
		quiet_saved_busy = td->busy;
		td->busy = BUSY_QUIET;
	}
}

__attribute__((visibility("default"))) void cprof_rt_quiet_end(void)
{
	struct thread_data *td = threads_self;

	if (quiet_depth && --quiet_depth == 0 && td)
		td->busy = quiet_saved_busy;
}
