/*
 * Profile arithmetic on hand-built profiles: Amdahl predictions of
 * `cprof whatif` (reporter/whatif.c) and the before/after rows of
 * `cprof diff` on two profiles (reporter/profdiff.c), exact values.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>

#include "../../reporter/profdiff.h"
#include "../../reporter/whatif.h"
#include "profile_builder.h"

#define EPS 1e-12

enum { F_MAIN = 0x1000, F_A, F_B, F_C, F_SMALL };

/*
 * main (self 1) -> A (incl 7, self 5) -> B (incl 2)
 *              -> C (incl 2, self 1) -> B (incl 1)
 * total tottime 10 s; A is 70% of it.
 */
static struct profile *nested_profile(void)
{
	struct profile *p = new_profile();
	uint32_t root = add_thread(p, 1);
	uint32_t m = add(p, root, F_MAIN, 1, 10, 1);
	uint32_t a = add(p, m, F_A, 1, 7, 5);
	add(p, a, F_B, 3, 2, 2);
	uint32_t c = add(p, m, F_C, 1, 2, 1);
	add(p, c, F_B, 1, 1, 1);
	return p;
}

static void target(struct whatif_target *t, const struct callstats *cs, uint64_t fn, double k)
{
	t->funcs = xcalloc(1, sizeof(size_t));
	t->funcs[0] = callstats_find(cs, fn);
	cr_assert_neq(t->funcs[0], SIZE_MAX);
	t->nfuncs = 1;
	t->factor = k;
}

Test(whatif, seventy_percent_twice_as_fast_gives_1_54x)
{
	struct profile *p = nested_profile();
	struct callstats cs;
	struct whatif_target t = { 0 };

	callstats_build(&cs, p, 0);
	target(&t, &cs, F_A, 2);
	double total = whatif_measure(p, &cs, &t, 1);
	cr_assert_float_eq(total, 10, EPS);
	cr_assert_float_eq(t.covered_s, 7, EPS);
	double predicted = whatif_predict(total, &t, 1, 0);
	cr_assert_float_eq(predicted, 6.5, EPS);
	cr_assert_float_eq(total / predicted, 10 / 6.5, EPS);	/* 1.538x */
	cr_assert_float_eq(whatif_predict(total, &t, 1, 1), 3, EPS);
	free(t.funcs);
	callstats_release(&cs);
	profile_free(p);
}

Test(whatif, five_percent_function_bounds_the_gain_at_5_3_percent)
{
	struct profile *p = new_profile();
	uint32_t root = add_thread(p, 1);
	uint32_t m = add(p, root, F_MAIN, 1, 20, 19);
	add(p, m, F_SMALL, 100, 1, 1);
	struct callstats cs;
	struct whatif_target t = { 0 };

	callstats_build(&cs, p, 0);
	target(&t, &cs, F_SMALL, 1e9);
	double total = whatif_measure(p, &cs, &t, 1);
	cr_assert_float_eq(t.covered_s / total, 0.05, EPS);
	cr_assert_float_eq(total / whatif_predict(total, &t, 1, 1), 20.0 / 19.0, EPS);	/* 1.0526x */
	free(t.funcs);
	callstats_release(&cs);
	profile_free(p);
}

Test(whatif, nested_targets_are_counted_once_under_the_outer_one)
{
	struct profile *p = nested_profile();
	struct callstats cs;
	struct whatif_target t[2] = { { 0 }, { 0 } };

	callstats_build(&cs, p, 0);
	target(&t[0], &cs, F_A, 2);
	target(&t[1], &cs, F_B, 4);
	double total = whatif_measure(p, &cs, t, 2);
	cr_assert_float_eq(t[0].covered_s, 7, EPS);
	cr_assert_float_eq(t[1].covered_s, 1, EPS, "B under A belongs to A");
	cr_assert_float_eq(whatif_predict(total, t, 2, 0), 10 - 7 + 3.5 - 1 + 0.25, EPS);
	cr_assert_float_eq(whatif_predict(total, t, 2, 1), 2, EPS);
	free(t[0].funcs);
	free(t[1].funcs);
	callstats_release(&cs);
	profile_free(p);
}

