/*
 * Snapshots: DIR/PROG.PID.SEQ.snap written whole (temporary, rename) by
 * whoever asks: the API, the exit handler, and for CPROF_SNAPSHOT_SIGNAL,
 * CPROF_INTERVAL and CPROF_TIMELINE the helper thread, or while the
 * process has no other thread the program's own (see "the helper").
 */
#define _GNU_SOURCE
#include "internal.h"

#include "../common/modmap.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct {
	pthread_mutex_t lock;		/* one snapshot at a time; held across fork */
	_Atomic uint64_t seq;		/* last SEQ used, per process */
	_Atomic uint32_t wake;		/* futex word: bumped to wake the helper */
	_Atomic uint64_t signal_requests;	/* bumped by the signal handler */
	_Atomic uint64_t signal_served;	/* requests written (serve_signal) */
	uint64_t next_tick_sample_ns;	/* snapshot_tick's next timeline sample (lock) */
	int is_disabled;		/* a write failed: said once, no more (lock) */
	int is_final;			/* the exit snapshot is written: no more (lock) */
	pthread_mutex_t helper_lock;	/* starts and stops of the helper */
	_Atomic int has_helper;		/* written under helper_lock */
	_Atomic int cannot_start;	/* pthread_create failed: said once, no retry */
	_Atomic int helper_stop;	/* asks the helper to return */
	pthread_t helper;
} snap = { .lock = PTHREAD_MUTEX_INITIALIZER, .helper_lock = PTHREAD_MUTEX_INITIALIZER };

/* Static: a hook may not malloc, and 64 KiB is too much for a stack. */
static struct fmt_writer writer;

static void program_path(char *out, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);

	out[n > 0 ? n : 0] = 0;
}

static uint64_t ticks_to_ns_since_start(uint64_t tsc)
{
	uint64_t now_tsc = __builtin_ia32_rdtsc(), now_ns = clock_mono_ns();

	if (!tsc || now_tsc <= rt.start_tsc || tsc < rt.start_tsc)
		return 0;
	double ns_per_tick = (double)(now_ns - rt.start_mono_ns) / (double)(now_tsc - rt.start_tsc);
	return (uint64_t)((double)(tsc - rt.start_tsc) * ns_per_tick);
}

static void put_traces(struct fmt_writer *w, const struct trace_rec *recs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct trace_rec *t = &recs[i];
		struct fmt_trace ft;

		traces_read(i, &ft);
		ft.nframes = i == 0 ? 0 : t->nframes;
		ft.gen = t->gen;
		fmt_writer_put(w, &ft, sizeof(ft));
		fmt_writer_put(w, traces_frames(t), (size_t)ft.nframes * sizeof(uint64_t));
	}
}

