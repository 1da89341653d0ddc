/*
 * exit() from a thread while main is blocked in an instrumented
 * function: main -> wait_for_worker 1 (never returns); worker 1 ->
 * work_unit 5 -> leaf 50, then finish 1 -> exit(0).
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static volatile long sink;

__attribute__((noinline)) static void leaf(void)
{
	sink++;
}

__attribute__((noinline)) static void work_unit(void)
{
	for (int i = 0; i < 10; i++)
		leaf();
}

__attribute__((noinline)) static void finish(void)
{
	exit(0);
}

__attribute__((noinline)) static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++)
		work_unit();
	finish();
	return NULL;
}

__attribute__((noinline)) static void wait_for_worker(pthread_t t)
{
	pthread_join(t, NULL);
	for (;;)
		pause();
}

int main(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, worker, NULL) != 0)
		return 1;
	wait_for_worker(t);
	return 1;
}
