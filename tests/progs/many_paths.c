/*
 * More distinct call paths than the call runtime's first tables hold:
 * left() and right() each call both, DEPTH levels down, so every call is
 * a call path of its own: 2^(DEPTH+1) - 2 of them below main (argv[1]
 * sets DEPTH, default 20: 2,097,150 calls and paths). Prints the calls.
 */
#include <stdio.h>
#include <stdlib.h>

static long calls;

static void right(int d);

__attribute__((noinline)) static void left(int d)
{
	calls++;
	if (d) {
		left(d - 1);
		right(d - 1);
	}
}

__attribute__((noinline)) static void right(int d)
{
	calls++;
	if (d) {
		left(d - 1);
		right(d - 1);
	}
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 20;

	left(depth - 1);
	right(depth - 1);
	printf("calls %ld\n", calls);
	return 0;
}
