/*
 * Following every child. A program started by `cprof run` (CPROF_FOLLOW=1
 * in its first environment) passes cprof's variables on to every program
 * it starts: exec*(), posix_spawn*(), system() and popen() with an
 * environment that lacks them (an explicit envp, a cleared environ) get
 * them back: the LD_PRELOAD entries of cprof's runtimes and every CPROF_*
 * variable, as they were when this process started. A variable the
 * program sets itself is kept; its own LD_PRELOAD entries come after
 * cprof's.
 *
 * Linked into both runtimes: with both preloaded, the first one's
 * wrapper fixes the environment and the second one's finds nothing left
 * to do. No malloc (the memory profile must not see it) and nothing
 * else async-signal-unsafe on the way to exec: the new environment is
 * built on the stack, or in mmap'd memory when it is large.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

extern char **environ;

/* ---- what to put back, read once ---- */

#define SAVED_BYTES 32768
#define SAVED_MAX 128

static char saved_buf[SAVED_BYTES];
static const char *saved[SAVED_MAX];	/* "CPROF_NAME=value" */
static size_t nsaved;
static char our_preload[4096];		/* cprof's LD_PRELOAD entries, ':'-joined */
static int is_following;
static _Atomic int init_state;		/* 0 not yet, 1 reading, 2 done */

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

static execve_fn real_execve, real_execvpe;
static fexecve_fn real_fexecve;
static spawn_fn real_posix_spawn, real_posix_spawnp;
static int (*real_system)(const char *);
static FILE *(*real_popen)(const char *, const char *);

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* An LD_PRELOAD entry that is one of cprof's runtimes. */
static int is_our_library(const char *entry, size_t len)
{
	size_t base = len;

	while (base > 0 && entry[base - 1] != '/')
		base--;
	return len - base > 8 && memcmp(entry + base, "libcprof-", 9) == 0 &&
	       memcmp(entry + len - 3, ".so", 3) == 0;
}

static void add_preload_entries(const char *value)
{
	size_t used = strlen(our_preload);

	for (const char *p = value; *p;) {
		size_t len = strcspn(p, ": ");
		if (len && is_our_library(p, len) && used + len + 2 < sizeof(our_preload)) {
			if (used)
				our_preload[used++] = ':';
			memcpy(our_preload + used, p, len);
			used += len;
			our_preload[used] = 0;
		}
		p += len;
		if (*p)
			p++;
	}
}

static void keep(const char *entry, size_t *used)
{
	size_t len = strlen(entry);

	if (has_prefix(entry, "LD_PRELOAD=")) {
		add_preload_entries(entry + 11);
		return;
	}
	if (!has_prefix(entry, "CPROF_") || !strchr(entry, '=') || nsaved == SAVED_MAX ||
	    *used + len + 1 > sizeof(saved_buf))
		return;
	memcpy(saved_buf + *used, entry, len + 1);
	saved[nsaved++] = saved_buf + *used;
	*used += len + 1;
	if (!strcmp(entry, "CPROF_FOLLOW=1"))
		is_following = 1;
}

/*
 * The first environment: /proc/self/environ (right even from a
 * .preinit_array, before libc sets environ up, and after the program
 * changed environ), else environ itself.
 */
static void read_first_environment(void)
{
	static char raw[SAVED_BYTES];
	size_t used = 0, len = 0;
	int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		for (;;) {
			ssize_t n = read(fd, raw + len, sizeof(raw) - 1 - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		close(fd);
	}
	if (len) {
		raw[len] = 0;
		for (size_t at = 0; at < len; at += strlen(raw + at) + 1)
			keep(raw + at, &used);
		return;
	}
	for (char **e = environ; e && *e; e++)
		keep(*e, &used);
}

static void *next_symbol(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void spawn_init(void)
{
	int expect = 0;

	if (atomic_load(&init_state) == 2)
		return;
	if (!atomic_compare_exchange_strong(&init_state, &expect, 1)) {
		while (atomic_load(&init_state) != 2)
			sched_yield();
		return;
	}
	int saved_errno = errno;
	real_execve = (execve_fn)next_symbol("execve");
	real_execvpe = (execve_fn)next_symbol("execvpe");
	real_fexecve = (fexecve_fn)next_symbol("fexecve");
	real_posix_spawn = (spawn_fn)next_symbol("posix_spawn");
	real_posix_spawnp = (spawn_fn)next_symbol("posix_spawnp");
	real_system = (int (*)(const char *))next_symbol("system");
	real_popen = (FILE * (*)(const char *, const char *)) next_symbol("popen");
	read_first_environment();
	errno = saved_errno;
	atomic_store(&init_state, 2);
}

/* Before main, while one thread runs: the wrappers then never resolve
 * anything in a vfork()ed child or after a fork() (only a child started
 * from a .preinit_array, before this, resolves them on its way). */
__attribute__((constructor(101))) static void spawn_start(void)
{
	spawn_init();
}

/* ---- building the child's environment ---- */

/* Whether envp has NAME= for the NAME of entry ("NAME=value"). */
static const char *find_var(char *const envp[], const char *entry)
{
	size_t name = strcspn(entry, "=");

	for (size_t i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], entry, name) && envp[i][name] == '=')
			return envp[i];
	return NULL;
}

