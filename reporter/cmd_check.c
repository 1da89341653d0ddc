/*
 * `cprof check FILE... RULE...`: budgets enforced on profiles and
 * snapshots, for CI. Options and printing; the rules are budget.c's.
 * Exit status: 0 every rule holds, 1 one fails, 2 no verdict (a bad rule
 * or file).
 */
#define _GNU_SOURCE
#include "budget.h"
#include "cmds.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char check_usage[] =
	"usage: cprof check FILE... RULE... [--json]\n"
	"  snapshots: peak<=SIZE  live<=SIZE  leaks<=SIZE  leaks==0  allocations<=N\n"
	"             SITE:size<=SIZE  (SITE: file.c:LINE or a function name)\n"
	"  profiles:  total<=SECONDS  FUNCTION:cumtime<=SECONDS  FUNCTION:tottime<=SECONDS\n"
	"             FUNCTION:calls<=N\n"
	"  SIZE: 64MiB, 512KiB, 1GB, ... (B, KiB, MiB, GiB, KB, MB, GB); SECONDS: 2s, 150ms\n"
	"  Comparisons: <= < == >= >. Quote each rule for the shell.\n"
	"  Several files are one set: profiles merged as by 'report --merge'; of\n"
	"  snapshots, the newest of each process counts, and processes add up.\n"
	"  Exit status: 0 every rule holds, 1 a rule fails, 2 a bad rule or file.";

struct verdict {
	struct budget_rule rule;
	double value;
	int holds;
};

static void print_text(FILE *out, const struct verdict *v, size_t n)
{
	size_t failed = 0;
	int width = 4;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(v[i].rule.text) > width)
			width = (int)strlen(v[i].rule.text);
	for (size_t i = 0; i < n; i++) {
		char value[64];
		budget_format(value, sizeof(value), budget_rule_unit(&v[i].rule), v[i].value);
		fprintf(out, "%-*s  measured %-14s  %s\n", width, v[i].rule.text, value,
		       v[i].holds ? "pass" : "FAIL");
		failed += !v[i].holds;
	}
	if (failed)
		fprintf(out, "%zu of %zu rule%s failed\n", failed, n, n == 1 ? "" : "s");
	else
		fprintf(out, "%s %zu rule%s hold%s\n", n == 1 ? "the" : "all", n, n == 1 ? "" : "s",
		       n == 1 ? "s" : "");
}

static void print_json(const struct verdict *v, size_t n, char **paths, size_t npaths)
{
	static const char *const units[] = { "bytes", "seconds", "count" };
	int all = 1;

	for (size_t i = 0; i < n; i++)
		all &= v[i].holds;
	printf("{\"pass\": %s, \"files\": [", all ? "true" : "false");
	for (size_t i = 0; i < npaths; i++) {
		printf("%s", i ? ", " : "");
		util_json_string(stdout, paths[i]);
	}
	printf("],\n \"rules\": [");
	for (size_t i = 0; i < n; i++) {
		const struct budget_rule *r = &v[i].rule;
		printf("%s\n    {\"rule\": ", i ? "," : "");
		util_json_string(stdout, r->text);
		printf(", \"measure\": \"%s\", \"target\": ", budget_metric_name(r->metric));
		if (r->target)
			util_json_string(stdout, r->target);
		else
			printf("null");
		printf(", \"op\": \"%s\", \"limit\": %.17g, \"value\": %.17g, \"unit\": \"%s\", "
		       "\"pass\": %s}",
		       budget_op_name(r->op), r->limit, v[i].value,
		       units[budget_rule_unit(r)], v[i].holds ? "true" : "false");
	}
	printf("\n ]}\n");
}

/* Every rule needs a file of its kind: a time rule on snapshots alone is
 * a mistake, not a pass. */
static int has_kind(const struct loaded *files, size_t n, int kind)
{
	for (size_t i = 0; i < n; i++)
		if (kind == FMT_KIND_PROFILE ? files[i].p != NULL : files[i].s != NULL)
			return 1;
	return 0;
}

