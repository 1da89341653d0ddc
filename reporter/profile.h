/*
 * A call profile (.prof) loaded into memory: meta, module map, and every
 * thread's calling-context tree in one node array. Reading checks every
 * count, size and index; never writes to stdout.
 */
#ifndef CPROF_REPORTER_PROFILE_H
#define CPROF_REPORTER_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/format.h"
#include "../common/modmap.h"

struct profile_node {
	uint64_t fn;		/* 0 for a thread's root */
	uint32_t parent;	/* index into profile.nodes; a root points to itself */
	uint32_t gen;		/* load generation it was made in (see fmt_module) */
	uint64_t calls;
	double incl_s;		/* seconds, as measured (no compensation) */
	double self_s;
};

struct profile_thread {
	uint64_t tid;
	char name[FMT_THREAD_NAME_MAX + 1];
	uint32_t root;		/* index of its root node */
	uint32_t nnodes;	/* nodes root .. root + nnodes - 1 */
	uint32_t process;	/* index into profile.processes */
};

/* A process whose profile went in (one, or several merged). */
struct profile_process {
	uint64_t pid, ppid;
	char program[FMT_PROGRAM_MAX];
	char *path;		/* the file */
	uint32_t inherited_node;	/* innermost node open since its parent's fork
					 * (index into profile.nodes), or UINT32_MAX */
	uint64_t start_unix_ns, end_unix_ns;
	double inner_s, outer_s;	/* its per-call hook overhead, seconds */
	/* The part of it the hooks' probes measured in the run (0, 0: none). */
	double probe_inner_s, probe_outer_s;
};

struct profile {
	char *path;
	struct fmt_meta meta;
	int is_counts_only;
	double inner_s, outer_s;	/* per-call hook overhead, seconds */
	struct modmap modules;
	struct profile_thread *threads;
	size_t nthreads;
	struct profile_node *nodes;
	size_t nnodes;
	struct profile_process *processes;
	size_t nprocesses;
	/* Merged: forked children's inherited calls not counted again */
	uint64_t inherited_calls_removed;
};

/*
 * Loads path. Returns a profile the caller frees with profile_free(), or
 * NULL after printing one error line (missing, truncated, corrupt,
 * foreign, a snapshot instead of a profile).
 */
struct profile *profile_open(const char *path);
void profile_free(struct profile *p);

/* Loads from a buffer (the fuzz target); same checks, same errors in err. */
struct profile *profile_parse(const struct fmt_file *f, char *err, size_t errlen);

/*
 * Sums profiles of several processes into one, as pstats' add() does:
 * their threads side by side, functions matched by module (path and
 * build-id) and offset, whatever address each process had them at. A
 * forked child's calls inherited open from a parent in the set count
 * once (the parent's); their time in every process adds up. The
 * profiles are consumed (freed). meta.program lists the programs.
 */
struct profile *profile_merge(struct profile **ps, size_t n);

/*
 * Loads one file, or merges several (a directory stands for the .prof
 * files in it). NULL after printing one error line; *is_usage set when
 * the set itself is wrong (a snapshot among profiles, an empty
 * directory, a file given twice). read: NULL, or per path the file
 * loaded_read() already read (taken over; data NULL: read it here).
 */
struct profile *profile_open_set(char *const *paths, size_t n, struct fmt_file *read,
				 int *is_usage);

#endif
