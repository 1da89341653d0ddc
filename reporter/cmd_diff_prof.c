/*
 * `cprof diff OLD.prof NEW.prof`: per-function times before and after,
 * largest change first, and the overall speedup. Options and printing;
 * the matching is profdiff.c's.
 */
#define _GNU_SOURCE
#include "budget.h"
#include "cmds.h"
#include "loaded.h"
#include "profdiff.h"
#include "symbolize.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char diff_prof_usage[] =
	"usage: cprof diff OLD.prof NEW.prof [--limit N] [--match REGEX] [--json]\n"
	"                 [--fail-over PERCENT | --fail-over FUNCTION=PERCENT]...\n"
	"  --fail-over: exit 1 when the total time (or FUNCTION's cumtime) grew by more";

static void print_json(const struct profdiff *d, const char *old_path, const char *new_path,
		       const struct profdiff_row **rows, size_t n)
{
	printf("{\"old\": ");
	util_json_string(stdout, old_path);
	printf(", \"new\": ");
	util_json_string(stdout, new_path);
	printf(", \"total_time_old\": %.9f, \"total_time_new\": %.9f, \"speedup\": %.6f,\n",
	       d->total[0], d->total[1], d->total[1] > 0 ? d->total[0] / d->total[1] : 0);
	printf(" \"functions\": [");
	for (size_t i = 0; i < n; i++) {
		const struct profdiff_row *r = rows[i];
		printf("%s\n    {\"label\": ", i ? "," : "");
		util_json_string(stdout, r->label);
		printf(", \"calls_old\": %" PRIu64 ", \"calls_new\": %" PRIu64
		       ", \"calls_diff\": %" PRId64 ", \"tottime_old\": %.9f, \"tottime_new\": %.9f"
		       ", \"tottime_diff\": %.9f, \"cumtime_old\": %.9f, \"cumtime_new\": %.9f"
		       ", \"cumtime_diff\": %.9f}",
		       r->calls[0], r->calls[1], (int64_t)(r->calls[1] - r->calls[0]), r->tottime[0],
		       r->tottime[1], r->tottime[1] - r->tottime[0], r->cumtime[0], r->cumtime[1],
		       r->cumtime[1] - r->cumtime[0]);
	}
	printf("\n ]}\n");
}

static void print_text(const struct profdiff *d, const char *old_path, const char *new_path,
		       const struct profdiff_row **rows, size_t n, size_t total_rows)
{
	double speedup = d->total[1] > 0 ? d->total[0] / d->total[1] : 0;

	printf("Comparing '%s' (%.3f s) with '%s' (%.3f s): %.2fx %s\n\n",
	       util_display_path(old_path), d->total[0], util_display_path(new_path), d->total[1],
	       speedup >= 1 ? speedup : (speedup > 0 ? 1 / speedup : 0),
	       speedup >= 1 ? "faster" : "slower");
	if (n < total_rows)
		printf("   List reduced from %zu to %zu\n\n", total_rows, n);
	printf("%21s  %28s  %28s\n", "ncalls", "tottime", "cumtime");
	printf("%10s %10s  %8s %8s %10s  %8s %8s %10s  %s\n", "old", "new", "old", "new", "change",
	       "old", "new", "change", "filename:lineno(function)");
	for (size_t i = 0; i < n; i++) {
		const struct profdiff_row *r = rows[i];
		printf("%10" PRIu64 " %10" PRIu64 "  %8.3f %8.3f %+10.3f  %8.3f %8.3f %+10.3f  %s\n",
		       r->calls[0], r->calls[1], r->tottime[0], r->tottime[1],
		       r->tottime[1] - r->tottime[0], r->cumtime[0], r->cumtime[1],
		       r->cumtime[1] - r->cumtime[0], r->label);
	}
}

int cmd_diff_profiles(int argc, char **argv, struct fmt_file *read)
{
	static const struct option longopts[] = {
		{ "limit", required_argument, NULL, 'l' },
		{ "match", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "fail-over", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char **budgets = xcalloc((size_t)argc, sizeof(*budgets));
	size_t nbudgets = 0;
	long limit = -1;
	const char *match = NULL;
	int json = 0, c;
	regex_t re;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			limit = util_parse_count(optarg);
			if (limit < 0)
				return usage_error("--limit needs a number, not '%s'", optarg);
			break;
		case 'm':
			match = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'f':
			budgets[nbudgets++] = optarg;
			break;
		case 'h':
			free(budgets);
			puts(diff_prof_usage);
			return EXIT_OK;
		default:
			free(budgets);
			return usage_error("unknown option '%s' for diff\n%s", argv[optind - 1],
					   diff_prof_usage);
		}
	}
	if (argc - optind != 2) {
		free(budgets);
		return usage_error("diff takes two files\n%s", diff_prof_usage);
	}
	if (match && regcomp(&re, match, REG_EXTENDED | REG_NOSUB) != 0) {
		free(budgets);
		return usage_error("bad --match regular expression '%s' (POSIX extended syntax)",
				   match);
	}

	struct loaded l[2] = { { 0 }, { 0 } };
	int status = EXIT_OK;
	if (loaded_open_read(&l[0], &read[0]) < 0 || loaded_open_read(&l[1], &read[1]) < 0) {
		status = EXIT_ERROR;
	} else {
		if (strcmp(l[0].p->meta.program, l[1].p->meta.program) != 0)
			warning("comparing profiles of two programs ('%s' and '%s')",
				l[0].p->meta.program, l[1].p->meta.program);
		const struct callstats *cs[2] = { &l[0].cs, &l[1].cs };
		char **const labels[2] = { l[0].labels, l[1].labels };
		struct profdiff d;
		profdiff_build(&d, cs, labels);
		struct budget_entry *entries = xcalloc(d.nrows + 1, sizeof(*entries));
		struct growth_check gc;
		for (size_t i = 0; i < d.nrows; i++)
			entries[i] = profdiff_budget_entry(&d.rows[i]);
		status = check_growth_eval(&gc, budgets, nbudgets, d.total[0], d.total[1], entries,
					   d.nrows, BUDGET_SECONDS);
		const struct profdiff_row **rows = xcalloc(d.nrows + 1, sizeof(*rows));
		size_t n = 0;
		for (size_t i = 0; i < d.nrows; i++)
			if (!match || regexec(&re, d.rows[i].label, 0, NULL, 0) == 0)
				rows[n++] = &d.rows[i];
		size_t shown = limit >= 0 && (size_t)limit < n ? (size_t)limit : n;
		if (status == EXIT_OK && json)
			print_json(&d, argv[optind], argv[optind + 1], rows, shown);
		else if (status == EXIT_OK)
			print_text(&d, argv[optind], argv[optind + 1], rows, shown, n);
		if (status == EXIT_OK)
			status = check_growth_report(&gc);
		check_growth_release(&gc);
		for (size_t i = 0; i < d.nrows; i++) {
			free((char *)entries[i].file);
			free((char *)entries[i].function);
		}
		free(entries);
		free(rows);
		profdiff_release(&d);
	}
	loaded_close(&l[0]);
	loaded_close(&l[1]);
	if (match)
		regfree(&re);
	free(budgets);
	return status;
}
