/*
 * pstats numbers from calling-context trees (reporter/callstats.c), on
 * profiles built by hand: calls, primitive calls, tottime, cumtime at the
 * outermost activation, caller->callee edges, overhead compensation.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdlib.h>
#include <string.h>

#include "../../reporter/callstats.h"
#include "../../reporter/util.h"
#include "profile_builder.h"

#define EPS 1e-12
#define ROOT 0		/* caller_fn of an edge from a thread's root */

/* Function addresses, named for what they stand for. */
enum {
	F_MAIN = 0x1000, F_LOOP, F_LEAF, F_FACT, F_G, F_EVEN, F_ODD,
	F_A, F_B, F_C, F_D, F_THREAD_MAIN, F_WORK, F_TINY,
};

struct want_func {
	uint64_t fn, calls, pcalls;
	double tottime, cumtime;
};

struct want_edge {
	uint64_t caller_fn, callee_fn;	/* caller ROOT: from a thread's root */
	uint64_t calls, pcalls;
	double tottime, cumtime;
};

#define N(rows) (sizeof(rows) / sizeof((rows)[0]))

static void assert_funcs(const struct callstats *cs, const struct want_func *want, size_t n)
{
	cr_assert_eq(cs->nfuncs, n, "%zu functions, expected %zu", cs->nfuncs, n);
	for (size_t i = 0; i < n; i++) {
		size_t k = callstats_find(cs, want[i].fn);
		cr_assert_neq(k, SIZE_MAX, "function %#llx missing",
			      (unsigned long long)want[i].fn);
		const struct func_stat *fs = &cs->funcs[k];
		cr_assert_eq(fs->calls, want[i].calls, "%#llx calls %llu, expected %llu",
			     (unsigned long long)want[i].fn, (unsigned long long)fs->calls,
			     (unsigned long long)want[i].calls);
		cr_assert_eq(fs->pcalls, want[i].pcalls, "%#llx pcalls %llu, expected %llu",
			     (unsigned long long)want[i].fn, (unsigned long long)fs->pcalls,
			     (unsigned long long)want[i].pcalls);
		cr_assert_float_eq(fs->tottime, want[i].tottime, EPS,
				   "%#llx tottime %.15g, expected %.15g",
				   (unsigned long long)want[i].fn, fs->tottime, want[i].tottime);
		cr_assert_float_eq(fs->cumtime, want[i].cumtime, EPS,
				   "%#llx cumtime %.15g, expected %.15g",
				   (unsigned long long)want[i].fn, fs->cumtime, want[i].cumtime);
	}
}

static void assert_edges(const struct callstats *cs, const struct want_edge *want, size_t n)
{
	cr_assert_eq(cs->nedges, n, "%zu edges, expected %zu", cs->nedges, n);
	for (size_t i = 0; i < n; i++) {
		size_t caller = want[i].caller_fn == ROOT ? SIZE_MAX
							  : callstats_find(cs, want[i].caller_fn);
		size_t callee = callstats_find(cs, want[i].callee_fn);
		const struct edge_stat *es = NULL;
		for (size_t k = 0; k < cs->nedges; k++)
			if (cs->edges[k].caller == caller && cs->edges[k].callee == callee)
				es = &cs->edges[k];
		cr_assert_not_null(es, "edge %#llx -> %#llx missing",
				   (unsigned long long)want[i].caller_fn,
				   (unsigned long long)want[i].callee_fn);
		cr_assert_eq(es->calls, want[i].calls, "edge %zu calls %llu", i,
			     (unsigned long long)es->calls);
		cr_assert_eq(es->pcalls, want[i].pcalls, "edge %zu pcalls %llu", i,
			     (unsigned long long)es->pcalls);
		cr_assert_float_eq(es->tottime, want[i].tottime, EPS, "edge %zu tottime %.15g", i,
				   es->tottime);
		cr_assert_float_eq(es->cumtime, want[i].cumtime, EPS, "edge %zu cumtime %.15g", i,
				   es->cumtime);
	}
}

static void assert_totals(const struct callstats *cs, uint64_t calls, uint64_t pcalls, double time)
{
	cr_assert_eq(cs->total_calls, calls, "total_calls %llu",
		     (unsigned long long)cs->total_calls);
	cr_assert_eq(cs->total_pcalls, pcalls, "total_pcalls %llu",
		     (unsigned long long)cs->total_pcalls);
	cr_assert_float_eq(cs->total_time, time, EPS, "total_time %.15g", cs->total_time);
}