/*
 * Loads the set: each snapshot, and the profiles merged into one (a
 * forked child's inherited calls then count once, as in `cprof report
 * --merge`). 0, or -1 after one error line; *nloaded are to be closed
 * either way.
 */
static int load_set(char **paths, size_t npaths, struct loaded *files, size_t *nloaded)
{
	char **profiles = xcalloc(npaths + 1, sizeof(*profiles));
	struct fmt_file *read = xcalloc(npaths + 1, sizeof(*read));
	size_t nprofiles = 0;
	int is_usage, status = 0;

	*nloaded = 0;
	for (size_t i = 0; i < npaths && status == 0; i++) {
		struct fmt_file f;
		if (loaded_read(&f, paths[i]) < 0) {
			status = -1;
		} else if (f.header.kind == FMT_KIND_PROFILE) {
			read[nprofiles] = f;	/* merged below, not read again */
			profiles[nprofiles++] = paths[i];
		} else if (loaded_open_read(&files[(*nloaded)++], &f) < 0) {
			status = -1;
		}
	}
	if (status == 0 && nprofiles &&
	    loaded_adopt_profile(&files[(*nloaded)++],
				 profile_open_set(profiles, nprofiles, read, &is_usage),
				 profiles[0], 1) < 0)
		status = -1;
	for (size_t i = 0; i < nprofiles; i++)
		fmt_file_close(&read[i]);
	free(read);
	free(profiles);
	return status;
}

int check_files(char **paths, size_t npaths, char **rules, size_t nrules, int is_json,
		FILE *out)
{
	struct verdict *v = xcalloc(nrules + 1, sizeof(*v));
	struct loaded *files = xcalloc(npaths + 1, sizeof(*files));
	int status = EXIT_OK;
	char err[1024];
	size_t nparsed = 0, nloaded = 0;

	for (; nparsed < nrules; nparsed++)
		if (budget_rule_parse(rules[nparsed], &v[nparsed].rule, err, sizeof(err)) < 0) {
			budget_rule_release(&v[nparsed].rule);
			error("%s", err);
			status = EXIT_USAGE;
			goto out;
		}
	if (load_set(paths, npaths, files, &nloaded) < 0) {
		status = EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < nrules; i++) {
		int kind = budget_rule_kind(&v[i].rule);
		if (!has_kind(files, nloaded, kind)) {
			error("'%s' measures %s, and none was given", v[i].rule.text,
			      kind == FMT_KIND_PROFILE ? "call profiles (.prof)"
						       : "memory snapshots (.snap)");
			status = EXIT_USAGE;
			goto out;
		}
		if (budget_measure(&v[i].rule, files, nloaded, &v[i].value, err, sizeof(err)) < 0) {
			error("%s", err);
			status = EXIT_USAGE;
			goto out;
		}
		v[i].holds = budget_holds(&v[i].rule, v[i].value);
		if (!v[i].holds)
			status = EXIT_ERROR;
	}
	if (is_json)
		print_json(v, nrules, paths, npaths);
	else
		print_text(out, v, nrules);
out:
	for (size_t i = 0; i < nparsed; i++)
		budget_rule_release(&v[i].rule);
	for (size_t i = 0; i < nloaded; i++)
		loaded_close(&files[i]);
	free(v);
	free(files);
	return status;
}

/* ---- `cprof diff --fail-over` ---- */

int check_growth_eval(struct growth_check *gc, const char *const *budgets, size_t n,
		      double total_old, double total_new, const struct budget_entry *entries,
		      size_t nentries, enum budget_unit unit)
{
	char err[512];

	memset(gc, 0, sizeof(*gc));
	gc->v = xcalloc(n + 1, sizeof(*gc->v));
	gc->entries = entries;
	gc->nentries = nentries;
	gc->unit = unit;
	for (; gc->n < n; gc->n++) {
		struct growth_verdict *v = &gc->v[gc->n];
		v->text = budgets[gc->n];
		if (budget_growth_parse(budgets[gc->n], &v->growth, err, sizeof(err)) < 0)
			return usage_error("%s", err);
		if (!v->growth.target) {
			v->old_value = total_old;
			v->new_value = total_new;
		} else if (!budget_growth_measure(&v->growth, entries, nentries, &v->old_value,
						  &v->new_value)) {
			gc->n++;
			return usage_error("--fail-over: '%s' is in neither file (names and "
					   "FILE:LINE as the diff prints them)",
					   v->growth.target);
		}
		v->is_exceeded = budget_growth_exceeded(&v->growth, v->old_value, v->new_value);
	}
	return EXIT_OK;
}

