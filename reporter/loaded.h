/*
 * The one loader: each input file read once, its kind taken from the
 * header, then the model (a call profile with its statistics and names,
 * or a memory snapshot) and its symbols. Never writes to stdout.
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
	struct callstats cs;		/* overhead-compensated but for report --no-compensate */
	const struct sym_frame **syms;	/* per cs.funcs entry */
	const char **names;		/* per function: its name */
	char **labels;			/* per function: file:line(function) */
	/* or a memory snapshot: */
	struct snapshot *s;
};

/* Reads path, once, into f; its kind is f->header.kind. A directory (a
 * merged set of profiles, see profile_open_set) is read file by file
 * later: f->data NULL, kind FMT_KIND_PROFILE. 0, or -1 after one error
 * line. Pass f on to loaded_open_read(), or release it with fmt_file_close(). */
int loaded_read(struct fmt_file *f, const char *path);
/* Builds l from f as loaded_read() left it (f is consumed either way);
 * 0, or -1 after one error line. Release with loaded_close() either way
 * (it accepts a zeroed or half-opened struct). */
int loaded_open_read(struct loaded *l, struct fmt_file *f);
/* loaded_read() then loaded_open_read(). */
int loaded_open(struct loaded *l, const char *path);
/* For a command that takes snapshots only: path read once and parsed as
 * one (a profile there is an error that names the command to use). */
int loaded_open_snapshot(struct loaded *l, const char *path);
/* The same for a profile already made (a merged set): l owns p from now
 * on; NULL p gives -1 (its error already said). compensate: subtract the
 * measured overhead of the hooks (what every command but `report
 * --no-compensate` wants). */
int loaded_adopt_profile(struct loaded *l, struct profile *p, const char *path, int compensate);
/* The same without naming any function: loaded_name_function(l, i) names
 * function i (syms, names, labels) when a caller needs it, once. For a
 * report that prints 20 rows of 100,000 functions. */
int loaded_adopt_profile_unnamed(struct loaded *l, struct profile *p, const char *path,
				 int compensate);
void loaded_name_function(struct loaded *l, size_t i);
void loaded_close(struct loaded *l);

#endif
