/*
 * Temp file, fsync, rename. Every write error counts, with its reason: a
 * full disk can fail any write of the stream, and an unchecked one would
 * print "wrote" over a truncated file.
 */
#define _GNU_SOURCE	/* fopencookie */
#include "output.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * f's writes, through to o->fd, keeping the first failure's errno: glibc
 * drops a buffer whose write failed, and a later fflush() then returns 0
 * with errno unset, so only the write itself can say why (a full disk,
 * a file size limit). 0 on failure, as fopencookie(3) asks.
 */
static ssize_t write_through(void *cookie, const char *buf, size_t size)
{
	struct output *o = cookie;

	for (size_t done = 0; done < size;) {
		ssize_t n = write(o->fd, buf + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!o->write_errno)
				o->write_errno = n < 0 ? errno : EIO;
			return 0;
		}
		done += (size_t)n;
	}
	return (ssize_t)size;
}

int output_open(struct output *o, const char *path)
{
	static const cookie_io_functions_t io = { .write = write_through };

	memset(o, 0, sizeof(*o));
	o->path = path;
	o->fd = STDOUT_FILENO;
	if (path) {
		o->tmp = xstrfmt("%s.tmp%d", path, (int)getpid());
		o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (o->fd < 0) {
			int rc = error("cannot create '%s': %s (choose another -o)", path,
				       strerror(errno));
			free(o->tmp);
			o->tmp = NULL;
			return rc;
		}
	} else {
		fflush(stdout);	/* whatever stdout holds goes out first */
	}
	o->f = fopencookie(o, "w", io);
	if (o->f)
		return 0;
	int rc = error("cannot write '%s': %s", path ? path : "standard output", strerror(errno));
	if (o->tmp) {
		close(o->fd);
		unlink(o->tmp);
		free(o->tmp);
	}
	memset(o, 0, sizeof(*o));
	return rc;
}

int output_close(struct output *o, int rc)
{
	const char *name = o->path ? o->path : "standard output";

	if (fflush(o->f) != 0 || ferror(o->f) || o->write_errno) {
		if (rc == 0)
			rc = error("cannot write '%s': %s", name,
				   strerror(o->write_errno ? o->write_errno : EIO));
	}
	fclose(o->f);	/* its buffer is out: nothing left to fail */
	if (o->tmp) {
		if (rc == 0 && fsync(o->fd) != 0)
			rc = error("cannot write '%s': %s", name, strerror(errno));
		if (close(o->fd) != 0 && rc == 0)
			rc = error("cannot write '%s': %s", name, strerror(errno));
		if (rc == 0 && rename(o->tmp, o->path) != 0)
			rc = error("cannot create '%s': %s", o->path, strerror(errno));
		if (rc != 0)
			unlink(o->tmp);
		else
			fprintf(stderr, "cprof: wrote %s\n", o->path);
		free(o->tmp);
	}
	memset(o, 0, sizeof(*o));
	return rc;
}