TestSuite(callstats);

Test(callstats, loop_counts_every_call_as_primitive)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t r = add_thread(p, 1);
	uint32_t m = add(p, r, F_MAIN, 1, 1.0, 0.125);
	uint32_t l = add(p, m, F_LOOP, 1, 0.875, 0.375);
	add(p, l, F_LEAF, 1000, 0.5, 0.5);

	callstats_build(&cs, p, 0);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.125, 1.0 },
		{ F_LOOP, 1, 1, 0.375, 0.875 },
		{ F_LEAF, 1000, 1000, 0.5, 0.5 },
	};
	static const struct want_edge edges[] = {
		{ ROOT, F_MAIN, 1, 1, 0.125, 1.0 },
		{ F_MAIN, F_LOOP, 1, 1, 0.375, 0.875 },
		{ F_LOOP, F_LEAF, 1000, 1000, 0.5, 0.5 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_edges(&cs, edges, N(edges));
	assert_totals(&cs, 1002, 1002, 1.0);
	callstats_release(&cs);
	profile_free(p);
}

/*
 * main -> fact x10 (fact(9) .. fact(0)) -> g. Outermost fact: self 0.25,
 * the nine inner ones 0.0625 each, g 0.5 under the innermost: fact's
 * inclusive times are 1.3125 (outermost), 1.0625, 1.0, ... 0.5625.
 */
static struct profile *fact_profile(void)
{
	struct profile *p = new_profile();
	uint32_t r = add_thread(p, 1);
	uint32_t at = add(p, r, F_MAIN, 1, 1.5, 0.1875);

	for (int depth = 0; depth < 10; depth++) {
		double self = depth == 0 ? 0.25 : 0.0625;
		double incl = 0.5 + 0.0625 * (10 - depth) + (depth == 0 ? 0.1875 : 0);
		at = add(p, at, F_FACT, 1, incl, self);
	}
	add(p, at, F_G, 1, 0.5, 0.5);
	return p;
}

Test(callstats, direct_recursion_counts_outermost_cumtime_only)
{
	struct profile *p = fact_profile();
	struct callstats cs;

	cr_assert_float_eq(p->nodes[2].incl_s, 1.3125, EPS, "the test's own tree");
	callstats_build(&cs, p, 0);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.1875, 1.5 },
		{ F_FACT, 10, 1, 0.8125, 1.3125 },
		{ F_G, 1, 1, 0.5, 0.5 },
	};
	/* As cProfile's sub-entries: fact->fact 9/1, its cumtime that of
	 * fact(8), the outermost activation of the pair. */
	static const struct want_edge edges[] = {
		{ ROOT, F_MAIN, 1, 1, 0.1875, 1.5 },
		{ F_MAIN, F_FACT, 1, 1, 0.25, 1.3125 },
		{ F_FACT, F_FACT, 9, 1, 0.5625, 1.0625 },
		{ F_FACT, F_G, 1, 1, 0.5, 0.5 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_edges(&cs, edges, N(edges));
	assert_totals(&cs, 12, 3, 1.5);
	callstats_release(&cs);
	profile_free(p);
}

/*
 * is_even(7) -> is_odd(6) -> is_even(5) -> ... -> is_odd(0), every
 * activation 0.125 s of its own: is_even 4 calls, is_odd 4 calls.
 */
Test(callstats, mutual_recursion_counts_first_activation_of_each)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t at = add(p, add_thread(p, 1), F_MAIN, 1, 1.25, 0.25);

	for (int n = 7; n >= 0; n--)
		at = add(p, at, n % 2 ? F_EVEN : F_ODD, 1, 0.125 * (n + 1), 0.125);
	callstats_build(&cs, p, 0);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.25, 1.25 },
		{ F_EVEN, 4, 1, 0.5, 1.0 },
		{ F_ODD, 4, 1, 0.5, 0.875 },
	};
	static const struct want_edge edges[] = {
		{ ROOT, F_MAIN, 1, 1, 0.25, 1.25 },
		{ F_MAIN, F_EVEN, 1, 1, 0.125, 1.0 },
		{ F_EVEN, F_ODD, 4, 1, 0.5, 0.875 },
		{ F_ODD, F_EVEN, 3, 1, 0.375, 0.75 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_edges(&cs, edges, N(edges));
	assert_totals(&cs, 9, 3, 1.25);
	callstats_release(&cs);
	profile_free(p);
}

Test(callstats, function_reached_by_two_paths_sums_them)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t m = add(p, add_thread(p, 1), F_MAIN, 1, 2.0, 0.5);
	uint32_t a = add(p, m, F_A, 2, 1.0, 0.25);
	uint32_t b = add(p, m, F_B, 1, 0.5, 0.25);
	add(p, a, F_C, 3, 0.75, 0.75);
	uint32_t c2 = add(p, b, F_C, 5, 0.25, 0.125);
	add(p, c2, F_D, 2, 0.125, 0.125);

	callstats_build(&cs, p, 0);
	/* Neither activation of c is inside the other: both are primitive. */
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.5, 2.0 },
		{ F_A, 2, 2, 0.25, 1.0 },
		{ F_B, 1, 1, 0.25, 0.5 },
		{ F_C, 8, 8, 0.875, 1.0 },
		{ F_D, 2, 2, 0.125, 0.125 },
	};
	static const struct want_edge edges[] = {
		{ ROOT, F_MAIN, 1, 1, 0.5, 2.0 },
		{ F_MAIN, F_A, 2, 2, 0.25, 1.0 },
		{ F_MAIN, F_B, 1, 1, 0.25, 0.5 },
		{ F_A, F_C, 3, 3, 0.75, 0.75 },
		{ F_B, F_C, 5, 5, 0.125, 0.25 },
		{ F_C, F_D, 2, 2, 0.125, 0.125 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_edges(&cs, edges, N(edges));
	assert_totals(&cs, 14, 14, 2.0);
	callstats_release(&cs);
	profile_free(p);
}

/* A function recursing under a different function: c -> d -> c. */
Test(callstats, indirect_recursion_through_other_function)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t c1 = add(p, add_thread(p, 1), F_C, 1, 1.0, 0.5);
	uint32_t d = add(p, c1, F_D, 2, 0.5, 0.25);
	add(p, d, F_C, 4, 0.25, 0.25);

	callstats_build(&cs, p, 0);
	static const struct want_func funcs[] = {
		{ F_C, 5, 1, 0.75, 1.0 },
		{ F_D, 2, 2, 0.25, 0.5 },
	};
	/* d->c is a new pair where it happens: primitive although c is open. */
	static const struct want_edge edges[] = {
		{ ROOT, F_C, 1, 1, 0.5, 1.0 },
		{ F_C, F_D, 2, 2, 0.25, 0.5 },
		{ F_D, F_C, 4, 4, 0.25, 0.25 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_edges(&cs, edges, N(edges));
	assert_totals(&cs, 7, 3, 1.0);
	callstats_release(&cs);
	profile_free(p);
}

Test(callstats, threads_merge_into_one_table)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t m = add(p, add_thread(p, 100), F_MAIN, 1, 1.0, 0.5);
	uint32_t w1 = add(p, m, F_WORK, 2, 0.5, 0.25);
	add(p, w1, F_LEAF, 6, 0.25, 0.25);
	uint32_t tm = add(p, add_thread(p, 101), F_THREAD_MAIN, 1, 2.0, 0.125);
	uint32_t w2 = add(p, tm, F_WORK, 3, 1.875, 0.875);
	add(p, w2, F_LEAF, 9, 1.0, 1.0);
	/* A recursion open at the end of one thread's walk must not make
	 * the other thread's activations secondary. */
	uint32_t f1 = add(p, add_thread(p, 102), F_FACT, 1, 0.5, 0.25);
	add(p, f1, F_FACT, 1, 0.25, 0.25);
	add(p, add_thread(p, 103), F_FACT, 1, 0.125, 0.125);

	cr_assert_eq(p->threads[1].root, 4);
	callstats_build(&cs, p, 0);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.5, 1.0 },
		{ F_THREAD_MAIN, 1, 1, 0.125, 2.0 },
		{ F_WORK, 5, 5, 1.125, 2.375 },
		{ F_LEAF, 15, 15, 1.25, 1.25 },
		{ F_FACT, 3, 2, 0.625, 0.625 },
	};
	static const struct want_edge edges[] = {
		{ ROOT, F_MAIN, 1, 1, 0.5, 1.0 },
		{ ROOT, F_THREAD_MAIN, 1, 1, 0.125, 2.0 },
		{ ROOT, F_FACT, 2, 2, 0.375, 0.625 },
		{ F_MAIN, F_WORK, 2, 2, 0.25, 0.5 },
		{ F_THREAD_MAIN, F_WORK, 3, 3, 0.875, 1.875 },
		{ F_WORK, F_LEAF, 15, 15, 1.25, 1.25 },
		{ F_FACT, F_FACT, 1, 1, 0.25, 0.25 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_edges(&cs, edges, N(edges));
	assert_totals(&cs, 25, 24, 3.625);
	callstats_release(&cs);
	profile_free(p);
}

Test(callstats, empty_thread_has_no_rows)
{
	struct profile *p = new_profile();
	struct callstats cs;

	add_thread(p, 1);
	callstats_build(&cs, p, 1);
	cr_assert_eq(cs.nfuncs, 0);
	cr_assert_eq(cs.nedges, 0);
	assert_totals(&cs, 0, 0, 0);
	cr_assert_eq(cs.node_func[0], UINT32_MAX, "a root maps to no function");
	callstats_release(&cs);
	cr_assert_null(cs.funcs);
	profile_free(p);
}

Test(callstats, find_and_node_func_agree)
{
	struct profile *p = fact_profile();
	struct callstats cs;

	callstats_build(&cs, p, 0);
	cr_assert_eq(callstats_find(&cs, 0xdead), SIZE_MAX);
	cr_assert_eq(cs.node_func[0], UINT32_MAX);
	for (size_t i = 1; i < p->nnodes; i++)
		cr_assert_eq(cs.node_func[i], callstats_find(&cs, p->nodes[i].fn), "node %zu", i);
	callstats_release(&cs);
	profile_free(p);
}

/* ---- overhead compensation ---- */

/*
 * main (1 call) -> a (10 calls) -> b (100 calls), inner 1 ms, outer 2 ms
 * (as measured, every inclusive time is the node's own plus its callees'):
 *   self -= calls*inner + child_calls*outer
 *     main: 0.2 - 0.001 - 10*0.002 = 0.179
 *     a:    0.3 - 0.010 - 100*0.002 = 0.09
 *     b:    0.2 - 0.100 = 0.1
 *   incl -= calls*inner + descendant_calls*(inner+outer), which is
 *   the compensated self plus the callees' compensated incl
 *     main: 0.7 - 0.001 - 110*0.003 = 0.369 = 0.179 + 0.19
 *     a:    0.5 - 0.010 - 100*0.003 = 0.19 = 0.09 + 0.1
 *     b:    0.2 - 0.100 = 0.1
 */
static struct profile *overhead_profile(void)
{
	struct profile *p = new_profile();
	uint32_t m = add(p, add_thread(p, 1), F_MAIN, 1, 0.7, 0.2);
	uint32_t a = add(p, m, F_A, 10, 0.5, 0.3);

	add(p, a, F_B, 100, 0.2, 0.2);
	p->inner_s = 0.001;
	p->outer_s = 0.002;
	return p;
}

Test(callstats, compensation_subtracts_hook_overhead)
{
	struct profile *p = overhead_profile();
	struct callstats cs;

	callstats_build(&cs, p, 1);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.179, 0.369 },
		{ F_A, 10, 10, 0.09, 0.19 },
		{ F_B, 100, 100, 0.1, 0.1 },
	};
	static const struct want_edge edges[] = {
		{ ROOT, F_MAIN, 1, 1, 0.179, 0.369 },
		{ F_MAIN, F_A, 10, 10, 0.09, 0.19 },
		{ F_A, F_B, 100, 100, 0.1, 0.1 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_edges(&cs, edges, N(edges));
	assert_totals(&cs, 111, 111, 0.369);
	callstats_release(&cs);
	profile_free(p);
}

/* The overhead taken out of each figure is measured minus reported:
 * main 0.2 - 0.179 and 0.7 - 0.369, a 0.3 - 0.09 and 0.5 - 0.19, b 0.1
 * and 0.1; in all 0.021 + 0.21 + 0.1. */
Test(callstats, overhead_taken_and_its_range)
{
	struct profile *p = overhead_profile();
	struct callstats cs;
	double lo, hi;

	callstats_build(&cs, p, 1);
	static const double taken[][2] = { { 0.021, 0.331 }, { 0.21, 0.31 }, { 0.1, 0.1 } };
	static const uint64_t fns[] = { F_MAIN, F_A, F_B };
	for (size_t i = 0; i < N(fns); i++) {
		const struct func_stat *f = &cs.funcs[callstats_find(&cs, fns[i])];
		cr_assert_float_eq(f->tottime_taken, taken[i][0], 1e-12, "function %zu", i);
		cr_assert_float_eq(f->cumtime_taken, taken[i][1], 1e-12, "function %zu", i);
	}
	cr_assert_float_eq(cs.total_taken, 0.331, 1e-12);
	callstats_range(0.369, 0.331, &lo, &hi);
	cr_assert_float_eq(lo, 0.369 - CALLSTATS_UNCERTAIN_HIGH * 0.331, 1e-12);
	cr_assert_float_eq(hi, 0.369 + CALLSTATS_UNCERTAIN_LOW * 0.331, 1e-12);
	callstats_range(0.1, 1.0, &lo, &hi);
	cr_assert_eq(lo, 0, "never below zero");
	callstats_range(0.5, -0.001, &lo, &hi);	/* rounding: no range */
	cr_assert(lo == 0.5 && hi == 0.5);
	callstats_release(&cs);

	callstats_build(&cs, p, 0);
	cr_assert_eq(cs.total_taken, 0);
	cr_assert_eq(cs.funcs[0].cumtime_taken, 0);
	callstats_release(&cs);
	profile_free(p);
}

Test(callstats, no_compensation_keeps_measured_times)
{
	struct profile *p = overhead_profile();
	struct callstats cs;

	callstats_build(&cs, p, 0);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.2, 0.7 },
		{ F_A, 10, 10, 0.3, 0.5 },
		{ F_B, 100, 100, 0.2, 0.2 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_totals(&cs, 111, 111, 0.7);
	callstats_release(&cs);
	profile_free(p);
}

/*
 * main (1 call, incl 0.01, self 0.005) -> tiny (999 calls, 0.005 s):
 * the overhead measured exceeds every time, which ends at zero, not below.
 * (999 calls: too few for tiny to cap the overhead, see below.)
 *   main self 0.005 - 0.001 - 999*0.002 < 0; incl 0.01 - 0.001 - 999*0.003 < 0
 *   tiny self = incl = 0.005 - 999*0.001 < 0
 * With b (2 calls, self 0.004) beside it, only main and tiny clamp:
 *   b: 0.004 - 2*0.001 = 0.002 (self and incl)
 */
Test(callstats, compensation_clamps_at_zero)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t m = add(p, add_thread(p, 1), F_MAIN, 1, 0.01, 0.005);

	add(p, m, F_TINY, 999, 0.005, 0.005);
	add(p, add_thread(p, 2), F_B, 2, 0.004, 0.004);
	p->inner_s = 0.001;
	p->outer_s = 0.002;
	callstats_build(&cs, p, 1);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0, 0 },
		{ F_TINY, 999, 999, 0, 0 },
		{ F_B, 2, 2, 0.002, 0.002 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_totals(&cs, 1002, 1002, 0.002);
	callstats_release(&cs);
	profile_free(p);
}

