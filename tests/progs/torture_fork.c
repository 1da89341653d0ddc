/*
 * Children of a busy multi-threaded parent, under both runtimes: while
 * 4 threads make instrumented calls and malloc/realloc/free, and a 5th
 * takes 10 snapshots ("busy"), the parent starts
 *   fork   4 x fork() from main, 2 x fork() from a churning thread
 *          ("tfork"): child_work x 5, 50 x malloc(200) (SITE_CHILD)
 *   exec   2 x fork() + execv(self, "exec"): the image exec_main runs
 *   spawn  2 x posix_spawn(self, "spawn")
 *   system 1 x system("exec SELF system"), and 1 x system("SELF sh; exit 7")
 *          whose shell stays and writes its own files
 * exec_main (exec, spawn, system, sh): exec_work x 7, 30 x malloc(300)
 * (SITE_EXEC), exit status 0. Every child says "child ROLE PID PPID" on
 * stdout; the parent says "status ROLE CODE 0" for each and, at the end,
 * allocates 10 x malloc(300) (SITE_AFTER) and says "parent main PID N",
 * N the churn_call() count. Before the children: 100 x malloc(100)
 * (SITE_PARENT), which forked children keep live.
 */
#define _GNU_SOURCE
#include <cprof.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void *volatile parent_blocks[100];
static void *volatile child_blocks[50];
static void *volatile exec_blocks[30];
static void *volatile after_blocks[10];
static volatile long sink;
static atomic_int stop, tforks_left = 2;
static atomic_long churned;
static char self[PATH_MAX];

/* Unbuffered, one write: no stdio buffer is copied into a child. */
static void say(const char *what, const char *role, long a, long b)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s %s %ld %ld\n", what, role, a, b);

	if (write(1, line, (size_t)n) != n)
		_exit(9);
}

__attribute__((noinline)) static void parent_setup(void)
{
	for (int i = 0; i < 100; i++)
		parent_blocks[i] = malloc(100); /* SITE_PARENT */
}

__attribute__((noinline)) static void child_work(void)
{
	sink++;
}

__attribute__((noinline)) static void child_alloc(void)
{
	for (int i = 0; i < 50; i++)
		child_blocks[i] = malloc(200); /* SITE_CHILD */
}

__attribute__((noinline)) static void exec_work(void)
{
	sink++;
}

__attribute__((noinline)) static int exec_main(const char *role)
{
	say("child", role, (long)getpid(), (long)getppid());
	for (int i = 0; i < 7; i++)
		exec_work();
	for (int i = 0; i < 30; i++)
		exec_blocks[i] = malloc(300); /* SITE_EXEC */
	return 0;
}

/* A forked child: its own calls and blocks, then exit() (atexit runs). */
__attribute__((noinline)) static void forked_child(const char *role)
{
	say("child", role, (long)getpid(), (long)getppid());
	for (int i = 0; i < 5; i++)
		child_work();
	child_alloc();
	exit(0);
}

static int wait_status(pid_t pid)
{
	int status;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

__attribute__((noinline)) static void churn_call(int i)
{
	sink += i;
}

static void *churner(void *arg)
{
	int forker = (int)(long)arg == 0, i;

	for (i = 0; !atomic_load(&stop); i++) {
		void *p = malloc(40);
		churn_call(i);
		void *q = realloc(p, 80 + (size_t)(i & 7));
		free(q);
		/* A fork from a thread that is not main, mid-churn. */
		if (forker && i % 2000 == 1999 && atomic_load(&tforks_left) > 0) {
			pid_t pid = fork();
			if (pid == 0)
				forked_child("tfork");
			say("status", "tfork", wait_status(pid), 0);
			atomic_fetch_sub(&tforks_left, 1);
		}
	}
	atomic_fetch_add(&churned, i);
	return NULL;
}

static void *snapshotter(void *arg)
{
	struct timespec ts = { 0, 2000000 };
	(void)arg;

	for (int i = 0; i < 10; i++) {
		cprof_snapshot("busy");
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[4], snapper;
	char cmd[PATH_MAX + 64];

	if (argc > 1)
		return exec_main(argv[1]);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 10;
	self[n] = 0;
	parent_setup();
	for (long i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, churner, (void *)i);
	pthread_create(&snapper, NULL, snapshotter, NULL);
	for (int k = 0; k < 4; k++) {
		pid_t pid = fork();
		if (pid == 0)
			forked_child("fork");
		say("status", "fork", wait_status(pid), 0);
	}
	for (int k = 0; k < 2; k++) {
		pid_t pid = fork();
		if (pid == 0) {
			char *args[] = { self, "exec", NULL };
			execv(self, args);
			_exit(127);
		}
		say("status", "exec", wait_status(pid), 0);
	}
	for (int k = 0; k < 2; k++) {
		char *args[] = { self, "spawn", NULL };
		pid_t pid;
		if (posix_spawn(&pid, self, NULL, NULL, args, environ) != 0)
			pid = -1;
		say("status", "spawn", wait_status(pid), 0);
	}
	snprintf(cmd, sizeof(cmd), "exec '%s' system", self);
	int st = system(cmd);
	say("status", "system", WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	snprintf(cmd, sizeof(cmd), "'%s' sh; exit 7", self);
	st = system(cmd);
	say("status", "sh", WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	/* The thread forks happen within the first few thousand rounds. */
	while (atomic_load(&tforks_left) > 0)
		sched_yield();
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	pthread_join(snapper, NULL);
	for (int i = 0; i < 10; i++)
		after_blocks[i] = malloc(300); /* SITE_AFTER */
	say("parent", "main", (long)getpid(), atomic_load(&churned));
	return 0;
}
