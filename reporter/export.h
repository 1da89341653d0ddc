/*
 * Writers of the formats other tools read, over the loaded model, and
 * the one table of them. Each writes to the FILE it is given and
 * returns 0, or -1 after one error line; a failed write of the FILE
 * itself is output_close()'s to report (output.h). Never prints to
 * stdout on its own. A new format: one export_<name>.c and one row in
 * export.c.
 */
#ifndef CPROF_REPORTER_EXPORT_H
#define CPROF_REPORTER_EXPORT_H

#include <stdio.h>

#include "loaded.h"
#include "stacks.h"

/* One format of `cprof export --format NAME`. */
struct exporter {
	const char *name;
	int (*write_profile)(FILE *out, struct loaded *in);
	int (*write_snapshot)(FILE *out, struct loaded *in);
	const char *help;	/* one line: who reads it */
};

/* The formats, in the order the usage lists them; ends with a NULL name. */
extern const struct exporter exporters[];
/* The row named name, or NULL. */
const struct exporter *exporter_find(const char *name);
/* The names as "a|b|c" (sep "|") or "a, b or c" (sep ", ", last " or "),
 * for the usage and the errors; the caller frees it. */
char *exporter_names(const char *sep, const char *last_sep);

/*
 * Deepest stack pprof and speedscope keep: a calling context deeper than
 * this keeps its innermost EXPORT_MAX_FRAMES - 1 frames under one
 * "[outer frames]" frame, so values and leaf functions stay exact while a
 * 100,000-deep recursion stays a file of megabytes, not terabytes.
 */
enum { EXPORT_MAX_FRAMES = 128 };
#define EXPORT_OUTER_FRAMES "[outer frames]"

/* Folded stacks: "outer;...;inner VALUE\n" per stack (flamegraph.pl,
 * inferno, speedscope's folded import). export_folded_line is the
 * stacks_visit behind it, ctx the FILE. */
void export_folded_line(void *ctx, const char *const *frames, int nframes, uint64_t value);
int export_folded_profile(FILE *out, struct loaded *in);
int export_folded_snapshot(FILE *out, struct loaded *in);

/*
 * The Callgrind format (callgrind_annotate, KCachegrind). Profiles: one
 * event, "ns" (exclusive time per function, inclusive per call edge with
 * its call count), positions by the functions' definition lines.
 * Snapshots: events Bytes and Blocks of live memory, self cost on each
 * allocating line, inclusive cost on each call site (calls= counts the
 * live blocks below it).
 */
int export_callgrind_profile(FILE *out, struct loaded *in);
int export_callgrind_snapshot(FILE *out, struct loaded *in);

/*
 * The gzipped perftools.profiles.Profile protobuf (pprof, Pyroscope,
 * Parca). Profiles: sample types calls/count and cpu/nanoseconds, one
 * sample per calling-context node, one location per function. Snapshots:
 * alloc_objects, alloc_space, inuse_objects, inuse_space, one sample per
 * trace, one location per return address with its inline lines.
 */
int export_pprof_profile(FILE *out, struct loaded *in);
int export_pprof_snapshot(FILE *out, struct loaded *in);

/* speedscope's JSON file format: one "sampled" profile, weights in ns
 * (calls for a counts-only profile) or live bytes. */
int export_speedscope_profile(FILE *out, struct loaded *in);
int export_speedscope_snapshot(FILE *out, struct loaded *in);

/* `cprof flamegraph`: the SVG of a profile or a snapshot, or with base
 * (the older file, of the same kind) coloured by growth. */
int export_svg_write(FILE *out, struct loaded *in, struct loaded *base);
/* Its pieces, shared with the html page: the graph of in's stacks (a
 * profile's as drawn at FLAMEGRAPH_RESOLUTION when alone; *total, when
 * given, their sum), "time in PROG (pid N)" or "live memory at ...",
 * and the unit of the values. */
struct flamegraph *export_svg_build(struct loaded *in, struct loaded *base, uint64_t *total);
char *export_svg_title(const struct loaded *in);
const char *export_svg_unit(const struct loaded *in);

/* A flame graph as a standalone SVG, built from stacks_visit calls. */
struct flamegraph;
/* The drawing's width, and how many of its narrowest frames drawn (a
 * tenth of a pixel) fit in it: anything narrower is not drawn alone. */
#define FLAMEGRAPH_WIDTH_PX 1200
#define FLAMEGRAPH_RESOLUTION (FLAMEGRAPH_WIDTH_PX * 10)
struct flamegraph *flamegraph_new(void);
void flamegraph_free(struct flamegraph *fg);
void flamegraph_add(void *fg, const char *const *frames, int nframes, uint64_t value);
/* The same stacks from the older file of a comparison: widths stay the
 * newer file's, colours show growth (red) and shrink (blue). */
void flamegraph_add_base(void *fg, const char *const *frames, int nframes, uint64_t value);
/* detail(ctx, name) adds "at file:line" to a frame's tooltip (or NULL). */
void flamegraph_set_detail(struct flamegraph *fg, const char *(*detail)(void *, const char *),
			   void *ctx);
/* unit names the values ("ns", "bytes") in tooltips. */
int flamegraph_write_svg(FILE *out, const struct flamegraph *fg, const char *title,
			 const char *unit);

#endif
