/*
 * Constructors and exit handlers around main, the program's and those of
 * a DT_NEEDED library (libshape_ctor.so, built and linked by
 * tests/progs/shape.mk):
 *   library constructor lib_ctor 1 -> lib_ctor_work 2 (before main);
 *   exe_ctor 1 -> ctor_work 4; main 1 -> lib_call 6; after main, the
 *   atexit handler at_exit_handler 1 -> atexit_work 2 and the destructor
 *   exe_dtor 1 -> dtor_work 3.
 */
#include <stdlib.h>

void lib_call(void);
static volatile long sink;

__attribute__((noinline)) static void ctor_work(void)
{
	sink++;
}

__attribute__((noinline)) static void dtor_work(void)
{
	sink++;
}

__attribute__((noinline)) static void atexit_work(void)
{
	sink++;
}

static void at_exit_handler(void)
{
	atexit_work();
	atexit_work();
}

__attribute__((constructor)) static void exe_ctor(void)
{
	for (int i = 0; i < 4; i++)
		ctor_work();
}

__attribute__((destructor)) static void exe_dtor(void)
{
	for (int i = 0; i < 3; i++)
		dtor_work();
}

int main(void)
{
	atexit(at_exit_handler);
	for (int i = 0; i < 6; i++)
		lib_call();
	return 0;
}
