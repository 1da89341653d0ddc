/*
 * longjmp in every shape, for exact calls, primitive calls and callers
 * whatever the frame sizes (tests/e2e/test_longjmp.py builds this with
 * gcc -O1 and clang -O1). argv[1]:
 *   bigger   small_jumper jumps; the next call, big_after, has a far
 *            larger frame (4 KiB). 100 times.
 *   equal    eq_jumper jumps; eq_after has the same frame. 100 times.
 *   smaller  big_jumper (4 KiB frame) jumps; small_after. 100 times.
 *   signal   raiser raises SIGUSR1; the handler calls handler_work and
 *            siglongjmps to main; then after_signal. 100 times.
 *   nested   main > level1 (setjmp) > level2 > thrower jumps to level1,
 *            which calls after_inner and jumps to main, which calls
 *            after_outer; then rec(8) jumps from rec(0) to a setjmp in
 *            rec(5), which calls rec_after. 100 times each.
 *   deep     dive(999) jumps from 1,000 frames down; then after_dive.
 *            10 times.
 *   inlined  container calls inl_leaf and inl_jump, both inlined into it
 *            (they call the hooks from container's frame, with its call
 *            site); inl_jump jumps; container is called again from the
 *            same place. 100 times.
 * Each mode runs in its own function, mode_NAME, which makes the calls
 * shown as main's above; every function is a separate, non-inlined call.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static jmp_buf jb, jb_inner, jb_rec;
static sigjmp_buf sjb;
static volatile long sink;

NOINLINE static void small_jumper(int i)
{
	longjmp(jb, i + 1);
}

NOINLINE static void big_after(int i)
{
	volatile char buf[4096];

	memset((char *)buf, i, sizeof(buf));
	sink += buf[i % 4096];
}

NOINLINE static void eq_jumper(int i)
{
	volatile char buf[64];

	buf[i % 64] = (char)i;
	if (buf[i % 64] == (char)i)
		longjmp(jb, i + 1);
	sink += buf[0];
}

NOINLINE static void eq_after(int i)
{
	volatile char buf[64];

	buf[i % 64] = (char)i;
	if (buf[i % 64] != (char)i)
		longjmp(jb, i + 1);
	sink += buf[0];
}

NOINLINE static void big_jumper(int i)
{
	volatile char buf[4096];

	memset((char *)buf, i, sizeof(buf));
	if (buf[i % 4096] == (char)i)
		longjmp(jb, i + 1);
	sink += buf[0];
}

NOINLINE static void small_after(int i)
{
	sink += i;
}

/* jumper, then after, 100 times: both called by mode_NAME. */
#define MODE_SHAPE(name, jumper, after)                     \
	NOINLINE static int mode_##name(void)                \
	{                                                    \
		for (volatile int i = 0; i < 100; i++) {     \
			if (setjmp(jb) == 0)                 \
				jumper(i);                   \
			after(i);                            \
		}                                            \
		return 0;                                    \
	}
MODE_SHAPE(bigger, small_jumper, big_after)
MODE_SHAPE(equal, eq_jumper, eq_after)
MODE_SHAPE(smaller, big_jumper, small_after)

NOINLINE static void handler_work(void)
{
	sink++;
}

NOINLINE static void on_signal(int sig)
{
	(void)sig;
	handler_work();
	siglongjmp(sjb, 1);
}

NOINLINE static void raiser(void)
{
	raise(SIGUSR1);
	sink--;		/* never reached */
}

NOINLINE static void after_signal(void)
{
	sink++;
}

NOINLINE static int mode_signal(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	for (volatile int i = 0; i < 100; i++) {
		if (sigsetjmp(sjb, 1) == 0)
			raiser();
		after_signal();
	}
	return 0;
}

NOINLINE static void thrower(void)
{
	longjmp(jb_inner, 1);
}

NOINLINE static void level2(void)
{
	thrower();
	sink--;		/* never reached */
}

NOINLINE static void after_inner(void)
{
	sink++;
}

NOINLINE static void level1(void)
{
	if (setjmp(jb_inner) == 0)
		level2();
	after_inner();
	longjmp(jb, 1);
}

NOINLINE static void after_outer(void)
{
	sink++;
}

NOINLINE static void rec_after(void)
{
	sink++;
}

NOINLINE static void rec(int n)
{
	if (n == 5) {
		if (setjmp(jb_rec) == 0)
			rec(n - 1);
		else
			rec_after();
		return;
	}
	if (n == 0)
		longjmp(jb_rec, 1);
	rec(n - 1);
	sink++;		/* not a tail call */
}

NOINLINE static int mode_nested(void)
{
	for (volatile int i = 0; i < 100; i++) {
		if (setjmp(jb) == 0)
			level1();
		after_outer();
	}
	for (int i = 0; i < 100; i++)
		rec(8);
	return 0;
}

NOINLINE static void dive(int n)
{
	if (n == 0)
		longjmp(jb, 1);
	dive(n - 1);
	sink++;		/* not a tail call */
}

NOINLINE static void after_dive(void)
{
	sink++;
}

NOINLINE static int mode_deep(void)
{
	for (volatile int i = 0; i < 10; i++) {
		if (setjmp(jb) == 0)
			dive(999);
		after_dive();
	}
	return 0;
}

static inline __attribute__((always_inline)) void inl_leaf(int i)
{
	sink += i;
}

static inline __attribute__((always_inline)) void inl_jump(int i)
{
	if (i >= 0)
		longjmp(jb, 1);
}

NOINLINE static void container(int i)
{
	inl_leaf(i);
	inl_jump(i);
	sink--;		/* never reached */
}

NOINLINE static int mode_inlined(void)
{
	for (volatile int i = 0; i < 100; i++)
		if (setjmp(jb) == 0)
			container(i);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int r = 2;

	if (!strcmp(mode, "bigger"))
		r = mode_bigger();
	else if (!strcmp(mode, "equal"))
		r = mode_equal();
	else if (!strcmp(mode, "smaller"))
		r = mode_smaller();
	else if (!strcmp(mode, "signal"))
		r = mode_signal();
	else if (!strcmp(mode, "nested"))
		r = mode_nested();
	else if (!strcmp(mode, "deep"))
		r = mode_deep();
	else if (!strcmp(mode, "inlined"))
		r = mode_inlined();
	else
		fprintf(stderr, "usage: longjmp_shapes bigger|equal|smaller|signal|nested|deep|inlined\n");
	if (r == 0)
		printf("%s done\n", mode);
	return r;
}
