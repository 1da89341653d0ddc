/*
 * 16 threads allocating and freeing concurrently, for the memory
 * profiler's thread-safety test. Thread t (0..15):
 *   churn (SITE_CHURN): 20000 x malloc(24 + t), each freed before the
 *     next but the last one, which stays live: 16 blocks live at exit
 *   keep (SITE_KEEP): 100 x malloc(128), kept: 1600 x 128 live at exit
 * Blocks cross threads too: every thread frees 100 blocks that thread
 * (t + 1) % 16 allocated at SITE_SHARED (malloc(48)), so 0 are live.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NTHREADS 16
#define CHURN 20000
#define KEEP 100
#define SHARED 100

static void *volatile kept[NTHREADS][KEEP];
static void *volatile last[NTHREADS];
static void *volatile shared[NTHREADS][SHARED];
static pthread_barrier_t barrier;

__attribute__((noinline)) static void *churn(int t)
{
	void *p = NULL;
	for (int i = 0; i < CHURN; i++) {
		free(p);
		p = malloc(24 + (size_t)t); /* SITE_CHURN */
	}
	return p;
}

__attribute__((noinline)) static void keep(int t)
{
	for (int i = 0; i < KEEP; i++)
		kept[t][i] = malloc(128); /* SITE_KEEP */
}

__attribute__((noinline)) static void share(int t)
{
	for (int i = 0; i < SHARED; i++)
		shared[t][i] = malloc(48); /* SITE_SHARED */
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;

	share(t);
	pthread_barrier_wait(&barrier);
	last[t] = churn(t);
	keep(t);
	for (int i = 0; i < SHARED; i++)
		free(shared[(t + 1) % NTHREADS][i]);
	return NULL;
}

int main(void)
{
	pthread_t th[NTHREADS];

	pthread_barrier_init(&barrier, NULL, NTHREADS);
	for (long t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)t) != 0)
			return 1;
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	printf("threads done\n");
	return 0;
}
