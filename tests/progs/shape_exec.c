/*
 * exec: calls made before an exec, then another program in the same
 * process. The parent calls before_exec 2 times, forks a child that calls
 * child_prep 1 time and execs shape_exec_image 4, waits, then execs
 * shape_exec_image 6 itself. shape_exec_image sits next to this program.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long sink;
static char image[PATH_MAX];

__attribute__((noinline)) static void before_exec(void)
{
	sink++;
}

__attribute__((noinline)) static void child_prep(void)
{
	sink++;
}

__attribute__((noinline)) static int run_image(const char *n)
{
	execl(image, "shape_exec_image", n, (char *)NULL);
	perror(image);
	return 1;
}

int main(void)
{
	ssize_t len = readlink("/proc/self/exe", image, sizeof image - 32);

	if (len <= 0)
		return 1;
	image[len] = 0;
	strcpy(strrchr(image, '/') + 1, "shape_exec_image");
	before_exec();
	before_exec();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		child_prep();
		_exit(run_image("4"));
	}
	if (waitpid(pid, NULL, 0) != pid)
		return 1;
	return run_image("6");
}
