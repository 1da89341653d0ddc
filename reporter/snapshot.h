/*
 * A memory snapshot (.snap) loaded into memory, and tracemalloc's
 * statistics over it: grouping by line, file, function or whole
 * traceback, filtering, and comparing two snapshots. Reading checks
 * every count and length; never writes to stdout.
 */
#ifndef CPROF_REPORTER_SNAPSHOT_H
#define CPROF_REPORTER_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/format.h"
#include "../common/modmap.h"
#include "symbolize.h"

/* ---- loading ---- */

struct snap_trace {
	uint64_t live_bytes, live_blocks;	/* at the snapshot */
	uint64_t total_bytes, total_blocks;	/* allocated since start */
	uint64_t temporary_blocks;	/* of those, freed as their thread's next event */
	uint64_t peak_bytes, peak_blocks;	/* live at the process's peak */
	uint32_t nframes;
	uint32_t gen;			/* load generation (see common/modmap.h) */
	const uint64_t *frames;		/* return addresses, innermost first; in frames */
};

struct snapshot {
	char *path;
	struct fmt_meta meta;		/* program and label NUL-terminated */
	struct fmt_snap_info info;
	struct modmap modules;
	int has_totals;			/* FMT_FEAT_TRACE_TOTALS: temporaries known */
	int has_peak;			/* FMT_FEAT_TRACE_PEAK: the peak's composition known */
	int has_sizes;			/* FMT_SEC_SIZES: the size histogram known */
	/* Bucket k as common/format.h defines it; zero past the file's count. */
	struct fmt_size_bucket sizes[FMT_SIZE_BUCKETS];
	struct snap_trace *traces;
	size_t ntraces;
	uint64_t *frames;		/* storage of every trace's frames */
	/* FMT_SEC_TIMELINE: memory over time, samples in time order (none:
	 * an older file, or CPROF_TIMELINE=0). */
	int has_timeline;
	struct fmt_timeline timeline;
	struct fmt_timeline_sample *samples;
};

/* A snapshot from a container read by the loader (loaded.h; tests,
 * fuzzing): NULL with one line in err (truncated, corrupt, a call
 * profile instead of a snapshot). Free with snapshot_free(). */
struct snapshot *snapshot_parse(const struct fmt_file *f, char *err, size_t errlen);
void snapshot_free(struct snapshot *s);
/* Makes what was live at the peak s's live blocks (flame graphs and
 * exports of the peak); s must have has_peak. */
void snapshot_use_peak(struct snapshot *s);

/* ---- statistics ---- */

enum snap_key { SNAP_BY_LINENO, SNAP_BY_FILENAME, SNAP_BY_FUNCTION, SNAP_BY_TRACEBACK };

/* Parses "lineno", "filename", "function", "traceback"; -1 if none. */
int snapshot_parse_key(const char *s);

/* What ranks the groups: live now, or a total over the run. */
enum snap_sort {
	SNAP_SORT_SIZE, SNAP_SORT_COUNT, SNAP_SORT_ALLOCATED_SIZE, SNAP_SORT_ALLOCATED_COUNT,
	SNAP_SORT_TEMPORARY_COUNT,
};
/* Parses "size", "count", "allocated_size", ...; -1 if none. */
int snapshot_parse_sort(const char *s);
const char *snapshot_sort_name(enum snap_sort sort);
static inline int snapshot_sort_is_total(int sort)
{
	return sort >= SNAP_SORT_ALLOCATED_SIZE;
}

/*
 * tracemalloc's filters, on the innermost frame of each trace (or any
 * frame with all_frames): a glob matched against the source file (as
 * shown and its base name) and the module (path and base name). A trace
 * is kept when it matches one include (if any) and no exclude.
 * Strings are borrowed.
 */
struct snap_filter {
	const char **include;
	size_t ninclude;
	const char **exclude;
	size_t nexclude;
	int all_frames;
	int hide_libc_kept;	/* leave out what libc keeps for the process's life */
	/* enum snap_sort: ranks the groups. By a total, groups with nothing
	 * live are kept too (where churn hides). */
	int sort;
	/* What was live at the process's peak instead of at the snapshot
	 * (size and count; the totals stay the run's). */
	int at_peak;
};

/* One group: a line, a file, a function or a whole traceback. */
struct snap_stat {
	char *key;		/* what identifies the group, for printing */
	const char *file;	/* innermost frame; owned by the symbolizer */
	const char *function;
	int line;		/* 0 for --by filename */
	struct sym_frame *frames;	/* traceback: inline-expanded, innermost first */
	int nframes;
	int64_t size, count;		/* live bytes and blocks (NEW for a diff) */
	int64_t size_diff, count_diff;	/* NEW - OLD; 0 for plain statistics */
	uint64_t total_size, total_count;	/* allocated since start (NEW for a diff) */
	uint64_t temp_count;			/* of those, temporaries */
	int64_t total_size_diff, total_count_diff, temp_count_diff;	/* NEW - OLD */
};

struct snap_stats {
	struct snap_stat *stats;
	size_t nstats;
	int64_t size, count;		/* sums over the kept traces */
	int64_t hidden_size, hidden_count;	/* left out by hide_libc_kept */
	int64_t size_diff, count_diff;
	uint64_t total_size, total_count, temp_count;	/* over the run */
	int64_t total_size_diff, total_count_diff, temp_count_diff;
};

/*
 * Groups s's live blocks by key: stats sorted by size, then count, then
 * key, as Snapshot.statistics() does (or by filter->sort, then key).
 * Groups with no live block are left out unless sorted by a total. sym must symbolize s (made from s->modules). Caller releases
 * out with snapshot_stats_release().
 */
void snapshot_statistics(const struct snapshot *s, struct symbolizer *sym, enum snap_key key,
			 const struct snap_filter *filter, struct snap_stats *out);
/*
 * new compared to old (compare_to): every group live in either, sorted by
 * absolute size difference, then size, absolute count difference, count
 * (by a total: every group that allocated in either, by the absolute
 * difference of that total, then the total).
 */
void snapshot_compare(const struct snapshot *old_snap, struct symbolizer *old_sym,
		      const struct snapshot *new_snap, struct symbolizer *new_sym,
		      enum snap_key key, const struct snap_filter *filter, struct snap_stats *out);
void snapshot_stats_release(struct snap_stats *st);

/* Whether t's block is one the C library allocated for itself and keeps
 * until exit (stdout's buffer, locale data, ...): not a program leak. */
int snapshot_is_libc_kept(struct symbolizer *sym, const struct snap_trace *t);

#endif
