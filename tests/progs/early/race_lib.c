/*
 * librace.so, a DT_NEEDED library of race_main: its constructor runs
 * before the call runtime's, and starts 8 threads that make their first
 * instrumented calls together (a barrier), so that they race to
 * initialize the runtime. Each calls worker() once, which calls
 * recurse(40) 1,000 times (41 frames deep, past the smallest tables a
 * thread could get). Built by tests/e2e/test_lifecycle.py.
 */
#include <pthread.h>

#define NO_HOOKS __attribute__((noinline, no_instrument_function))
#define THREADS 8

static pthread_barrier_t start;
static volatile long sink;

__attribute__((noinline)) static long recurse(int n)
{
	return n ? recurse(n - 1) + 1 : 0;
}

__attribute__((noinline)) static void worker(void)
{
	for (int i = 0; i < 1000; i++)
		sink += recurse(40);
}

NO_HOOKS static void *thread_main(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	worker();
	return NULL;
}

NO_HOOKS __attribute__((constructor)) static void race_init(void)
{
	pthread_t th[THREADS];

	pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, thread_main, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
}

long race_sink(void)
{
	return sink;
}
