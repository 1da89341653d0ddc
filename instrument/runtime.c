/*
 * Start-up (environment, clock, overhead calibration), a thread's attach,
 * exit and fork, the public API, and writing DIR/PROG.PID.prof at exit:
 * the top layer (see internal.h). Runs outside the hot path; may
 * use libc, but never malloc (the host's allocator may be traced) and
 * never stdio (the host may hold its locks).
 */
#define _GNU_SOURCE
#include "internal.h"
#include "instrument.h"

#include "../common/modmap.h"
#include "../common/rtenv.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static struct thread_data *attach_thread(void);
static int rt_init(void);

/* attach_thread is reached from a thread's first hook through rt, so the
 * hot path (hooks.c) never calls up into this file. */
struct runtime rt = { .attach_thread = attach_thread };

extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

#define DEFAULT_MAX_NODES (1u << 31)	/* no limit but the memory's */
#define DEFAULT_MAX_DEPTH (1u << 18)

/* The process's start time := now (a forked child starts its own). */
static void rt_restamp_start(void)
{
	rt.start_unix_ns = rtenv_unix_ns();
	clock_calib_start(&rt.clock);
}

static void finish(void *arg);

/* ---- a thread's and a process's life: attach, thread exit, fork ---- */

static pthread_key_t exit_key;
static int has_exit_key;

static __thread int has_failed __attribute__((tls_model("initial-exec")));

static void thread_exiting(void *arg)
{
	struct thread_data *td = arg;

	td->busy = BUSY_RUNTIME;
	hook_close_all(td, rt.counts_only ? 0 : clock_calib_ticks(&rt.clock));
	prctl(PR_GET_NAME, td->name, 0, 0, 0);	/* names are often set after start */
	td->busy = 0;
	/* Calls made by later TLS destructors still land in td; they open
	 * and close in pairs, so nothing is left open. */
}

/* The first hook of a thread: the program's errno is kept whatever
 * fails here (mmap under RLIMIT_AS, reading the environment). */
static struct thread_data *attach_thread(void)
{
	struct thread_data *td = NULL;
	int err = errno;

	if (hook_is_quiet() || !rt_init() || atomic_load(&rt.is_finished))
		goto out;
	/* No tables even at a 256th: this thread's calls are counted as
	 * dropped (one per entry), without trying again each time. */
	if (has_failed || !(td = threads_new_data())) {
		has_failed = 1;
		atomic_fetch_add_explicit(&threads_lost_calls, 1, memory_order_relaxed);
		goto out;
	}
	td->next = atomic_load(&rt.threads);
	while (!atomic_compare_exchange_weak(&rt.threads, &td->next, td))
		;
	threads_self = td;
	if (has_exit_key)
		pthread_setspecific(exit_key, td);	/* key < 32: no allocation */
out:
	errno = err;
	return td;
}

/* The forking process's pid and the moment of the fork, taken in it: by
 * the time the child runs, its parent may have exited (a daemon's double
 * fork), and a merge finds a child's parent by pid among the processes
 * alive when the child started. */
static pid_t forking_pid;
static uint64_t forking_unix_ns;

static void fork_prepare(void)
{
	forking_pid = getpid();
	forking_unix_ns = rtenv_unix_ns();
}

