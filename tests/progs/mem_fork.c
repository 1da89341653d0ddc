/*
 * fork() while other threads allocate, for the memory profiler's
 * fork-safety test. Before forking: 100 x malloc(100) (SITE_PARENT).
 * 4 threads churn malloc/free during 20 forks; each child allocates
 * 50 x malloc(200) (SITE_CHILD), takes a snapshot "child" and exits
 * normally; the parent then allocates 10 x malloc(300) (SITE_AFTER).
 * Each child's files carry its own PID: SITE_PARENT 100 + SITE_CHILD 50
 * live; the parent's exit snapshot: SITE_PARENT 100 + SITE_AFTER 10.
 */
#include <cprof.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile parent_blocks[100];
static void *volatile child_blocks[50];
static void *volatile after_blocks[10];
static atomic_int stop;

__attribute__((noinline)) static void parent_alloc(void)
{
	for (int i = 0; i < 100; i++)
		parent_blocks[i] = malloc(100); /* SITE_PARENT */
}

__attribute__((noinline)) static void child_alloc(void)
{
	for (int i = 0; i < 50; i++)
		child_blocks[i] = malloc(200); /* SITE_CHILD */
}

__attribute__((noinline)) static void after_alloc(void)
{
	for (int i = 0; i < 10; i++)
		after_blocks[i] = malloc(300); /* SITE_AFTER */
}

static void *churner(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		void *p = malloc(40);
		void *q = realloc(p, 80);
		free(q);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[4];
	int failures = 0;

	parent_alloc();
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, churner, NULL);
	for (int k = 0; k < 20; k++) {
		pid_t pid = fork();
		if (pid == 0) {
			child_alloc();
			if (cprof_snapshot("child") != 0 && cprof_rt_snapshot)
				_exit(3);
			exit(0);
		}
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failures++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	after_alloc();
	printf("forks done, %d failed\n", failures);
	return failures != 0;
}
