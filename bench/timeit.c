/*
 * Wall-clock timer for bench/run.sh: runs a command, waits for it and
 * appends its elapsed CLOCK_MONOTONIC seconds to a file. Exits with the
 * command's status (128 + signal if killed), so a failing tool is seen.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: timeit FILE COMMAND [ARGS...]\n");
		return 2;
	}
	double start = now_seconds();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "timeit: cannot fork: %s\n", strerror(errno));
		return 127;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "timeit: cannot run '%s': %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "timeit: waitpid: %s\n", strerror(errno));
			return 127;
		}
	}
	double elapsed = now_seconds() - start;

	FILE *f = fopen(argv[1], "a");
	if (!f || fprintf(f, "%.6f\n", elapsed) < 0 || fclose(f) != 0) {
		fprintf(stderr, "timeit: cannot write '%s': %s\n", argv[1], strerror(errno));
		return 127;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
