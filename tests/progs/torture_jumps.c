/*
 * Non-local exits and deep stacks under both runtimes; argv[1]:
 *   deep  recurse(100000) allocates 48 bytes a level (SITE_DEEP), freed
 *         on the way back but the deepest; then dive(100000) allocates
 *         64 bytes a level (SITE_DIVE) and longjmps from the bottom over
 *         100,001 instrumented frames: those blocks stay live. Then
 *         after_jump x 3, from main. No stdio buffer (write(2)), so the
 *         peak is exact: 48 + 100001 * 64.
 *   sig   a 2 kHz SIGALRM handler siglongjmps out of whatever
 *         instrumented code it interrupted (a loop of leaf() calls, in
 *         their hooks most of the time) 100 times; after_sigjump runs
 *         after each; then 1000 x final_call. A jump out of a hook must
 *         not leave the profiler switched off. Prints the jumps and the
 *         handler runs (equal: SIGALRM is blocked outside the loop).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define DEPTH 100000

static jmp_buf env;
static sigjmp_buf sig_env;
static volatile long sink;
static void *volatile deepest;

__attribute__((noinline)) static long recurse(long n)
{
	char *p = malloc(48); /* SITE_DEEP */
	long r = n == 0 ? 0 : recurse(n - 1) + 1;

	p[0] = (char)r;
	sink += p[0];
	if (n == 0)
		deepest = p;
	else
		free(p);
	return r;
}

__attribute__((noinline)) static void dive(long n)
{
	char *volatile p = malloc(64); /* SITE_DIVE */

	p[0] = (char)n;
	if (n == 0)
		longjmp(env, 1);
	dive(n - 1);
	sink += p[0];	/* never reached: keeps the frame from being a tail call */
}

__attribute__((noinline)) static void after_jump(void)
{
	sink++;
}

static int mode_deep(void)
{
	long r = recurse(DEPTH);

	if (!setjmp(env))
		dive(DEPTH);
	for (int i = 0; i < 3; i++)
		after_jump();
	char line[64];
	int n = snprintf(line, sizeof(line), "recurse %ld dive %d\n", r, DEPTH);
	return write(1, line, (size_t)n) == n ? 0 : 1;
}

static volatile sig_atomic_t jumps;

__attribute__((noinline)) static void leaf(int i)
{
	sink += i;
}

static sigset_t alarm_set;

/* SIGALRM is blocked until busy_loop's entry is recorded: handlers run
 * (and jump) only from inside the loop of leaf() calls. */
__attribute__((noinline)) static void busy_loop(void)
{
	pthread_sigmask(SIG_UNBLOCK, &alarm_set, NULL);
	for (int i = 0;; i++)
		leaf(i);
}

__attribute__((noinline)) static void after_sigjump(void)
{
	sink++;
}

__attribute__((noinline)) static void final_call(void)
{
	sink++;
}

static volatile sig_atomic_t runs;

static void on_alarm(int sig)
{
	(void)sig;
	runs++;
	siglongjmp(sig_env, 1);
}

static int mode_sig(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 500 }, { 0, 500 } };

	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	/* Saved blocked by sigsetjmp, so every jump lands with SIGALRM
	 * blocked again: after_sigjump() and the next busy_loop() entry are
	 * never interrupted. */
	pthread_sigmask(SIG_BLOCK, &alarm_set, NULL);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	while (jumps < 100) {
		if (sigsetjmp(sig_env, 1)) {
			jumps++;
			after_sigjump();
			continue;
		}
		busy_loop();
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 1000; i++)	/* SIGALRM stays blocked */
		final_call();
	printf("jumps %d handler_runs %d\n", (int)jumps, (int)runs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "deep"))
		return mode_deep();
	if (argc > 1 && !strcmp(argv[1], "sig"))
		return mode_sig();
	fprintf(stderr, "usage: torture_jumps deep|sig\n");
	return 2;
}