static void fork_child(void)
{
	struct thread_data *me = threads_self;
	uint64_t now = rt.counts_only ? 0 : clock_calib_ticks(&rt.clock);

	atomic_store(&rt.is_finished, 0);
	rt.parent_pid = forking_pid;
	/* The other threads do not exist in the child; their data stays
	 * with the parent's profile. Ours starts again from zero, keeping
	 * the call stack we are in so its exits still match. */
	atomic_store(&rt.threads, NULL);
	rt.inherited_node = 0;
	if (!me)
		return;
	me->next = NULL;
	atomic_store(&rt.threads, me);
	uint32_t n = atomic_load(&me->nnodes);
	for (uint32_t i = 0; i < n; i++) {
		me->nodes[i].calls = 0;
		me->nodes[i].incl_ticks = 0;
		me->nodes[i].self_ticks = 0;
	}
	for (uint32_t i = 0; i < me->depth; i++) {
		me->stack[i].start_ticks = now;
		me->stack[i].child_ticks = 0;
		/* The innermost recorded one: the parent counts these calls. */
		if (me->stack[i].node != UINT32_MAX)
			rt.inherited_node = (uint64_t)me->stack[i].node + 1;
	}
	me->dropped_nodes = me->dropped_frames = me->mismatched_exits = 0;
	me->skipped_reentrant = 0;
	me->tid = (pid_t)syscall(SYS_gettid);
	rt_restamp_start();
	rt.start_unix_ns = forking_unix_ns;
}

/* At start-up: a thread's exit closes its calls, a fork child starts over. */
static void watch_threads(void)
{
	has_exit_key = pthread_key_create(&exit_key, thread_exiting) == 0;
	pthread_atfork(fork_prepare, NULL, fork_child);
}

/* Only the initializing thread reaches hooks with this set (rt_init's
 * own calibration, or a signal handler meanwhile): they are skipped. */
static __thread int is_initializing __attribute__((tls_model("initial-exec")));

/* Called once, by the first thread to get here; the others wait in
 * rt_init until state is RT_READY, so no hook ever sees half of it. */
static void init_once(void)
{
	const char *out = rtenv_get("CPROF_OUTPUT");

	if (!out || !*out)
		out = "cprof-out";
	if (strlen(out) >= sizeof(rt.output_dir) - 64) {
		rtenv_say("ignoring CPROF_OUTPUT: path too long (using cprof-out)", NULL, NULL, NULL, NULL);
		out = "cprof-out";
	}
	strcpy(rt.output_dir, out);
	rt.counts_only = rtenv_flag("CPROF_COUNTS_ONLY");
	rt.max_nodes = rtenv_count("CPROF_MAX_NODES", DEFAULT_MAX_NODES, 16, 1u << 31);
	/* A quarter of the RAM by default: the tree grows until then. */
	rt.max_memory = rtenv_bytes("CPROF_MAX_MEMORY",
				    (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) / 4,
				    1u << 20);
	rt.max_depth = rtenv_count("CPROF_MAX_DEPTH", DEFAULT_MAX_DEPTH, 16, 1u << 24);
	int is_paused = rtenv_flag("CPROF_PAUSED");
	rt.parent_pid = getppid();
	rt_restamp_start();
	watch_threads();
	atomic_store(&rt.is_enabled, 1);
	rt.probe_off = !rtenv_count("CPROF_PROBE", 1, 0, 1);
	hook_measure_overhead(&rt.overhead_inner_ticks, &rt.overhead_outer_ticks, rt.probe_loop);
	atomic_store(&rt.is_enabled, !is_paused);
	/*
	 * The profile is written at exit, after every destructor: an exit
	 * handler with no DSO runs only from exit() itself, last in, first
	 * out, and this one is registered before __libc_start_main registers
	 * ld.so's _dl_fini, which runs the ELF destructors of every object
	 * (the program's libraries' included). A destructor would run in
	 * this library's turn, before those of the program's own libraries.
	 */
	__cxa_atexit(finish, NULL, NULL);
}

/* Initializes once; returns with rt.state RT_READY, or 0 when this thread
 * is the one initializing (a hook reached from rt_init itself, or from a
 * signal handler meanwhile). Other threads wait for it. */
static int rt_init(void)
{
	int expected = RT_FRESH;

	if (atomic_load(&rt.state) == RT_READY)
		return 1;
	if (atomic_compare_exchange_strong(&rt.state, &expected, RT_STARTING)) {
		is_initializing = 1;
		init_once();
		is_initializing = 0;
		atomic_store(&rt.state, RT_READY);
		return 1;
	}
	if (is_initializing)
		return 0;
	while (atomic_load(&rt.state) != RT_READY)
		sched_yield();
	return 1;
}

