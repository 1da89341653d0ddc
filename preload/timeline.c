/*
 * Memory over time: traced bytes and RSS, sampled by the helper thread,
 * or in a single-threaded program at the end of a hook (snapshot_tick),
 * into a fixed static store, decimated when full. Callers hold the
 * snapshot lock, so a sample and a snapshot's copy never interleave. No
 * malloc, no stdio.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct {
	struct fmt_timeline_sample samples[FMT_TIMELINE_MAX];
	uint32_t nsamples;
	uint32_t decimations;
} line;

uint64_t timeline_interval_ns(void)
{
	return ((uint64_t)rt.timeline_us * 1000u) << line.decimations;
}

/*
 * VmRSS from /proc/self/statm, by raw system calls: a host that wraps
 * open() never sees ours. Opened and closed each time: a held
 * descriptor is one the program could close or dup2 over. 0 if unread.
 */
static uint64_t rss_bytes(void)
{
	char buf[128];
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/statm", O_RDONLY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return 0;
	n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "size resident shared ...": the second field, in pages. */
	const char *p = buf;
	while (*p && *p != ' ')
		p++;
	uint64_t pages = 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		pages = pages * 10 + (uint64_t)(*p - '0');
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Full: keep samples 0, 2, 4, ... and sample half as often from now. */
static void decimate(void)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < line.nsamples; i += 2)
		line.samples[kept++] = line.samples[i];
	line.nsamples = kept;
	line.decimations++;
}

void timeline_sample(uint64_t traced_bytes)
{
	if (!rt.timeline_us)
		return;
	if (line.nsamples == FMT_TIMELINE_MAX)
		decimate();
	struct fmt_timeline_sample *s = &line.samples[line.nsamples++];
	/* Read under the snapshot lock, like every other sample: in order. */
	uint64_t now = clock_mono_ns();
	s->t_ns = now > rt.start_mono_ns ? now - rt.start_mono_ns : 0;
	if (line.nsamples > 1 && s->t_ns < s[-1].t_ns)
		s->t_ns = s[-1].t_ns;
	s->traced_bytes = traced_bytes;
	s->rss_bytes = rss_bytes();
}

void timeline_write(struct fmt_writer *w)
{
	struct fmt_timeline head;

	if (!rt.timeline_us)
		return;
	memset(&head, 0, sizeof(head));
	head.interval_ns = timeline_interval_ns();
	head.base_interval_ns = (uint64_t)rt.timeline_us * 1000u;
	head.nsamples = line.nsamples;
	head.decimations = line.decimations;
	fmt_writer_begin(w, FMT_SEC_TIMELINE, line.nsamples);
	fmt_writer_put(w, &head, sizeof(head));
	fmt_writer_put(w, line.samples, (size_t)line.nsamples * sizeof(line.samples[0]));
	fmt_writer_end(w);
}
