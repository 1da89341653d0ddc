/*
 * Call profiles in the Callgrind format. Costs are nanoseconds (rounded),
 * exclusive on a function's own line, inclusive on each call edge as
 * cProfile counts it (outermost activation of the edge). The summary is
 * the sum of the rounded exclusive costs, so readers' totals match it.
 */
#include "export.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>

static uint64_t ns(double seconds)
{
	return (uint64_t)llround(seconds * 1e9);
}

int export_callgrind_profile(FILE *out, const struct profile *p, const struct callstats *cs,
			     const struct sym_frame *const *syms)
{
	uint64_t total = 0;

	for (size_t i = 0; i < cs->nfuncs; i++)
		if (cs->funcs[i].calls)
			total += ns(cs->funcs[i].tottime);
	fprintf(out, "# callgrind format\nversion: 1\ncreator: cprof %s\n", CPROF_VERSION);
	fprintf(out, "pid: %" PRIu64 "\ncmd: %s\n", p->meta.pid, p->meta.program);
	fprintf(out, "positions: line\nevents: ns\nsummary: %" PRIu64 "\n\n", total);
	for (size_t i = 0; i < cs->nfuncs; i++) {
		const struct func_stat *f = &cs->funcs[i];
		if (!f->calls)
			continue;
		fprintf(out, "ob=%s\nfl=%s\nfn=%s\n%d %" PRIu64 "\n", syms[i]->module, syms[i]->file,
			syms[i]->function, syms[i]->decl_line, ns(f->tottime));
		for (size_t e = 0; e < cs->nedges; e++) {
			const struct edge_stat *es = &cs->edges[e];
			if (es->caller != i || !es->calls)
				continue;
			const struct sym_frame *c = syms[es->callee];
			fprintf(out, "cob=%s\ncfl=%s\ncfn=%s\ncalls=%" PRIu64 " %d\n%d %" PRIu64 "\n",
				c->module, c->file, c->function, es->calls, c->decl_line,
				syms[i]->decl_line, ns(es->cumtime));
		}
		fputc('\n', out);
	}
	return ferror(out) ? error("cannot write the callgrind file") : 0;
}