static double growth_of(const struct budget_entry *e)
{
	return e->new_value - e->old_value;
}

static int by_growth(const void *a, const void *b, void *entries)
{
	double ga = growth_of((const struct budget_entry *)entries + *(const size_t *)a);
	double gb = growth_of((const struct budget_entry *)entries + *(const size_t *)b);

	return ga < gb ? 1 : ga > gb ? -1 : 0;
}

/* "cprof: grew most: A (+x), B (+y), C (+z)", the three that grew most. */
static void print_grew_most(const struct growth_check *gc)
{
	size_t *grown = xcalloc(gc->nentries + 1, sizeof(*grown)), n = 0;

	for (size_t i = 0; i < gc->nentries; i++)
		if (growth_of(&gc->entries[i]) > 0)
			grown[n++] = i;
	if (n) {
		qsort_r(grown, n, sizeof(*grown), by_growth, (void *)gc->entries);
		fprintf(stderr, "cprof: grew most:");
		for (size_t k = 0; k < n && k < 3; k++) {
			const struct budget_entry *e = &gc->entries[grown[k]];
			char by[64];
			budget_format(by, sizeof(by), gc->unit, growth_of(e));
			fprintf(stderr, "%s %s (+%s)", k ? "," : "", e->label, by);
		}
		fprintf(stderr, "\n");
	}
	free(grown);
}

int check_growth_report(struct growth_check *gc)
{
	int status = EXIT_OK;

	for (size_t i = 0; i < gc->n; i++) {
		const struct growth_verdict *v = &gc->v[i];
		char was[64], now[64];
		budget_format(was, sizeof(was), gc->unit, v->old_value);
		budget_format(now, sizeof(now), gc->unit, v->new_value);
		fprintf(stderr, "cprof: --fail-over %s: %s went from %s to %s", v->text,
			v->growth.target ? v->growth.target : "the total", was, now);
		if (v->old_value > 0)
			fprintf(stderr, " (%+.1f%%)",
				(v->new_value - v->old_value) / v->old_value * 100);
		fprintf(stderr, ": %s\n", v->is_exceeded ? "FAIL" : "pass");
		if (v->is_exceeded)
			status = EXIT_ERROR;
	}
	if (status != EXIT_OK)
		print_grew_most(gc);
	return status;
}

void check_growth_release(struct growth_check *gc)
{
	for (size_t i = 0; i < gc->n; i++)
		budget_growth_release(&gc->v[i].growth);
	free(gc->v);
	memset(gc, 0, sizeof(*gc));
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int is_json = 0, c, status;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			is_json = 1;
			break;
		case 'h':
			puts(check_usage);
			return EXIT_OK;
		default:
			return usage_error("unknown option '%s' for check\n%s", argv[optind - 1],
					   check_usage);
		}
	}
	char **paths = xcalloc((size_t)argc, sizeof(*paths));
	char **rules = xcalloc((size_t)argc, sizeof(*rules));
	size_t npaths = 0, nrules = 0;
	for (int i = optind; i < argc; i++) {
		if (budget_looks_like_rule(argv[i]))
			rules[nrules++] = argv[i];
		else
			paths[npaths++] = argv[i];
	}
	if (!npaths || !nrules)
		status = usage_error("check needs at least one file and one rule\n%s", check_usage);
	else
		status = check_files(paths, npaths, rules, nrules, is_json, stdout);
	free(paths);
	free(rules);
	return status;
}
