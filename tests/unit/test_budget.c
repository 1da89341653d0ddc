/*
 * Budget rules of `cprof check`, `cprof run --check` and `cprof diff
 * --fail-over` (reporter/budget.c): the grammar, exact boundaries, and
 * what a rule measures on hand-built profiles. Snapshot measures are
 * checked end to end (tests/e2e/test_check.py), on real files.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "../../reporter/budget.h"
#include "profile_builder.h"

static struct budget_rule parse_ok(const char *text)
{
	struct budget_rule r;
	char err[512] = "";

	cr_assert_eq(budget_rule_parse(text, &r, err, sizeof(err)), 0, "%s: %s", text, err);
	return r;
}

static void parse_fails(const char *text, const char *needle)
{
	struct budget_rule r;
	char err[512] = "";

	cr_assert_eq(budget_rule_parse(text, &r, err, sizeof(err)), -1, "%s was accepted", text);
	cr_assert(strstr(err, needle), "%s: '%s' lacks '%s'", text, err, needle);
	budget_rule_release(&r);
}

Test(rules, whole_run_measures)
{
	struct budget_rule r = parse_ok("peak<=64MiB");

	cr_assert_eq(r.metric, BUDGET_PEAK);
	cr_assert_eq(r.op, BUDGET_LE);
	cr_assert_eq(r.limit, 64.0 * 1024 * 1024);
	cr_assert_null(r.target);
	cr_assert_eq(budget_rule_kind(&r), FMT_KIND_SNAPSHOT);
	r = parse_ok("leaks==0");
	cr_assert_eq(r.metric, BUDGET_LEAKS);
	cr_assert_eq(r.op, BUDGET_EQ);
	cr_assert_eq(r.limit, 0);
	cr_assert_eq(parse_ok("live<1.5KiB").limit, 1536);
	cr_assert_eq(parse_ok("live<1.5KiB").op, BUDGET_LT);
	cr_assert_eq(parse_ok("leaks<=10KB").limit, 10000);
	cr_assert_eq(parse_ok("peak<=2GB").limit, 2e9);
	cr_assert_eq(parse_ok("peak<=3GiB").limit, 3.0 * 1073741824);
	cr_assert_eq(parse_ok("peak<=512B").limit, 512);
	cr_assert_eq(parse_ok("allocations<=1000").metric, BUDGET_ALLOCATIONS);
	cr_assert_eq(budget_rule_unit(&r), BUDGET_BYTES);
	r = parse_ok("total<=2");
	cr_assert_eq(r.metric, BUDGET_TOTAL);
	cr_assert_eq(r.limit, 2);
	cr_assert_eq(budget_rule_kind(&r), FMT_KIND_PROFILE);
	cr_assert_eq(budget_rule_unit(&r), BUDGET_SECONDS);
	cr_assert_eq(parse_ok("total<=150ms").limit, 0.150);
	cr_assert_eq(parse_ok("total>=20us").op, BUDGET_GE);
	cr_assert_eq(parse_ok("total>20us").op, BUDGET_GT);
}

Test(rules, targets_keep_their_colons)
{
	struct budget_rule r = parse_ok("pipeline-demo/features.c:88:size<=1MB");

	cr_assert_eq(r.metric, BUDGET_SITE_SIZE);
	cr_assert_str_eq(r.target, "pipeline-demo/features.c:88");
	cr_assert_eq(r.limit, 1e6);
	budget_rule_release(&r);
	r = parse_ok("tests/progs/calls.c:61(main):cumtime<=2s");
	cr_assert_eq(r.metric, BUDGET_CUMTIME);
	cr_assert_str_eq(r.target, "tests/progs/calls.c:61(main)");
	budget_rule_release(&r);
	r = parse_ok("leaf:calls==1000");
	cr_assert_eq(r.metric, BUDGET_CALLS);
	cr_assert_eq(budget_rule_unit(&r), BUDGET_COUNT);
	cr_assert_str_eq(r.target, "leaf");
	budget_rule_release(&r);
	r = parse_ok("walk:tottime<=1ms");
	cr_assert_eq(r.metric, BUDGET_TOTTIME);
	cr_assert_eq(r.limit, 1e-3);
	budget_rule_release(&r);
}

Test(rules, bad_rules_say_why)
{
	parse_fails("peak<=64", "needs a unit");
	parse_fails("peak<=64 MiB", "needs a unit");
	parse_fails("peak<=64mb", "needs a unit");
	parse_fails("peak<=MiB", "not a number");
	parse_fails("peak<=-1MiB", "not a number");
	parse_fails("pek<=1MiB", "unknown measure 'pek'");
	parse_fails("main:peak<=1MiB", "takes no SITE");
	parse_fails("size<=1MiB", "say whose");
	parse_fails("cumtime<=1s", "say whose");
	parse_fails(":calls<=1", "say whose");
	parse_fails("main:calls<=1.5", "not a whole number");
	parse_fails("main:calls<=10ms", "not a whole number");
	parse_fails("total<=2h", "takes s, ms, us or ns");
	parse_fails("peak", "is not a rule");
	cr_assert(!budget_looks_like_rule("cprof-out/app.1.snap"));
	cr_assert(budget_looks_like_rule("peak<=1MiB"));
	cr_assert(budget_looks_like_rule("leaks==0"));
}

/* "<=" at the value passes, one over fails: byte-exact boundaries. */
Test(rules, boundaries_are_exact)
{
	struct budget_rule r = parse_ok("peak<=1567776B");

	cr_assert(budget_holds(&r, 1567776));
	cr_assert(!budget_holds(&r, 1567777));
	r = parse_ok("peak<1567776B");
	cr_assert(!budget_holds(&r, 1567776));
	cr_assert(budget_holds(&r, 1567775));
	r = parse_ok("leaks==0");
	cr_assert(budget_holds(&r, 0));
	cr_assert(!budget_holds(&r, 1));
	r = parse_ok("allocations>=10");
	cr_assert(budget_holds(&r, 10));
	cr_assert(!budget_holds(&r, 9));
	r = parse_ok("allocations>10");
	cr_assert(!budget_holds(&r, 10));
}