static int write_locked(const char *label)
{
	struct fmt_meta meta;
	struct fmt_snap_info info;
	char name[FMT_PROGRAM_MAX + 64], num[24];
	uint32_t ntraces;
	const struct trace_rec *recs = traces_all(&ntraces);

	if (snap.is_disabled)
		return -1;
	memset(&meta, 0, sizeof(meta));
	memset(&info, 0, sizeof(info));
	meta.pid = (uint64_t)getpid();
	meta.ppid = (uint64_t)getppid();
	meta.start_unix_ns = rt.start_unix_ns;
	meta.end_unix_ns = rtenv_unix_ns();
	meta.elapsed_ticks = clock_mono_ns() - rt.start_mono_ns;
	meta.ns_per_tick = 1.0;
	meta.nthreads = 0;
	program_path(meta.program, sizeof(meta.program));
	size_t len = strnlen(label ? label : "", FMT_LABEL_MAX - 1);
	memcpy(meta.label, label ? label : "", len);
	meta.seq = atomic_fetch_add(&snap.seq, 1) + 1;

	for (uint32_t i = 0; i < ntraces; i++) {
		struct fmt_trace ft;
		traces_read(i, &ft);
		info.current_blocks += ft.live_blocks;
		info.total_bytes += ft.total_bytes;
		info.total_blocks += ft.total_blocks;
	}
	info.current_bytes = current_bytes();
	/* The snapshot's own moment is on its timeline: its last sample is
	 * its current bytes. */
	timeline_sample(info.current_bytes);
	info.peak_bytes = atomic_load(&rt.peak_bytes);
	info.peak_ns = ticks_to_ns_since_start(atomic_load(&rt.peak_tsc));
	info.total_frees = info.total_blocks - info.current_blocks;
	info.dropped_allocs = atomic_load(&rt.dropped_allocs);
	info.dropped_traces = atomic_load(&rt.dropped_traces);
	info.untraced_frees = atomic_load(&rt.untraced_frees);
	info.corrupt_headers = atomic_load(&rt.corrupt_headers);
	info.libunwind_stacks = atomic_load(&rt.libunwind_stacks);
	info.max_frames = rt.max_frames;
	info.ntraces = ntraces;

	const char *base = strrchr(meta.program, '/') ? strrchr(meta.program, '/') + 1 : meta.program;
	if (!*base)
		base = "unknown";
	strcpy(name, base);
	strcat(name, ".");
	fmt_decimal(num, meta.pid);
	strcat(name, num);
	strcat(name, ".");
	fmt_decimal(num, meta.seq);
	strcat(name, num);
	strcat(name, ".snap");

	if (fmt_writer_open(&writer, rt.output_dir, name, FMT_KIND_SNAPSHOT,
			    FMT_FEAT_TRACE_TOTALS | FMT_FEAT_TRACE_PEAK) < 0) {
		rtenv_say("cannot create '", writer.final_path, "': ", strerrordesc_np(errno),
			    " (snapshots disabled)");
		snap.is_disabled = 1;
		return -1;
	}
	fmt_writer_begin(&writer, FMT_SEC_META, 1);
	fmt_writer_put(&writer, &meta, sizeof(meta));
	fmt_writer_end(&writer);
	modmap_write(&writer);
	fmt_writer_begin(&writer, FMT_SEC_SNAP_INFO, 1);
	fmt_writer_put(&writer, &info, sizeof(info));
	fmt_writer_end(&writer);
	fmt_writer_begin(&writer, FMT_SEC_TRACES, ntraces);
	put_traces(&writer, recs, ntraces);
	fmt_writer_end(&writer);
	struct fmt_size_bucket sizes[FMT_SIZE_BUCKETS];
	uint32_t nsizes = traces_read_sizes(sizes);
	fmt_writer_begin(&writer, FMT_SEC_SIZES, nsizes);
	fmt_writer_put(&writer, sizes, nsizes * sizeof(sizes[0]));
	fmt_writer_end(&writer);
	timeline_write(&writer);
	if (fmt_writer_commit(&writer) < 0) {
		rtenv_say("cannot write '", writer.final_path, "': ", strerrordesc_np(errno),
			    " (snapshots disabled)");
		snap.is_disabled = 1;
		return -1;
	}
	return 0;
}

/* may_wait 0: a signal handler's, which returns -2 at once if the lock
 * is taken (by the thread it interrupted: a snapshot or a fork). */
static int take(const char *label, int is_last, int may_wait)
{
	int was_busy = tls.busy, r = -1;

	if (!atomic_load(&rt.is_tracing))
		return -1;
	/* Our own allocations meanwhile (dl_iterate_phdr's, libc's) are
	 * not the program's. */
	tls.busy = 1;
	runtime_quiet_begin();
	if (may_wait)
		pthread_mutex_lock(&snap.lock);
	else if (pthread_mutex_trylock(&snap.lock) != 0)
		r = -2;
	if (r != -2) {
		if (!snap.is_final) {
			r = write_locked(label);
			snap.is_final = is_last;
		}
		pthread_mutex_unlock(&snap.lock);
	}
	runtime_quiet_end();
	tls.busy = was_busy;
	return r;
}

int snapshot_take(const char *label)
{
	return take(label, 0, 1);
}

