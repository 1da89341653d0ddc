/*
 * Deep recursion within uftrace's limit of 65,535 frames: dive(50,000)
 * twice, and mutual recursion ping/pong 20,000 deep. dive 100,002 calls
 * (2 primitive), ping 10,001, pong 10,000, bottom 3.
 */
#include <stdio.h>

static volatile long sink;

__attribute__((noinline)) static void bottom(void)
{
	sink++;
}

__attribute__((noinline)) static long dive(int n)
{
	if (n == 0) {
		bottom();
		return 0;
	}
	return dive(n - 1) + 1;
}

static long pong(int n);

__attribute__((noinline)) static long ping(int n)
{
	if (n == 0) {
		bottom();
		return 0;
	}
	return pong(n - 1) + 1;
}

__attribute__((noinline)) static long pong(int n)
{
	return ping(n - 1) + 1;
}

int main(void)
{
	long sum = dive(50000) + dive(50000) + ping(20000);

	printf("%ld\n", sum);
	return 0;
}
