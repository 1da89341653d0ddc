/*
 * Internals shared by the instrument runtime's files: the per-thread
 * calling-context tree and shadow stack, and the process-wide state.
 * Included from instrument/ only. The files form layers, each calling
 * only the ones below it: threads.c (tables), hooks.c (the hot path),
 * calibrate.c (runs the hooks at start-up), runtime.c (start-up, thread
 * attach, exit and fork, the profile writer, the API) on top. A thread's
 * first hook reaches runtime.c only through rt.attach_thread.
 */
#ifndef CPROF_INSTRUMENT_INTERNAL_H
#define CPROF_INSTRUMENT_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/clock.h"
#include "../common/format.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define HIDDEN __attribute__((visibility("hidden")))
#define CFA_CACHE_SIZE 1024

/* The parts of a hook pair that a probe times (hooks.c): outer ones land
 * in the caller's own time, inner ones in the callee's. */
enum probe_window {
	PROBE_ENTER_OUTER,	/* enter hook: its start to its clock read */
	PROBE_ENTER_INNER,	/* enter hook: its clock read to its end */
	PROBE_EXIT_INNER,	/* exit hook: its start to its clock read */
	PROBE_EXIT_OUTER,	/* exit hook: its clock read to its end */
	PROBE_WINDOWS
};

/* A probe in about this many calls (four fenced clock reads each).
 * With the checks they add to every hook: 1.1 ns a call on
 * bench/callheavy (paired runs with and without them). */
#define PROBE_PERIOD 512

/* One open activation. cfa is the function's stack pointer before its
 * call (see entry_cfa in hooks.c): a frame whose cfa is not strictly
 * above a new call's is dead, which is how a longjmp over instrumented
 * frames is noticed, whatever the frames' sizes; but for functions
 * inlined into it, which share its cfa and call site (see enter_slow). */
struct frame {
	uint64_t fn;
	uintptr_t cfa;
	uint64_t start_ticks;
	uint64_t child_ticks;	/* inclusive ticks of finished callees */
	uint32_t node;		/* UINT32_MAX: not recorded (tree full) */
	uint32_t site;		/* low bits of the call site (the return address) */
};

/*
 * One thread's data, mmap-backed so it survives the thread and never
 * shows in a memory profile. Written only by its thread; read by the
 * writer at exit (nnodes is published with release order after a node
 * is filled, so the writer never sees a half-made node).
 */
struct thread_data {
	struct thread_data *next;	/* registry list; set once before publishing */
	/* [0] is the root. Moved once, to a bigger reservation, before
	 * nnodes passes the first one's end (release order both). */
	struct fmt_node *nodes;
	_Atomic uint32_t nnodes;
	uint32_t max_nodes;		/* nodes that fit now: the slots' load <= 1/2 */
	uint32_t node_limit;		/* the most this thread may grow to */
	uint32_t nodes_reserved;	/* room of the nodes' mapping */
	uint32_t *slots;		/* (parent, fn) -> node index; 0 = empty */
	uint32_t slot_mask;
	uint64_t table_bytes;		/* of nodes and slots, charged to rt.table_bytes */
	struct frame *stack;
	uint32_t depth;
	uint32_t max_depth;
	uint32_t overflow;		/* calls deeper than max_depth, still open */
	uintptr_t overflow_cfa;		/* the first of them: its CFA */
	uint64_t overflow_fn;		/* and its function */
	/* 0, or the frame address of the hook running (a signal handler's
	 * calls meanwhile are skipped), or BUSY_*: the runtimes' own code
	 * runs on this thread, outside any hook. */
	volatile uintptr_t busy;
	uint64_t dropped_nodes;
	uint64_t dropped_frames;
	uint64_t mismatched_exits;
	uint64_t skipped_reentrant;
	/* In-band probes of the hooks' own cost (hooks.c). */
	uint32_t probe_countdown;	/* enter hooks until the next probe */
	uint32_t probe_period;		/* their mean distance */
	uint32_t probe_rng;
	uint32_t probe_exit_armed;	/* the next exit hook is probed */
	uintptr_t probe_sp;		/* the probed hook's frame address, or 0 */
	uint64_t probe_start;		/* the probed hook's start */
	uint64_t last_now;		/* the last hook's clock read (0: none) */
	uint64_t probe_n[PROBE_WINDOWS], probe_ticks[PROBE_WINDOWS];
	/* Asked for by the memory runtime (cprof_rt_shadow_node_start in
	 * shadow.c), else NULL: each node's first call site, for the first
	 * node_site_room nodes, as cprof_rt_shadow_node first saw it. */
	uint64_t *node_site;
	uint32_t node_site_room;
	/* The calls open at depths below it were each made from their
	 * nodes' first call sites, as cprof_rt_shadow_node checked; never
	 * above depth (close_top lowers it as it pops a call). */
	uint32_t canon_upto;
	pid_t tid;
	char name[FMT_THREAD_NAME_MAX];
	/* Per function (by address bits): fn << 16 | the distance in words
	 * from the hook's CFA to the slot of fn's return address, or
	 * CFA_NOT_FOUND | fn << 16 (see entry_cfa in hooks.c). */
	uint64_t cfa_cache[CFA_CACHE_SIZE];
};

