/*
 * A SIGALRM handler calling an instrumented function while the main
 * thread runs instrumented code: handler calls are recorded (or, when
 * the signal lands inside a hook, counted as skipped), never corrupting
 * the stack. Prints how many signals were handled.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t handled;
static volatile long sink;

__attribute__((noinline)) static void in_handler(void)
{
	sink++;
}

static void on_alarm(int sig)
{
	(void)sig;
	handled++;
	in_handler();
}

__attribute__((noinline)) static void busy(void)
{
	for (long i = 0; i < 200000; i++)
		sink += i;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	while (handled < 200)
		busy();
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	printf("handled %d\n", (int)handled);
	return 0;
}
