/*
 * Call profiles in the Callgrind format. Costs are nanoseconds (rounded),
 * exclusive on a function's own line, inclusive on each call edge as
 * cProfile counts it (outermost activation of the edge). The summary is
 * the sum of the rounded exclusive costs, so readers' totals match it.
 * Snapshots: live bytes and blocks, exclusive on the allocating line,
 * inclusive on each call site of the inline-expanded traces.
 */
#include "export.h"
#include "hashmap.h"
#include "util.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* s on one line: a newline in a name read from the file (the program,
 * a label, a module path) would forge records of this line format. */
static const char *one_line(char *buf, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s && n + 1 < size; s++)
		buf[n++] = *s == '\n' || *s == '\r' ? '?' : *s;
	buf[n] = 0;
	return buf;
}

static uint64_t ns(double seconds)
{
	return (uint64_t)llround(seconds * 1e9);
}

int export_callgrind_profile(FILE *out, struct loaded *in)
{
	const struct profile *p = in->p;
	const struct callstats *cs = &in->cs;
	const struct sym_frame *const *syms = in->syms;
	uint64_t total = 0;
	char b1[PATH_MAX], b2[PATH_MAX];

	for (size_t i = 0; i < cs->nfuncs; i++)
		if (cs->funcs[i].calls)
			total += ns(cs->funcs[i].tottime);
	fprintf(out, "# callgrind format\nversion: 1\ncreator: cprof %s\n", CPROF_VERSION);
	fprintf(out, "pid: %" PRIu64 "\ncmd: %s\n", p->meta.pid,
		one_line(b1, sizeof(b1), p->meta.program));
	char *note = callstats_range_note(cs);
	if (note)
		fprintf(out, "desc: Compensation: %s\n", note);
	free(note);
	fprintf(out, "positions: line\nevents: ns\nsummary: %" PRIu64 "\n\n", total);
	for (size_t i = 0; i < cs->nfuncs; i++) {
		const struct func_stat *f = &cs->funcs[i];
		if (!f->calls)
			continue;
		fprintf(out, "ob=%s\nfl=%s\nfn=%s\n%d %" PRIu64 "\n",
			one_line(b1, sizeof(b1), syms[i]->module), syms[i]->file,
			syms[i]->function, syms[i]->decl_line, ns(f->tottime));
		for (size_t e = 0; e < cs->nedges; e++) {
			const struct edge_stat *es = &cs->edges[e];
			if (es->caller != i || !es->calls)
				continue;
			const struct sym_frame *c = syms[es->callee];
			fprintf(out, "cob=%s\ncfl=%s\ncfn=%s\ncalls=%" PRIu64 " %d\n%d %" PRIu64 "\n",
				one_line(b2, sizeof(b2), c->module), c->file, c->function, es->calls,
				c->decl_line,
				syms[i]->decl_line, ns(es->cumtime));
		}
		fputc('\n', out);
	}
	return 0;	/* stream errors: output_close() */
}

/* ---- memory snapshots: events Bytes and Blocks of live memory ---- */

struct cg_cost {
	int line;
	uint64_t bytes, blocks;
};

struct cg_call {
	size_t callee;		/* index into cg.funcs */
	int line;		/* the call's line in the caller */
	uint64_t calls, bytes, blocks;
};

struct cg_func {
	const char *file, *function, *module;	/* owned by the symbolizer */
	int decl_line;
	struct cg_cost *costs;
	size_t ncosts;
	struct cg_call *calls;
	size_t ncalls;
};

struct cg {
	struct cg_func *funcs;
	size_t nfuncs;
	struct hashmap index;	/* "file\x1ffunction" -> index + 1 into funcs */
};

/* The function of frame f, added on first sight (file and name identify it). */
static size_t cg_func_of(struct cg *g, const struct sym_frame *f)
{
	char *key = xstrfmt("%s\x1f%s", f->file, f->function);
	size_t i = (size_t)hashmap_str(&g->index, key, g->nfuncs + 1) - 1;

	free(key);
	if (i < g->nfuncs)
		return i;
	g->funcs = xreallocarray(g->funcs, g->nfuncs + 1, sizeof(*g->funcs));
	g->funcs[g->nfuncs] = (struct cg_func){
		.file = f->file, .function = f->function, .module = f->module,
		.decl_line = f->decl_line,
	};
	return g->nfuncs++;
}

