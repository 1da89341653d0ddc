/*
 * The reporter's one output writer (reporter/output.c): a write that
 * fails inside fwrite() (output past the stream's buffer) is reported
 * with its own reason. glibc drops that buffer, and a later fflush()
 * returns 0 with errno unset, so reading errno at the end gave a vague
 * "Input/output error" whenever the output's last write was a large one.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../../reporter/output.h"

/* Bytes past any stdio buffer, written by one fwrite(): the failing
 * write happens inside it and nothing is left for the final flush. */
#define BIG 65536
static char big[BIG];

/* Runs write_big() with stderr into a pipe (not a file: the file size
 * limit would cut it): what it printed. */
static char *stderr_of(int (*write_big)(const char *), const char *path, int *rc)
{
	static char text[512];
	int pipe_fds[2], saved = dup(2);

	cr_assert(pipe(pipe_fds) == 0 && saved >= 0);
	dup2(pipe_fds[1], 2);
	close(pipe_fds[1]);
	*rc = write_big(path);
	dup2(saved, 2);	/* the pipe's last writer closes: read sees its end */
	close(saved);
	size_t got = 0;
	ssize_t n;
	while ((n = read(pipe_fds[0], text + got, sizeof(text) - 1 - got)) > 0)
		got += (size_t)n;
	text[got] = 0;
	close(pipe_fds[0]);
	return text;
}

static int write_big(const char *path)
{
	struct output o;

	if (output_open(&o, path) < 0)
		return -1;
	fwrite(big, 1, BIG, o.f);
	return output_close(&o, 0);
}

Test(output, a_full_disk_on_stdout_says_why)
{
	int full = open("/dev/full", O_WRONLY), rc;

	cr_assert(full >= 0);
	dup2(full, 1);
	char *err = stderr_of(write_big, NULL, &rc);
	cr_assert_eq(rc, -1);
	cr_assert_str_eq(err, "cprof: cannot write 'standard output': No space left on device\n");
}

Test(output, a_file_size_limit_says_why_and_leaves_nothing)
{
	char dir[] = "/tmp/cprof-output-XXXXXX", path[64];
	struct rlimit limit = { 10, 10 };
	int rc;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out", dir);
	signal(SIGXFSZ, SIG_IGN);	/* the write fails with EFBIG instead */
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
	char *err = stderr_of(write_big, path, &rc);
	cr_assert_eq(rc, -1);
	char want[128];
	snprintf(want, sizeof(want), "cprof: cannot write '%s': File too large\n", path);
	cr_assert_str_eq(err, want);
	cr_assert_eq(rmdir(dir), 0, "something was left in %s", dir);	/* empty: no file, no temporary */
}

Test(output, a_file_is_written_whole)
{
	char dir[] = "/tmp/cprof-output-XXXXXX", path[64], want[128];
	int rc;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out", dir);
	memset(big, 'x', sizeof(big));
	char *err = stderr_of(write_big, path, &rc);
	cr_assert_eq(rc, 0);
	snprintf(want, sizeof(want), "cprof: wrote %s\n", path);
	cr_assert_str_eq(err, want);
	FILE *f = fopen(path, "r");
	cr_assert(f);
	static char back[BIG + 1];
	cr_assert_eq(fread(back, 1, sizeof(back), f), BIG);
	cr_assert_eq(memcmp(back, big, BIG), 0);
	fclose(f);
	unlink(path);
	cr_assert_eq(rmdir(dir), 0);
}
