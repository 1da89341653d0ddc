/*
 * Writers of the formats other tools read. Each writes to the FILE it is
 * given and returns 0, or -1 after one error line. Never prints to
 * stdout on its own.
 */
#ifndef CPROF_REPORTER_EXPORT_H
#define CPROF_REPORTER_EXPORT_H

#include <stdio.h>

#include "callstats.h"
#include "stacks.h"

/* A stacks_visit writing "outer;...;inner VALUE\n" to the FILE in ctx
 * (flamegraph.pl, inferno, speedscope's folded import). */
void export_folded_line(void *ctx, const char *const *frames, int nframes, uint64_t value);

/*
 * The Callgrind format (callgrind_annotate, KCachegrind): one event,
 * "ns" (exclusive time per function, inclusive per call edge with its
 * call count), positions by the functions' definition lines.
 * syms[i] names cs->funcs[i].
 */
int export_callgrind_profile(FILE *out, const struct profile *p, const struct callstats *cs,
			     const struct sym_frame *const *syms);

/* A snapshot's live memory in the Callgrind format: events Bytes and
 * Blocks, self cost on each allocating line, inclusive cost on each call
 * site (calls= counts the live blocks below it). */
int export_callgrind_snapshot(FILE *out, const struct snapshot *s, struct symbolizer *sym);

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