/*
 * Registered by the constructor as an exit handler of no DSO, before
 * __libc_start_main registers ld.so's _dl_fini: it runs after every
 * destructor of the process, the program's libraries' included (see
 * instrument/runtime.c). The exit snapshot is the last one: a helper
 * snapshot begun after it had a higher SEQ than "exit" and, cut off by
 * the process's end, left a temporary behind.
 */
void snapshot_at_exit(void *arg)
{
	(void)arg;
	take("exit", 1, 1);
}

/*
 * ---- the helper ----
 * A second thread costs a single-threaded program more than its own
 * work: glibc's malloc then takes an arena lock on every calloc, realloc
 * and cache miss (5.4 to 6.7 ns a call more in bench/mem.sh's mix, a
 * loop of those calls beside a thread that only sleeps). So the
 * helper thread runs only for CPROF_INTERVAL, or once the process has
 * another thread anyway. Until then the program's own thread does the
 * work, and stays the only one:
 * - the timeline is sampled at the end of a hook (snapshot_tick), every
 *   TICK_CALLS hooks or at once after a block of TICK_BYTES or more,
 *   once CPROF_TIMELINE has passed. Traced bytes change only in hooks,
 *   so a change is seen within TICK_CALLS hooks; RSS that grows between
 *   hooks shows at the next one.
 * - the signal's handler writes the snapshot itself when its thread is
 *   outside the shim and the snapshot lock is free: the writer calls no
 *   malloc and no stdio, and takes no lock but the shim's and the
 *   loader's (dl_iterate_phdr's, which is recursive: the only thread may
 *   take it again). Inside a hook (or a snapshot, or a fork) it leaves
 *   it to the next hook.
 */

static int helper_is_needed(void)
{
	if (atomic_load(&snap.cannot_start))
		return 0;
	return rt.interval_ms || ((rt.snap_signal || rt.timeline_us) && !__libc_single_threaded);
}

static void futex_wait(_Atomic uint32_t *word, uint32_t seen, const struct timespec *timeout)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, timeout, NULL, 0);
}

