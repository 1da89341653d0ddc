/*
 * Known call structure for exact-count tests: a loop, direct recursion,
 * mutual recursion, and a busy-wait of known length.
 *   leaf: 1000 calls from loop_caller
 *   fact: 10 calls, 1 primitive; fact(0) spins (wide enough to be drawn)
 *   is_even/is_odd: mutual recursion from 7: is_even 4 calls, is_odd 4
 *   spin_50ms: 1 call, ~50 ms of its own time, measured and printed
 */
#include <stdio.h>
#include <time.h>

static volatile int sink;

__attribute__((noinline)) static void leaf(int i)
{
	sink += i;
}

__attribute__((noinline)) static void loop_caller(int n)
{
	for (int i = 0; i < n; i++)
		leaf(i);
}

__attribute__((noinline)) static int fact(int n)
{
	return n <= 0 ? ({ volatile int k = 0; while (k < 1000000) k++; 1; }) : n * fact(n - 1);
}

__attribute__((noinline)) static int is_odd(int n);

__attribute__((noinline)) static int is_even(int n)
{
	return n == 0 ? 1 : is_odd(n - 1);
}

__attribute__((noinline)) static int is_odd(int n)
{
	return n == 0 ? 0 : is_even(n - 1);
}

__attribute__((no_instrument_function)) static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double spin_began, spin_ended;

__attribute__((noinline)) static void spin_50ms(void)
{
	double end;

	spin_began = now_s();
	end = spin_began + 0.050;
	while ((spin_ended = now_s()) < end)
		sink++;
}

int main(void)
{
	volatile int n = 1000;

	loop_caller(n);
	printf("fact(9)=%d even(7)=%d\n", fact(9), is_even(7));
	spin_50ms();
	printf("spin_50ms %.9f\n", spin_ended - spin_began);
	return 0;
}
