/*
 * A double-forking daemon: the first child calls setsid, forks the daemon
 * and exits; the daemon, reparented, works and exits. The parent waits for
 * the daemon through a pipe the daemon holds open (end of file comes only
 * once it has exited, after it has written its files: it never closes
 * its end itself).
 *   parent: wait_daemon 1; first child: detach 1, leaf 2;
 *   daemon: daemon_work 7, leaf 21
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long sink;

__attribute__((noinline)) static void leaf(void)
{
	sink++;
}

__attribute__((noinline)) static void daemon_work(void)
{
	for (int i = 0; i < 3; i++)
		leaf();
}

__attribute__((noinline)) static void detach(void)
{
	setsid();
	leaf();
	pid_t pid = fork();
	if (pid == 0) {
		/* The pipe's write end stays open until the process is gone. */
		for (int i = 0; i < 7; i++)
			daemon_work();
		exit(0);
	}
	leaf();
	exit(pid < 0);
}

__attribute__((noinline)) static int wait_daemon(int fd, pid_t child)
{
	char c;

	while (read(fd, &c, 1) > 0)
		;
	return waitpid(child, NULL, 0) != child;
}

int main(void)
{
	int fds[2];

	if (pipe(fds) != 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		detach();
	}
	close(fds[1]);
	return wait_daemon(fds[0], pid);
}
