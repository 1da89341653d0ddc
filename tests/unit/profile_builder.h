/*
 * Builds call profiles by hand for unit tests (callstats, whatif, diff):
 * threads with their root node, then nodes under a parent. Included by
 * the tests only; every function is static.
 */
#ifndef CPROF_TESTS_PROFILE_BUILDER_H
#define CPROF_TESTS_PROFILE_BUILDER_H

#include <criterion/criterion.h>

#include "../../reporter/profile.h"
#include "../../reporter/util.h"

static inline struct profile *new_profile(void)
{
	return xcalloc(1, sizeof(struct profile));
}

/* Starts a thread: its root node (fn 0) is the next node. */
static inline uint32_t add_thread(struct profile *p, uint64_t tid)
{
	uint32_t root = (uint32_t)p->nnodes;

	p->threads = xreallocarray(p->threads, p->nthreads + 1, sizeof(*p->threads));
	p->threads[p->nthreads] = (struct profile_thread){ .tid = tid, .root = root };
	p->nthreads++;
	p->nodes = xreallocarray(p->nodes, p->nnodes + 1, sizeof(*p->nodes));
	p->nodes[p->nnodes++] = (struct profile_node){ .fn = 0, .parent = root };
	p->threads[p->nthreads - 1].nnodes = 1;
	return root;
}

/* Adds a node to the last thread; parent must be a node of that thread. */
static inline uint32_t add(struct profile *p, uint32_t parent, uint64_t fn, uint64_t calls,
			   double incl_s, double self_s)
{
	uint32_t i = (uint32_t)p->nnodes;

	cr_assert_lt(parent, i);
	p->nodes = xreallocarray(p->nodes, p->nnodes + 1, sizeof(*p->nodes));
	p->nodes[p->nnodes++] = (struct profile_node){
		.fn = fn, .parent = parent, .calls = calls, .incl_s = incl_s, .self_s = self_s,
	};
	p->threads[p->nthreads - 1].nnodes++;
	return i;
}

#endif