/* Whether the LD_PRELOAD value lists every entry of ours. */
static int has_our_preload(const char *value)
{
	for (const char *p = our_preload; *p;) {
		size_t len = strcspn(p, ":");
		int found = 0;
		for (const char *q = value; *q && !found;) {
			size_t qlen = strcspn(q, ": ");
			found = qlen == len && !memcmp(p, q, len);
			q += qlen;
			if (*q)
				q++;
		}
		if (!found)
			return 0;
		p += len;
		if (*p)
			p++;
	}
	return 1;
}

struct child_env {
	char *const *envp;	/* what to pass: the caller's, or built */
	void *mapped;		/* mmap'd storage to release, or NULL */
	size_t mapped_bytes;
};

#define STACK_BYTES 8192

/*
 * The environment for a child: envp itself when nothing is missing, or
 * envp plus what is, in space (stack_space, or mmap'd when larger).
 */
static void child_env_in(struct child_env *ce, char *const envp[], char *stack_space,
			 size_t stack_bytes)
{
	size_t n = 0, missing = 0, preload_len = 0;
	const char *preload = NULL;

	ce->envp = envp;
	ce->mapped = NULL;
	spawn_init();
	if (!is_following)
		return;
	static char *const empty[1] = { NULL };
	if (!envp)
		ce->envp = envp = empty;
	for (; envp[n]; n++)
		if (has_prefix(envp[n], "LD_PRELOAD=") && !preload)
			preload = envp[n];
	for (size_t i = 0; i < nsaved; i++)
		missing += !find_var(envp, saved[i]);
	int fix_preload = *our_preload && (!preload || !has_our_preload(preload + 11));
	if (!missing && !fix_preload)
		return;
	if (fix_preload)	/* "LD_PRELOAD=" ours ":" theirs NUL */
		preload_len = 11 + strlen(our_preload) + (preload ? 1 + strlen(preload + 11) : 0) + 1;
	size_t bytes = (n + missing + 2) * sizeof(char *) + preload_len;
	char *space = stack_space;
	if (bytes > stack_bytes) {
		space = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (space == MAP_FAILED)
			return;	/* the child runs unprofiled rather than not at all */
		ce->mapped = space;
		ce->mapped_bytes = bytes;
	}
	char **out = (char **)(void *)space;
	char *text = space + (n + missing + 2) * sizeof(char *);
	size_t k = 0;
	if (fix_preload) {
		char *t = text;
		memcpy(t, "LD_PRELOAD=", 11);
		t += 11;
		memcpy(t, our_preload, strlen(our_preload));
		t += strlen(our_preload);
		if (preload && preload[11]) {
			*t++ = ':';
			memcpy(t, preload + 11, strlen(preload + 11));
			t += strlen(preload + 11);
		}
		*t = 0;
		out[k++] = text;
	}
	for (size_t i = 0; i < n; i++)
		if (!fix_preload || envp[i] != preload)
			out[k++] = envp[i];
	for (size_t i = 0; i < nsaved; i++)
		if (!find_var(envp, saved[i]))
			out[k++] = (char *)saved[i];
	out[k] = NULL;
	ce->envp = out;
}

static void child_env(struct child_env *ce, char *const envp[], char *stack_space)
{
	child_env_in(ce, envp, stack_space, STACK_BYTES);
}

static void release_env(struct child_env *ce)
{
	if (ce->mapped)
		munmap(ce->mapped, ce->mapped_bytes);
}

/* ---- the wrappers ---- */

