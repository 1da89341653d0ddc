/*
 * The call-heavy workload of `make bench`: tiny noipa functions, call
 * chains and two recursions, 41 calls per step, the same call paths for
 * every N. Prints a checksum and the exact number of compiled-in calls.
 */
#include <stdio.h>
#include <stdlib.h>

/* noipa: no inlining, cloning or const-detection, so every call stays a
 * call in every build; the XORs keep the recursions out of GCC's
 * tail-recursion accumulator rewrite. */
#define BENCH_FN __attribute__((noipa))

/* Calls per step(): step 1, leaf 2, chain 5, rec(.., 6) 8, tree(6) 25. */
#define CALLS_PER_STEP 41ull
#define REC_DEPTH 6
#define TREE_N 6

BENCH_FN static unsigned leaf(unsigned x)
{
	return x * 2654435761u + 1;
}

BENCH_FN static unsigned chain4(unsigned x)
{
	return leaf(x) ^ 0x5bd1e995u;
}

BENCH_FN static unsigned chain3(unsigned x)
{
	return chain4(x + 3) ^ x;
}

BENCH_FN static unsigned chain2(unsigned x)
{
	return chain3(x + 2) ^ x;
}

BENCH_FN static unsigned chain1(unsigned x)
{
	return chain2(x + 1) ^ x;
}

/* depth+1 calls of rec, then one leaf. */
BENCH_FN static unsigned rec(unsigned x, int depth)
{
	if (!depth)
		return leaf(x);
	return rec(x + 1, depth - 1) ^ (x << 1);
}

/* Fibonacci-shaped: 2 * fib(n + 1) - 1 calls (25 for n = 6). */
BENCH_FN static unsigned tree(unsigned n)
{
	if (n < 2)
		return n;
	return tree(n - 1) ^ (tree(n - 2) + n);
}

BENCH_FN static unsigned step(unsigned i)
{
	unsigned h = leaf(i);

	h ^= leaf(h);
	h += chain1(i);
	h ^= rec(i, REC_DEPTH);
	h += tree(TREE_N);
	return h;
}

int main(int argc, char **argv)
{
	unsigned long long n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	unsigned sum = 0;

	if (n == 0) {
		fprintf(stderr, "usage: %s STEPS (a positive number)\n", argv[0]);
		return 2;
	}
	for (unsigned long long i = 0; i < n; i++)
		sum = sum * 31 + step((unsigned)i);
	/* main is instrumented too: one call. */
	printf("checksum=%08x ncalls=%llu\n", sum, 1 + n * CALLS_PER_STEP);
	return 0;
}
