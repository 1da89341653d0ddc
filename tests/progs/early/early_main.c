/*
 * Instrumented code that runs before main: from .preinit_array (before
 * libc has set up environ), from a DT_NEEDED library's constructor
 * (libearly.so, see early_lib.c) and from the program's own constructor.
 * Built by tests/e2e/test_lifecycle.py in three ways, so that each is in
 * turn the first hook of the process:
 *   (default)                     .preinit_array first
 *   -DNO_PREINIT                  the library's constructor first
 *   -DNO_PREINIT -DNO_LIB         the program's constructor first
 * Counts: pre_work 1, lib_init_work 3, ctor_work 2, main_work 4; at
 * exit, exe_atexit_work 3 (an atexit handler registered from
 * .preinit_array) and, when linked with the library, lib_atexit_work 7
 * and lib_fini_work 5.
 */
#include <stdlib.h>
#include <unistd.h>

static volatile long sink;

__attribute__((noinline)) static void pre_work(void)
{
	sink++;
}

__attribute__((noinline)) static void ctor_work(void)
{
	sink++;
}

__attribute__((noinline)) static void main_work(void)
{
	sink++;
}

#ifndef NO_PREINIT
__attribute__((noinline)) static void exe_atexit_work(void)
{
	sink++;
}

static void exe_atexit(void)
{
	for (int i = 0; i < 3; i++)
		exe_atexit_work();
}

static void preinit(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	pre_work();
	atexit(exe_atexit);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit_entry)(
	int, char **, char **) = preinit;
#endif

__attribute__((constructor)) static void ctor(void)
{
	ctor_work();
	ctor_work();
}

#ifndef NO_LIB
int early_lib_value(void);
#endif

int main(void)
{
	for (int i = 0; i < 4; i++)
		main_work();
#ifndef NO_LIB
	sink += early_lib_value();
#endif
	return write(1, "done\n", 5) == 5 ? 0 : 1;
}
