/*
 * Stack enumeration. Profiles: a depth-first walk keeps the current path
 * as an array of function indices, so a 100,000-deep recursion costs one
 * pass, not one walk to the root per node. Snapshots: each trace's frames,
 * symbolized with their inline chains, reversed to outermost first.
 */
#include "stacks.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>

uint64_t *stacks_node_ns(const struct profile *p, const struct callstats *cs)
{
	size_t n = p->nnodes, nf = cs->nfuncs ? cs->nfuncs : 1;
	uint64_t *ns = xcalloc(n ? n : 1, sizeof(*ns));
	double *cum = xcalloc(nf, sizeof(*cum));
	uint64_t *given = xcalloc(nf, sizeof(*given));
	uint32_t *last = xmalloc(nf * sizeof(*last));

	for (size_t f = 0; f < nf; f++)
		last[f] = UINT32_MAX;
	for (size_t i = 0; i < n; i++)
		if (cs->node_func[i] != UINT32_MAX)
			last[cs->node_func[i]] = (uint32_t)i;
	for (size_t i = 0; i < n; i++) {
		uint32_t f = cs->node_func[i];
		if (f == UINT32_MAX)
			continue;
		/* Running sums rounded: the rounding never accumulates; the
		 * last node takes the function's total (summation order differs
		 * from callstats' walk by a few ulps at most). */
		cum[f] += cs->node_self[i];
		int64_t upto = (int64_t)llround(
			(last[f] == i ? cs->funcs[f].tottime : cum[f]) * 1e9);
		if (upto < (int64_t)given[f])
			upto = (int64_t)given[f];
		ns[i] = (uint64_t)upto - given[f];
		given[f] = (uint64_t)upto;
	}
	free(cum);
	free(given);
	free(last);
	return ns;
}

void stacks_walk_profile(const struct profile *p, const struct callstats *cs,
			 stacks_node_visit visit, void *ctx)
{
	size_t n = p->nnodes ? p->nnodes : 1;
	uint32_t *first = xmalloc(n * sizeof(*first));
	uint32_t *next = xmalloc(n * sizeof(*next));
	uint32_t *stack = xmalloc(n * sizeof(*stack));
	uint32_t *path = xmalloc(n * sizeof(*path));
	unsigned char *visited = xcalloc(n, 1);

	for (size_t i = 0; i < p->nnodes; i++)
		first[i] = next[i] = UINT32_MAX;
	for (size_t i = p->nnodes; i-- > 0;)
		if (p->nodes[i].fn) {
			next[i] = first[p->nodes[i].parent];
			first[p->nodes[i].parent] = (uint32_t)i;
		}
	for (size_t t = 0; t < p->nthreads; t++) {
		size_t sp = 0;
		int depth = 0;
		stack[sp++] = p->threads[t].root;
		while (sp) {
			uint32_t i = stack[sp - 1];
			uint32_t f = cs->node_func[i];
			if (visited[i]) {
				sp--;
				if (f != UINT32_MAX)
					depth--;
				continue;
			}
			visited[i] = 1;
			if (f != UINT32_MAX) {
				path[depth++] = f;
				visit(ctx, i, path, depth);
			}
			for (uint32_t c = first[i]; c != UINT32_MAX; c = next[c])
				stack[sp++] = c;
		}
	}
	free(first);
	free(next);
	free(stack);
	free(path);
	free(visited);
}

struct names_ctx {
	const struct profile *p;
	const char *const *names;
	const uint64_t *ns;
	stacks_visit visit;
	void *ctx;
	const char **path;
	/* With a width: each node's subtree value, the narrowest drawn, and
	 * per depth the depth of the first narrow frame on the path (-1). */
	const uint64_t *subtree;
	uint64_t min_subtree;
	int *cut;
};

static uint64_t node_value(const struct names_ctx *c, uint32_t node)
{
	return c->p->is_counts_only ? c->p->nodes[node].calls : c->ns[node];
}

