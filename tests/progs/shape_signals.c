/*
 * Signals delivered at known points (raise, pthread_kill), so the counts
 * are fixed: send_usr1 10 -> on_usr1 10 -> handler_leaf 10; send_usr2 4
 * -> on_usr2 4 (on an alternate stack) -> handler_leaf 4, and raises
 * SIGUSR1 inside it: on_usr1 4 more, nested -> handler_leaf 4 more;
 * a thread signalled by main: thread_body 1, on_usr1 1, handler_leaf 1.
 * Totals: on_usr1 15, on_usr2 4, handler_leaf 19.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

static volatile long sink;
static volatile sig_atomic_t thread_handled;

__attribute__((noinline)) static void handler_leaf(void)
{
	sink++;
}

static void on_usr1(int sig)
{
	(void)sig;
	handler_leaf();
	thread_handled = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	handler_leaf();
	raise(SIGUSR1);
}

__attribute__((noinline)) static void send_usr1(void)
{
	raise(SIGUSR1);
}

__attribute__((noinline)) static void send_usr2(void)
{
	raise(SIGUSR2);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int is_ready;

/* Starts with SIGUSR1 blocked (main's mask): takes it in sigsuspend only. */
__attribute__((noinline)) static void *thread_body(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	is_ready = 1;
	pthread_cond_signal(&ready);
	pthread_mutex_unlock(&lock);
	while (!thread_handled) {
		sigset_t none;
		sigemptyset(&none);
		sigsuspend(&none);
	}
	return NULL;
}

int main(void)
{
	static char altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	struct sigaction sa1 = { .sa_handler = on_usr1 };
	struct sigaction sa2 = { .sa_handler = on_usr2, .sa_flags = SA_ONSTACK };
	sigset_t usr1;
	pthread_t t;

	if (sigaltstack(&ss, NULL) != 0)
		return 1;
	sigaction(SIGUSR1, &sa1, NULL);
	sigaction(SIGUSR2, &sa2, NULL);
	for (int i = 0; i < 10; i++)
		send_usr1();
	for (int i = 0; i < 4; i++)
		send_usr2();
	thread_handled = 0;
	/* Only the thread may take the next SIGUSR1. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (pthread_create(&t, NULL, thread_body, NULL) != 0)
		return 1;
	pthread_mutex_lock(&lock);
	while (!is_ready)
		pthread_cond_wait(&ready, &lock);
	pthread_mutex_unlock(&lock);
	pthread_kill(t, SIGUSR1);
	return pthread_join(t, NULL) != 0;
}