static void wake_helper(void)
{
	atomic_fetch_add(&snap.wake, 1);
	syscall(SYS_futex, &snap.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The next hook (hook_enter) calls snapshot_pending. */
static void leave_to_next_hook(void)
{
	int expected = TRACING_ON;

	atomic_compare_exchange_strong(&rt.is_tracing, &expected, TRACING_PENDING);
}

/* One snapshot for the signals not served yet: 1 if it was this call's
 * to write. may_wait as take's; -2 leaves the requests unserved. */
static int serve_signal(int may_wait)
{
	uint64_t req = atomic_load(&snap.signal_requests);
	uint64_t served = atomic_load(&snap.signal_served);

	if (req == served || !atomic_compare_exchange_strong(&snap.signal_served, &served, req))
		return 0;
	if (take("signal", 0, may_wait) == -2) {
		atomic_store(&snap.signal_served, served);	/* unserved again: for the next hook */
		return -2;
	}
	return 1;
}

void snapshot_request_from_signal(void)
{
	int err = errno;

	atomic_fetch_add(&snap.signal_requests, 1);
	if (atomic_load(&snap.has_helper))
		wake_helper();
	else if (!__libc_single_threaded || tls.busy || serve_signal(0) == -2)
		leave_to_next_hook();
	errno = err;
}

void snapshot_pending(void)
{
	int expected = TRACING_PENDING;

	if (!atomic_compare_exchange_strong(&rt.is_tracing, &expected, TRACING_ON))
		return;
	snapshot_start_helper();
	if (atomic_load(&snap.has_helper))
		wake_helper();	/* it may have looked at the requests before this one */
	else
		serve_signal(1);
}

void snapshot_tick(void)
{
	if (atomic_load(&snap.has_helper) || !(rt.timeline_us || rt.snap_signal || rt.interval_ms)) {
		tls.tick_left = INT_MAX;	/* the helper samples; or nothing to do */
		return;
	}
	tls.tick_left = TICK_CALLS;
	if (helper_is_needed()) {
		snapshot_start_helper();
		return;
	}
	if (!rt.timeline_us)
		return;
	if (pthread_mutex_trylock(&snap.lock) != 0)
		return;	/* a snapshot is being written: it samples */
	uint64_t now = clock_mono_ns();
	if (now >= snap.next_tick_sample_ns) {
		timeline_sample(current_bytes());
		snap.next_tick_sample_ns = now + timeline_interval_ns();
	}
	pthread_mutex_unlock(&snap.lock);
}

/* A sample between snapshots, under the snapshot lock as they are (a
 * snapshot's own sample may decimate too). Returns the step to the next. */
static uint64_t sample_now(int is_first)
{
	pthread_mutex_lock(&snap.lock);
	if (!is_first)
		timeline_sample(current_bytes());
	uint64_t step = timeline_interval_ns();
	pthread_mutex_unlock(&snap.lock);
	return step;
}

/* Sleeps until the word changes or the deadline (0: none) passes. */
static void wait_until(uint32_t seen, uint64_t deadline_ns)
{
	uint64_t now = clock_mono_ns();

	if (!deadline_ns) {
		futex_wait(&snap.wake, seen, NULL);
		return;
	}
	if (now >= deadline_ns)
		return;
	struct timespec ts = {
		.tv_sec = (time_t)((deadline_ns - now) / 1000000000u),
		.tv_nsec = (long)((deadline_ns - now) % 1000000000u),
	};
	futex_wait(&snap.wake, seen, &ts);
}

/* The next deadline after one that came at now: fell behind, skip, do not burst. */
static uint64_t next_after(uint64_t deadline_ns, uint64_t step_ns, uint64_t now)
{
	deadline_ns += step_ns;
	return deadline_ns <= now ? now + step_ns : deadline_ns;
}

static void *helper_main(void *arg)
{
	uint64_t start = clock_mono_ns();
	uint64_t next_snap_ns = rt.interval_ms ? start + rt.interval_ms * 1000000ull : 0;
	uint64_t next_sample_ns = rt.timeline_us ? start + sample_now(1) : 0;
	(void)arg;

	tls.busy = 1;	/* never traced: whatever this thread allocates is ours */
	runtime_quiet_begin();	/* and whatever it calls */
	prctl(PR_SET_NAME, "cprof-snap", 0, 0, 0);
	for (;;) {
		uint32_t seen = atomic_load(&snap.wake);

		if (atomic_load(&snap.helper_stop))
			return NULL;
		if (serve_signal(1))
			continue;
		uint64_t now = clock_mono_ns();
		if (next_snap_ns && now >= next_snap_ns) {
			snapshot_take("interval");
			next_snap_ns = next_after(next_snap_ns, rt.interval_ms * 1000000ull, now);
			continue;
		}
		if (next_sample_ns && now >= next_sample_ns) {
			/* After the sample: a decimation doubles the step. */
			next_sample_ns = next_after(next_sample_ns, sample_now(0), now);
			continue;
		}
		uint64_t deadline = next_snap_ns;
		if (next_sample_ns && (!deadline || next_sample_ns < deadline))
			deadline = next_sample_ns;
		wait_until(seen, deadline);
	}
	return NULL;
}

/*
 * The helper runs only while it is needed (helper_is_needed): started at
 * start-up for CPROF_INTERVAL, else by the first tick after the process
 * has another thread; never in a fork handler (a forked child marks it
 * pending, and its first hook starts it if it still needs it: a child
 * that execs at once stays single-threaded); stopped around unshare()
 * and setns(), which refuse a multi-threaded caller, and pending after.
 */
void snapshot_start_helper(void)
{
	pthread_attr_t attr;
	sigset_t all, old;

	if (!helper_is_needed() || atomic_load(&snap.has_helper))
		return;
	int was_busy = tls.busy;
	tls.busy = 1;	/* the thread's TLS and stack are not the program's */
	pthread_mutex_lock(&snap.helper_lock);
	if (!snap.has_helper) {
		/* Born with every signal blocked: the program's signals stay the
		 * program's threads' business. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		atomic_store(&snap.helper_stop, 0);
		/* pthread_create allocates (the thread's TLS): through the
		 * program's own instrumented malloc, if it has one. */
		runtime_quiet_begin();
		if (pthread_create(&snap.helper, &attr, helper_main, NULL) == 0)
			atomic_store(&snap.has_helper, 1);
		else if (!atomic_exchange(&snap.cannot_start, 1))
			rtenv_say("cannot start the snapshot thread (no interval snapshots; signal snapshots and "
				  "the timeline are taken at the next allocation call instead)",
				  NULL, NULL, NULL, NULL);
		runtime_quiet_end();
		pthread_attr_destroy(&attr);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_mutex_unlock(&snap.helper_lock);
	tls.busy = was_busy;
}

/* Returns 1 if a helper was running (it has returned and been joined). */
static int stop_helper(void)
{
	int was_busy = tls.busy, had;

	tls.busy = 1;
	pthread_mutex_lock(&snap.helper_lock);
	had = snap.has_helper;
	if (had) {
		atomic_store(&snap.helper_stop, 1);
		wake_helper();
		pthread_join(snap.helper, NULL);
		atomic_store(&snap.has_helper, 0);
	}
	pthread_mutex_unlock(&snap.helper_lock);
	tls.busy = was_busy;
	return had;
}

/*
 * unshare() and setns() for namespaces that a thread cannot enter alone
 * (a user namespace; setns of a mount namespace) fail with EINVAL while
 * the process has a second thread: the helper steps aside for the call.
 * Its thread may linger in the kernel an instant after the join, so an
 * EINVAL is retried for up to 50 ms when the helper was there.
 */
static int without_helper(long nr, long a, long b)
{
	int had = stop_helper(), r = -1;

	for (int tries = 0; tries < 500; tries++) {
		r = (int)syscall(nr, a, b);
		if (r == 0 || errno != EINVAL || !had)
			break;
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
	int err = errno;
	if (had && atomic_load(&rt.is_tracing) == TRACING_ON) {
		int expected = TRACING_ON;	/* the next hook starts it again */
		atomic_compare_exchange_strong(&rt.is_tracing, &expected, TRACING_PENDING);
	}
	errno = err;
	return r;
}

__attribute__((visibility("default"))) int unshare(int flags)
{
	if (flags & (CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM))
		return without_helper(SYS_unshare, flags, 0);
	return (int)syscall(SYS_unshare, flags);
}

__attribute__((visibility("default"))) int setns(int fd, int nstype)
{
	return without_helper(SYS_setns, fd, nstype);
}

/* ---- fork: the child writes its own files under its own PID ---- */

void snapshot_fork_prepare(void)
{
	pthread_mutex_lock(&snap.helper_lock);
	pthread_mutex_lock(&snap.lock);
}

void snapshot_fork_parent(void)
{
	pthread_mutex_unlock(&snap.lock);
	pthread_mutex_unlock(&snap.helper_lock);
}

void snapshot_fork_child(void)
{
	pthread_mutex_init(&snap.lock, NULL);
	pthread_mutex_init(&snap.helper_lock, NULL);
	snap.is_final = 0;
	atomic_store(&snap.seq, 0);
	atomic_store(&snap.signal_requests, 0);
	atomic_store(&snap.signal_served, 0);
	/* Threads do not survive fork: the child's first hook starts its
	 * helper if it needs one (pthread_create is no call for a fork
	 * handler), else this thread's ticks sample the timeline again. */
	if (atomic_load(&snap.has_helper) && atomic_load(&rt.is_tracing) == TRACING_ON)
		atomic_store(&rt.is_tracing, TRACING_PENDING);
	atomic_store(&snap.has_helper, 0);
	tls.tick_left = 0;
}
