/*
 * Ways out of a process, under both runtimes; argv[1]:
 *   _exit   work() x 10 and 10 x malloc(100) (SITE_WORK), then _exit(5):
 *           no destructor runs, so nothing is written.
 *   abort   work() x 10, SITE_WORK x 10, cprof_snapshot("before-abort"),
 *           then 5 x malloc(500) (SITE_LATE) and abort(): only the
 *           snapshot already written survives.
 *   thread  main: setup() x 1, SITE_MAIN 10 x malloc(64); an idle thread
 *           calls idle_work() x 100, keeps 20 x malloc(128) (SITE_IDLE)
 *           and blocks in idle_wait() for ever; two spinners call spin()
 *           and malloc/free (SITE_SPIN) without end; an exiter calls
 *           exiter_work() x 50, keeps 30 x malloc(256) (SITE_EXITER),
 *           then exit(3) from do_exit() while main waits in pthread_join.
 * No stdio: the output is written with write(2), so no stdio buffer
 * shows among the sites.
 */
#define _GNU_SOURCE
#include <cprof.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile long sink;
static void *volatile blocks[64];
static void *volatile late[5];
static void *volatile idle_blocks[20];
static void *volatile exiter_blocks[30];
static sem_t idle_ready, never, spinning;

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(9);
}

__attribute__((noinline)) static void work(int i)
{
	blocks[i] = malloc(100); /* SITE_WORK */
}

__attribute__((noinline)) static void setup(void)
{
	for (int i = 0; i < 10; i++)
		blocks[i] = malloc(64); /* SITE_MAIN */
}

__attribute__((noinline)) static void idle_work(int i)
{
	if (i < 20)
		idle_blocks[i] = malloc(128); /* SITE_IDLE */
}

__attribute__((noinline)) static void idle_wait(void)
{
	sem_post(&idle_ready);
	while (sem_wait(&never) != 0)
		;
}

static void *idle_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		idle_work(i);
	idle_wait();
	return NULL;
}

__attribute__((noinline)) static void spin(long i)
{
	sink += i;
}

static void *spinner(void *arg)
{
	(void)arg;
	for (long i = 0;; i++) {
		void *volatile p = malloc(40); /* SITE_SPIN */
		spin(i);
		free(p);
		if (i == 0)
			sem_post(&spinning);
	}
	return NULL;
}

__attribute__((noinline)) static void exiter_work(int i)
{
	if (i < 30)
		exiter_blocks[i] = malloc(256); /* SITE_EXITER */
}

__attribute__((noinline)) static void do_exit(void)
{
	say("exiting from a thread\n");
	exit(3);
}

static void *exiter(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++)
		exiter_work(i);
	do_exit();
	return NULL;
}

static int mode_thread(void)
{
	pthread_t idle, spin1, spin2, ex;

	sem_init(&idle_ready, 0, 0);
	sem_init(&never, 0, 0);
	sem_init(&spinning, 0, 0);
	setup();
	pthread_create(&idle, NULL, idle_main, NULL);
	while (sem_wait(&idle_ready) != 0)
		;
	pthread_create(&spin1, NULL, spinner, NULL);
	pthread_create(&spin2, NULL, spinner, NULL);
	for (int k = 0; k < 2; k++)	/* both spinning when exit comes */
		while (sem_wait(&spinning) != 0)
			;
	pthread_create(&ex, NULL, exiter, NULL);
	pthread_join(ex, NULL);
	return 0;	/* not reached: the exiter's exit(3) ends the process */
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	if (!strcmp(m, "thread"))
		return mode_thread();
	for (int i = 0; i < 10; i++)
		work(i);
	if (!strcmp(m, "_exit")) {
		say("calling _exit(5)\n");
		_exit(5);
	}
	if (!strcmp(m, "abort")) {
		cprof_snapshot("before-abort");
		for (int i = 0; i < 5; i++)
			late[i] = malloc(500); /* SITE_LATE */
		say("calling abort()\n");
		abort();
	}
	say("usage: torture_exits _exit|abort|thread\n");
	return 2;
}
