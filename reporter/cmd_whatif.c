/*
 * `cprof whatif PROFILE FUNCTION=FACTOR...`: Amdahl's law on a profile.
 * Options and printing; the arithmetic is whatif.c's.
 */
#include "cmds.h"
#include "loaded.h"
#include "symbolize.h"
#include "util.h"
#include "whatif.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char whatif_usage[] =
	"usage: cprof whatif PROFILE FUNCTION=FACTOR [FUNCTION=FACTOR...]\n"
	"  FUNCTION: a function name, or file:line(name) as cprof report prints it\n"
	"  FACTOR: how many times faster it would run (2 = twice as fast)";

/* Parses "name=factor"; the name part is written into a fresh string. */
static int parse_target(const char *arg, struct whatif_target *t)
{
	const char *eq = strrchr(arg, '=');
	char *end;

	if (!eq || eq == arg)
		return error("'%s' is not FUNCTION=FACTOR (e.g. compute_features=4)", arg);
	t->factor = strtod(eq + 1, &end);
	if (end == eq + 1 || *end || !(t->factor > 0) || !isfinite(t->factor))
		return error("'%s': the factor must be a positive number (2 = twice as fast)", arg);
	t->name = xstrfmt("%.*s", (int)(eq - arg), arg);
	return 0;
}

static double speedup(double before, double after)
{
	return after > 0 ? before / after : INFINITY;
}

/* What the prediction may be, given how uncertain the compensated times
 * are (cprof report prints the same range for the total). */
static void print_range(double taken, double total, const struct whatif_target *t, size_t n,
			int is_upper_bound)
{
	double total_at[2], predicted_at[2];

	if (!(taken >= 0.0005))
		return;	/* nothing (that shows at 3 decimals) was taken out */
	whatif_predict_range(total, taken, t, n, is_upper_bound, total_at, predicted_at);
	/* Either end may give the smaller speedup. */
	double s0 = speedup(total_at[0], predicted_at[0]), s1 = speedup(total_at[1], predicted_at[1]);
	printf("    given the %.3f s of hook overhead taken out: %.3f to %.3f s, speedup %.2fx to %.2fx\n",
	       taken, predicted_at[0], predicted_at[1], s0 < s1 ? s0 : s1, s0 < s1 ? s1 : s0);
}

static int run_whatif(const char *path, struct whatif_target *t, size_t n)
{
	struct loaded l;
	int status = EXIT_OK;

	if (loaded_open(&l, path) < 0 || !l.p || l.p->is_counts_only) {
		if (l.s)
			error("'%s' is a memory snapshot: whatif predicts from a call profile", path);
		else if (l.p)
			error("'%s' was taken with CPROF_COUNTS_ONLY=1: it has no times to predict from",
			      path);
		loaded_close(&l);
		return EXIT_ERROR;
	}
	const struct profile *p = l.p;
	const struct callstats cs = l.cs;
	char **labels = l.labels;
	for (size_t k = 0; k < n && status == EXIT_OK; k++) {
		for (size_t i = 0; i < cs.nfuncs; i++) {
			const char *open = strrchr(labels[i], '(');
			size_t len = strlen(open + 1) - 1;	/* name without "()" */
			int by_name = strlen(t[k].name) == len && strncmp(open + 1, t[k].name, len) == 0;
			if ((by_name || strcmp(labels[i], t[k].name) == 0) && cs.funcs[i].calls) {
				t[k].funcs = xreallocarray(t[k].funcs, t[k].nfuncs + 1, sizeof(size_t));
				t[k].funcs[t[k].nfuncs++] = i;
			}
		}
		if (!t[k].nfuncs) {
			error("no function '%s' in '%s' (names as 'cprof report' prints them)",
			      t[k].name, path);
			status = EXIT_ERROR;
		}
	}
	if (status == EXIT_OK) {
		double total = whatif_measure(p, &cs, t, n);
		double predicted = whatif_predict(total, t, n, 0);
		double bound = whatif_predict(total, t, n, 1);
		printf("Amdahl's law on '%s': %.3f s of profiled time\n\n", util_display_path(path),
		       total);
		int width = 8;
		for (size_t k = 0; k < n; k++) {
			const char *shown = t[k].nfuncs == 1 ? labels[t[k].funcs[0]] : t[k].name;
			width = (int)strlen(shown) > width ? (int)strlen(shown) : width;
		}
		printf("  %-*s %9s %8s %10s %12s\n", width, "function", "fraction", "factor",
		       "time now", "predicted");
		for (size_t k = 0; k < n; k++) {
			const char *shown = t[k].nfuncs == 1 ? labels[t[k].funcs[0]] : t[k].name;
			printf("  %-*s %8.1f%% %7.2fx %8.3f s %10.3f s\n", width, shown,
			       total > 0 ? 100 * t[k].covered_s / total : 0, t[k].factor,
			       t[k].covered_s, t[k].covered_s / t[k].factor);
		}
		printf("\n  predicted run: %.3f s -> %.3f s, overall speedup %.2fx\n", total,
		       predicted, speedup(total, predicted));
		print_range(cs.total_taken, total, t, n, 0);
		printf("  upper bound (if they took no time at all): %.3f s, speedup %.2fx\n", bound,
		       speedup(total, bound));
		print_range(cs.total_taken, total, t, n, 1);
		if (n > 1)
			printf("  (a function called inside another named one is counted once, under the outer one)\n");
	}
	loaded_close(&l);
	return status;
}

int cmd_whatif(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		puts(whatif_usage);
		return EXIT_OK;
	}
	if (argc < 3) {
		return usage_error("whatif needs a profile and at least one FUNCTION=FACTOR\n%s",
				   whatif_usage);
	}
	size_t n = (size_t)argc - 2;
	struct whatif_target *t = xcalloc(n, sizeof(*t));
	int status = EXIT_OK;
	for (size_t k = 0; k < n; k++)
		if (parse_target(argv[k + 2], &t[k]) < 0) {
			status = EXIT_USAGE;
			break;
		}
	if (status == EXIT_OK)
		status = run_whatif(argv[1], t, n);
	for (size_t k = 0; k < n; k++) {
		free((char *)t[k].name);
		free(t[k].funcs);
	}
	free(t);
	return status;
}
