/*
 * longjmp shapes of issue 10 item 1, with fixed counts. The frame that
 * runs after each jump is bigger than, as big as, or smaller than the one
 * jumped over; siglongjmp leaves a signal handler; setjmp levels nest;
 * one jump crosses 1,000 frames. Every jump lands back in main or in a
 * function that is still live, so calls and callers are exact:
 *   small_jumper 100, big_after 100      (next frame bigger)
 *   same_jumper 50, same_after 50        (same size)
 *   big_jumper 50, small_after 50        (next frame smaller)
 *   raise_and_wait 20, on_usr1 20, handler_leaf 20, after_signal 20
 *   outer_level 10, inner_level 10, inner_jumper 20, outer_jumper 10,
 *     after_inner 10, after_outer 10     (nested setjmp)
 *   descend 10 x 1,001, after_descend 10 (1,000 frames)
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static jmp_buf jb, outer_jb, inner_jb;
static sigjmp_buf sig_jb;
static volatile int sink;

__attribute__((noinline)) static void small_jumper(int i)
{
	longjmp(jb, i + 1);
}

__attribute__((noinline)) static int big_after(int i)
{
	volatile char buf[4096];

	memset((char *)buf, i, sizeof buf);
	return buf[i % 4096];
}

__attribute__((noinline)) static void same_jumper(int i)
{
	volatile char buf[256];

	memset((char *)buf, i, sizeof buf);
	if (buf[i % 256] == (char)i)
		longjmp(jb, 1);
}

__attribute__((noinline)) static int same_after(int i)
{
	volatile char buf[256];

	memset((char *)buf, i, sizeof buf);
	return buf[i % 256];
}

__attribute__((noinline)) static void big_jumper(int i)
{
	volatile char buf[4096];

	memset((char *)buf, i, sizeof buf);
	if (buf[i % 4096] == (char)i)
		longjmp(jb, 1);
}

__attribute__((noinline)) static int small_after(int i)
{
	return i + sink;
}

__attribute__((noinline)) static void handler_leaf(void)
{
	sink++;
}

static void on_usr1(int sig)
{
	handler_leaf();
	siglongjmp(sig_jb, sig);
}

__attribute__((noinline)) static void raise_and_wait(void)
{
	raise(SIGUSR1);
	sink--; /* never reached: the handler jumps out */
}

__attribute__((noinline)) static void after_signal(void)
{
	sink++;
}

__attribute__((noinline)) static void inner_jumper(int to_outer)
{
	longjmp(to_outer ? outer_jb : inner_jb, 1);
}

__attribute__((noinline)) static void after_inner(void)
{
	sink++;
}

/* Jumps to its own setjmp once, then to the outer level's. */
__attribute__((noinline)) static void inner_level(void)
{
	if (setjmp(inner_jb) == 0)
		inner_jumper(0);
	after_inner();
	inner_jumper(1);
}

__attribute__((noinline)) static void outer_jumper(void)
{
	inner_level();
}

__attribute__((noinline)) static void after_outer(void)
{
	sink++;
}

__attribute__((noinline)) static void outer_level(void)
{
	if (setjmp(outer_jb) == 0)
		outer_jumper();
	after_outer();
}

__attribute__((noinline)) static void descend(int depth)
{
	if (depth == 0)
		longjmp(jb, 1);
	descend(depth - 1);
	sink++; /* not a tail call */
}

__attribute__((noinline)) static void after_descend(void)
{
	sink++;
}

int main(void)
{
	volatile int sum = 0;
	struct sigaction sa = { .sa_handler = on_usr1 };

	for (volatile int i = 0; i < 100; i++) {
		if (setjmp(jb) == 0)
			small_jumper(i);
		sum += big_after(i);
	}
	for (volatile int i = 0; i < 50; i++) {
		if (setjmp(jb) == 0)
			same_jumper(i);
		sum += same_after(i);
	}
	for (volatile int i = 0; i < 50; i++) {
		if (setjmp(jb) == 0)
			big_jumper(i);
		sum += small_after(i);
	}
	sigaction(SIGUSR1, &sa, NULL);
	for (volatile int i = 0; i < 20; i++) {
		if (sigsetjmp(sig_jb, 1) == 0)
			raise_and_wait();
		after_signal();
	}
	for (volatile int i = 0; i < 10; i++)
		outer_level();
	for (volatile int i = 0; i < 10; i++) {
		if (setjmp(jb) == 0)
			descend(1000);
		after_descend();
	}
	printf("%d\n", sum);
	return 0;
}
