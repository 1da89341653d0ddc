/*
 * The output directory of `cprof run` (outdir.c).
 */
#ifndef CPROF_REPORTER_OUTDIR_H
#define CPROF_REPORTER_OUTDIR_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* The cprof files in dir with their change times: taken before the run,
 * so afterwards only what the run wrote is named. */
struct dir_listing {
	char **names;
	struct timespec *ctimes;
	size_t n;
};

void list_dir(const char *dir, struct dir_listing *l);
void release_listing(struct dir_listing *l);

/* What the run wrote (new or replaced since `before`), named on stderr. */
struct written {
	char **files;		/* every file, sorted */
	size_t nfiles;
	char **profiles;	/* every .prof, sorted */
	size_t nprofiles;
	char *main_profile;	/* the program's own (its PID), or NULL */
	char *last_snapshot;	/* the program's own, highest SEQ (the exit one) */
};

/* Names on stderr each file of dir new or changed since before. */
void list_written(const char *dir, const struct dir_listing *before, pid_t child,
		  struct written *w);
void release_written(struct written *w);

/* Removes the temporaries of processes that no longer exist, and says so. */
void remove_stale_temporaries(const char *dir);

#endif
