/*
 * Allocation sizes with exactly known answers (tests/e2e/test_sizes.py).
 * Between the snapshots "before" and "after" (the two threads are made
 * before "before": glibc's calloc of each one's TLS vector falls outside):
 *   malloc(0) x 2, one freed, one kept
 *   1000 x malloc(24) freed; malloc(31), malloc(32), malloc(1023),
 *     malloc(1024) freed (the edges of their buckets)
 *   a realloc chain malloc(1) -> 100 -> 1000 -> 100000, kept: each
 *     realloc allocates its new size and frees the block before it
 *   calloc(10, 30) freed; posix_memalign(64, 200) kept (the live table,
 *     never an in-band header)
 *   10 x malloc(4096) kept
 *   2 threads, each 500 x malloc(48) freed at once and 5 x malloc(3000)
 *     that main frees after joining them
 * The test's EVENTS list mirrors this. No stdio (its buffer would be an
 * allocation).
 */
#include <cprof.h>
#include <pthread.h>
#include <stdlib.h>

#define THREADS 2

static void *volatile sink;
static void *volatile kept[16];
static void *handed[THREADS][5];
static pthread_barrier_t go;

static void *worker(void *arg)
{
	void **mine = arg;

	pthread_barrier_wait(&go);	/* after "before" */
	for (int i = 0; i < 500; i++) {
		sink = malloc(48);
		free(sink);
	}
	for (int i = 0; i < 5; i++)
		mine[i] = malloc(3000);
	return NULL;
}

static void freed(size_t size)
{
	sink = malloc(size);
	free(sink);
}

int main(void)
{
	pthread_t t[THREADS];

	pthread_barrier_init(&go, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, handed[i]);
	cprof_snapshot("before");
	pthread_barrier_wait(&go);

	freed(0);
	kept[0] = malloc(0);
	for (int i = 0; i < 1000; i++)
		freed(24);
	freed(31);
	freed(32);
	freed(1023);
	freed(1024);
	void *p = malloc(1);
	p = realloc(p, 100);
	p = realloc(p, 1000);
	kept[1] = realloc(p, 100000);
	sink = calloc(10, 30);
	free(sink);
	void *aligned;
	if (posix_memalign(&aligned, 64, 200) == 0)
		kept[2] = aligned;
	for (int i = 0; i < 10; i++)
		kept[3 + i] = malloc(4096);

	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < 5; k++)
			free(handed[i][k]);
	cprof_snapshot("after");
	return 0;
}
