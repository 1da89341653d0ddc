/*
 * Matching two profiles' functions by label and sorting the changes.
 * Quadratic-free: rows are found through a sorted index of labels. Also
 * a row as a growth budget (budget.h) sees it.
 */
#define _GNU_SOURCE
#include "profdiff.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int by_label(const void *a, const void *b)
{
	return strcmp(((const struct profdiff_row *)a)->label,
		      ((const struct profdiff_row *)b)->label);
}

static double change(const struct profdiff_row *r)
{
	double dc = fabs(r->cumtime[1] - r->cumtime[0]), dt = fabs(r->tottime[1] - r->tottime[0]);
	return dc > dt ? dc : dt;
}

static int by_change(const void *pa, const void *pb)
{
	const struct profdiff_row *a = pa, *b = pb;
	double ca = change(a), cb = change(b);

	if (ca != cb)
		return ca < cb ? 1 : -1;
	uint64_t da = a->calls[1] > a->calls[0] ? a->calls[1] - a->calls[0] : a->calls[0] - a->calls[1];
	uint64_t db = b->calls[1] > b->calls[0] ? b->calls[1] - b->calls[0] : b->calls[0] - b->calls[1];
	if (da != db)
		return da < db ? 1 : -1;
	return strcmp(a->label, b->label);
}

void profdiff_build(struct profdiff *d, const struct callstats *cs[2], char **const labels[2])
{
	size_t cap = cs[0]->nfuncs + cs[1]->nfuncs;

	memset(d, 0, sizeof(*d));
	d->rows = xcalloc(cap ? cap : 1, sizeof(*d->rows));
	/* Old rows first, sorted by label, then each new function is merged
	 * into its old row by binary search or appended. */
	for (size_t i = 0; i < cs[0]->nfuncs; i++) {
		const struct func_stat *f = &cs[0]->funcs[i];
		if (!f->calls)
			continue;
		struct profdiff_row *r = &d->rows[d->nrows++];
		r->label = xstrdup(labels[0][i]);
		r->calls[0] = f->calls;
		r->tottime[0] = f->tottime;
		r->cumtime[0] = f->cumtime;
	}
	qsort(d->rows, d->nrows, sizeof(*d->rows), by_label);
	/* The same label twice in one profile (one source file built into
	 * two modules): its rows add up. */
	size_t nold = 0;
	for (size_t i = 0; i < d->nrows; i++) {
		if (nold && strcmp(d->rows[nold - 1].label, d->rows[i].label) == 0) {
			d->rows[nold - 1].calls[0] += d->rows[i].calls[0];
			d->rows[nold - 1].tottime[0] += d->rows[i].tottime[0];
			d->rows[nold - 1].cumtime[0] += d->rows[i].cumtime[0];
			free(d->rows[i].label);
			continue;
		}
		d->rows[nold++] = d->rows[i];
	}
	d->nrows = nold;
	for (size_t i = 0; i < cs[1]->nfuncs; i++) {
		const struct func_stat *f = &cs[1]->funcs[i];
		if (!f->calls)
			continue;
		struct profdiff_row key = { .label = labels[1][i] };
		struct profdiff_row *r = bsearch(&key, d->rows, nold, sizeof(*d->rows), by_label);
		if (!r) {
			r = &d->rows[d->nrows++];
			r->label = xstrdup(labels[1][i]);
		}
		r->calls[1] += f->calls;
		r->tottime[1] += f->tottime;
		r->cumtime[1] += f->cumtime;
	}
	qsort(d->rows, d->nrows, sizeof(*d->rows), by_change);
	d->total[0] = cs[0]->total_time;
	d->total[1] = cs[1]->total_time;
}

void profdiff_release(struct profdiff *d)
{
	for (size_t i = 0; i < d->nrows; i++)
		free(d->rows[i].label);
	free(d->rows);
	memset(d, 0, sizeof(*d));
}

/* A row as a growth budget sees it: "file:line(name)" split (file and
 * function allocated), cumtime. */
struct budget_entry profdiff_budget_entry(const struct profdiff_row *r)
{
	struct budget_entry e = { .label = r->label, .old_value = r->cumtime[0],
				  .new_value = r->cumtime[1] };
	const char *open = strrchr(r->label, '('), *colon;

	if (open && (colon = memrchr(r->label, ':', (size_t)(open - r->label)))) {
		e.file = xstrfmt("%.*s", (int)(colon - r->label), r->label);
		e.line = atoi(colon + 1);
		e.function = xstrfmt("%.*s", (int)strcspn(open + 1, ")"), open + 1);
	}
	return e;
}
