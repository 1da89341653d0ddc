/*
 * A cprof file opened for a command: a call profile with its statistics
 * and names, or a memory snapshot, whichever the file's header says.
 * The one loader of export, flamegraph, html, diff and whatif. Never
 * writes to stdout.
 */
#ifndef CPROF_REPORTER_LOADED_H
#define CPROF_REPORTER_LOADED_H

#include "callstats.h"
#include "snapshot.h"
#include "symbolize.h"

struct loaded {
	const char *path;		/* borrowed */
	struct symbolizer *sym;
	/* a call profile: */
	struct profile *p;
	struct callstats cs;		/* overhead-compensated */
	const struct sym_frame **syms;	/* per cs.funcs entry */
	const char **names;		/* per function: its name */
	char **labels;			/* per function: file:line(function) */
	/* or a memory snapshot: */
	struct snapshot *s;
};

/* The kind of cprof file at path (enum fmt_kind), or -1 after one error line. */
int loaded_kind(const char *path);
/* Opens path (a directory: the merged set of the call profiles in it,
 * see profile_open_set); 0, or -1 after one error line. Release with loaded_close()
 * either way (it accepts a zeroed or half-opened struct). */
int loaded_open(struct loaded *l, const char *path);
/* The same for a profile already made (a merged set): l owns p from now
 * on; NULL p gives -1 (its error already said). */
int loaded_adopt_profile(struct loaded *l, struct profile *p, const char *path);
void loaded_close(struct loaded *l);

#endif
