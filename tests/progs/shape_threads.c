/*
 * Threads: four workers, worker k calls leaf 100 * (k + 1) times through
 * work_unit; worker 3 ends with pthread_exit from inside finish_early, so
 * its open frames never return. main calls join_all once.
 *   worker 4, work_unit 40 (10 per worker), leaf 1000, finish_early 1
 */
#include <pthread.h>
#include <stdint.h>

static volatile long sink;

__attribute__((noinline)) static void leaf(void)
{
	sink++;
}

__attribute__((noinline)) static void work_unit(int n)
{
	for (int i = 0; i < n; i++)
		leaf();
}

__attribute__((noinline)) static void finish_early(void)
{
	pthread_exit(NULL);
}

__attribute__((noinline)) static void *worker(void *arg)
{
	int k = (int)(intptr_t)arg;

	for (int i = 0; i < 10; i++)
		work_unit(10 * (k + 1));
	if (k == 3)
		finish_early();
	return NULL;
}

__attribute__((noinline)) static int join_all(pthread_t *t, int n)
{
	for (int k = 0; k < n; k++)
		if (pthread_join(t[k], NULL) != 0)
			return 1;
	return 0;
}

int main(void)
{
	pthread_t t[4];

	for (int k = 0; k < 4; k++)
		if (pthread_create(&t[k], NULL, worker, (void *)(intptr_t)k) != 0)
			return 1;
	return join_all(t, 4);
}
