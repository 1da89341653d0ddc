/*
 * Start-up (originals from dlsym, environment, tables), the public API
 * and fork handlers (the exit snapshot is snapshot.c's, which owns the
 * lock that makes it the last one). Runs outside the hot path; may
 * use libc, but never the traced malloc and never stdio.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "preload.h"

#include "../common/modmap.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

struct mem_runtime rt;

extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

static int is_configured;	/* environment read and tables built (state lock) */

/* The call runtime's, when it is loaded too (see instrument/instrument.h):
 * what the shim's own work calls (a program's instrumented malloc, when
 * dlopen loads libunwind) is none of the program's calls. */
extern void cprof_rt_quiet_begin(void) __attribute__((weak));
extern void cprof_rt_quiet_end(void) __attribute__((weak));

void runtime_quiet_begin(void)
{
	if (cprof_rt_quiet_begin)
		cprof_rt_quiet_begin();
}

void runtime_quiet_end(void)
{
	if (cprof_rt_quiet_end)
		cprof_rt_quiet_end();
}

/* ---- environment: a bad value is said once and the default used ---- */

/* A number with up to three decimals, as thousandths (CPROF_INTERVAL:
 * seconds to ms; CPROF_TIMELINE: ms to us); 0 = off. */
static uint32_t env_thousandths(const char *name, uint32_t def, const char *usage)
{
	const char *s = getenv(name);
	uint64_t v = 0;
	int decimals = -1;

	if (!s || !*s)
		return def;
	for (const char *p = s; *p; p++) {
		if (*p == '.' && decimals < 0) {
			decimals = 0;
		} else if (*p >= '0' && *p <= '9' && decimals < 3 && v < 100000000u) {
			v = v * 10 + (uint64_t)(*p - '0');
			if (decimals >= 0)
				decimals++;
		} else {
			rtenv_say("ignoring bad ", name, "='", s, usage);
			return 0;
		}
	}
	for (int d = decimals < 0 ? 0 : decimals; d < 3; d++)
		v *= 10;
	return (uint32_t)v;
}

static int env_signal(void)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {
		{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP },
		{ "WINCH", SIGWINCH }, { "URG", SIGURG }, { "PWR", SIGPWR },
		{ "PROF", SIGPROF }, { "QUIT", SIGQUIT }, { "TERM", SIGTERM },
	};
	const char *s = getenv("CPROF_SNAPSHOT_SIGNAL"), *name;
	char *end;

	if (!s || !*s)
		return SIGUSR2;
	if (!strcmp(s, "0") || !strcmp(s, "none") || !strcmp(s, "off"))
		return 0;
	name = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i].name))
			return names[i].sig;
	if (!strncmp(name, "RTMIN+", 6)) {
		long k = strtol(name + 6, &end, 10);
		if (!*end && k >= 0 && SIGRTMIN + k <= SIGRTMAX)
			return SIGRTMIN + (int)k;
	}
	long v = strtol(s, &end, 10);
	if (!*end && v > 0 && v < NSIG && v != SIGKILL && v != SIGSTOP)
		return (int)v;
	rtenv_say("ignoring bad CPROF_SNAPSHOT_SIGNAL='", s, "' (using SIGUSR2)", NULL, NULL);
	return SIGUSR2;
}

/* CPROF_UNWIND: auto (the default: cct when the call runtime is loaded,
 * else cfi), cfi (the shim's own walk of .eh_frame, cfi.c), libunwind,
 * fp (the frame-pointer chain) or cct (the call runtime's shadow stack). */
static int env_unwind(void)
{
	const char *s = getenv("CPROF_UNWIND");

	if (!s || !*s || !strcmp(s, "auto"))
		return UNWIND_AUTO;
	if (!strcmp(s, "libunwind"))
		return UNWIND_LIBUNWIND;
	if (!strcmp(s, "fp"))
		return UNWIND_FP;
	if (!strcmp(s, "cct"))
		return UNWIND_CCT;
	if (!strcmp(s, "cfi"))
		return UNWIND_CFI;
	rtenv_say("ignoring bad CPROF_UNWIND='", s, "' (use auto, cfi, libunwind, fp or cct; using auto)",
		  NULL, NULL);
	return UNWIND_AUTO;
}

/* ---- start-up ---- */

#define RESOLVE(fn) rt.real.fn = (__typeof__(rt.real.fn))dlsym(RTLD_NEXT, #fn)

/*
 * Reads the environment and builds the tables; from the constructor, or
 * from the first hook once libc has set up environ (ld.so may allocate
 * through us before that, when getenv() would see nothing).
 */
