/*
 * Stacks of a profile for drawing (reporter/stacks.c): a subtree narrower
 * than 1/resolution of the total is one visit of its cut frame, holding
 * the whole subtree's value, however many nodes it has.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "../../reporter/stacks.h"
#include "profile_builder.h"

enum { F_MAIN = 0x1000, F_WIDE, F_NARROW, F_DEEP };

#define CHAIN 1000

struct seen {
	int nvisits;
	uint64_t total;
	int narrow_depth;
	uint64_t narrow_value;
	char first_frame[32];
};

static void count(void *ctx, const char *const *frames, int nframes, uint64_t value)
{
	struct seen *s = ctx;

	s->nvisits++;
	s->total += value;
	if (strcmp(frames[nframes - 1], STACKS_NARROW) == 0) {
		s->narrow_depth = nframes;
		s->narrow_value += value;
		snprintf(s->first_frame, sizeof(s->first_frame), "%s", frames[0]);
	}
}

static const char *name_of(uint64_t fn)
{
	switch (fn) {
	case F_MAIN: return "main";
	case F_WIDE: return "wide";
	case F_NARROW: return "narrow";
	default: return "deep";
	}
}

/* main (1 s) -> wide (0.5 s); main -> narrow -> deep -> deep ... (1 us each) */
Test(stacks, narrow_subtree_is_one_visit)
{
	struct profile *p = new_profile();
	struct callstats cs;
	uint32_t root = add_thread(p, 1);
	uint32_t m = add(p, root, F_MAIN, 1, 1.5 + (CHAIN + 1) * 1e-6, 1.0);
	add(p, m, F_WIDE, 1, 0.5, 0.5);
	uint32_t n = add(p, m, F_NARROW, 1, (CHAIN + 1) * 1e-6, 1e-6);
	for (int i = 0; i < CHAIN; i++)
		n = add(p, n, F_DEEP, 1, (CHAIN - i) * 1e-6, 1e-6);
	callstats_build(&cs, p, 0);
	const char **names = xcalloc(cs.nfuncs, sizeof(*names));
	for (size_t f = 0; f < cs.nfuncs; f++)
		names[f] = name_of(cs.funcs[f].fn);

	struct seen all = { 0 }, drawn = { 0 };
	stacks_of_profile(p, &cs, names, count, &all);
	stacks_of_profile_drawn(p, &cs, names, 100, count, &drawn);

	cr_assert_eq(all.nvisits, 3 + CHAIN, "every node with time: %d visits", all.nvisits);
	/* main, wide, and the narrow subtree (under 1/100 of the total) once */
	cr_assert_eq(drawn.nvisits, 3, "%d visits drawn", drawn.nvisits);
	cr_assert_eq(drawn.total, all.total, "drawn %llu ns of %llu",
		     (unsigned long long)drawn.total, (unsigned long long)all.total);
	cr_assert_eq(drawn.narrow_depth, 2, "cut at depth %d", drawn.narrow_depth);
	cr_assert_str_eq(drawn.first_frame, "main");
	cr_assert_eq(drawn.narrow_value, all.total - 1500000000ull, "narrow subtree %llu ns",
		     (unsigned long long)drawn.narrow_value);
	free(names);
	callstats_release(&cs);
	profile_free(p);
}