#define BUSY_RUNTIME 1	/* the exit writer, thread exit, cprof_disable(): skipped, counted */
#define BUSY_QUIET 2	/* the memory runtime's own work: skipped, not counted */

enum { RT_FRESH, RT_STARTING, RT_READY };

/* Process-wide state: written by rt_init (and the fork child handler)
 * before state is RT_READY, read-only afterwards except is_enabled and
 * is_finished. */
struct runtime {
	_Atomic int state;		/* RT_*: who initializes, and when it is done */
	int counts_only;
	_Atomic int is_enabled;
	_Atomic int is_finished;	/* profile written: no thread attaches any more */
	struct clock_calib clock;
	uint64_t start_unix_ns;
	double overhead_inner_ticks;
	double overhead_outer_ticks;
	double probe_loop[PROBE_WINDOWS];	/* the loop's windows (probe_figure.h); 0: none */
	int probe_off;			/* CPROF_PROBE=0: calibration alone */
	uint32_t max_nodes;		/* CPROF_MAX_NODES, per thread */
	uint32_t max_depth;
	uint64_t inherited_node;	/* a forked child: see fmt_meta */
	pid_t parent_pid;		/* the parent when this process started: at
					 * exit it may be gone (a daemon's double fork) */
	uint64_t max_memory;		/* CPROF_MAX_MEMORY: bytes of nodes and slots, all threads */
	_Atomic uint64_t table_bytes;	/* what the threads' tables hold now */
	char output_dir[PATH_MAX];
	_Atomic(struct thread_data *) threads;	/* lock-free push list */
	/* Called by a thread's first hook: its data, made and published,
	 * after starting the runtime if need be; NULL when it gets none.
	 * Set statically (runtime.c), so a hook run before any constructor
	 * finds it. */
	struct thread_data *(*attach_thread)(void);
};

extern struct runtime rt HIDDEN;

/* threads.c: the bottom layer. */
struct thread_data *threads_new_data(void) HIDDEN;
/* Charges bytes to rt.table_bytes; 0, or -1 (nothing charged) past
 * CPROF_MAX_MEMORY. A negative count gives them back. */
int threads_charge(int64_t bytes) HIDDEN;
/* Moves td's nodes to a mapping of node_limit nodes (the old one stays
 * mapped: the exit writer may be reading it); 0, or -1. */
int threads_move_nodes(struct thread_data *td) HIDDEN;
/* Maps td's node_site (shadow.c): 0, or -1 without memory. */
int threads_map_sites(struct thread_data *td) HIDDEN;
/* A slot table of n entries, zeroed; NULL when it cannot be mapped. */
uint32_t *threads_map_slots(size_t n) HIDDEN;
void threads_unmap_slots(uint32_t *slots, size_t n) HIDDEN;
void threads_free_data(struct thread_data *td) HIDDEN;
/* Calls of threads that got no tables at all: reported as dropped. */
extern _Atomic uint64_t threads_lost_calls HIDDEN;
extern __thread struct thread_data *threads_self
	__attribute__((visibility("hidden"), tls_model("initial-exec")));

/* hooks.c: the hot path. */
/* Closes every open frame of td as if they returned now. */
void hook_close_all(struct thread_data *td, uint64_t now) HIDDEN;
/* Doubles td's room for nodes (a new slot table, rehashed); 0, or -1
 * when at its limit or CPROF_MAX_MEMORY. */
int hook_grow(struct thread_data *td) HIDDEN;
/* Inside cprof_rt_quiet_begin/end on this thread: no thread data is
 * made, no call recorded. */
int hook_is_quiet(void) HIDDEN;

/* calibrate.c */
/* Per-call overhead of the hooks, in ticks. Needs rt.clock. probe: the
 * probed windows in the same loop, by probe_loop_figure (0 when too
 * few). */
void hook_measure_overhead(double *inner_ticks, double *outer_ticks,
			   double probe[PROBE_WINDOWS]) HIDDEN;

#endif