static int exec_with(execve_fn real, const char *path, char *const argv[], char *const envp[])
{
	char space[STACK_BYTES] __attribute__((aligned(16)));
	struct child_env ce;

	child_env(&ce, envp, space);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	int r = real(path, argv, ce.envp);
	int err = errno;
	release_env(&ce);
	errno = err;
	return r;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	spawn_init();
	return exec_with(real_execve, path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	spawn_init();
	return exec_with(real_execve, path, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	spawn_init();
	return exec_with(real_execvpe, file, argv, envp);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	spawn_init();
	return exec_with(real_execvpe, file, argv, environ);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	char space[STACK_BYTES] __attribute__((aligned(16)));
	struct child_env ce;

	spawn_init();
	child_env(&ce, envp, space);
	if (!real_fexecve) {
		errno = ENOSYS;
		return -1;
	}
	int r = real_fexecve(fd, argv, ce.envp);
	int err = errno;
	release_env(&ce);
	errno = err;
	return r;
}

enum exec_list_kind { EXEC_PATH, EXEC_SEARCH, EXEC_ENV };

/* execl, execlp, execle: the arguments up to the NULL, counted first,
 * then into an argv on the stack, as libc does (execle's envp follows
 * the NULL); then the v form, interposed above. */
static int exec_list(enum exec_list_kind kind, const char *path, const char *arg, va_list *ap)
{
	va_list c;
	size_t n = 1;

	va_copy(c, *ap);
	while (va_arg(c, char *))
		n++;
	va_end(c);
	char *argv[n + 1];
	argv[0] = (char *)arg;
	for (size_t i = 1; i <= n; i++)	/* argv[n]: the NULL */
		argv[i] = va_arg(*ap, char *);
	if (kind == EXEC_ENV)
		return execve(path, argv, va_arg(*ap, char *const *));
	return kind == EXEC_SEARCH ? execvp(path, argv) : execv(path, argv);
}

EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	int r = exec_list(EXEC_PATH, path, arg, &ap);
	va_end(ap);
	return r;
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	int r = exec_list(EXEC_SEARCH, file, arg, &ap);
	va_end(ap);
	return r;
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	int r = exec_list(EXEC_ENV, path, arg, &ap);
	va_end(ap);
	return r;
}

static int spawn_with(spawn_fn real, pid_t *pid, const char *path,
		      const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
		      char *const argv[], char *const envp[])
{
	char space[STACK_BYTES] __attribute__((aligned(16)));
	struct child_env ce;

	child_env(&ce, envp, space);
	if (!real)
		return ENOSYS;
	int r = real(pid, path, actions, attr, argv, ce.envp);
	release_env(&ce);
	return r;
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	spawn_init();
	return spawn_with(real_posix_spawn, pid, path, actions, attr, argv, envp);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	spawn_init();
	return spawn_with(real_posix_spawnp, pid, file, actions, attr, argv, envp);
}

/*
 * system() and popen() start "/bin/sh -c" with environ, and take no
 * environment of their own: when the program removed cprof's variables
 * from environ, environ points at a repaired copy for the call. The copy
 * is mmap'd, not on the stack: a setenv() in another thread meanwhile
 * keeps pointers into it (then it stays, and so does the program's new
 * environ).
 */
struct swapped {
	char **old;
	struct child_env ce;
};

static void swap_in(struct swapped *sw)
{
	sw->old = environ;
	spawn_init();
	child_env_in(&sw->ce, environ, NULL, 0);	/* mapped, whatever its size */
	if (sw->ce.envp != environ)
		environ = (char **)sw->ce.envp;
}

static void swap_out(struct swapped *sw)
{
	if (sw->ce.envp == sw->old)
		return;
	if (environ == (char **)sw->ce.envp) {
		environ = sw->old;
		release_env(&sw->ce);
	}
}

EXPORT int system(const char *command)
{
	struct swapped sw;

	spawn_init();
	if (!real_system)
		return -1;
	if (!command)
		return real_system(command);
	swap_in(&sw);
	int r = real_system(command);
	int err = errno;
	swap_out(&sw);
	errno = err;
	return r;
}

EXPORT FILE *popen(const char *command, const char *mode)
{
	struct swapped sw;

	spawn_init();
	if (!real_popen) {
		errno = ENOSYS;
		return NULL;
	}
	swap_in(&sw);
	FILE *f = real_popen(command, mode);
	int err = errno;
	swap_out(&sw);
	errno = err;
	return f;
}
