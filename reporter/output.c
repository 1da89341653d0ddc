/*
 * Temp file, fsync, rename. Every stdio error counts: a full disk can
 * fail the last fflush or only fclose, and an unchecked one would print
 * "wrote" over a truncated file.
 */
#include "output.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int output_open(struct output *o, const char *path)
{
	o->path = path;
	o->tmp = path ? xstrfmt("%s.tmp%d", path, (int)getpid()) : NULL;
	o->f = o->tmp ? fopen(o->tmp, "wx") : stdout;
	if (o->f)
		return 0;
	int rc = error("cannot create '%s': %s (choose another -o)", path, strerror(errno));
	free(o->tmp);
	o->tmp = NULL;
	return rc;
}

/* errno when a call failed, else what a sticky stream error most likely was. */
static const char *why(void)
{
	return strerror(errno ? errno : EIO);
}

int output_close(struct output *o, int rc)
{
	const char *name = o->path ? o->path : "standard output";

	errno = 0;
	if (rc == 0 && (fflush(o->f) != 0 || ferror(o->f)))
		rc = error("cannot write '%s': %s", name, why());
	if (o->tmp) {
		errno = 0;
		if (rc == 0 && fsync(fileno(o->f)) != 0)
			rc = error("cannot write '%s': %s", name, why());
		errno = 0;
		if (fclose(o->f) != 0 && rc == 0)
			rc = error("cannot write '%s': %s", name, why());
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
