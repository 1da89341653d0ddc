/*
 * From calling-context trees to pstats rows. One depth-first walk per
 * thread keeps, per function and per edge, how many activations are open
 * on the current path: a node is primitive (and its inclusive time is
 * counted) only when its function is not already open above it.
 */
#include "callstats.h"
#include "hashmap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

/* The dense id of key in m, the next one (*added set) when new. */
static uint32_t map_get(struct hashmap *m, uint64_t key, uint32_t next_val, int *added)
{
	size_t known = m->count;
	uint32_t v = (uint32_t)hashmap_u64(m, key, (uint64_t)next_val + 1) - 1;

	*added = m->count > known;
	return v;
}

size_t callstats_find(const struct callstats *cs, uint64_t fn)
{
	for (size_t i = 0; i < cs->nfuncs; i++)
		if (cs->funcs[i].fn == fn)
			return i;
	return SIZE_MAX;
}

/* heap[0] is the last of the k kept so far: the one a better one evicts. */
static void heap_down(size_t *heap, size_t len, size_t i, const struct callstats *cs,
		      callstats_cmp cmp, void *ctx)
{
	for (;;) {
		size_t worst = i, l = 2 * i + 1, r = l + 1;
		if (l < len && cmp(&cs->funcs[heap[l]], &cs->funcs[heap[worst]], ctx) > 0)
			worst = l;
		if (r < len && cmp(&cs->funcs[heap[r]], &cs->funcs[heap[worst]], ctx) > 0)
			worst = r;
		if (worst == i)
			return;
		size_t t = heap[i];
		heap[i] = heap[worst];
		heap[worst] = t;
		i = worst;
	}
}

size_t *callstats_top(const struct callstats *cs, size_t k, callstats_cmp cmp, void *ctx,
		      size_t *n)
{
	size_t *out = xcalloc(cs->nfuncs + 1, sizeof(*out)), len = 0;

	*n = 0;
	if (!k)
		return out;
	/* A max-heap (by cmp) of the best k seen: its top is the k-th. */
	size_t *heap = xcalloc(k < cs->nfuncs ? k : cs->nfuncs + 1, sizeof(*heap));
	for (size_t i = 0; i < cs->nfuncs; i++) {
		if (!cs->funcs[i].calls)
			continue;
		if (len < k) {
			size_t j = len++;
			heap[j] = i;
			while (j && cmp(&cs->funcs[heap[j]], &cs->funcs[heap[(j - 1) / 2]], ctx) > 0) {
				size_t t = heap[j];
				heap[j] = heap[(j - 1) / 2];
				heap[(j - 1) / 2] = t;
				j = (j - 1) / 2;
			}
		} else if (cmp(&cs->funcs[i], &cs->funcs[heap[0]], ctx) < 0) {
			heap[0] = i;
			heap_down(heap, len, 0, cs, cmp, ctx);
		}
	}
	/* The kept ones, and every tie of the k-th that the heap left out. */
	for (size_t i = 0; len && i < cs->nfuncs; i++)
		if (cs->funcs[i].calls && cmp(&cs->funcs[i], &cs->funcs[heap[0]], ctx) <= 0)
			out[(*n)++] = i;
	free(heap);
	return out;
}

static double clamp0(double v)
{
	return v > 0 ? v : 0;
}

/* Leaves of fewer calls do not cap the overhead: one call may be a rare
 * fast path, or the clock's resolution. */
#define BOUND_MIN_CALLS 1000

static size_t process_of(const struct profile *p, const struct profile_thread *th)
{
	return p->nprocesses > 1 && th->process < p->nprocesses ? th->process : 0;
}

/*
 * The per-call overhead to take out, per process (index 0 for a single
 * profile): its calibration, but no more inner time than the fastest
 * leaf of BOUND_MIN_CALLS calls or more took per call in the run itself
 * (its inner overhead plus its body): beyond that the loop ran slower
 * than the program, and the leaf would be zeroed. The outer part is
 * left as calibrated: neither a leaf nor the cheapest caller bounds the
 * average (on SQLite built by gcc, scaling it with the inner part or
 * capping it by the cheapest caller made the totals worse: the hooks
 * cost more there than any calibration shows).
 * Not for a process whose hooks' probes measured them in the run: a
 * loop slowed at start-up is then corrected by its own probed windows,
 * and the fastest leaf is not the average call (5 profiles of the
 * SQLite-gcc build of bench/compensation.sh, reported with and without
 * the cap: +75%..+161% against -22%..+50% of the plain run's time).
 */
