/*
 * Signals against both runtimes; the mode is argv[1]:
 *   alloc    phase 1: a 1 kHz SIGALRM handler calls in_handler(), which
 *            keeps a malloc(1000) (SITE_HANDLER), while main only makes
 *            instrumented calls; phase 2: the handler's handler_temp()
 *            does malloc(1000)+free (SITE_TEMP) while main loops on
 *            main_alloc(): free the last block, malloc(24) (SITE_MAIN).
 *            Prints the exact counts.
 *   storm    300 x kill(getpid(), SIGUSR2) 2 ms apart while 2 threads
 *            call and allocate (SITE_STORM, each freeing its last block)
 *            and main sits in a read() that SA_RESTART must resume.
 *            Prints the exact counts.
 *   storm1   the same with one thread, which allocates while a forked
 *            process sends the 300 SIGUSR2: the handler writes a
 *            snapshot, or (inside a hook) leaves it to the next hook.
 *            Prints the process's threads and the exact counts.
 *   blocked  SIGUSR2 blocked, raised 20 times, then unblocked: one
 *            delivery, one snapshot (waited for), then exit.
 *   ignored  says how SIGUSR2 was disposed at start, ignores it, raises
 *            it 20 times, survives.
 *   own      its own SIGUSR2 handler: 50 raises, 50 handled, no snapshot.
 * Handlers and the main loop use different malloc size classes, warmed
 * up first, so glibc's own (non-reentrant) allocator is never entered
 * twice on one bin; what is tested is the shim's reentrancy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define KEEP_MAX 4096

static volatile sig_atomic_t handled, phase;
static void *volatile kept[KEEP_MAX];
static volatile long sink;

__attribute__((noinline)) static void in_handler(void)
{
	if (handled < KEEP_MAX)
		kept[handled] = malloc(1000); /* SITE_HANDLER */
}

__attribute__((noinline)) static void handler_temp(void)
{
	void *volatile p = malloc(1000); /* SITE_TEMP */
	free(p);
}

static void on_alarm(int sig)
{
	int err = errno;
	(void)sig;

	if (phase == 1)
		in_handler();
	else
		handler_temp();
	handled++;
	errno = err;
}

__attribute__((noinline)) static void spin(void)
{
	for (int i = 0; i < 1000; i++)
		sink += i;
}

static void *volatile main_last;

/* Frees the block of the call before: one stays live, for the count. */
__attribute__((noinline)) static void main_alloc(void)
{
	free(main_last);
	main_last = malloc(24); /* SITE_MAIN */
}

