/*
 * Allocates without pause from two threads so that SIGKILL, sent at any
 * moment, can land inside a snapshot being written (test_sigkill.py).
 * `killme ROUNDS` prints its pid, then each thread does ROUNDS rounds of
 * 1024 allocations, one through each 10-deep path of left()/right()
 * calls: 1024 distinct stacks a thread with CPROF_FRAMES=32, ~0.5 MiB a
 * snapshot. Each path keeps its latest block (ring[path]), freeing the
 * one before. Exact at exit, per thread: ROUNDS x 1024 calls of
 * alloc_at(), and 16 blocks of 32 bytes live at SITE_ALLOC (the paths
 * that are multiples of 64); the rest is freed. Prints "done" last.
 * `killme ROUNDS MIN_SNAPSHOTS` then waits (up to 30 s) until its
 * MIN_SNAPSHOTS-th snapshot is in $CPROF_OUTPUT before it exits, so that
 * a test can count on that many whatever the machine's load.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEPTH 10
#define NPATHS (1 << DEPTH)
#define NTHREADS 2

static void *ring[NTHREADS][NPATHS];
static void *volatile sink;

__attribute__((noinline)) static void alloc_at(int t, unsigned path)
{
	/* 32..144 bytes: path % 8 picks the size; multiples of 64 get 32 */
	void *p = malloc(32 + (path % 8) * 16); /* SITE_ALLOC */

	free(ring[t][path]);
	ring[t][path] = p;
}

static void descend(int t, unsigned path, int level);

/* Two functions so that each bit of the path leaves its own return
 * address on the stack: 1024 paths, 1024 distinct traces. */
__attribute__((noinline)) static void left(int t, unsigned path, int level)
{
	descend(t, path, level + 1);
	sink = &path;
}

__attribute__((noinline)) static void right(int t, unsigned path, int level)
{
	descend(t, path, level + 1);
	sink = &path;
}

__attribute__((noinline)) static void descend(int t, unsigned path, int level)
{
	if (level == DEPTH)
		alloc_at(t, path);
	else if (path >> level & 1)
		right(t, path, level);
	else
		left(t, path, level);
}

__attribute__((noinline)) static void run_rounds(int t, long rounds)
{
	for (long r = 0; r < rounds; r++)
		for (unsigned path = 0; path < NPATHS; path++)
			descend(t, path, 0);
	for (unsigned path = 0; path < NPATHS; path++)
		if (path % 64) {
			free(ring[t][path]);
			ring[t][path] = NULL;
		}
}

static long rounds;

/* stat() rather than readdir(): opendir would allocate, and this
 * program's only allocation site is SITE_ALLOC. */
static void wait_for_snapshot(long seq)
{
	const char *dir = getenv("CPROF_OUTPUT");
	char path[4096];
	struct stat st;

	if (!dir || seq <= 0)
		return;
	snprintf(path, sizeof path, "%s/killme.%d.%ld.snap", dir, (int)getpid(), seq);
	for (int tick = 0; tick < 3000 && stat(path, &st) != 0; tick++)
		usleep(10000);
}

static void *worker(void *arg)
{
	run_rounds((int)(long)arg, rounds);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;

	rounds = argc > 1 ? atol(argv[1]) : 100;
	printf("%d\n", (int)getpid());
	fflush(stdout);
	if (pthread_create(&th, NULL, worker, (void *)1L) != 0)
		return 3;
	run_rounds(0, rounds);
	pthread_join(th, NULL);
	wait_for_snapshot(argc > 2 ? atol(argv[2]) : 0);
	printf("done\n");
	return 0;
}