static void cap_inner_by_leaves(const struct profile *p, const uint64_t *child_calls, double *in)
{
	for (size_t t = 0; t < p->nthreads; t++) {
		const struct profile_thread *th = &p->threads[t];
		size_t k = process_of(p, th);
		if (k < p->nprocesses &&
		    (p->processes[k].probe_inner_s != 0 || p->processes[k].probe_outer_s != 0))
			continue;
		for (size_t i = th->root; i < (size_t)th->root + th->nnodes && i < p->nnodes; i++) {
			const struct profile_node *nd = &p->nodes[i];
			if (nd->fn && !child_calls[i] && nd->calls >= BOUND_MIN_CALLS &&
			    nd->self_s < (double)nd->calls * in[k])
				in[k] = nd->self_s / (double)nd->calls;
		}
	}
}

void callstats_build(struct callstats *cs, const struct profile *p, int compensate)
{
	size_t n = p->nnodes;
	struct hashmap fmap, emap;
	uint32_t *edge_of = xcalloc(n, sizeof(*edge_of));
	uint64_t *child_calls = xcalloc(n, sizeof(*child_calls));
	double *self, *incl;

	memset(cs, 0, sizeof(*cs));
	cs->node_func = xcalloc(n, sizeof(*cs->node_func));
	cs->node_incl = incl = xcalloc(n, sizeof(*cs->node_incl));
	cs->node_self = self = xcalloc(n, sizeof(*cs->node_self));
	hashmap_init(&fmap, 0);
	hashmap_init(&emap, 0);

	/* Dense ids for functions and edges; roots have none. */
	for (size_t i = 0; i < n; i++) {
		const struct profile_node *nd = &p->nodes[i];
		int added;
		if (!nd->fn) {
			cs->node_func[i] = NONE;
			edge_of[i] = NONE;
			continue;
		}
		uint32_t f = map_get(&fmap, nd->fn, (uint32_t)cs->nfuncs, &added);
		if (added) {
			cs->funcs = xreallocarray(cs->funcs, cs->nfuncs + 1, sizeof(*cs->funcs));
			memset(&cs->funcs[cs->nfuncs], 0, sizeof(*cs->funcs));
			cs->funcs[cs->nfuncs++].fn = nd->fn;
		}
		cs->node_func[i] = f;
		uint32_t caller = cs->node_func[nd->parent];
		uint64_t key = (uint64_t)(caller == NONE ? 0xffffffffu : caller) << 32 | f;
		uint32_t e = map_get(&emap, key, (uint32_t)cs->nedges, &added);
		if (added) {
			cs->edges = xreallocarray(cs->edges, cs->nedges + 1, sizeof(*cs->edges));
			memset(&cs->edges[cs->nedges], 0, sizeof(*cs->edges));
			cs->edges[cs->nedges].caller = caller == NONE ? SIZE_MAX : caller;
			cs->edges[cs->nedges].callee = f;
			cs->nedges++;
		}
		edge_of[i] = e;
	}

	for (size_t i = 0; i < n; i++)
		if (p->nodes[i].fn)
			child_calls[p->nodes[i].parent] += p->nodes[i].calls;
	size_t nprocs = p->nprocesses > 1 ? p->nprocesses : 1;
	double *in = xcalloc(nprocs, sizeof(*in)), *out = xcalloc(nprocs, sizeof(*out));
	/* Each thread by its own process's overhead (a merged set holds
	 * several). */
	for (size_t k = 0; compensate && k < nprocs; k++) {
		in[k] = p->nprocesses > 1 ? p->processes[k].inner_s : p->inner_s;
		out[k] = p->nprocesses > 1 ? p->processes[k].outer_s : p->outer_s;
	}
	if (compensate)
		cap_inner_by_leaves(p, child_calls, in);
	for (size_t t = 0; t < p->nthreads; t++) {
		const struct profile_thread *th = &p->threads[t];
		size_t k = process_of(p, th);
		for (size_t i = th->root; i < (size_t)th->root + th->nnodes && i < n; i++) {
			const struct profile_node *nd = &p->nodes[i];
			self[i] = clamp0(nd->self_s - (double)nd->calls * in[k] -
					 (double)child_calls[i] * out[k]);
			incl[i] = compensate ? self[i] : nd->incl_s;
		}
	}
	/* Compensated, a node's inclusive time is its own plus its callees'
	 * (children have larger indices than parents: one backward pass):
	 * the same sum as subtracting every descendant's overhead, and then
	 * no error of the estimate can give tottime > cumtime or a callee
	 * more time than its caller. Raw figures stay as measured. */
	for (size_t i = n; compensate && i-- > 0;)
		if (p->nodes[i].fn)
			incl[p->nodes[i].parent] += incl[i];

	/* Depth-first walk with open-activation counters. */
	uint32_t *first = xmalloc(n * sizeof(*first)), *next = xmalloc(n * sizeof(*next));
	uint32_t *fopen_ = xcalloc(cs->nfuncs ? cs->nfuncs : 1, sizeof(*fopen_));
	uint32_t *eopen = xcalloc(cs->nedges ? cs->nedges : 1, sizeof(*eopen));
	uint32_t *stack = xmalloc(n * sizeof(*stack));
	unsigned char *visited = xcalloc(n, 1);
	for (size_t i = 0; i < n; i++)
		first[i] = next[i] = NONE;
	for (size_t i = n; i-- > 0;)
		if (p->nodes[i].fn) {
			next[i] = first[p->nodes[i].parent];
			first[p->nodes[i].parent] = (uint32_t)i;
		}
	for (size_t t = 0; t < p->nthreads; t++) {
		size_t sp = 0;
		stack[sp++] = p->threads[t].root;
		while (sp) {
			uint32_t i = stack[sp - 1];
			uint32_t f = cs->node_func[i], e = edge_of[i];
			if (!visited[i]) {
				visited[i] = 1;
				if (f != NONE) {
					const struct profile_node *nd = &p->nodes[i];
					struct func_stat *fs = &cs->funcs[f];
					struct edge_stat *es = &cs->edges[e];
					fs->calls += nd->calls;
					fs->tottime += self[i];
					if (compensate)
						fs->tottime_taken += nd->self_s - self[i];
					es->calls += nd->calls;
					es->tottime += self[i];
					if (!fopen_[f]) {
						fs->pcalls += nd->calls;
						fs->cumtime += incl[i];
						if (compensate)
							fs->cumtime_taken += nd->incl_s - incl[i];
					}
					/* An edge is primitive as cProfile's sub-entries
					 * are: when the same caller->callee pair is not
					 * already open above. */
					if (!eopen[e]) {
						es->pcalls += nd->calls;
						es->cumtime += incl[i];
					}
					fopen_[f]++;
					eopen[e]++;
				}
				for (uint32_t c = first[i]; c != NONE; c = next[c])
					stack[sp++] = c;
				continue;
			}
			/* Children were pushed above i; i is popped once they are done. */
			sp--;
			if (f != NONE) {
				fopen_[f]--;
				eopen[e]--;
			}
		}
	}
	for (size_t i = 0; i < cs->nfuncs; i++) {
		cs->total_calls += cs->funcs[i].calls;
		cs->total_pcalls += cs->funcs[i].pcalls;
		cs->total_time += cs->funcs[i].tottime;
		cs->total_taken += cs->funcs[i].tottime_taken;
	}
	free(first);
	free(next);
	free(fopen_);
	free(eopen);
	free(stack);
	free(visited);
	free(in);
	free(out);
	free(child_calls);
	free(edge_of);
	hashmap_release(&fmap);
	hashmap_release(&emap);
}

char *callstats_range_note(const struct callstats *cs)
{
	if (!(cs->total_taken > 0))
		return NULL;
	return xstrfmt("cprof took %.6f s of the hooks' overhead out of the times (%.6f s are left); "
		       "each time stands for %.0f%% of the overhead taken out of it lower to %.0f%% higher "
		       "(cprof(1): COMPENSATION; cprof report --json gives each range)",
		       cs->total_taken, cs->total_time, 100 * CALLSTATS_UNCERTAIN_HIGH,
		       100 * CALLSTATS_UNCERTAIN_LOW);
}

void callstats_range(double t, double taken, double *lo, double *hi)
{
	if (taken < 0)
		taken = 0;	/* a raw time below the compensated sum of its parts */
	*lo = clamp0(t - CALLSTATS_UNCERTAIN_HIGH * taken);
	*hi = t + CALLSTATS_UNCERTAIN_LOW * taken;
}

void callstats_release(struct callstats *cs)
{
	free(cs->funcs);
	free(cs->edges);
	free(cs->node_func);
	free(cs->node_incl);
	free(cs->node_self);
	memset(cs, 0, sizeof(*cs));
}
