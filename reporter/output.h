/*
 * The one way the reporter writes an output file: into a temporary
 * beside it, flushed, checked and synced, then renamed over the name
 * asked for, so a failed write (a full disk) leaves no half file and
 * never says "wrote". Standard output when no path is given.
 */
#ifndef CPROF_REPORTER_OUTPUT_H
#define CPROF_REPORTER_OUTPUT_H

#include <stdio.h>

struct output {
	FILE *f;		/* write here */
	const char *path;	/* borrowed; NULL: standard output */
	char *tmp;		/* the temporary beside path */
	int fd;			/* what f writes to: the temporary or 1 */
	int write_errno;	/* why the first write failed; 0: none did */
};

/* 0, or -1 after one error line (the temporary cannot be made). o must
 * stay where it is until output_close(): f writes through it. */
int output_open(struct output *o, const char *path);
/* Ends the output. rc is the writer's status: 0 keeps the file (and
 * says "cprof: wrote PATH"), non-zero (its error already said) removes
 * the temporary. Returns 0, or -1 after one error line when flushing,
 * syncing, closing or renaming failed. */
int output_close(struct output *o, int rc);

#endif