Test(whatif, recursion_counts_the_outermost_activation_only)
{
	struct profile *p = new_profile();
	uint32_t root = add_thread(p, 1);
	uint32_t m = add(p, root, F_MAIN, 1, 10, 2);
	uint32_t a1 = add(p, m, F_A, 1, 8, 3);
	uint32_t a2 = add(p, a1, F_A, 1, 5, 3);
	add(p, a2, F_A, 1, 2, 2);
	struct callstats cs;
	struct whatif_target t = { 0 };

	callstats_build(&cs, p, 0);
	target(&t, &cs, F_A, 4);
	double total = whatif_measure(p, &cs, &t, 1);
	cr_assert_float_eq(t.covered_s, 8, EPS);
	cr_assert_float_eq(whatif_predict(total, &t, 1, 0), 10 - 8 + 2, EPS);
	free(t.funcs);
	callstats_release(&cs);
	profile_free(p);
}

/* ---- profdiff ---- */

static char **labels_for(const struct callstats *cs)
{
	char **l = xcalloc(cs->nfuncs + 1, sizeof(*l));
	for (size_t i = 0; i < cs->nfuncs; i++)
		l[i] = xstrfmt("f.c:%d(f%llx)", (int)(cs->funcs[i].fn & 0xff),
			       (unsigned long long)cs->funcs[i].fn);
	return l;
}

static const struct profdiff_row *row(const struct profdiff *d, const char *label)
{
	for (size_t i = 0; i < d->nrows; i++)
		if (strcmp(d->rows[i].label, label) == 0)
			return &d->rows[i];
	cr_assert_fail("no row %s", label);
	return NULL;
}

/*
 * With compensation: main (1 call, incl 0.7, self 0.2) -> A (10 calls,
 * 0.5, 0.3) -> B (100 calls, 0.2, 0.2), 1 ms inner and 2 ms outer
 * overhead a call: compensated total 0.369 s (0.331 taken out), A's
 * inclusive 0.19 s (0.31 taken out). A twice as fast: 0.369 - 0.19 +
 * 0.095 = 0.274 s. At the range's ends every time moves by the same share
 * x of its overhead taken (-0.15, +0.10): the total by 0.331 x, the
 * prediction by (0.331 - 0.31 / 2) x = 0.176 x.
 */
Test(whatif, the_prediction_has_the_times_range)
{
	struct profile *p = new_profile();
	uint32_t m = add(p, add_thread(p, 1), F_MAIN, 1, 0.7, 0.2);
	uint32_t a = add(p, m, F_A, 10, 0.5, 0.3);
	struct callstats cs;
	struct whatif_target t = { 0 };
	double total_at[2], predicted_at[2];

	add(p, a, F_B, 100, 0.2, 0.2);
	p->inner_s = 0.001;
	p->outer_s = 0.002;
	callstats_build(&cs, p, 1);
	target(&t, &cs, F_A, 2);
	double total = whatif_measure(p, &cs, &t, 1);
	cr_assert_float_eq(total, 0.369, EPS);
	cr_assert_float_eq(cs.total_taken, 0.331, EPS);
	cr_assert_float_eq(t.covered_s, 0.19, EPS);
	cr_assert_float_eq(t.covered_taken_s, 0.31, EPS);
	cr_assert_float_eq(whatif_predict(total, &t, 1, 0), 0.274, EPS);
	whatif_predict_range(total, cs.total_taken, &t, 1, 0, total_at, predicted_at);
	cr_assert_float_eq(total_at[0], 0.369 - 0.15 * 0.331, EPS);
	cr_assert_float_eq(total_at[1], 0.369 + 0.10 * 0.331, EPS);
	cr_assert_float_eq(predicted_at[0], 0.274 - 0.15 * 0.176, EPS);
	cr_assert_float_eq(predicted_at[1], 0.274 + 0.10 * 0.176, EPS);
	/* The upper bound: A takes nothing, 0.179 s, moving by 0.021 x. */
	whatif_predict_range(total, cs.total_taken, &t, 1, 1, total_at, predicted_at);
	cr_assert_float_eq(predicted_at[0], 0.179 - 0.15 * 0.021, EPS);
	cr_assert_float_eq(predicted_at[1], 0.179 + 0.10 * 0.021, EPS);
	free(t.funcs);
	callstats_release(&cs);

	/* Overhead larger than the times: the low end clamps at zero, and
	 * no end predicts a slower run. */
	p->inner_s = 0.01;
	callstats_build(&cs, p, 1);
	target(&t, &cs, F_B, 2);
	total = whatif_measure(p, &cs, &t, 1);
	whatif_predict_range(total, cs.total_taken, &t, 1, 0, total_at, predicted_at);
	for (int e = 0; e < 2; e++)
		cr_assert(predicted_at[e] >= 0 && predicted_at[e] <= total_at[e], "end %d: %g of %g", e,
			  predicted_at[e], total_at[e]);
	free(t.funcs);
	callstats_release(&cs);
	p->inner_s = 0.001;

	/* Without compensation nothing is taken: the range is the figure. */
	callstats_build(&cs, p, 0);
	target(&t, &cs, F_A, 2);
	total = whatif_measure(p, &cs, &t, 1);
	cr_assert_float_eq(t.covered_taken_s, 0, EPS);
	whatif_predict_range(total, cs.total_taken, &t, 1, 0, total_at, predicted_at);
	cr_assert_float_eq(predicted_at[0], whatif_predict(total, &t, 1, 0), EPS);
	cr_assert_float_eq(predicted_at[1], whatif_predict(total, &t, 1, 0), EPS);
	free(t.funcs);
	callstats_release(&cs);
	profile_free(p);
}