static void visit_named(void *ctx, uint32_t node, const uint32_t *funcs, int depth)
{
	struct names_ctx *c = ctx;
	uint64_t value = node_value(c, node);

	c->path[depth - 1] = c->names[funcs[depth - 1]];
	if (c->subtree) {	/* depth first: cut[] below depth - 1 is this path's */
		int cut = depth > 1 ? c->cut[depth - 2] : -1;
		c->cut[depth - 1] = cut;
		if (cut >= 0)	/* its value went in with the cut frame's subtree */
			return;
		if (c->subtree[node] < c->min_subtree) {
			/* The narrow frame stands for its whole subtree, in one
			 * visit: 16M nodes under a few thousand cut frames would
			 * otherwise be 16M visits of the same few stacks. */
			c->cut[depth - 1] = depth - 1;
			c->path[depth - 1] = STACKS_NARROW;
			if (c->subtree[node])
				c->visit(c->ctx, c->path, depth, c->subtree[node]);
			return;
		}
	}
	if (value)
		c->visit(c->ctx, c->path, depth, value);
}

static void walk_named(const struct profile *p, const struct callstats *cs,
		       const char *const *names, int resolution, stacks_visit visit, void *ctx)
{
	size_t n = p->nnodes ? p->nnodes : 1;
	/* path[d] stays valid below the current depth: the walk is depth first */
	struct names_ctx c = {
		.p = p, .names = names, .ns = stacks_node_ns(p, cs), .visit = visit, .ctx = ctx,
		.path = xmalloc(n * sizeof(*c.path)),
	};

	if (resolution > 0) {
		uint64_t *subtree = xcalloc(n, sizeof(*subtree)), total = 0;
		for (size_t i = p->nnodes; i-- > 0;) {	/* children after parents */
			if (!p->nodes[i].fn)
				continue;
			subtree[i] += node_value(&c, (uint32_t)i);
			subtree[p->nodes[i].parent] += subtree[i];
			total += node_value(&c, (uint32_t)i);
		}
		c.subtree = subtree;
		c.min_subtree = total / (uint64_t)resolution;
		c.cut = xmalloc(n * sizeof(*c.cut));
	}
	stacks_walk_profile(p, cs, visit_named, &c);
	free((void *)c.ns);
	free((void *)c.subtree);
	free(c.cut);
	free(c.path);
}

void stacks_of_profile(const struct profile *p, const struct callstats *cs,
		       const char *const *names, stacks_visit visit, void *ctx)
{
	walk_named(p, cs, names, 0, visit, ctx);
}

void stacks_of_profile_drawn(const struct profile *p, const struct callstats *cs,
			     const char *const *names, int resolution, stacks_visit visit,
			     void *ctx)
{
	walk_named(p, cs, names, resolution, visit, ctx);
}

void stacks_of_snapshot(const struct snapshot *s, struct symbolizer *sym, stacks_visit visit,
			void *ctx)
{
	enum { INLINE_MAX = 16 };
	size_t cap = 64;
	const char **path = xmalloc(cap * sizeof(*path));

	for (size_t i = 0; i < s->ntraces; i++) {
		const struct snap_trace *t = &s->traces[i];
		int depth = 0;
		if (!t->live_blocks)
			continue;
		/* frames are innermost first; each expands innermost first too */
		for (uint32_t k = t->nframes; k-- > 0;) {
			struct sym_frame fr[INLINE_MAX];
			int nf = symbolize_code(sym, t->frames[k], fr, INLINE_MAX);
			if ((size_t)(depth + nf) > cap) {
				cap = (size_t)(depth + nf) * 2;
				path = xreallocarray(path, cap, sizeof(*path));
			}
			for (int j = nf; j-- > 0;)
				path[depth++] = fr[j].function;
		}
		if (!depth)
			path[depth++] = "[unknown stack]";
		visit(ctx, path, depth, t->live_bytes);
	}
	free(path);
}
