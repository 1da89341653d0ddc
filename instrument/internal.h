/*
 * Internals shared by the instrument runtime's files: the per-thread
 * calling-context tree and shadow stack, and the process-wide state.
 * Included from instrument/ only.
 */
#ifndef CPROF_INSTRUMENT_INTERNAL_H
#define CPROF_INSTRUMENT_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/clock.h"
#include "../common/format.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* One open activation. sp is the hook's frame address: a frame deeper
 * than the current hook (smaller sp) is dead, which is how a longjmp
 * over instrumented frames is noticed. */
struct frame {
	uint64_t fn;
	uintptr_t sp;
	uint64_t start_ticks;
	uint64_t child_ticks;	/* inclusive ticks of finished callees */
	uint32_t node;		/* UINT32_MAX: not recorded (tree full) */
	uint32_t reserved;
};

/*
 * One thread's data, mmap-backed so it survives the thread and never
 * shows in a memory profile. Written only by its thread; read by the
 * writer at exit (nnodes is published with release order after a node
 * is filled, so the writer never sees a half-made node).
 */
struct thread_data {
	struct thread_data *next;	/* registry list; set once before publishing */
	struct fmt_node *nodes;		/* [0] is the root */
	_Atomic uint32_t nnodes;
	uint32_t max_nodes;
	uint32_t *slots;		/* (parent, fn) -> node index; 0 = empty */
	uint32_t slot_mask;
	struct frame *stack;
	uint32_t depth;
	uint32_t max_depth;
	uint32_t overflow;		/* calls deeper than max_depth, still open */
	volatile uintptr_t busy;	/* inside a hook: its frame address (1 outside hooks);
					 * a signal handler's calls are skipped */
	uint64_t dropped_nodes;
	uint64_t dropped_frames;
	uint64_t mismatched_exits;
	uint64_t skipped_reentrant;
	pid_t tid;
	char name[FMT_THREAD_NAME_MAX];
	int has_exited;
};

/* Process-wide state: written by rt_init (and the fork child handler)
 * before any hook can read it, read-only afterwards except is_enabled. */
struct runtime {
	int is_ready;
	int counts_only;
	_Atomic int is_enabled;
	_Atomic int is_finished;	/* profile written: hooks stop */
	struct clock_calib clock;
	uint64_t start_unix_ns;
	double overhead_inner_ticks;
	double overhead_outer_ticks;
	uint32_t max_nodes;
	uint32_t max_depth;
	uint64_t inherited_node;	/* a forked child: see fmt_meta */
	char output_dir[PATH_MAX];
	_Atomic(struct thread_data *) threads;	/* lock-free push list */
};

extern struct runtime rt HIDDEN;

/* hooks.c: the hot path. */
/* Per-call overhead of the hooks, in ticks (see hooks.c). Needs rt.clock. */
void hook_measure_overhead(double *inner_ticks, double *outer_ticks) HIDDEN;
/* Closes every open frame of td as if they returned now. */
void hook_close_all(struct thread_data *td, uint64_t now) HIDDEN;

/* threads.c */
struct thread_data *threads_new_data(void) HIDDEN;
void threads_free_data(struct thread_data *td) HIDDEN;
struct thread_data *threads_attach(void) HIDDEN;
void threads_init(void) HIDDEN;
/* Calls of threads that got no tables at all: reported as dropped. */
extern _Atomic uint64_t threads_lost_calls HIDDEN;
extern __thread struct thread_data *threads_self
	__attribute__((visibility("hidden"), tls_model("initial-exec")));

/* runtime.c */
void rt_init(void) HIDDEN;
/* The process's start time := now (a forked child starts its own). */
void rt_restamp_start(void) HIDDEN;

#endif
