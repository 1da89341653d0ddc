/*
 * 32 threads making instrumented calls and allocations at full speed
 * while the main thread creates and joins 200 short-lived threads, for
 * both runtimes at once. Exact totals (W = 32 workers, N = 10000):
 *   worker_main W; work W*N; leaf 2*W*N + SHORT; short_main SHORT (200);
 *   churn_site (SITE_CHURN): W*N mallocs of 16 + t bytes, every 100th
 *     kept: W*N/100 blocks live at exit
 *   short_site (SITE_SHORT): one malloc(64) per short thread, kept
 * Threads in the profile: 1 + W + SHORT. No stdio before the end.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKERS 32
#define ITER 10000
#define ROUNDS 50
#define PER_ROUND 4
#define SHORT (ROUNDS * PER_ROUND)

static void *volatile kept[WORKERS][ITER / 100];
static void *volatile short_blocks[SHORT];
static volatile long sink;
static pthread_barrier_t start;

__attribute__((noinline)) static void leaf(long i)
{
	__atomic_add_fetch(&sink, i, __ATOMIC_RELAXED);
}

__attribute__((noinline)) static void *churn_site(int t)
{
	return malloc(16 + (size_t)t); /* SITE_CHURN */
}

__attribute__((noinline)) static void work(int t, int i)
{
	void *p = churn_site(t);

	leaf(i);
	leaf(t);
	if (i % 100 == 0)
		kept[t][i / 100] = p;
	else
		free(p);
}

__attribute__((noinline)) static void *worker_main(void *arg)
{
	int t = (int)(long)arg;

	pthread_barrier_wait(&start);
	for (int i = 0; i < ITER; i++)
		work(t, i);
	return NULL;
}

__attribute__((noinline)) static void *short_site(void)
{
	return malloc(64); /* SITE_SHORT */
}

__attribute__((noinline)) static void *short_main(void *arg)
{
	int k = (int)(long)arg;

	short_blocks[k] = short_site();
	leaf(k);
	return NULL;
}

int main(void)
{
	pthread_t w[WORKERS], s[PER_ROUND];
	int failed = 0;

	pthread_barrier_init(&start, NULL, WORKERS + 1);
	for (long t = 0; t < WORKERS; t++)
		if (pthread_create(&w[t], NULL, worker_main, (void *)t) != 0)
			return 10;
	pthread_barrier_wait(&start);
	/* Churn while the workers run: threads born and gone mid-flight. */
	for (int r = 0; r < ROUNDS; r++) {
		for (long k = 0; k < PER_ROUND; k++)
			if (pthread_create(&s[k], NULL, short_main, (void *)(r * PER_ROUND + k)))
				failed++;
		for (int k = 0; k < PER_ROUND; k++)
			pthread_join(s[k], NULL);
	}
	for (int t = 0; t < WORKERS; t++)
		pthread_join(w[t], NULL);
	printf("workers=%d iter=%d short=%d failed=%d\n", WORKERS, ITER, SHORT, failed);
	return failed != 0;
}
