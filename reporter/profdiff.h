/*
 * Two call profiles side by side: per function (matched by file, line
 * and name, since addresses move between runs) calls, tottime and
 * cumtime before and after, sorted by the largest absolute change.
 * Never writes to stdout.
 */
#ifndef CPROF_REPORTER_PROFDIFF_H
#define CPROF_REPORTER_PROFDIFF_H

#include "budget.h"
#include "callstats.h"

struct profdiff_row {
	char *label;		/* file:line(function), owned */
	uint64_t calls[2];	/* [0] old, [1] new; 0 when absent there */
	double tottime[2], cumtime[2];
};

struct profdiff {
	struct profdiff_row *rows;
	size_t nrows;
	double total[2];	/* sum of tottime of each profile */
};

/*
 * labels[k][i] names cs[k]->funcs[i]. Functions never called in a
 * profile (a forked child's inherited tree) are left out. Caller
 * releases with profdiff_release().
 */
void profdiff_build(struct profdiff *d, const struct callstats *cs[2], char **const labels[2]);
void profdiff_release(struct profdiff *d);
/* A row as a growth budget sees it: "file:line(name)" split (file and
 * function allocated: the caller frees them), cumtime old and new. */
struct budget_entry profdiff_budget_entry(const struct profdiff_row *r);

#endif