static void program_name(char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *base = "unknown";

	if (n > 0) {
		exe[n] = 0;
		base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	}
	size_t len = strlen(base) < cap - 1 ? strlen(base) : cap - 1;
	memcpy(out, base, len);
	out[len] = 0;
}

/* Static: a hook may not malloc, and 64 KiB is too much for a stack. */
static struct fmt_writer writer;

/* Relaxed loads of what a running thread may be storing (see STORE in
 * hooks.c): each field whole, never torn, and no data race. */
#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

/* fn and parent were published by nnodes' release store; the counters
 * move while the owner runs. */
static struct fmt_node load_node(const struct fmt_node *src)
{
	struct fmt_node n = { .fn = src->fn, .parent = src->parent, .gen = src->gen };

	n.calls = LOAD(&src->calls);
	n.incl_ticks = LOAD(&src->incl_ticks);
	n.self_ticks = LOAD(&src->self_ticks);
	return n;
}

static void put_range(const struct fmt_node *nodes, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++) {
		struct fmt_node n = load_node(&nodes[i]);
		fmt_writer_put(&writer, &n, sizeof(n));
	}
}

/*
 * td's nodes, with the calls still open in td counted as if they
 * returned at now. The writing thread closes its own calls before; this
 * is for the others (exit() from a thread, or main returning while
 * workers run), so that a thread blocked for the whole run still shows.
 * td may still be running: it is read, never changed, and a frame that
 * does not fit (torn, or filed at the root after the tree filled) is
 * left out. A child node is made after its parent, so the open frames'
 * nodes grow from the bottom of the stack up.
 */
static void put_nodes(const struct thread_data *td, const struct fmt_node *nodes, uint32_t nnodes,
		      uint64_t now)
{
	uint32_t depth = LOAD(&td->depth), done = 0;

	if (depth > td->max_depth)
		depth = td->max_depth;
	for (uint32_t i = 0; i < depth; i++) {
		const struct frame *f = &td->stack[i];
		uint32_t node = LOAD(&f->node);
		if (node >= nnodes || node < done)
			continue;
		uint64_t start = LOAD(&f->start_ticks), child = LOAD(&f->child_ticks);
		uint64_t elapsed = now > start ? now - start : 0, inner = 0;
		if (i + 1 < depth) {
			const struct frame *callee = &td->stack[i + 1];
			uint64_t callee_start = LOAD(&callee->start_ticks);
			if (LOAD(&callee->node) != UINT32_MAX && now > callee_start)
				inner = now - callee_start;	/* the open callee's time */
		}
		struct fmt_node n = load_node(&nodes[node]);
		n.calls++;
		n.incl_ticks += elapsed;
		if (elapsed > child + inner)
			n.self_ticks += elapsed - child - inner;
		put_range(nodes, done, node);
		fmt_writer_put(&writer, &n, sizeof(n));
		done = node + 1;
	}
	put_range(nodes, done, nnodes);
}

/* Probes of a window below this, over all threads: no correction. */
#define PROBE_MIN_COUNT 100

/*
 * The in-band probes' correction (hooks.c): each window's mean in the
 * program less its figure in the calibration loop is what the loop
 * missed there, added to the calibrated overhead; kept apart in the
 * file too, for the report. None unless every window has enough probes.
 */
