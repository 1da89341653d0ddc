/*
 * Memory pressure under both runtimes; argv[1]:
 *   rlimit  RLIMIT_AS := the current size + 48 MiB, then malloc(SIZE)
 *           (SITE_FILL; SIZE = argv[2], default 1000) until one fails
 *           (after 10 made and freed first); prints how many succeeded
 *           and the errno; frees all but the first, keeps 100 x malloc(1000)
 *           (SITE_AFTER); then, with RLIMIT_AS := the size + 24 MiB,
 *           starts a thread (64 KiB stack) that calls thread_call() x 100.
 *   traces  40 distinct call sites site_0..site_39 (SITE_TRACES), 10 x
 *           malloc(16) each, kept, in that order: run with
 *           CPROF_MAX_TRACES=16, the first 15 get a trace and the other
 *           250 allocations are filed without a stack.
 * Output through write(2), not stdio: no stdout buffer joins the sites.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define FILL_MAX 4000000

static void *volatile fill[FILL_MAX];
static void *volatile after[100];
static volatile long sink;
static volatile size_t fill_size = 1000;

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(9);
}

static void limit_as(long headroom)
{
	long pages = 0, page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%ld", &pages) != 1)
		_exit(10);
	fclose(f);
	struct rlimit rl = { (rlim_t)(pages * page + headroom), RLIM_INFINITY };
	if (setrlimit(RLIMIT_AS, &rl) < 0)
		_exit(11);
}

__attribute__((noinline)) static void *fill_site(void)
{
	return malloc(fill_size); /* SITE_FILL */
}

__attribute__((noinline)) static void thread_call(void)
{
	sink++;
}

static void *thread_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		thread_call();
	return NULL;
}

static int mode_rlimit(void)
{
	char line[128];
	int n = 0, err = 0;

	for (int i = 0; i < 10; i++)	/* the site's trace exists before the limit */
		fill[i] = fill_site();
	for (int i = 0; i < 10; i++)
		free(fill[i]);
	limit_as(48 << 20);
	while (n < FILL_MAX) {
		errno = 0;
		void *p = fill_site();
		if (!p) {
			err = errno;
			break;
		}
		fill[n++] = p;
	}
	snprintf(line, sizeof(line), "fill_failed %s errno %s\nfilled %d\n",
		 n < FILL_MAX ? "yes" : "no", err ? strerrorname_np(err) : "0", n);
	say(line);
	for (int i = 1; i < n; i++)	/* fill[0] stays: the site shows its count */
		free(fill[i]);
	for (int i = 0; i < 100; i++)
		after[i] = malloc(1000); /* SITE_AFTER */
	limit_as(24 << 20);
	pthread_attr_t attr;
	pthread_t th;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	int r = pthread_create(&th, &attr, thread_main, NULL);
	if (r == 0)
		pthread_join(th, NULL);
	snprintf(line, sizeof(line), "thread %s\n", r == 0 ? "ran" : strerrorname_np(r));
	say(line);
	return 0;
}

static void *volatile traced[40][10];

#define SITE(k)                                                     \
	__attribute__((noinline)) static void site_##k(void)        \
	{                                                           \
		for (int i = 0; i < 10; i++)                        \
			traced[k][i] = malloc(16); /* SITE_TRACES */ \
	}
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7) SITE(8) SITE(9)
SITE(10) SITE(11) SITE(12) SITE(13) SITE(14) SITE(15) SITE(16) SITE(17) SITE(18) SITE(19)
SITE(20) SITE(21) SITE(22) SITE(23) SITE(24) SITE(25) SITE(26) SITE(27) SITE(28) SITE(29)
SITE(30) SITE(31) SITE(32) SITE(33) SITE(34) SITE(35) SITE(36) SITE(37) SITE(38) SITE(39)

static void (*const sites[40])(void) = {
	site_0, site_1, site_2, site_3, site_4, site_5, site_6, site_7, site_8, site_9,
	site_10, site_11, site_12, site_13, site_14, site_15, site_16, site_17, site_18, site_19,
	site_20, site_21, site_22, site_23, site_24, site_25, site_26, site_27, site_28, site_29,
	site_30, site_31, site_32, site_33, site_34, site_35, site_36, site_37, site_38, site_39,
};

static int mode_traces(void)
{
	for (int k = 0; k < 40; k++)
		sites[k]();
	say("sites 40 x 10\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2)
		fill_size = (size_t)atol(argv[2]);
	if (argc > 1 && !strcmp(argv[1], "rlimit"))
		return mode_rlimit();
	if (argc > 1 && !strcmp(argv[1], "traces"))
		return mode_traces();
	say("usage: torture_mem rlimit|traces\n");
	return 2;
}