static void timer(long usec)
{
	struct itimerval it = { { 0, usec }, { 0, usec } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static int mode_alloc(void)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	long spins = 0, allocs = 0;

	free(malloc(1000));	/* warm both bins: tcache hits from here on */
	free(malloc(24));
	sigaction(SIGALRM, &sa, NULL);
	phase = 1;
	timer(1000);
	while (handled < 300) {
		spin();
		spins++;
	}
	timer(0);
	int phase1 = handled;
	handled = 0;
	phase = 2;
	timer(1000);
	while (handled < 300) {
		main_alloc();
		allocs++;
	}
	timer(0);
	printf("phase1 %d spins %ld phase2 %d main_allocs %ld\n", phase1, spins, (int)handled,
	       allocs);
	return 0;
}

/* ---- storm ---- */

static atomic_int storm_over;
static atomic_long storm_calls, storm_allocs;
static int storm_pipe[2];

__attribute__((noinline)) static void storm_call(void)
{
	sink++;
}

__attribute__((noinline)) static void *storm_site(long i)
{
	return malloc(32 + (size_t)(i & 63)); /* SITE_STORM */
}

static void *storm_worker(void *arg)
{
	long calls = 0, allocs = 0;
	(void)arg;

	void *last = NULL;

	while (!atomic_load(&storm_over)) {
		storm_call();
		free(last);
		last = storm_site(allocs);	/* one a worker stays live */
		calls++;
		allocs++;
	}
	atomic_fetch_add(&storm_calls, calls);
	atomic_fetch_add(&storm_allocs, allocs);
	return NULL;
}

/* 300 SIGUSR2 to process to, 2 ms apart. */
static void send_storm(pid_t to)
{
	struct timespec ts = { 0, 2000000 };

	for (int i = 0; i < 300; i++) {
		kill(to, SIGUSR2);
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		ts.tv_nsec = 2000000;
	}
}

static void *storm_sender(void *arg)
{
	(void)arg;
	send_storm(getpid());
	if (write(storm_pipe[1], "x", 1) != 1)
		return NULL;
	return NULL;
}

static int mode_storm(void)
{
	pthread_t w[2], s;
	char c;

	if (pipe(storm_pipe) < 0)
		return 10;
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, storm_worker, NULL);
	pthread_create(&s, NULL, storm_sender, NULL);
	/* Interrupted by the storm: SA_RESTART must resume it. */
	ssize_t n = read(storm_pipe[0], &c, 1);
	int err = errno;
	atomic_store(&storm_over, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	pthread_join(s, NULL);
	printf("read %zd%s storm_calls %ld storm_allocs %ld\n", n, n < 0 ? strerror(err) : "",
	       atomic_load(&storm_calls), atomic_load(&storm_allocs));
	return n == 1 ? 0 : 1;
}

/* storm1's sender is another process, so that this one keeps one thread. */
static int mode_storm1(void)
{
	pid_t parent = getpid(), sender = fork();
	long calls = 0, allocs = 0;
	void *last = NULL;

	if (sender < 0)
		return 10;
	if (sender == 0) {
		send_storm(parent);
		_exit(0);
	}
	for (int status;;) {
		storm_call();
		free(last);
		last = storm_site(allocs);
		calls++;
		allocs++;
		if (!(calls & 255) && waitpid(sender, &status, WNOHANG) == sender)
			break;
	}
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int threads = 0;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Threads:", 8))
			threads = atoi(line + 8);
	if (f)
		fclose(f);
	printf("threads %d storm_calls %ld storm_allocs %ld\n", threads, calls, allocs);
	return 0;
}

/* ---- blocked, ignored, own ---- */

static int count_snapshots(void)
{
	const char *dir = getenv("CPROF_OUTPUT");
	char path[4096];
	int n = 0;

	for (int seq = 1; dir && seq < 100; seq++, n++) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/torture_signals.%d.%d.snap", dir, (int)getpid(),
			 seq);
		if (stat(path, &st) < 0)
			break;
	}
	return n;
}

static int mode_blocked(void)
{
	sigset_t set;
	struct timespec ts = { 0, 100000000 };

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 20; i++)
		raise(SIGUSR2);
	nanosleep(&ts, NULL);
	int while_blocked = count_snapshots();
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* The helper thread writes it: wait (at most 10 s) for it. */
	for (int i = 0; i < 1000 && count_snapshots() < 1; i++) {
		ts.tv_nsec = 10000000;
		nanosleep(&ts, NULL);
	}
	printf("while_blocked %d after_unblock %d\n", while_blocked, count_snapshots());
	return 0;
}

static int mode_ignored(void)
{
	struct sigaction old;

	sigaction(SIGUSR2, NULL, &old);
	printf("at_start %s\n", old.sa_handler == SIG_IGN ? "ignored" :
				old.sa_handler == SIG_DFL ? "default" : "handler");
	signal(SIGUSR2, SIG_IGN);
	for (int i = 0; i < 20; i++)
		raise(SIGUSR2);
	printf("survived 20\n");
	return 0;
}

static volatile sig_atomic_t own_count;

static void on_usr2(int sig)
{
	(void)sig;
	own_count++;
}

static int mode_own(void)
{
	struct sigaction sa = { .sa_handler = on_usr2 };

	sigaction(SIGUSR2, &sa, NULL);
	for (int i = 0; i < 50; i++)
		raise(SIGUSR2);
	printf("own_handled %d\n", (int)own_count);
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	if (!strcmp(m, "alloc"))
		return mode_alloc();
	if (!strcmp(m, "storm"))
		return mode_storm();
	if (!strcmp(m, "storm1"))
		return mode_storm1();
	if (!strcmp(m, "blocked"))
		return mode_blocked();
	if (!strcmp(m, "ignored"))
		return mode_ignored();
	if (!strcmp(m, "own"))
		return mode_own();
	fprintf(stderr, "usage: torture_signals alloc|storm|storm1|blocked|ignored|own\n");
	return 2;
}
