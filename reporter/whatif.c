/*
 * Amdahl arithmetic over calling-context trees. Each node is charged to
 * the outermost target activation above it (or itself), so nested
 * targets are never counted twice.
 */
#include "whatif.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>

double whatif_measure(const struct profile *p, const struct callstats *cs,
		      struct whatif_target *t, size_t n)
{
	/* target index of each function, -1 when none */
	long *target_of = xmalloc((cs->nfuncs ? cs->nfuncs : 1) * sizeof(*target_of));
	/* per node: the target whose activation encloses it, or -1 */
	long *inside = xmalloc((p->nnodes ? p->nnodes : 1) * sizeof(*inside));

	for (size_t i = 0; i < cs->nfuncs; i++)
		target_of[i] = -1;
	for (size_t k = 0; k < n; k++) {
		t[k].covered_s = t[k].covered_taken_s = 0;
		for (size_t j = 0; j < t[k].nfuncs; j++)
			target_of[t[k].funcs[j]] = (long)k;
	}
	/* Parents come before their children in the node array. */
	for (size_t i = 0; i < p->nnodes; i++) {
		uint32_t f = cs->node_func[i];
		long enclosing = p->nodes[i].fn ? inside[p->nodes[i].parent] : -1;
		long own = f == UINT32_MAX ? -1 : target_of[f];
		if (enclosing < 0 && own >= 0) {
			t[own].covered_s += cs->node_incl[i];
			t[own].covered_taken_s += p->nodes[i].incl_s - cs->node_incl[i];
		}
		inside[i] = enclosing >= 0 ? enclosing : own;
	}
	free(target_of);
	free(inside);
	return cs->total_time;
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The prediction with every time shifted by share x of its overhead
 * taken, as callstats_range shifts it: never below zero (nor a part
 * above the whole). */
static double predict_shifted(double total, double total_taken, const struct whatif_target *t,
			      size_t n, int is_upper_bound, double x)
{
	double whole = total + x * total_taken > 0 ? total + x * total_taken : 0;
	double predicted = whole;

	for (size_t k = 0; k < n; k++) {
		double covered = clamp(t[k].covered_s + x * t[k].covered_taken_s, 0, whole);
		predicted -= covered - (is_upper_bound ? 0 : covered / t[k].factor);
	}
	return predicted > 0 ? predicted : 0;
}

double whatif_predict(double total, const struct whatif_target *t, size_t n, int is_upper_bound)
{
	return predict_shifted(total, 0, t, n, is_upper_bound, 0);
}

void whatif_predict_range(double total, double total_taken, const struct whatif_target *t,
			  size_t n, int is_upper_bound, double total_at[2], double predicted_at[2])
{
	static const double shares[2] = { -CALLSTATS_UNCERTAIN_HIGH, CALLSTATS_UNCERTAIN_LOW };

	for (int e = 0; e < 2; e++) {
		total_at[e] = clamp(total + shares[e] * total_taken, 0, INFINITY);
		predicted_at[e] = predict_shifted(total, total_taken, t, n, is_upper_bound, shares[e]);
	}
}
