/* The program of librace.so (see race_lib.c): main calls main_work once. */
#include <stdio.h>

long race_sink(void);

__attribute__((noinline)) static long main_work(void)
{
	return race_sink();
}

int main(void)
{
	printf("sink %ld\n", main_work());
	return 0;
}