static void probe_correct(struct fmt_meta *meta)
{
	uint64_t n[PROBE_WINDOWS] = { 0 }, ticks[PROBE_WINDOWS] = { 0 };
	double missed[PROBE_WINDOWS];

	if (rt.probe_off || rt.counts_only)
		return;
	for (struct thread_data *td = atomic_load(&rt.threads); td; td = td->next)
		for (int w = 0; w < PROBE_WINDOWS; w++) {
			n[w] += LOAD(&td->probe_n[w]);
			ticks[w] += LOAD(&td->probe_ticks[w]);
		}
	for (int w = 0; w < PROBE_WINDOWS; w++) {
		if (n[w] < PROBE_MIN_COUNT || !(rt.probe_loop[w] > 0))
			return;
		missed[w] = (double)ticks[w] / (double)n[w] - rt.probe_loop[w];
	}
	meta->probe_inner_ticks = missed[PROBE_ENTER_INNER] + missed[PROBE_EXIT_INNER];
	meta->probe_outer_ticks = missed[PROBE_ENTER_OUTER] + missed[PROBE_EXIT_OUTER];
	/* Never below nothing: a loop slowed throughout may see more. */
	if (meta->overhead_inner_ticks + meta->probe_inner_ticks < 0)
		meta->probe_inner_ticks = -meta->overhead_inner_ticks;
	if (meta->overhead_outer_ticks + meta->probe_outer_ticks < 0)
		meta->probe_outer_ticks = -meta->overhead_outer_ticks;
	meta->overhead_inner_ticks += meta->probe_inner_ticks;
	meta->overhead_outer_ticks += meta->probe_outer_ticks;
}

static void write_profile(void)
{
	struct fmt_meta meta;
	struct thread_data *td;
	char name[FMT_PROGRAM_MAX + 40], pid[24];
	uint64_t elapsed_ticks, now = rt.counts_only ? 0 : clock_calib_ticks(&rt.clock);

	memset(&meta, 0, sizeof(meta));
	meta.pid = (uint64_t)getpid();
	meta.ppid = (uint64_t)rt.parent_pid;
	meta.start_unix_ns = rt.start_unix_ns;
	meta.end_unix_ns = rtenv_unix_ns();
	meta.ns_per_tick = rt.counts_only ? 1.0 : clock_calib_ns_per_tick(&rt.clock, &elapsed_ticks);
	meta.elapsed_ticks = rt.counts_only ? (meta.end_unix_ns - meta.start_unix_ns) : elapsed_ticks;
	meta.overhead_inner_ticks = rt.overhead_inner_ticks;
	meta.overhead_outer_ticks = rt.overhead_outer_ticks;
	meta.flags = rt.clock.use_tsc && !rt.counts_only ? FMT_META_CLOCK_TSC : 0;
	ssize_t n = readlink("/proc/self/exe", meta.program, sizeof(meta.program) - 1);
	if (n < 0)
		meta.program[0] = 0;
	meta.inherited_node = rt.inherited_node;
	meta.dropped_nodes = atomic_load(&threads_lost_calls);
	probe_correct(&meta);
	for (td = atomic_load(&rt.threads); td; td = td->next) {
		meta.nthreads++;
		meta.dropped_nodes += LOAD(&td->dropped_nodes);
		meta.dropped_frames += LOAD(&td->dropped_frames);
		meta.mismatched_exits += LOAD(&td->mismatched_exits);
		meta.skipped_reentrant += LOAD(&td->skipped_reentrant);
	}

	program_name(name, FMT_PROGRAM_MAX);
	fmt_decimal(pid, meta.pid);
	strcat(name, ".");
	strcat(name, pid);
	strcat(name, ".prof");
	if (fmt_writer_open(&writer, rt.output_dir, name, FMT_KIND_PROFILE,
			    rt.counts_only ? FMT_FEAT_COUNTS_ONLY : 0) < 0) {
		rtenv_say("cannot create '", writer.final_path, "': ", strerrordesc_np(errno),
			  " (no call profile written)");
		return;
	}
	fmt_writer_begin(&writer, FMT_SEC_META, 1);
	fmt_writer_put(&writer, &meta, sizeof(meta));
	fmt_writer_end(&writer);
	modmap_write(&writer);
	for (td = atomic_load(&rt.threads); td; td = td->next) {
		struct fmt_thread th;
		uint32_t nnodes = atomic_load_explicit(&td->nnodes, memory_order_acquire);

		memset(&th, 0, sizeof(th));
		th.tid = (uint64_t)td->tid;
		memcpy(th.name, td->name, sizeof(th.name));
		th.nnodes = nnodes;
		fmt_writer_begin(&writer, FMT_SEC_THREAD, 1);
		fmt_writer_put(&writer, &th, sizeof(th));
		/* After nnodes: the mapping that holds them (see threads_move_nodes). */
		put_nodes(td, __atomic_load_n(&td->nodes, __ATOMIC_ACQUIRE), nnodes, now);
		fmt_writer_end(&writer);
	}
	if (fmt_writer_commit(&writer) < 0)
		rtenv_say("cannot write '", writer.final_path, "': ", strerrordesc_np(errno),
			  " (no call profile written)");
}