/*
 * An overestimated overhead clamps some times, never into tottime >
 * cumtime: main (incl 1.0, self 0.5) -> leaf x999 (0.5 s, too few calls
 * to cap the overhead), inner 0.001, outer 0.0001 (the leaf really
 * cost 0.0005 a call):
 *   leaf self = incl = 0.5 - 999*0.001 < 0 -> 0
 *   main self 0.5 - 0.001 - 999*0.0001 = 0.3991; its incl is that plus
 *   leaf's 0 (subtracting every descendant's overhead from 1.0 would
 *   give 1.0 - 0.001 - 999*0.0011 < 0, below main's own 0.3991).
 */
Test(callstats, compensation_keeps_tottime_within_cumtime)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t m = add(p, add_thread(p, 1), F_MAIN, 1, 1.0, 0.5);

	add(p, m, F_TINY, 999, 0.5, 0.5);
	p->inner_s = 0.001;
	p->outer_s = 0.0001;
	callstats_build(&cs, p, 1);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.3991, 0.3991 },
		{ F_TINY, 999, 999, 0, 0 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	for (size_t i = 0; i < cs.nfuncs; i++)
		cr_assert_leq(cs.funcs[i].tottime, cs.funcs[i].cumtime + 1e-12);
	callstats_release(&cs);
	profile_free(p);
}

