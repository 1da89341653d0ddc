/*
 * Recursion 100,000 deep: recurse has 100001 calls, 1 primitive.
 */
#include <stdio.h>

static volatile long sink;

__attribute__((noinline)) static long recurse(long n)
{
	if (n == 0)
		return 0;
	long r = recurse(n - 1) + 1;
	sink = r;
	return r;
}

int main(void)
{
	printf("depth %ld\n", recurse(100000));
	return 0;
}
