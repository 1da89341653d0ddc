/*
 * Every way to start a child, each with an environment that lacks
 * cprof's variables where the API allows one (issue 10, item 7):
 *   spawn    posix_spawn(self, envp = { "PROCS=1" })
 *   spawnp   posix_spawnp(self, envp = { NULL })
 *   execve   fork + execve(self, envp = { "PROCS=1" })
 *   execle   fork + execle(self, envp = { NULL })
 *   execv    fork + clearenv() + execv(self)
 *   execvp   fork + execvp(self) (environ as it is)
 *   system   system("exec SELF system")
 *   popen    popen("exec SELF popen")
 *   fork     fork, no exec: fork_work x 3, exit
 *   other    posix_spawn(argv[1], envp = { NULL }) when given: another
 *            program (tests/progs/exitcode), stdin from /dev/null
 *   system2, popen2: system() and popen() again after clearenv()
 * Each exec'd or spawned role runs role_work x 5. The parent: run_all
 * (which forks and spawns) once, shell_children x 2, parent_work x 2.
 * Prints one line per child that exited 0; exits 1 if any child failed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile int sink;
static char self[4096];
static int failures;

__attribute__((noinline)) static void role_work(void)
{
	sink++;
}

__attribute__((noinline)) static void fork_work(void)
{
	sink++;
}

__attribute__((noinline)) static void parent_work(void)
{
	sink++;
}

static void waited(const char *what, pid_t pid)
{
	int status;

	if (pid <= 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		failures++;
	else
		printf("%s ok\n", what);
}

static void forked_exec(const char *how)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char *args[] = { self, (char *)how, NULL };
		char *one[] = { "PROCS=1", NULL }, *none[] = { NULL };
		if (!strcmp(how, "execve"))
			execve(self, args, one);
		else if (!strcmp(how, "execle"))
			execle(self, self, how, (char *)NULL, none);
		else if (!strcmp(how, "execv")) {
			clearenv();
			execv(self, args);
		} else {
			execvp(self, args);
		}
		_exit(127);
	}
	waited(how, pid);
}

/* system() and popen() of "exec SELF systemSUFFIX" (popenSUFFIX); with
 * a suffix, after clearenv(). */
__attribute__((noinline)) static void shell_children(const char *suffix)
{
	char cmd[4200], line[64];

	if (*suffix)
		clearenv();
	snprintf(cmd, sizeof(cmd), "exec '%s' system%s", self, suffix);
	fflush(stdout);
	if (system(cmd) == 0)
		printf("system%s ok\n", suffix);
	else
		failures++;
	snprintf(cmd, sizeof(cmd), "exec '%s' popen%s", self, suffix);
	FILE *p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		;
	if (p && pclose(p) == 0)
		printf("popen%s ok\n", suffix);
	else
		failures++;
}

__attribute__((noinline)) static void run_all(const char *other)
{
	char *one[] = { "PROCS=1", NULL }, *none[] = { NULL };
	pid_t pid;

	char *spawn_args[] = { self, "spawn", NULL };
	waited("spawn", posix_spawn(&pid, self, NULL, NULL, spawn_args, one) ? -1 : pid);
	char *spawnp_args[] = { self, "spawnp", NULL };
	waited("spawnp", posix_spawnp(&pid, self, NULL, NULL, spawnp_args, none) ? -1 : pid);
	forked_exec("execve");
	forked_exec("execle");
	forked_exec("execv");
	forked_exec("execvp");

	shell_children("");

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			fork_work();
		exit(0);
	}
	waited("fork", pid);

	if (other) {
		posix_spawn_file_actions_t fa;
		char *other_args[] = { (char *)other, "0", NULL };
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		waited("other", posix_spawn(&pid, other, &fa, NULL, other_args, none) ? -1 : pid);
		posix_spawn_file_actions_destroy(&fa);
	}
	shell_children("2");
}

int main(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	if (argc > 1 && strchr(argv[1], '/') == NULL) {
		for (int i = 0; i < 5; i++)
			role_work();
		return 0;
	}
	run_all(argc > 1 ? argv[1] : NULL);
	for (int i = 0; i < 2; i++)
		parent_work();
	return failures != 0;
}
