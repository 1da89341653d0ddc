/*
 * Memory over time with known steps (tests/e2e/test_timeline.py):
 *   steps: grow STEPS blocks of STEP_BYTES, touched so RSS grows too,
 *     pausing between steps so the helper samples; free the last half;
 *     snapshot "quiet" while nothing allocates; exit.
 *   tasks: exit status = the threads of the process (/proc/self/task).
 *   idle MS: sleep MS milliseconds, allocating nothing (the helper's cost,
 *     and decimation: a long run with a tiny CPROF_TIMELINE).
 * No stdio (its buffer would be a site).
 */
#define _GNU_SOURCE
#include <cprof.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEPS 4
#define STEP_BYTES (1 << 20)

static void *volatile blocks[STEPS];

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int steps(void)
{
	for (int i = 0; i < STEPS; i++) {
		blocks[i] = malloc(STEP_BYTES); /* SITE_STEP */
		memset(blocks[i], 1, STEP_BYTES);
		sleep_ms(30);
	}
	for (int i = STEPS / 2; i < STEPS; i++)
		free(blocks[i]);
	sleep_ms(30);
	cprof_snapshot("quiet");
	return 0;
}

static int tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 255;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "tasks"))
		return tasks();
	if (argc > 2 && !strcmp(argv[1], "idle")) {
		sleep_ms(atol(argv[2]));
		return 0;
	}
	return steps();
}