/*
 * A leaf of 1000 calls or more caps the inner overhead: its time per call
 * is the inner overhead plus its own body, in the run itself. main
 * (incl 1.0, self 0.4) -> a (1000 calls, leaf, 0.1 s: 1e-4 a call) and
 * b (2000 calls, leaf, 0.5 s); calibrated inner 2e-4, outer 1e-4: inner
 * becomes 1e-4, outer stays (main, of 1 call, caps nothing):
 *   a: 0.1 - 1000*1e-4 = 0
 *   b: 0.5 - 2000*1e-4 = 0.3
 *   main self 0.4 - 1e-4 - 3000*1e-4 = 0.0999, incl 0.0999 + 0 + 0.3
 * (uncapped: b 0.1, main 0.0998).
 */
Test(callstats, compensation_capped_by_fastest_leaf)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t m = add(p, add_thread(p, 1), F_MAIN, 1, 1.0, 0.4);

	add(p, m, F_A, 1000, 0.1, 0.1);
	add(p, m, F_B, 2000, 0.5, 0.5);
	p->inner_s = 2e-4;
	p->outer_s = 1e-4;
	callstats_build(&cs, p, 1);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.0999, 0.3999 },
		{ F_A, 1000, 1000, 0, 0 },
		{ F_B, 2000, 2000, 0.3, 0.3 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_totals(&cs, 3001, 3001, 0.3999);
	callstats_release(&cs);
	profile_free(p);
}

