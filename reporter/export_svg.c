/*
 * The flame graph of a loaded file, for `cprof flamegraph` and the html
 * page: which stacks it draws, its title, its unit and the file:line of
 * its frames. The drawing itself is flamegraph.c's. Never writes to
 * stdout on its own.
 */
#define _GNU_SOURCE
#include "export.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void visit_all(struct loaded *in, stacks_visit visit, void *ctx)
{
	if (in->p)
		stacks_of_profile(in->p, &in->cs, in->names, visit, ctx);
	else
		stacks_of_snapshot(in->s, in->sym, visit, ctx);
}

struct counted {
	struct flamegraph *fg;
	uint64_t total;
};

static void add_counted(void *ctx, const char *const *frames, int nframes, uint64_t value)
{
	struct counted *c = ctx;

	c->total += value;
	flamegraph_add(c->fg, frames, nframes, value);
}

struct flamegraph *export_svg_build(struct loaded *in, struct loaded *base, uint64_t *total)
{
	struct counted c = { flamegraph_new(), 0 };

	if (in->p && !base)	/* one side only: both sides must keep the same frames */
		stacks_of_profile_drawn(in->p, &in->cs, in->names, FLAMEGRAPH_RESOLUTION,
					add_counted, &c);
	else
		visit_all(in, add_counted, &c);
	if (base)
		visit_all(base, flamegraph_add_base, c.fg);
	if (total)
		*total = c.total;
	return c.fg;
}

char *export_svg_title(const struct loaded *in)
{
	return in->p ? xstrfmt("time in %s (pid %llu)", in->p->meta.program,
			       (unsigned long long)in->p->meta.pid)
		     : xstrfmt("live memory at '%s' in %s (pid %llu)", in->s->meta.label,
			       in->s->meta.program, (unsigned long long)in->s->meta.pid);
}

const char *export_svg_unit(const struct loaded *in)
{
	return in->p && !in->p->is_counts_only ? "ns" : in->p ? "calls" : "bytes";
}

/* A profile's functions sorted by name (then index), for the tooltips'
 * lookups: a linear search per frame drawn was quadratic. */
struct by_name_index {
	const struct loaded *in;
	size_t *order;
	char buf[4200];
};

static int by_name_then_index(const void *a, const void *b, void *ctx)
{
	const struct loaded *in = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(in->names[i], in->names[j]);

	return c ? c : (i < j ? -1 : i > j);
}

static void by_name_index_init(struct by_name_index *x, const struct loaded *in)
{
	x->in = in;
	x->order = xcalloc(in->cs.nfuncs + 1, sizeof(*x->order));
	for (size_t i = 0; i < in->cs.nfuncs; i++)
		x->order[i] = i;
	if (in->cs.nfuncs)
		qsort_r(x->order, in->cs.nfuncs, sizeof(*x->order), by_name_then_index, (void *)in);
}

/* "file:line" of a profile's function (the first of that name), for
 * flame-graph tooltips. */
static const char *profile_detail(void *ctx, const char *name)
{
	struct by_name_index *x = ctx;
	size_t lo = 0, hi = x->in->cs.nfuncs;

	while (lo < hi) {	/* the leftmost name >= name */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(x->in->names[x->order[mid]], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == x->in->cs.nfuncs || strcmp(x->in->names[x->order[lo]], name) != 0)
		return NULL;
	const struct sym_frame *f = x->in->syms[x->order[lo]];
	snprintf(x->buf, sizeof(x->buf), "%s:%d", f->file, f->decl_line);
	return x->buf;
}

int export_svg_write(FILE *out, struct loaded *in, struct loaded *base)
{
	struct flamegraph *fg = export_svg_build(in, base, NULL);
	struct by_name_index names = { .order = NULL };

	if (in->p) {
		by_name_index_init(&names, in);
		flamegraph_set_detail(fg, profile_detail, &names);
	}
	char *what = export_svg_title(in);
	char *title = base ? xstrfmt("cprof: %s, red: grew, blue: shrank since '%s'", what,
				     base->p ? "the older profile" : base->s->meta.label)
			   : xstrfmt("cprof: %s", what);
	int rc = flamegraph_write_svg(out, fg, title, export_svg_unit(in));
	free(what);
	free(title);
	free(names.order);
	flamegraph_free(fg);
	return rc;
}