static void cg_add_cost(struct cg_func *fn, int line, uint64_t bytes, uint64_t blocks)
{
	for (size_t i = 0; i < fn->ncosts; i++)
		if (fn->costs[i].line == line) {
			fn->costs[i].bytes += bytes;
			fn->costs[i].blocks += blocks;
			return;
		}
	fn->costs = xreallocarray(fn->costs, fn->ncosts + 1, sizeof(*fn->costs));
	fn->costs[fn->ncosts++] = (struct cg_cost){ line, bytes, blocks };
}

static void cg_add_call(struct cg_func *fn, size_t callee, int line, uint64_t bytes,
			uint64_t blocks)
{
	for (size_t i = 0; i < fn->ncalls; i++)
		if (fn->calls[i].callee == callee && fn->calls[i].line == line) {
			fn->calls[i].calls += blocks;
			fn->calls[i].bytes += bytes;
			fn->calls[i].blocks += blocks;
			return;
		}
	fn->calls = xreallocarray(fn->calls, fn->ncalls + 1, sizeof(*fn->calls));
	fn->calls[fn->ncalls++] = (struct cg_call){ callee, line, blocks, bytes, blocks };
}

int export_callgrind_snapshot(FILE *out, struct loaded *in)
{
	const struct snapshot *s = in->s;
	struct symbolizer *sym = in->sym;
	enum { INLINE_MAX = 16 };
	struct cg g = { 0 };

	hashmap_init(&g.index, 1);
	uint64_t bytes = 0, blocks = 0;
	char b1[PATH_MAX], b2[PATH_MAX];

	for (size_t i = 0; i < s->ntraces; i++) {
		const struct snap_trace *t = &s->traces[i];
		size_t prev = SIZE_MAX;	/* the callee of the frame being added */
		if (!t->live_blocks)
			continue;
		bytes += t->live_bytes;
		blocks += t->live_blocks;
		if (!t->nframes) {
			static const struct sym_frame unknown = {
				.function = "[unknown stack]", .file = "?", .module = "?",
			};
			cg_add_cost(&g.funcs[cg_func_of(&g, &unknown)], 0, t->live_bytes, t->live_blocks);
			continue;
		}
		/* innermost first: self cost on the first frame, then each
		 * outer frame calls the one before it */
		for (uint32_t k = 0; k < t->nframes; k++) {
			struct sym_frame fr[INLINE_MAX];
			int nf = symbolize_code(sym, t->frames[k], fr, INLINE_MAX);
			for (int j = 0; j < nf; j++) {
				size_t f = cg_func_of(&g, &fr[j]);
				if (prev == SIZE_MAX)
					cg_add_cost(&g.funcs[f], fr[j].line, t->live_bytes, t->live_blocks);
				else
					cg_add_call(&g.funcs[f], prev, fr[j].line, t->live_bytes,
						    t->live_blocks);
				prev = f;
			}
		}
	}
	fprintf(out, "# callgrind format\nversion: 1\ncreator: cprof %s\n", CPROF_VERSION);
	fprintf(out, "pid: %" PRIu64 "\ncmd: %s\ndesc: live memory at snapshot %" PRIu64 " '%s'\n",
		s->meta.pid, one_line(b1, sizeof(b1), s->meta.program), s->meta.seq,
		one_line(b2, sizeof(b2), s->meta.label));
	fprintf(out, "positions: line\nevents: Bytes Blocks\nsummary: %" PRIu64 " %" PRIu64 "\n\n",
		bytes, blocks);
	for (size_t i = 0; i < g.nfuncs; i++) {
		const struct cg_func *f = &g.funcs[i];
		fprintf(out, "ob=%s\nfl=%s\nfn=%s\n", one_line(b1, sizeof(b1), f->module), f->file,
			f->function);
		for (size_t c = 0; c < f->ncosts; c++)
			fprintf(out, "%d %" PRIu64 " %" PRIu64 "\n", f->costs[c].line, f->costs[c].bytes,
				f->costs[c].blocks);
		for (size_t c = 0; c < f->ncalls; c++) {
			const struct cg_call *call = &f->calls[c];
			const struct cg_func *callee = &g.funcs[call->callee];
			fprintf(out, "cob=%s\ncfl=%s\ncfn=%s\ncalls=%" PRIu64 " %d\n%d %" PRIu64 " %" PRIu64 "\n",
				one_line(b2, sizeof(b2), callee->module), callee->file, callee->function,
				call->calls,
				callee->decl_line, call->line, call->bytes, call->blocks);
		}
		fputc('\n', out);
	}
	for (size_t i = 0; i < g.nfuncs; i++) {
		free(g.funcs[i].costs);
		free(g.funcs[i].calls);
	}
	free(g.funcs);
	hashmap_release(&g.index);
	return 0;
}