/*
 * A caller's time per callee call caps nothing (the cheapest caller is
 * no bound for the average): main (1 call, incl 0.14, self 0.1) -> w
 * (1000 calls, incl 0.04, self 0.03) -> leaf (1000 calls, 0.01 s);
 * inner 5e-6 (below leaf's 1e-5 a call: kept), outer 5e-5:
 *   leaf 0.01 - 0.005 = 0.005
 *   w 0.03 - 0.005 - 1000*5e-5 < 0 -> 0, incl 0.005
 *   main self 0.1 - 5e-6 - 1000*5e-5 = 0.049995, incl 0.054995
 */
Test(callstats, compensation_outer_not_capped_by_callers)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t m = add(p, add_thread(p, 1), F_MAIN, 1, 0.14, 0.1);
	uint32_t w = add(p, m, F_A, 1000, 0.04, 0.03);

	add(p, w, F_LEAF, 1000, 0.01, 0.01);
	p->inner_s = 5e-6;
	p->outer_s = 5e-5;
	callstats_build(&cs, p, 1);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.049995, 0.054995 },
		{ F_A, 1000, 1000, 0, 0.005 },
		{ F_LEAF, 1000, 1000, 0.005, 0.005 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	callstats_release(&cs);
	profile_free(p);
}

/* A calibration below every leaf's time per call stays as it is (the same
 * tree, inner 5e-5, outer 1e-4):
 *   a 0.1 - 0.05 = 0.05, b 0.5 - 0.1 = 0.4, main self 0.4 - 5e-5 - 0.3 =
 *   0.09995, incl 0.09995 + 0.05 + 0.4 */
