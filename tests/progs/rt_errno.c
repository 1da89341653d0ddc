/*
 * The call hooks keep the program's errno when attaching a thread fails:
 * a thread (its start routine uninstrumented, so it has no tables yet)
 * lowers RLIMIT_AS to just above the address space in use, so that the
 * first hook cannot map the thread's tables, sets errno = EDOM and calls
 * probe(), which reads errno first thing (after the entry hook); then
 * probe_exit() sets errno = ERANGE just before its exit hook. Prints
 * what the two saw: "entry EDOM exit ERANGE" without cprof.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define NO_HOOKS __attribute__((noinline, no_instrument_function))

static int seen_entry, seen_exit;

__attribute__((noinline)) static void probe(void)
{
	seen_entry = errno;
}

__attribute__((noinline)) static void probe_exit(void)
{
	errno = ERANGE;
}

NO_HOOKS static unsigned long vm_bytes(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return pages * (unsigned long)sysconf(_SC_PAGESIZE);
}

NO_HOOKS static void *limited(void *arg)
{
	struct rlimit old, lim;
	(void)arg;

	getrlimit(RLIMIT_AS, &old);
	lim = old;
	lim.rlim_cur = vm_bytes() + 64 * 1024;
	if (setrlimit(RLIMIT_AS, &lim) != 0)
		return NULL;
	errno = EDOM;
	probe();
	probe_exit();
	seen_exit = errno;
	setrlimit(RLIMIT_AS, &old);
	return NULL;
}

NO_HOOKS static const char *name(int e)
{
	return e == EDOM ? "EDOM" : e == ERANGE ? "ERANGE" : strerror(e);
}

int main(void)
{
	pthread_t th;

	pthread_create(&th, NULL, limited, NULL);
	pthread_join(th, NULL);
	printf("entry %s exit %s\n", name(seen_entry), name(seen_exit));
	return 0;
}
