/*
 * Budgets: rules such as 'peak<=64MiB', 'leaks==0' or
 * 'main:cumtime<=2s', parsed, then measured over a set of profiles or
 * snapshots, and the growth budgets of `diff --fail-over`. Never writes
 * to stdout.
 */
#ifndef CPROF_REPORTER_BUDGET_H
#define CPROF_REPORTER_BUDGET_H

#include <stddef.h>

#include "loaded.h"

enum budget_metric {
	/* snapshots */
	BUDGET_PEAK, BUDGET_LIVE, BUDGET_LEAKS, BUDGET_ALLOCATIONS, BUDGET_SITE_SIZE,
	/* profiles */
	BUDGET_TOTAL, BUDGET_CUMTIME, BUDGET_TOTTIME, BUDGET_CALLS,
};

enum budget_op { BUDGET_LE, BUDGET_LT, BUDGET_EQ, BUDGET_GE, BUDGET_GT };

enum budget_unit { BUDGET_BYTES, BUDGET_SECONDS, BUDGET_COUNT };

struct budget_rule {
	const char *text;		/* as given; borrowed */
	enum budget_metric metric;
	char *target;			/* SITE or FUNCTION; NULL for whole-run metrics */
	enum budget_op op;
	double limit;			/* bytes, seconds or a count */
};

/* Nonzero when arg reads as a rule (it holds a comparison), not a file. */
int budget_looks_like_rule(const char *arg);
/* Parses text into r; -1 with one line in err (unknown metric, a size
 * without a unit, ...). Release r with budget_rule_release(). */
int budget_rule_parse(const char *text, struct budget_rule *r, char *err, size_t errlen);
void budget_rule_release(struct budget_rule *r);

/* FMT_KIND_PROFILE or FMT_KIND_SNAPSHOT: the files a rule measures. */
int budget_rule_kind(const struct budget_rule *r);
enum budget_unit budget_rule_unit(const struct budget_rule *r);
const char *budget_metric_name(enum budget_metric m);
const char *budget_op_name(enum budget_op op);

/*
 * What r measures over files (all of its kind). Profiles add up (give
 * one merged set, see profile_open_set, for a forked child's inherited
 * calls to count once). Snapshots: the newest of each process (by pid, then SEQ)
 * counts, and processes add up. 0 with *value set, or -1 with one line
 * in err: a function or site that is in none of the files, leaks of a
 * process whose newest snapshot is not its 'exit' one.
 */
int budget_measure(const struct budget_rule *r, const struct loaded *files, size_t nfiles,
		   double *value, char *err, size_t errlen);
int budget_holds(const struct budget_rule *r, double value);

/* Formats a measured or limit value in the rule's unit ("12.3 MiB",
 * "0.050 s", "1000"). */
void budget_format(char *out, size_t cap, enum budget_unit unit, double value);

/*
 * A growth budget of `diff --fail-over`: PERCENT for the total, or
 * TARGET=PERCENT for one function (profiles) or site (snapshots).
 */
struct budget_growth {
	char *target;			/* NULL: the total */
	double percent;
};

/* One row of a diff, as growth budgets see it: a function's cumtime or
 * a site's live size, before and after. Strings are borrowed. */
struct budget_entry {
	const char *label;		/* as the diff prints it */
	const char *file, *function;	/* either may be NULL */
	int line;
	double old_value, new_value;
};

int budget_growth_parse(const char *text, struct budget_growth *g, char *err, size_t errlen);
void budget_growth_release(struct budget_growth *g);
/* Sums the entries g->target names (FILE:LINE, a function name or a
 * label) into *old_value and *new_value; returns how many matched. */
size_t budget_growth_measure(const struct budget_growth *g, const struct budget_entry *entries,
			     size_t n, double *old_value, double *new_value);
/* Whether old -> new grew by more than g allows (from 0 to more: yes). */
int budget_growth_exceeded(const struct budget_growth *g, double old_value, double new_value);

/*
 * The size of a snapshot's site, or the times and calls of a profile's
 * function: target as budget rules take it. Returns how many sites or
 * functions matched (0: none; *out untouched then).
 */
struct budget_function_figures {
	double cumtime, tottime, calls;
};
size_t budget_site_size(const struct loaded *snap, const char *site, double *bytes);
size_t budget_function(const struct loaded *prof, const char *function,
		       struct budget_function_figures *out);

#endif
