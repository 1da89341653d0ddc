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
	uint64_t calls;
	double incl_s;		/* seconds, as measured (no compensation) */
	double self_s;
};

struct profile_thread {
	uint64_t tid;
	char name[FMT_THREAD_NAME_MAX + 1];
	uint32_t root;		/* index of its root node */
	uint32_t nnodes;	/* nodes root .. root + nnodes - 1 */
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

#endif