Test(growth, budgets_and_their_limits)
{
	struct budget_growth g;
	char err[512];

	cr_assert_eq(budget_growth_parse("5%", &g, err, sizeof(err)), 0);
	cr_assert_null(g.target);
	cr_assert_eq(g.percent, 5);
	cr_assert(!budget_growth_exceeded(&g, 100, 105), "exactly 5%% is within 5%%");
	cr_assert(budget_growth_exceeded(&g, 100, 105.001));
	cr_assert(!budget_growth_exceeded(&g, 100, 50));
	cr_assert(budget_growth_exceeded(&g, 0, 1), "from nothing to something");
	cr_assert(!budget_growth_exceeded(&g, 0, 0));
	cr_assert_eq(budget_growth_parse("12.5", &g, err, sizeof(err)), 0);
	cr_assert_eq(g.percent, 12.5);
	cr_assert_eq(budget_growth_parse("features.c:88=5%", &g, err, sizeof(err)), 0);
	cr_assert_str_eq(g.target, "features.c:88");
	budget_growth_release(&g);
	cr_assert_eq(budget_growth_parse("=5%", &g, err, sizeof(err)), -1);
	cr_assert_eq(budget_growth_parse("x", &g, err, sizeof(err)), -1);
	cr_assert_eq(budget_growth_parse("5%%", &g, err, sizeof(err)), -1);
	cr_assert(strstr(err, "PERCENT or TARGET=PERCENT"), "%s", err);
}

