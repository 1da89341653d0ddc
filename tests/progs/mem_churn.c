/*
 * Allocation-heavy churn at a chosen call depth, for measuring the
 * shim's cost per call: `mem_churn DEPTH N` recurses DEPTH frames, then
 * does N rounds of malloc + calloc + realloc + free (4 calls a round,
 * 16 distinct sizes), keeping every 64th block alive to the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *volatile sink;
static void **kept;
static size_t nkept;

__attribute__((noinline)) static void work(long n)
{
	for (long i = 0; i < n; i++) {
		size_t sz = 16 + (size_t)(i & 15) * 24;
		char *a = malloc(sz);
		char *b = calloc(4, sz);
		a = realloc(a, sz * 2);
		sink = a;
		free(b);
		if ((i & 63) == 0)
			kept[nkept++] = a;
		else
			free(a);
	}
}

__attribute__((noinline)) static void descend(int depth, long n)
{
	if (depth > 0)
		descend(depth - 1, n);
	else
		work(n);
	sink = &depth;
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 12;
	long n = argc > 2 ? atol(argv[2]) : 1000000;
	struct timespec t0, t1;

	kept = malloc(sizeof(*kept) * (size_t)(n / 64 + 1));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	descend(depth, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	fprintf(stderr, "%.1f ns per allocation call\n", ns / (double)n / 4);
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	free(kept);
	return 0;
}
