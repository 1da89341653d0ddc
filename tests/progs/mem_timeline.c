/*
 * Memory over time with known steps (tests/e2e/test_timeline.py):
 *   steps: grow STEPS blocks of STEP_BYTES, touched so RSS grows too,
 *     pausing between steps (a large block ticks the timeline at once);
 *     free the last half; snapshot "quiet" while nothing allocates; exit.
 *   tasks: exit status = the threads of the process (/proc/self/task).
 *   tasks-thread: a thread that allocates once, joined; then the same
 *     (the helper, if one started, is still there).
 *   signal: raise(SIGUSR2) while single-threaded and outside the shim;
 *     exit status = threads + 10 x whether the snapshot was there right
 *     after raise() returned (looked for by name: opendir allocates).
 *   fork-signal: SIGUSR2 raised by a fork prepare handler that runs after
 *     the shim's (registered from .preinit_array, before the shim's
 *     constructor), while the shim holds its snapshot lock: the handler
 *     must leave it to the next hook. Exit status = 10 x whether the
 *     snapshot is there after the fork + whether it is after one malloc
 *     (looked for by name: opendir would allocate).
 *   churn MS: malloc and free for MS milliseconds (decimation: a long
 *     run with a tiny CPROF_TIMELINE, sampled by the hooks).
 *   idle MS: sleep MS milliseconds, allocating nothing.
 * No stdio stream (its buffer would be a site): snprintf into the stack.
 */
#define _GNU_SOURCE
#include <cprof.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STEPS 4
#define STEP_BYTES (1 << 20)

static void *volatile blocks[STEPS];

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int steps(void)
{
	for (int i = 0; i < STEPS; i++) {
		blocks[i] = malloc(STEP_BYTES); /* SITE_STEP */
		memset(blocks[i], 1, STEP_BYTES);
		sleep_ms(30);
	}
	for (int i = STEPS / 2; i < STEPS; i++)
		free(blocks[i]);
	sleep_ms(30);
	cprof_snapshot("quiet");
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 255;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void *allocate_once(void *arg)
{
	blocks[0] = malloc(64);
	free(blocks[0]);
	return arg;
}

static int tasks_after_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, allocate_once, NULL) != 0 || pthread_join(t, NULL) != 0)
		return 255;
	return tasks();
}

/* Whether DIR/mem_timeline.PID.SEQ.snap exists, without allocating. */
static int has_snapshot(const char *dir, int seq)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/mem_timeline.%d.%d.snap", dir, (int)getpid(), seq);
	return access(path, F_OK) == 0;
}

static int signal_while_idle(void)
{
	const char *out = getenv("CPROF_OUTPUT");

	if (!out)
		return 255;
	raise(SIGUSR2);
	int written = has_snapshot(out, 1);
	return tasks() + 10 * written;
}

static volatile int raise_in_prepare;

static void fork_prepare(void)
{
	if (raise_in_prepare)
		raise(SIGUSR2);
}

/* Prepare handlers run in the reverse order of registration: this one,
 * registered before any constructor, runs last. */
static void register_early(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	pthread_atfork(fork_prepare, NULL, NULL);
}
__attribute__((section(".preinit_array"), used)) static void (*const early)(int, char **, char **) =
	register_early;

static int signal_in_fork(void)
{
	const char *out = getenv("CPROF_OUTPUT");
	int status;

	raise_in_prepare = 1;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	raise_in_prepare = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !out)
		return 255;
	int after_fork = has_snapshot(out, 1);
	blocks[0] = malloc(8);
	free(blocks[0]);
	return 10 * after_fork + has_snapshot(out, 1);
}

static int churn(long ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (now_ms() < end)
		for (int i = 0; i < 1000; i++) {
			blocks[0] = malloc(48);
			free(blocks[0]);
		}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "tasks"))
		return tasks();
	if (argc > 1 && !strcmp(argv[1], "tasks-thread"))
		return tasks_after_thread();
	if (argc > 1 && !strcmp(argv[1], "signal"))
		return signal_while_idle();
	if (argc > 1 && !strcmp(argv[1], "fork-signal"))
		return signal_in_fork();
	if (argc > 2 && !strcmp(argv[1], "churn"))
		return churn(atol(argv[2]));
	if (argc > 2 && !strcmp(argv[1], "idle")) {
		sleep_ms(atol(argv[2]));
		return 0;
	}
	return steps();
}
