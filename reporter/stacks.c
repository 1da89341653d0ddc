/*
 * Stack enumeration. Profiles: a depth-first walk keeps the current path
 * as an array of names, so a 100,000-deep recursion costs one pass, not
 * one walk to the root per node. Snapshots: each trace's frames,
 * symbolized with their inline chains, reversed to outermost first.
 */
#include "stacks.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>

void stacks_of_profile(const struct profile *p, const struct callstats *cs,
		       const char *const *names, stacks_visit visit, void *ctx)
{
	size_t n = p->nnodes;
	uint32_t *first = xmalloc((n ? n : 1) * sizeof(*first));
	uint32_t *next = xmalloc((n ? n : 1) * sizeof(*next));
	uint32_t *stack = xmalloc((n ? n : 1) * sizeof(*stack));
	unsigned char *visited = xcalloc(n ? n : 1, 1);
	const char **path = xmalloc((n ? n : 1) * sizeof(*path));

	for (size_t i = 0; i < n; i++)
		first[i] = next[i] = UINT32_MAX;
	for (size_t i = n; i-- > 0;)
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
				path[depth++] = names[f];
				uint64_t value = p->is_counts_only
							 ? p->nodes[i].calls
							 : (uint64_t)llround(cs->node_self[i] * 1e9);
				if (value)
					visit(ctx, path, depth, value);
			}
			for (uint32_t c = first[i]; c != UINT32_MAX; c = next[c])
				stack[sp++] = c;
		}
	}
	free(first);
	free(next);
	free(stack);
	free(visited);
	free(path);
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