__attribute__((constructor)) static void instrument_start(void)
{
	/* CPROF_LAZY=1 (cprof run, for a program built without hooks, which
	 * may never call one): start-up (clock and overhead calibration,
	 * milliseconds) waits for the first hook. */
	if (!rtenv_flag("CPROF_LAZY"))
		rt_init();
}

/*
 * The overhead measured once more at exit, keeping the larger of the two
 * for each part: on a busy machine the loop alternates between a fast
 * and a slow mode for milliseconds at a time (outer 11 or 23 ns here),
 * and the program's hooks cost at least the slow one. The loop's probed
 * windows (probe_figure.h) are averaged instead: they are only
 * the reference the program's probes are compared with. The reporter
 * caps the inner part by the run's fastest leaf. Not while paused (the
 * traced loop would record nothing).
 */
static void recalibrate(void)
{
	double inner, outer, probe[PROBE_WINDOWS];

	if (rt.counts_only || !atomic_load(&rt.is_enabled))
		return;
	hook_measure_overhead(&inner, &outer, probe);
	if (inner <= 0)
		return;
	for (int w = 0; w < PROBE_WINDOWS; w++)
		if (probe[w] > 0)
			rt.probe_loop[w] = rt.probe_loop[w] > 0 ? (rt.probe_loop[w] + probe[w]) / 2 : probe[w];
	if (inner > rt.overhead_inner_ticks)
		rt.overhead_inner_ticks = inner;
	if (outer > rt.overhead_outer_ticks)
		rt.overhead_outer_ticks = outer;
}

/* Registered by init_once: see there why not a destructor. */
static void finish(void *arg)
{
	struct thread_data *me = threads_self;
	(void)arg;

	if (atomic_exchange(&rt.is_finished, 1))
		return;
	/* No hook ever ran (cprof run preloads this runtime into programs
	 * that may only load instrumented code later): no profile. */
	if (!atomic_load(&rt.threads) && !atomic_load(&threads_lost_calls))
		return;
	if (me) {
		me->busy = BUSY_RUNTIME;
		hook_close_all(me, rt.counts_only ? 0 : clock_calib_ticks(&rt.clock));
	}
	recalibrate();
	write_profile();
}

/* ---- public API (see include/cprof.h) ---- */

__attribute__((visibility("default"))) void cprof_rt_enable(void)
{
	if (!rt_init())
		return;
	atomic_store(&rt.is_enabled, 1);
}

__attribute__((visibility("default"))) void cprof_rt_disable(void)
{
	struct thread_data *td = threads_self;

	atomic_store(&rt.is_enabled, 0);
	/* Other threads close their open calls at their next hook. */
	if (td && !td->busy) {
		td->busy = BUSY_RUNTIME;
		hook_close_all(td, rt.counts_only ? 0 : clock_calib_ticks(&rt.clock));
		td->busy = 0;
	}
}

/* ---- dlclose: a library unloaded before exit keeps its name ---- */

/* The profile is written at exit, when a dlclose()d library is no longer
 * in the module map: remember it on the way out (see modmap_dlclose). */
__attribute__((visibility("default"))) int dlclose(void *handle)
{
	static int (*_Atomic real_dlclose)(void *);
	int (*real)(void *) = atomic_load(&real_dlclose);

	if (!real) {
		real = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
		if (!real)
			return -1;
		atomic_store(&real_dlclose, real);
	}
	return modmap_dlclose(handle, real);
}
