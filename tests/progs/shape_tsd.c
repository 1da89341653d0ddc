/*
 * Thread-specific data destructors: they run in each thread after its
 * start routine has returned. Three threads set a value for the key;
 * at their exit tsd_destroy runs once each and calls dtor_work k + 1
 * times: thread_main 3, tsd_destroy 3, dtor_work 6.
 */
#include <pthread.h>
#include <stdint.h>

static pthread_key_t key;
static volatile long sink;

__attribute__((noinline)) static void dtor_work(void)
{
	sink++;
}

static void tsd_destroy(void *value)
{
	for (intptr_t i = 0; i < (intptr_t)value; i++)
		dtor_work();
}

__attribute__((noinline)) static void *thread_main(void *arg)
{
	pthread_setspecific(key, arg);
	return NULL;
}

int main(void)
{
	pthread_t t[3];

	if (pthread_key_create(&key, tsd_destroy) != 0)
		return 1;
	for (intptr_t k = 0; k < 3; k++)
		if (pthread_create(&t[k], NULL, thread_main, (void *)(k + 1)) != 0)
			return 1;
	for (int k = 0; k < 3; k++)
		pthread_join(t[k], NULL);
	return 0;
}
