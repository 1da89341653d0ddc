/*
 * The pprof and speedscope writers (export_pprof.c, export_speedscope.c).
 * Same contract as export.h: write to the FILE given, return 0 or -1
 * after one error line; never print to stdout on their own.
 */
#ifndef CPROF_REPORTER_EXPORT_MORE_H
#define CPROF_REPORTER_EXPORT_MORE_H

#include <stdio.h>

#include "callstats.h"
#include "snapshot.h"
#include "symbolize.h"

/*
 * Deepest stack either format keeps: a calling context deeper than this
 * keeps its innermost EXPORT_MAX_FRAMES - 1 frames under one
 * "[outer frames]" frame, so values and leaf functions stay exact while a
 * 100,000-deep recursion stays a file of megabytes, not terabytes.
 */
enum { EXPORT_MAX_FRAMES = 128 };
#define EXPORT_OUTER_FRAMES "[outer frames]"

/*
 * The gzipped perftools.profiles.Profile protobuf (pprof, Pyroscope,
 * Parca). Profiles: sample types calls/count and cpu/nanoseconds, one
 * sample per calling-context node, one location per function. Snapshots:
 * alloc_objects, alloc_space, inuse_objects, inuse_space, one sample per
 * trace, one location per return address with its inline lines.
 */
int export_pprof_profile(FILE *out, const struct profile *p, const struct callstats *cs,
			 struct symbolizer *sym);
int export_pprof_snapshot(FILE *out, const struct snapshot *s, struct symbolizer *sym);

/* speedscope's JSON file format: one "sampled" profile, weights in ns
 * (calls for a counts-only profile) or live bytes. */
int export_speedscope_profile(FILE *out, const struct profile *p, const struct callstats *cs,
			      struct symbolizer *sym);
int export_speedscope_snapshot(FILE *out, const struct snapshot *s, struct symbolizer *sym);

#endif