Test(callstats, compensation_below_leaves_unchanged)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t m = add(p, add_thread(p, 1), F_MAIN, 1, 1.0, 0.4);

	add(p, m, F_A, 1000, 0.1, 0.1);
	add(p, m, F_B, 2000, 0.5, 0.5);
	p->inner_s = 5e-5;
	p->outer_s = 1e-4;
	callstats_build(&cs, p, 1);
	static const struct want_func funcs[] = {
		{ F_MAIN, 1, 1, 0.09995, 0.54995 },
		{ F_A, 1000, 1000, 0.05, 0.05 },
		{ F_B, 2000, 2000, 0.4, 0.4 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	callstats_release(&cs);
	profile_free(p);
}

/* Two merged processes, inner overhead 2e-4 each, outer 0:
 * process 0: main (0.5 s, self 0.4) -> a (1000 calls, 0.1 s);
 * process 1: main (0.9 s, self 0.4) -> b (1000 calls, 0.5 s). */
static struct profile *two_processes(void)
{
	struct profile *p = new_profile();
	uint32_t m0 = add(p, add_thread(p, 1), F_MAIN, 1, 0.5, 0.4);

	add(p, m0, F_A, 1000, 0.1, 0.1);
	uint32_t m1 = add(p, add_thread(p, 2), F_MAIN, 1, 0.9, 0.4);
	add(p, m1, F_B, 1000, 0.5, 0.5);
	p->threads[1].process = 1;
	p->processes = xcalloc(2, sizeof(*p->processes));
	p->nprocesses = 2;
	for (int k = 0; k < 2; k++) {
		p->processes[k].inner_s = 2e-4;
		p->processes[k].outer_s = 0;
	}
	return p;
}

/*
 * Merged processes: each one's leaves cap its own overhead only.
 * Process 0: a's 0.1 s over 1000 calls caps its inner 2e-4 to 1e-4.
 * Process 1: b's 0.5 s does not cap it.
 *   a 0.1 - 0.1 = 0, main0 0.4 - 1e-4 = 0.3999
 *   b 0.5 - 0.2 = 0.3, main1 0.4 - 2e-4 = 0.3998
 */
Test(callstats, compensation_capped_per_process)
{
	struct profile *p = two_processes();
	struct callstats cs;

	callstats_build(&cs, p, 1);
	static const struct want_func funcs[] = {
		{ F_MAIN, 2, 2, 0.3999 + 0.3998, 0.3999 + 0.3998 + 0.3 },
		{ F_A, 1000, 1000, 0, 0 },
		{ F_B, 1000, 1000, 0.3, 0.3 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	callstats_release(&cs);
	profile_free(p);
}

/*
 * The same with process 0's overhead measured in the run by the hooks'
 * probes: its leaf does not cap it (a clamps to 0 alone).
 *   a 0.1 - 0.2 < 0: 0, main0 0.4 - 2e-4 = 0.3998
 */
Test(callstats, probed_process_is_not_capped)
{
	struct profile *p = two_processes();
	struct callstats cs;

	p->processes[0].probe_inner_s = 1e-9;	/* any part measured in the run */
	callstats_build(&cs, p, 1);
	static const struct want_func funcs[] = {
		{ F_MAIN, 2, 2, 0.3998 + 0.3998, 0.3998 + 0.3998 + 0.3 },
		{ F_A, 1000, 1000, 0, 0 },
		{ F_B, 1000, 1000, 0.3, 0.3 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	callstats_release(&cs);
	profile_free(p);
}

/* Compensated recursion: cumtime is the outermost activation's, after
 * compensation. fact x3, each 1 call, inner 0.01, outer 0.02:
 *   fact0 incl 0.5 - 0.01 - 2*0.03 = 0.43, self 0.25 - 0.01 - 0.02 = 0.22
 *   fact1 incl 0.25 - 0.01 - 0.03 = 0.21, self 0.125 - 0.01 - 0.02 = 0.095
 *   fact2 incl = self = 0.125 - 0.01 = 0.115 */
Test(callstats, compensation_in_recursion_uses_outermost)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t f0 = add(p, add_thread(p, 1), F_FACT, 1, 0.5, 0.25);
	uint32_t f1 = add(p, f0, F_FACT, 1, 0.25, 0.125);

	add(p, f1, F_FACT, 1, 0.125, 0.125);
	p->inner_s = 0.01;
	p->outer_s = 0.02;
	callstats_build(&cs, p, 1);
	static const struct want_func funcs[] = {
		{ F_FACT, 3, 1, 0.22 + 0.095 + 0.115, 0.43 },
	};
	static const struct want_edge edges[] = {
		{ ROOT, F_FACT, 1, 1, 0.22, 0.43 },
		{ F_FACT, F_FACT, 2, 1, 0.095 + 0.115, 0.21 },
	};
	assert_funcs(&cs, funcs, N(funcs));
	assert_edges(&cs, edges, N(edges));
	callstats_release(&cs);
	profile_free(p);
}

/* ---- primitive calls, row by row ---- */

/*
 * Each row is a chain of functions, one call each, from a thread's root;
 * the expected calls/pcalls of function a and of the edge a->b in it.
 */
struct chain_row {
	char chain[8];	/* letters a..d, outermost first (inline: a worker
			 * process sees the rows, not our pointers) */
	uint64_t calls, pcalls;		/* of a */
	uint64_t ab_calls, ab_pcalls;	/* of the edge a->b (0: none) */
};

ParameterizedTestParameters(callstats, primitive_calls_of_chain)
{
	static struct chain_row rows[] = {
		{ "a", 1, 1, 0, 0 },
		{ "aa", 2, 1, 0, 0 },
		{ "aaaa", 4, 1, 0, 0 },
		{ "ab", 1, 1, 1, 1 },
		{ "ba", 1, 1, 0, 0 },
		{ "aba", 2, 1, 1, 1 },
		{ "abab", 2, 1, 2, 1 },
		{ "bab", 1, 1, 1, 1 },
		{ "abaab", 3, 1, 2, 1 },
		{ "abcda", 2, 1, 1, 1 },
		{ "bbbba", 1, 1, 0, 0 },
	};
	return cr_make_param_array(struct chain_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct chain_row *row, callstats, primitive_calls_of_chain)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t at = add_thread(p, 1);

	for (const char *c = row->chain; *c; c++)
		at = add(p, at, F_A + (uint64_t)(*c - 'a'), 1, 1.0, 0.5);
	callstats_build(&cs, p, 0);
	size_t k = callstats_find(&cs, F_A);
	cr_assert_neq(k, SIZE_MAX);
	cr_assert_eq(cs.funcs[k].calls, row->calls, "%s: calls %llu", row->chain,
		     (unsigned long long)cs.funcs[k].calls);
	cr_assert_eq(cs.funcs[k].pcalls, row->pcalls, "%s: pcalls %llu", row->chain,
		     (unsigned long long)cs.funcs[k].pcalls);
	cr_assert_eq(cs.total_calls, strlen(row->chain));

	size_t b = callstats_find(&cs, F_B);
	uint64_t ab_calls = 0, ab_pcalls = 0;
	for (size_t e = 0; e < cs.nedges; e++)
		if (cs.edges[e].caller == k && cs.edges[e].callee == b) {
			ab_calls = cs.edges[e].calls;
			ab_pcalls = cs.edges[e].pcalls;
		}
	cr_assert_eq(ab_calls, row->ab_calls, "%s: a->b calls %llu", row->chain,
		     (unsigned long long)ab_calls);
	cr_assert_eq(ab_pcalls, row->ab_pcalls, "%s: a->b pcalls %llu", row->chain,
		     (unsigned long long)ab_pcalls);
	callstats_release(&cs);
	profile_free(p);
}

static int more_calls(const struct func_stat *a, const struct func_stat *b, void *ctx)
{
	(void)ctx;
	return a->calls < b->calls ? 1 : a->calls > b->calls ? -1 : 0;
}

/* The functions callstats_top() picks, as a bit per F_A + i. */
static unsigned top_set(const struct callstats *cs, size_t k)
{
	size_t n, *top = callstats_top(cs, k, more_calls, NULL, &n);
	unsigned set = 0;

	for (size_t i = 0; i < n; i++) {
		cr_assert_lt(top[i], cs->nfuncs);
		unsigned bit = 1u << (cs->funcs[top[i]].fn - F_A);
		cr_assert_eq(set & bit, 0, "function %#llx twice",
			     (unsigned long long)cs->funcs[top[i]].fn);
		set |= bit;
	}
	free(top);
	return set;
}

/* a (1 call) -> b 5, c 3, d 3, e 1, and f with no calls (a forked
 * child's copy of its parent's tree): the top keeps ties of the k-th
 * and never an uncalled function. */
Test(callstats, top_keeps_ties_and_skips_uncalled)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t a = add(p, add_thread(p, 1), F_A, 1, 1.0, 0.1);
	static const uint64_t calls[] = { 5, 3, 3, 1, 0 };

	for (size_t i = 0; i < N(calls); i++)
		add(p, a, F_B + i, calls[i], 0.1, 0.1);
	callstats_build(&cs, p, 0);
	enum { A = 1, B = 2, C = 4, D = 8, E = 16 };
	cr_assert_eq(top_set(&cs, 0), 0);
	cr_assert_eq(top_set(&cs, 1), B);
	cr_assert_eq(top_set(&cs, 2), B | C | D, "ties of the 2nd: %#x", top_set(&cs, 2));
	cr_assert_eq(top_set(&cs, 3), B | C | D);
	cr_assert_eq(top_set(&cs, 4), B | C | D | A | E, "%#x", top_set(&cs, 4));
	cr_assert_eq(top_set(&cs, 100), A | B | C | D | E, "%#x", top_set(&cs, 100));
	callstats_release(&cs);
	profile_free(p);
}
