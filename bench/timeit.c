/*
 * Timer for bench/run.sh: runs a command, waits for it and appends a line
 * "WALL CPU" to a file: elapsed CLOCK_MONOTONIC seconds, and user+system
 * seconds of the command and the children it waited for. Exits with the
 * command's status (128 + signal if killed), so a failing tool is seen.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
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
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "timeit: wait4: %s\n", strerror(errno));
			return 127;
		}
	}
	double elapsed = now_seconds() - start;
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

	FILE *f = fopen(argv[1], "a");
	if (!f || fprintf(f, "%.6f %.6f\n", elapsed, cpu) < 0 || fclose(f) != 0) {
		fprintf(stderr, "timeit: cannot write '%s': %s\n", argv[1], strerror(errno));
		return 127;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
