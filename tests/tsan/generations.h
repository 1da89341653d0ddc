/*
 * The stress programs' threads: NW at a time, in NGEN generations, each
 * slot refilled as its thread ends so that thread starts overlap thread
 * exits. Worker k (0 <= k < nw * ngen) gets (void *)k.
 */
#ifndef CPROF_TESTS_TSAN_GENERATIONS_H
#define CPROF_TESTS_TSAN_GENERATIONS_H

#include <pthread.h>

static void run_generations(void *(*worker)(void *), int nw, int ngen)
{
	pthread_t th[nw];

	for (long w = 0; w < nw; w++)
		pthread_create(&th[w], NULL, worker, (void *)w);
	for (long g = 1; g < ngen; g++)
		for (long w = 0; w < nw; w++) {
			pthread_join(th[w], NULL);
			pthread_create(&th[w], NULL, worker, (void *)(g * nw + w));
		}
	for (long w = 0; w < nw; w++)
		pthread_join(th[w], NULL);
}

#endif
