/*
 * speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json):
 * shared frames with name, file and line, and one "sampled" profile whose
 * samples are stacks of frame indices, outermost first, with weights.
 * Streams the samples; never holds the output in memory.
 */
#include "export.h"
#include "hashmap.h"
#include "stacks.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void write_frame(FILE *out, int is_first, const char *name, const char *file, int line)
{
	fputs(is_first ? "\n{\"name\":" : ",\n{\"name\":", out);
	util_json_string(out, name);
	if (file && *file) {
		fputs(",\"file\":", out);
		util_json_string(out, file);
	}
	if (line > 0)
		fprintf(out, ",\"line\":%d", line);
	fputc('}', out);
}

static void write_head(FILE *out, const char *name)
{
	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n"
	      "\"exporter\":\"cprof " CPROF_VERSION "\",\"name\":",
	      out);
	util_json_string(out, name);
	fputs(",\"activeProfileIndex\":0,\n\"shared\":{\"frames\":[", out);
}

static void write_profile_head(FILE *out, const char *name, const char *unit)
{
	fputs("]},\n\"profiles\":[{\"type\":\"sampled\",\"name\":", out);
	util_json_string(out, name);
	fprintf(out, ",\"unit\":\"%s\",\"startValue\":0,\n\"samples\":[", unit);
}

static int write_tail(FILE *out, const uint64_t *weights, size_t n)
{
	uint64_t total = 0;

	fputs("],\n\"weights\":[", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, i ? ",%" PRIu64 : "%" PRIu64, weights[i]);
		if (i % 32 == 31)
			fputc('\n', out);
		total += weights[i];
	}
	fprintf(out, "],\n\"endValue\":%" PRIu64 "}]}\n", total);
	return 0;	/* stream errors: output_close() */
}

/* ---- call profiles: frame i is function i; the last one "[outer frames]" ---- */

struct prof_ctx {
	FILE *out;
	const struct profile *p;
	const uint64_t *node_ns;
	uint32_t outer_frame;
	uint64_t *weights;
	size_t nweights, cap;
};

static void add_node(void *ctx, uint32_t node, const uint32_t *funcs, int depth)
{
	struct prof_ctx *c = ctx;
	uint64_t w = c->p->is_counts_only ? c->p->nodes[node].calls : c->node_ns[node];
	int from = 0;

	if (!w)
		return;
	if (c->nweights == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->weights = xreallocarray(c->weights, c->cap, sizeof(*c->weights));
	}
	fputs(c->nweights ? ",\n[" : "\n[", c->out);
	c->weights[c->nweights++] = w;
	if (depth > EXPORT_MAX_FRAMES) {
		from = depth - (EXPORT_MAX_FRAMES - 1);
		fprintf(c->out, "%u,", c->outer_frame);
	}
	for (int k = from; k < depth; k++)
		fprintf(c->out, k > from ? ",%u" : "%u", funcs[k]);
	fputc(']', c->out);
}

int export_speedscope_profile(FILE *out, struct loaded *in)
{
	const struct profile *p = in->p;
	const struct callstats *cs = &in->cs;
	char *name = xstrfmt("cprof: %s in %s (pid %llu)", p->is_counts_only ? "calls" : "time",
			     p->meta.program, (unsigned long long)p->meta.pid);

	write_head(out, name);
	for (size_t f = 0; f < cs->nfuncs; f++) {
		const struct sym_frame *fr = in->syms[f];
		write_frame(out, f == 0, fr->function, fr->file, fr->decl_line);
	}
	write_frame(out, cs->nfuncs == 0, EXPORT_OUTER_FRAMES, NULL, 0);
	write_profile_head(out, name, p->is_counts_only ? "none" : "nanoseconds");
	free(name);

	struct prof_ctx c = { .out = out, .p = p, .outer_frame = (uint32_t)cs->nfuncs };
	c.node_ns = stacks_node_ns(p, cs);
	stacks_walk_profile(p, cs, add_node, &c);
	int rc = write_tail(out, c.weights, c.nweights);
	free((void *)c.node_ns);
	free(c.weights);
	return rc;
}

/* ---- memory snapshots: one frame per function, file and line ---- */

/* The frame index of fr, writing it to the frames array when new. */
static uint32_t frame_index(FILE *out, struct hashmap *t, const char *function,
			    const char *file, int line)
{
	/* keyed "function\x1ffile\x1fline" */
	char *key = xstrfmt("%s\x1f%s\x1f%d", function, file ? file : "", line);
	size_t known = t->count;
	uint64_t id = hashmap_str(t, key, known + 1);

	free(key);
	if (t->count > known)	/* new: the next frame */
		write_frame(out, known == 0, function, file, line);
	return (uint32_t)id - 1;
}

int export_speedscope_snapshot(FILE *out, struct loaded *in)
{
	const struct snapshot *s = in->s;
	struct symbolizer *sym = in->sym;
	enum { INLINE_MAX = 16 };
	struct hashmap t;
	size_t nstack = 0, cap = 64;
	uint32_t **stacks = xcalloc(s->ntraces ? s->ntraces : 1, sizeof(*stacks));
	uint32_t *depths = xcalloc(s->ntraces ? s->ntraces : 1, sizeof(*depths));
	uint64_t *weights = xcalloc(s->ntraces ? s->ntraces : 1, sizeof(*weights));
	uint32_t *path = xmalloc(cap * sizeof(*path));
	char *name = xstrfmt("cprof: live memory at '%s' in %s (pid %llu)", s->meta.label,
			     s->meta.program, (unsigned long long)s->meta.pid);

	hashmap_init(&t, 1);
	write_head(out, name);
	/* Frames are written as they are first met, so stacks wait in memory. */
	for (size_t i = 0; i < s->ntraces; i++) {
		const struct snap_trace *tr = &s->traces[i];
		size_t depth = 0;
		if (!tr->live_blocks)
			continue;
		for (uint32_t k = tr->nframes; k-- > 0;) {	/* outermost first */
			struct sym_frame fr[INLINE_MAX];
			int nf = symbolize_code(sym, tr->frames[k], fr, INLINE_MAX);
			if (depth + (size_t)nf > cap) {
				cap = (depth + (size_t)nf) * 2;
				path = xreallocarray(path, cap, sizeof(*path));
			}
			for (int j = nf; j-- > 0;)
				path[depth++] = frame_index(out, &t, fr[j].function, fr[j].file,
							    fr[j].line);
		}
		if (!depth)
			path[depth++] = frame_index(out, &t, "[unknown stack]", NULL, 0);
		size_t from = 0;
		if (depth > EXPORT_MAX_FRAMES) {
			from = depth - (EXPORT_MAX_FRAMES - 1);
			path[--from] = frame_index(out, &t, EXPORT_OUTER_FRAMES, NULL, 0);
		}
		stacks[nstack] = xmalloc((depth - from) * sizeof(**stacks));
		memcpy(stacks[nstack], path + from, (depth - from) * sizeof(*path));
		depths[nstack] = (uint32_t)(depth - from);
		weights[nstack++] = tr->live_bytes;
	}
	write_profile_head(out, name, "bytes");
	for (size_t i = 0; i < nstack; i++) {
		fputs(i ? ",\n[" : "\n[", out);
		for (uint32_t k = 0; k < depths[i]; k++)
			fprintf(out, k ? ",%u" : "%u", stacks[i][k]);
		fputc(']', out);
		free(stacks[i]);
	}
	int rc = write_tail(out, weights, nstack);
	hashmap_release(&t);
	free(stacks);
	free(depths);
	free(weights);
	free(path);
	free(name);
	return rc;
}
