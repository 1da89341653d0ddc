/*
 * Start-up helpers shared by the two runtimes (see rtenv.h). No malloc,
 * no stdio: the memory runtime calls these before its allocator hooks
 * can serve anything.
 */
#include "rtenv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/*
 * Before libc has set up environ (a hook run from .preinit_array, before
 * libc's own constructor), getenv() sees nothing: the CPROF_ variables
 * are then read from /proc/self/environ, the environment the process
 * started with, into a static buffer (no malloc). Only start-up reads
 * them, and nothing else runs that early, so it is read once.
 */
#define EARLY_PREFIX "CPROF_"
static char early_vars[16384];	/* "NAME=VALUE\0" ... "\0" */
static _Atomic int early_state;	/* 0 unread, 1 being read, 2 read */

static void early_read(void)
{
	char buf[4096], entry[4096 + 8];
	size_t used = 0, elen = 0;
	int is_long = 0, fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i]) {
				if (elen < sizeof(entry) - 1)
					entry[elen++] = buf[i];
				else
					is_long = 1;
				continue;
			}
			/* One whole entry: kept if it is ours and fits. */
			if (!is_long && elen > strlen(EARLY_PREFIX) &&
			    !memcmp(entry, EARLY_PREFIX, strlen(EARLY_PREFIX)) &&
			    used + elen + 2 <= sizeof(early_vars)) {
				memcpy(early_vars + used, entry, elen);
				used += elen;
				early_vars[used++] = 0;
			}
			elen = 0;
			is_long = 0;
		}
	}
	close(fd);
}

static const char *early_get(const char *name)
{
	int expected = 0;
	size_t len = strlen(name);

	if (atomic_compare_exchange_strong(&early_state, &expected, 1)) {
		early_read();
		atomic_store(&early_state, 2);
	}
	if (atomic_load(&early_state) != 2)
		return NULL;
	for (const char *e = early_vars; *e; e += strlen(e) + 1)
		if (!strncmp(e, name, len) && e[len] == '=')
			return e + len + 1;
	return NULL;
}

const char *rtenv_get(const char *name)
{
	return environ ? getenv(name) : early_get(name);
}

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
	const char *s = rtenv_get(name);
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

uint64_t rtenv_bytes(const char *name, uint64_t def, uint64_t lo)
{
	const char *s = rtenv_get(name);
	char *end;

	if (!s || !*s)
		return def;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = 0;
	if (*end) {
		const char *units = "KMGT";
		const char *u = strchr(units, *end);
		if (u && end[1] == 0)
			shift = 10 * (int)(u - units + 1);
		else
			v = 0;	/* bad */
	}
	if (errno || end == s || *s == '-' || (shift && v > (~0ull >> shift)) ||
	    (v << shift) < lo) {
		rtenv_say("ignoring bad ", name, "='", s, "' (bytes, or K, M, G, T; using the default)");
		return def;
	}
	return (uint64_t)v << shift;
}

int rtenv_flag(const char *name)
{
	const char *s = rtenv_get(name);

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