Test(growth, targets_match_lines_functions_and_labels)
{
	const struct budget_entry e[] = {
		{ "pipeline-demo/features.c:88", "pipeline-demo/features.c", "update", 88, 100, 130 },
		{ "src/features.c:88", "src/features.c", "update", 88, 10, 10 },
		{ "pipeline-demo/myfeatures.c:88", "pipeline-demo/myfeatures.c", "other", 88, 1, 2 },
		{ "x.c:5(walk)", "x.c", "walk", 5, 7, 8 },
	};
	struct budget_growth g = { 0 };
	double old_value, new_value;

	g.target = "features.c:88";	/* both features.c, not myfeatures.c */
	cr_assert_eq(budget_growth_measure(&g, e, 4, &old_value, &new_value), 2);
	cr_assert_eq(old_value, 110);
	cr_assert_eq(new_value, 140);
	g.target = "walk";
	cr_assert_eq(budget_growth_measure(&g, e, 4, &old_value, &new_value), 1);
	cr_assert_eq(new_value, 8);
	g.target = "x.c:5(walk)";
	cr_assert_eq(budget_growth_measure(&g, e, 4, &old_value, &new_value), 1);
	g.target = "nowhere.c:1";
	cr_assert_eq(budget_growth_measure(&g, e, 4, &old_value, &new_value), 0);
}

enum { F_MAIN = 0x1000, F_WALK, F_LEAF };

/* A loaded profile with names and labels, as loaded_open() makes them. */
static void load_built(struct loaded *l, struct profile *p)
{
	static const char *const names[] = { "main", "walk", "leaf" };

	memset(l, 0, sizeof(*l));
	l->p = p;
	callstats_build(&l->cs, p, 0);
	l->names = xcalloc(l->cs.nfuncs, sizeof(*l->names));
	l->labels = xcalloc(l->cs.nfuncs, sizeof(*l->labels));
	for (size_t i = 0; i < l->cs.nfuncs; i++) {
		const char *name = names[l->cs.funcs[i].fn - F_MAIN];
		l->names[i] = name;
		l->labels[i] = xstrfmt("a.c:%d(%s)", (int)(l->cs.funcs[i].fn - F_MAIN + 1), name);
	}
}

static void unload(struct loaded *l)
{
	for (size_t i = 0; i < l->cs.nfuncs; i++)
		free(l->labels[i]);
	free(l->labels);
	free(l->names);
	callstats_release(&l->cs);
	free(l->p->nodes);
	free(l->p->threads);
	free(l->p);
}

/* main (10 s) -> walk x3 (6 s, self 2) -> leaf x30 (4 s); a second
 * profile of 1 call of main (1 s) -> leaf x5 (0.5 s). Profiles add up. */
Test(measure, profiles_add_up_by_function)
{
	struct loaded l[2];
	struct profile *a = new_profile(), *b = new_profile();
	uint32_t root = add_thread(a, 1), m = add(a, root, F_MAIN, 1, 10, 4);
	uint32_t w = add(a, m, F_WALK, 3, 6, 2);
	add(a, w, F_LEAF, 30, 4, 4);
	root = add_thread(b, 2);
	m = add(b, root, F_MAIN, 1, 1, 0.5);
	add(b, m, F_LEAF, 5, 0.5, 0.5);
	load_built(&l[0], a);
	load_built(&l[1], b);

	static const struct {
		const char *rule;
		double value;
	} want[] = {
		{ "total<=1s", 11 },	       { "main:cumtime<=1s", 11 },
		{ "main:tottime<=1s", 4.5 },   { "leaf:calls<=1", 35 },
		{ "a.c:3(leaf):calls<=1", 35 }, { "walk:cumtime<=1s", 6 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct budget_rule r = parse_ok(want[i].rule);
		double v = -1;
		char err[512] = "";
		cr_assert_eq(budget_measure(&r, l, 2, &v, err, sizeof(err)), 0, "%s: %s", want[i].rule,
			     err);
		cr_assert_float_eq(v, want[i].value, 1e-12, "%s: %g", want[i].rule, v);
		budget_rule_release(&r);
	}
	struct budget_rule r = parse_ok("nosuch:calls<=1");
	double v = -1;
	char err[512] = "";
	cr_assert_eq(budget_measure(&r, l, 2, &v, err, sizeof(err)), -1, "a missing function is not 0");
	cr_assert(strstr(err, "no function 'nosuch'"), "%s", err);
	cr_assert_eq(v, -1);
	budget_rule_release(&r);
	unload(&l[0]);
	unload(&l[1]);
}
