/*
 * Allocation stacks for CPROF_UNWIND=cct against libunwind's: blocks
 * kept live until exit from instrumented chains (a thread's too, one
 * deeper than 16 frames, one through an always_inline function, one
 * function called twice from two lines) and from
 * places the shadow stack cannot vouch for (qsort calling back, strdup
 * inside libc, a signal handler). Counts are exact; prints "done".
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile kept[1000];
static int nkept;

static void keep(void *p)
{
	kept[nkept++] = p;
}

__attribute__((noinline)) static void level3(void)
{
	for (int i = 0; i < 10; i++)
		keep(malloc(48)); /* SITE_CHAIN */
}

__attribute__((noinline)) static void level2(void)
{
	level3(); /* CALL_LEVEL3 */
	keep(calloc(3, 20)); /* SITE_CALLOC */
}

__attribute__((noinline)) static void level1(void)
{
	level2(); /* CALL_LEVEL2 */
	void *p = malloc(10);
	keep(realloc(p, 70)); /* SITE_REALLOC */
}

__attribute__((noinline)) static int deep(int n)
{
	if (n == 0) {
		keep(malloc(90)); /* SITE_DEEP */
		return 0;
	}
	return deep(n - 1) + 1; /* CALL_DEEP */
}

/* The same function from two lines, one call after the other: the
 * second is another call at the same depth. */
__attribute__((noinline)) static void leaf_site(int size)
{
	keep(malloc(size)); /* SITE_TWICE */
}

__attribute__((noinline)) static void twice(void)
{
	leaf_site(190); /* CALL_TWICE_A */
	leaf_site(210); /* CALL_TWICE_B */
}

static inline __attribute__((always_inline)) void inlined_alloc(void)
{
	keep(malloc(110)); /* SITE_INLINE */
}

__attribute__((noinline)) static void has_inlined(void)
{
	inlined_alloc(); /* CALL_INLINE */
}

static int cmp(const void *a, const void *b)
{
	keep(malloc(130)); /* SITE_CALLBACK */
	return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) static void sorts(void)
{
	int v[2] = { 2, 1 };
	qsort(v, 2, sizeof(v[0]), cmp); /* CALL_QSORT */
}

__attribute__((noinline)) static void dups(void)
{
	keep(strdup("twenty bytes long..")); /* SITE_STRDUP */
}

static void on_signal(int sig)
{
	(void)sig;
	keep(malloc(150)); /* SITE_SIGNAL */
}

__attribute__((noinline)) static void thread_alloc(void)
{
	keep(malloc(170)); /* SITE_THREAD */
}

static void *thread_main(void *arg)
{
	(void)arg;
	thread_alloc(); /* CALL_THREAD */
	return NULL;
}

int main(void)
{
	pthread_t t;

	level1(); /* CALL_LEVEL1 */
	deep(20); /* CALL_DEEP_MAIN */
	has_inlined(); /* CALL_HAS_INLINED */
	twice(); /* CALL_TWICE */
	sorts(); /* CALL_SORTS */
	dups(); /* CALL_DUPS */
	signal(SIGUSR1, on_signal);
	raise(SIGUSR1); /* CALL_RAISE */
	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, NULL);
	puts("done");
	return 0;
}
