/*
 * fork: three children started from spawn_child(), one of which forks a
 * grandchild. Every process calls leaf() a different number of times, so
 * each is told apart by its counts alone:
 *   parent      parent_work 3, spawn_child 3, leaf 3
 *   child 0     child_work 1, leaf 10        (exits inside spawn_child)
 *   child 1     child_work 2, leaf 27, fork_grandchild 1
 *   grandchild  child_work 1, leaf 7         (exits inside fork_grandchild)
 *   child 2     child_work 1, leaf 30        (returns from spawn_child and
 *                                             main, closing the inherited
 *                                             frames)
 * A child inherits the frames open at its fork (main, spawn_child and
 * for the grandchild fork_grandchild): those are not calls it made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long sink;

__attribute__((noinline)) static void leaf(void)
{
	sink++;
}

__attribute__((noinline)) static void child_work(int n)
{
	for (int i = 0; i < n; i++)
		leaf();
}

__attribute__((noinline)) static void parent_work(void)
{
	leaf();
}

__attribute__((noinline)) static void fork_grandchild(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		child_work(7);
		exit(0);
	}
	waitpid(pid, NULL, 0);
}

/* Returns the child's pid in the parent, 0 in a child that returns. */
__attribute__((noinline)) static pid_t spawn_child(int k)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (k == 2)
		return 0;
	child_work(10 * (k + 1));
	if (k == 1) {
		fork_grandchild();
		child_work(7);
	}
	exit(0);
}

int main(void)
{
	pid_t pids[3];

	fflush(stdout);
	for (int k = 0; k < 3; k++) {
		parent_work();
		pids[k] = spawn_child(k);
		if (pids[k] == 0) {
			child_work(30);
			return 0;
		}
	}
	for (int k = 0; k < 3; k++)
		if (waitpid(pids[k], NULL, 0) != pids[k])
			return 1;
	return 0;
}