Test(profdiff, rows_match_by_label_and_sort_by_largest_change)
{
	struct profile *old_p = nested_profile();
	struct profile *new_p = new_profile();
	uint32_t root = add_thread(new_p, 7);
	uint32_t m = add(new_p, root, F_MAIN, 1, 4.5, 1);
	add(new_p, m, F_A, 1, 1.5, 1.5);	/* A made faster, no longer calls B */
	add(new_p, m, F_SMALL, 2, 2, 2);	/* new function */
	struct callstats cs_old, cs_new;

	callstats_build(&cs_old, old_p, 0);
	callstats_build(&cs_new, new_p, 0);
	char **lo = labels_for(&cs_old), **ln = labels_for(&cs_new);
	const struct callstats *cs[2] = { &cs_old, &cs_new };
	char **const labels[2] = { lo, ln };
	struct profdiff d;
	profdiff_build(&d, cs, labels);

	cr_assert_eq(d.nrows, 5, "main, A, B, C, SMALL");
	cr_assert_float_eq(d.total[0], 10, EPS);
	cr_assert_float_eq(d.total[1], 4.5, EPS);
	const struct profdiff_row *a = row(&d, "f.c:1(f1001)");
	cr_assert_eq(a->calls[0], 1);
	cr_assert_eq(a->calls[1], 1);
	cr_assert_float_eq(a->cumtime[0], 7, EPS);
	cr_assert_float_eq(a->cumtime[1], 1.5, EPS);
	const struct profdiff_row *b = row(&d, "f.c:2(f1002)");
	cr_assert_eq(b->calls[0], 4, "3 under A + 1 under C");
	cr_assert_eq(b->calls[1], 0);
	cr_assert_float_eq(b->tottime[0], 3, EPS);
	const struct profdiff_row *small = row(&d, "f.c:4(f1004)");
	cr_assert_eq(small->calls[0], 0);
	cr_assert_eq(small->calls[1], 2);
	/* |change| = max(|d cumtime|, |d tottime|): main 5.5, A 5.5, B 3, C 2, SMALL 2 */
	cr_assert_str_eq(d.rows[0].label, "f.c:0(f1000)", "ties broken by calls, then label");
	cr_assert_str_eq(d.rows[1].label, "f.c:1(f1001)");
	cr_assert_str_eq(d.rows[2].label, "f.c:2(f1002)");
	for (size_t i = 0; i < cs_old.nfuncs; i++)
		free(lo[i]);
	for (size_t i = 0; i < cs_new.nfuncs; i++)
		free(ln[i]);
	free(lo);
	free(ln);
	profdiff_release(&d);
	callstats_release(&cs_old);
	callstats_release(&cs_new);
	profile_free(old_p);
	profile_free(new_p);
}
