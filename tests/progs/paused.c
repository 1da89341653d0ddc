/*
 * cprof_enable()/cprof_disable() bracket a region when started paused
 * (CPROF_PAUSED=1): outside() never counts, inside() counts 5, and a
 * function still open at cprof_disable() is closed there.
 */
#include <cprof.h>
#include <stdio.h>

static volatile int sink;

__attribute__((noinline)) static void outside(void)
{
	sink++;
}

__attribute__((noinline)) static void inside(void)
{
	sink++;
}

__attribute__((noinline)) static void region(void)
{
	cprof_enable();
	for (int i = 0; i < 5; i++)
		inside();
	cprof_disable();
}

int main(void)
{
	outside();
	region();
	outside();
	printf("paused done\n");
	return 0;
}
