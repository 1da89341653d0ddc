/*
 * Start-up helpers shared by the two runtimes (see rtenv.h). No malloc,
 * no stdio: the memory runtime calls these before its allocator hooks
 * can serve anything.
 */
#include "rtenv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

void rtenv_say(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	const char *parts[5] = { a, b, c, d, e };
	struct iovec v[7];
	int n = 0;

	v[n++] = (struct iovec){ (void *)"cprof: ", 7 };
	for (int i = 0; i < 5; i++)
		if (parts[i])
			v[n++] = (struct iovec){ (void *)parts[i], strlen(parts[i]) };
	v[n++] = (struct iovec){ (void *)"\n", 1 };
	ssize_t r = writev(2, v, n);
	(void)r;
}

uint32_t rtenv_count(const char *name, uint32_t def, uint32_t lo, uint32_t hi)
{
	const char *s = getenv(name);
	char *end;

	if (!s || !*s)
		return def;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || *s == '-' || v < lo || v > hi) {
		rtenv_say("ignoring bad ", name, "='", s, "' (using the default)");
		return def;
	}
	return (uint32_t)v;
}

int rtenv_flag(const char *name)
{
	const char *s = getenv(name);

	if (!s || !*s || strcmp(s, "0") == 0)
		return 0;
	if (strcmp(s, "1") != 0) {
		rtenv_say("ignoring bad ", name, "='", s, "' (use 0 or 1)");
		return 0;
	}
	return 1;
}

uint64_t rtenv_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
