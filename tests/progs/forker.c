/*
 * fork: the child writes its own profile under its own PID, holding only
 * what ran in the child after the fork. Parent: before_fork 1,
 * parent_work 3; child: child_work 5 (and none of the parent's calls).
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int sink;

__attribute__((noinline)) static void before_fork(void)
{
	sink++;
}

__attribute__((noinline)) static void parent_work(void)
{
	sink++;
}

__attribute__((noinline)) static void child_work(void)
{
	sink++;
}

int main(void)
{
	before_fork();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 5; i++)
			child_work();
		return 0;
	}
	for (int i = 0; i < 3; i++)
		parent_work();
	int status;
	waitpid(pid, &status, 0);
	printf("child %d exited %d\n", (int)pid, WEXITSTATUS(status));
	return 0;
}
