/*
 * Totals over the run with exactly known answers (tests/e2e/test_totals.py):
 *   SITE_PAIR:    N x malloc(32) freed at once: N temporaries
 *   SITE_A/B:     1000 x (a = malloc(24), b = malloc(40), free a, free b):
 *                 no temporary (a's next event is b's malloc, b's is a's free)
 *   SITE_CHAIN0:  malloc(16), then SITE_CHAIN: 100 reallocs 32, 48, ...,
 *                 1616, then free: a realloc frees its block, so each block
 *                 of the chain is a temporary (heaptrack's rule)
 *   SITE_THREAD:  THREADS threads x M malloc(48)/free pairs at once: M
 *                 temporaries each (counted per thread)
 *   SITE_XFER:    1000 x malloc(50) by main, freed by another thread: none
 *   SITE_KEEP:    10 x malloc(100), never freed
 * No stdio before the end (its buffer would be a site too).
 * argv[1]: N (default 100000); argv[2]: M (default 5000).
 */
#include <pthread.h>
#include <stdlib.h>

#define THREADS 4

static void *volatile sink;
static void *xfer[1000];
static void *volatile kept[10];
static long m_pairs = 5000;
static pthread_barrier_t start;

__attribute__((noinline)) static void pairs(long n)
{
	for (long i = 0; i < n; i++) {
		sink = malloc(32); /* SITE_PAIR */
		free(sink);
	}
}

__attribute__((noinline)) static void not_temporary(void)
{
	for (int i = 0; i < 1000; i++) {
		void *a = malloc(24); /* SITE_A */
		sink = a;
		void *b = malloc(40); /* SITE_B */
		sink = b;
		free(a);
		free(b);
	}
}

__attribute__((noinline)) static void chain(void)
{
	void *p = malloc(16); /* SITE_CHAIN0 */

	for (int i = 0; i < 100; i++)
		p = realloc(p, 32 + 16 * (size_t)i); /* SITE_CHAIN */
	sink = p;
	free(p);
}

static void *pair_thread(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);	/* the threads' pairs interleave */
	for (long i = 0; i < m_pairs; i++) {
		void *p = malloc(48); /* SITE_THREAD */
		sink = p;
		free(p);
	}
	return NULL;
}

static void *free_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		free(xfer[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	pthread_t t[THREADS + 1];

	if (argc > 2)
		m_pairs = atol(argv[2]);
	for (int i = 0; i < 10; i++)
		kept[i] = malloc(100); /* SITE_KEEP */
	pairs(n);
	not_temporary();
	chain();
	for (int i = 0; i < 1000; i++)
		xfer[i] = malloc(50); /* SITE_XFER */
	pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, pair_thread, NULL);
	pthread_create(&t[THREADS], NULL, free_thread, NULL);
	for (int i = 0; i <= THREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
