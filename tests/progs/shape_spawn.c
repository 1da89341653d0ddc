/*
 * Children started without fork: `shape_spawn METHOD` starts
 * `shape_spawn child N` one way and waits for it. The parent calls
 * start_child 1; the child calls child_work N times (N tells the methods
 * apart): posix_spawn 1, posix_spawnp 2, envp (fork + execve with an
 * environment of its own, without LD_PRELOAD) 3, system 4, popen 5,
 * spawn_envp (posix_spawn with an environment of its own) 6.
 */
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static volatile long sink;

__attribute__((noinline)) static void child_work(void)
{
	sink++;
}

static int wait_for(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return 1;
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

__attribute__((noinline)) static int start_child(const char *self, const char *method)
{
	char cmd[PATH_MAX + 32];
	pid_t pid;

	if (strcmp(method, "posix_spawn") == 0) {
		char *argv[] = { "shape_spawn", "child", "1", NULL };
		return posix_spawn(&pid, self, NULL, NULL, argv, environ) || wait_for(pid);
	}
	if (strcmp(method, "posix_spawnp") == 0) {
		char *argv[] = { "shape_spawn", "child", "2", NULL };
		return posix_spawnp(&pid, self, NULL, NULL, argv, environ) || wait_for(pid);
	}
	if (strcmp(method, "spawn_envp") == 0) {
		char *argv[] = { "shape_spawn", "child", "6", NULL };
		char *envp[] = { "PATH=/usr/bin:/bin", "SHAPE_SPAWN=spawn_envp", NULL };
		return posix_spawn(&pid, self, NULL, NULL, argv, envp) || wait_for(pid);
	}
	if (strcmp(method, "envp") == 0) {
		char *argv[] = { "shape_spawn", "child", "3", NULL };
		char *envp[] = { "PATH=/usr/bin:/bin", "SHAPE_SPAWN=envp", NULL };
		pid = fork();
		if (pid == 0) {
			execve(self, argv, envp);
			_exit(127);
		}
		return wait_for(pid);
	}
	if (strcmp(method, "system") == 0) {
		snprintf(cmd, sizeof cmd, "'%s' child 4", self);
		return system(cmd) != 0;
	}
	if (strcmp(method, "popen") == 0) {
		snprintf(cmd, sizeof cmd, "'%s' child 5", self);
		FILE *f = popen(cmd, "r");
		return !f || pclose(f) != 0;
	}
	fprintf(stderr, "shape_spawn: unknown method %s\n", method);
	return 2;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);

	if (argc == 3 && strcmp(argv[1], "child") == 0) {
		for (int i = 0; i < atoi(argv[2]); i++)
			child_work();
		return 0;
	}
	if (argc != 2 || len <= 0)
		return 2;
	self[len] = 0;
	fflush(stdout);
	return start_child(self, argv[1]);
}
