/*
 * 16 threads at once, each calling work() 1000 times (each work() calls
 * leaf() 3 times), all joined before main's last call: every thread's
 * data must survive its exit. Exact: work 16000, leaf 48000.
 */
#include <pthread.h>
#include <stdio.h>

#define NTHREADS 16
static volatile long sink;

__attribute__((noinline)) static void leaf(long i)
{
	__atomic_add_fetch(&sink, i, __ATOMIC_RELAXED);
}

__attribute__((noinline)) static void work(long i)
{
	leaf(i);
	leaf(i + 1);
	leaf(i + 2);
}

__attribute__((noinline)) static void *thread_main(void *arg)
{
	for (long i = 0; i < 1000; i++)
		work(i + (long)arg);
	return NULL;
}

__attribute__((noinline)) static void after_join(void)
{
	sink++;
}

int main(void)
{
	pthread_t t[NTHREADS];

	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, thread_main, (void *)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	after_join();
	printf("threads done\n");
	return 0;
}