static void configure(void)
{
	const char *out = getenv("CPROF_OUTPUT");

	is_configured = 1;
	if (!out || !*out)
		out = "cprof-out";
	if (strlen(out) >= sizeof(rt.output_dir) - 64) {
		rtenv_say("ignoring CPROF_OUTPUT: path too long (using cprof-out)", NULL, NULL,
			    NULL, NULL);
		out = "cprof-out";
	}
	strcpy(rt.output_dir, out);
	/*
	 * CPROF_FRAMES defaults to 16. Measured with tests/progs/mem_churn
	 * (4 allocation calls a round, 45 frames deep, this 2-core VM): the
	 * shim costs ~55 ns a call plus ~3 ns a frame unwound: 1 frame 61 ns,
	 * 16 frames 135 ns, 32 frames 182 ns, 64 frames 216 ns. Reports by
	 * line, file or function use only the innermost frame; 16 frames
	 * still show a site's callers in --by traceback while capping the
	 * cost on deep stacks (32 adds a third for little more context).
	 */
	rt.max_frames = rtenv_count("CPROF_FRAMES", DEFAULT_FRAMES, 1, FMT_FRAMES_MAX);
	rt.unwind = env_unwind();
	rt.max_traces = rtenv_count("CPROF_MAX_TRACES", DEFAULT_MAX_TRACES, 16, MAX_TRACES_LIMIT);
	rt.interval_ms = env_thousandths("CPROF_INTERVAL", 0,
					 "' (use seconds, e.g. 1 or 0.5; interval snapshots off)");
	/* 10 ms: a minute's run fills the store once; a sample costs the
	 * helper a statm read (see README for the measurement). */
	rt.timeline_us = env_thousandths("CPROF_TIMELINE", 10000,
					 "' (use milliseconds, e.g. 10 or 0.5; timeline off)");
	rt.snap_signal = env_signal();
	rt.start_unix_ns = rtenv_unix_ns();
	rt.start_mono_ns = clock_mono_ns();
	rt.start_tsc = __builtin_ia32_rdtsc();
	/* The shim's own range: its frames are cut off the top of a stack. */
	traces_module_of((uintptr_t)&configure, &rt.self_lo, &rt.self_hi);
	headers_setup();
	current_setup();
	if (live_init() < 0 || traces_init() < 0) {
		rtenv_say("cannot map the allocation tables (memory profiling disabled)", NULL,
			    NULL, NULL, NULL);
		return;
	}
	atomic_store(&rt.is_tracing, 1);
}

void runtime_resolve(void)
{
	int expected = STATE_FRESH;

	if (!atomic_compare_exchange_strong(&rt.state, &expected, STATE_RESOLVING))
		return;	/* resolved, or being resolved (maybe by this very thread) */
	int was_busy = tls.busy;
	tls.busy = 1;
	runtime_quiet_begin();
	RESOLVE(malloc);
	RESOLVE(calloc);
	RESOLVE(realloc);
	RESOLVE(free);
	RESOLVE(posix_memalign);
	RESOLVE(aligned_alloc);
	RESOLVE(memalign);
	RESOLVE(valloc);
	RESOLVE(pvalloc);
	RESOLVE(malloc_usable_size);
	if (environ)	/* libc has set up the environment */
		configure();
	atomic_store(&rt.state, STATE_RESOLVED);
	runtime_quiet_end();
	tls.busy = was_busy;
}

static void on_snapshot_signal(int sig)
{
	(void)sig;
	snapshot_request_from_signal();
}

static void fork_prepare(void)
{
	/* Lock order: snapshot, traces, shards, current (a snapshot reads
	 * traces and the current total). */
	snapshot_fork_prepare();
	traces_lock();
	live_lock_all();
	current_fork_prepare();
}

static void fork_parent(void)
{
	current_fork_parent();
	live_unlock_all();
	traces_unlock();
	snapshot_fork_parent();
}

static void fork_child(void)
{
	/* Only this thread exists: the tables are as the parent had them
	 * (its live blocks are live here too); the locks are ours. */
	current_fork_child();
	live_unlock_all();
	traces_unlock();
	cfi_fork_child();
	snapshot_fork_child();
}

__attribute__((constructor)) static void preload_start(void)
{
	runtime_resolve();
	int was_busy = tls.busy;
	tls.busy = 1;
	runtime_quiet_begin();
	if (!is_configured)
		configure();
	if (!atomic_load(&rt.is_tracing)) {
		runtime_quiet_end();
		tls.busy = was_busy;
		return;
	}
	traces_start_unwinder();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	if (rt.snap_signal) {
		struct sigaction sa, old;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_snapshot_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		/* The program's own handler, installed before us, wins. */
		if (sigaction(rt.snap_signal, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
		    !(old.sa_flags & SA_SIGINFO))
			sigaction(rt.snap_signal, &sa, NULL);
	}
	snapshot_start_helper();
	/* Registered first thing, before __libc_start_main registers ld.so's
	 * _dl_fini: it runs after every destructor (see snapshot.c). */
	__cxa_atexit(snapshot_at_exit, NULL, NULL);
	runtime_quiet_end();
	tls.busy = was_busy;
}

/* ---- public API (see include/cprof.h) ---- */

__attribute__((visibility("default"))) int cprof_rt_snapshot(const char *label)
{
	if (tls.busy)
		return -1;
	return snapshot_take(label && *label ? label : "snapshot");
}

/* Async-signal-safe (see current_bytes). */
__attribute__((visibility("default"))) void cprof_rt_traced_memory(size_t *current, size_t *peak)
{
	if (current)
		*current = (size_t)current_bytes();
	if (peak)
		*peak = (size_t)atomic_load(&rt.peak_bytes);
}

__attribute__((visibility("default"))) void cprof_rt_reset_peak(void)
{
	current_reset_peak();
}

/* ---- dlclose: a library unloaded before a snapshot keeps its name ----
 * Allocation sites in a dlclose()d library stay in the live table; the
 * snapshots written after need its module entry (see modmap_dlclose). */
__attribute__((visibility("default"))) int dlclose(void *handle)
{
	static int (*_Atomic real_dlclose)(void *);
	int (*real)(void *) = atomic_load(&real_dlclose);

	if (!real) {
		int was_busy = tls.busy;
		tls.busy = 1;	/* dlsym's own allocations are not the program's */
		runtime_quiet_begin();
		real = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
		runtime_quiet_end();
		tls.busy = was_busy;
		if (!real)
			return -1;
		atomic_store(&real_dlclose, real);
	}
	return modmap_dlclose(handle, real);
}
