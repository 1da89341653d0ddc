/*
 * libearly.so, a DT_NEEDED library of early_main: its constructor runs
 * before the preloaded runtimes' constructors (a library is initialized
 * before the objects that come ahead of it in the search order), its
 * destructor after theirs would. The constructor calls lib_init_work()
 * 3 times and allocates a 77,777-byte block; the destructor calls
 * lib_fini_work() 5 times and frees the block. The constructor also
 * registers an atexit handler (run from the library's own finalization)
 * that calls lib_atexit_work() 7 times. Built by
 * tests/e2e/test_lifecycle.py.
 */
#include <stdlib.h>

static volatile long sink;
static char *volatile block;

__attribute__((noinline)) static void lib_init_work(int i)
{
	sink += i;
}

__attribute__((noinline)) static void lib_fini_work(int i)
{
	sink += i;
}

__attribute__((noinline)) static void lib_atexit_work(int i)
{
	sink += i;
}

static void lib_atexit(void)
{
	for (int i = 0; i < 7; i++)
		lib_atexit_work(i);
}

__attribute__((constructor)) static void lib_init(void)
{
	atexit(lib_atexit);
#ifndef NO_LIB_CALLS
	for (int i = 0; i < 3; i++)
		lib_init_work(i);
#endif
	block = malloc(77777); /* SITE_LIB_BLOCK */
	block[0] = 1;
}

__attribute__((destructor)) static void lib_fini(void)
{
	for (int i = 0; i < 5; i++)
		lib_fini_work(i);
	free(block);
}

int early_lib_value(void)
{
	return block[0];
}
