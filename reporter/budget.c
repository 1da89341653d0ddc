/*
 * Budget rules: their grammar, and what each measures over the files a
 * command was given. The figures are the ones `cprof report` and `cprof
 * stats` print, so a rule can be set from a report and read against it.
 */
#define _GNU_SOURCE
#include "budget.h"
#include "util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum budget_metric metric;
	int has_target;
} metrics[] = {
	{ "peak", BUDGET_PEAK, 0 },		{ "live", BUDGET_LIVE, 0 },
	{ "leaks", BUDGET_LEAKS, 0 },		{ "allocations", BUDGET_ALLOCATIONS, 0 },
	{ "size", BUDGET_SITE_SIZE, 1 },	{ "total", BUDGET_TOTAL, 0 },
	{ "cumtime", BUDGET_CUMTIME, 1 },	{ "tottime", BUDGET_TOTTIME, 1 },
	{ "calls", BUDGET_CALLS, 1 },
};

/* Longest first, so that "<=" is not read as "<". */
static const struct {
	const char *text;
	enum budget_op op;
} ops[] = {
	{ "<=", BUDGET_LE }, { ">=", BUDGET_GE }, { "==", BUDGET_EQ },
	{ "<", BUDGET_LT },  { ">", BUDGET_GT },
};

static const struct {
	const char *suffix;
	double bytes;
} size_units[] = {
	{ "B", 1 },	      { "KiB", 1024.0 },   { "MiB", 1048576.0 }, { "GiB", 1073741824.0 },
	{ "KB", 1e3 },	      { "kB", 1e3 },	   { "MB", 1e6 },	 { "GB", 1e9 },
};

static const struct {
	const char *suffix;
	double seconds;
} time_units[] = {
	{ "", 1 }, { "s", 1 }, { "ms", 1e-3 }, { "us", 1e-6 }, { "ns", 1e-9 },
};

#define SIZE_UNITS "B, KiB, MiB, GiB, KB, MB or GB"

const char *budget_metric_name(enum budget_metric m)
{
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (metrics[i].metric == m)
			return metrics[i].name;
	return "?";
}

const char *budget_op_name(enum budget_op op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return ops[i].text;
	return "?";
}

int budget_rule_kind(const struct budget_rule *r)
{
	return r->metric <= BUDGET_SITE_SIZE ? FMT_KIND_SNAPSHOT : FMT_KIND_PROFILE;
}

enum budget_unit budget_rule_unit(const struct budget_rule *r)
{
	switch (r->metric) {
	case BUDGET_PEAK:
	case BUDGET_LIVE:
	case BUDGET_LEAKS:
	case BUDGET_SITE_SIZE:
		return BUDGET_BYTES;
	case BUDGET_TOTAL:
	case BUDGET_CUMTIME:
	case BUDGET_TOTTIME:
		return BUDGET_SECONDS;
	case BUDGET_ALLOCATIONS:
	case BUDGET_CALLS:
		break;
	}
	return BUDGET_COUNT;
}

/* The first comparison operator in s, or NULL. */
static const char *find_op(const char *s, enum budget_op *op, size_t *len)
{
	for (const char *p = s; *p; p++)
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (strncmp(p, ops[i].text, strlen(ops[i].text)) == 0) {
				*op = ops[i].op;
				*len = strlen(ops[i].text);
				return p;
			}
	return NULL;
}

int budget_looks_like_rule(const char *arg)
{
	enum budget_op op;
	size_t len;

	return find_op(arg, &op, &len) != NULL;
}

/* A finite, non-negative decimal at the start of s; its end in *end. */
static int parse_number(const char *s, double *v, const char **end)
{
	char *e;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	*v = strtod(s, &e);
	if (e == s || !isfinite(*v) || *v < 0)
		return -1;
	*end = e;
	return 0;
}

static int parse_limit(const char *s, enum budget_unit unit, double *limit, char *err,
		       size_t errlen)
{
	const char *rest;

	if (parse_number(s, limit, &rest) < 0) {
		snprintf(err, errlen, "'%s' is not a number", s);
		return -1;
	}
	if (unit == BUDGET_BYTES) {
		if (!*rest && *limit == 0)
			return 0;	/* nothing is nothing in every unit */
		for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++)
			if (strcmp(rest, size_units[i].suffix) == 0) {
				*limit *= size_units[i].bytes;
				return 0;
			}
		snprintf(err, errlen, "size '%s' needs a unit: %s (e.g. 64MiB)", s, SIZE_UNITS);
		return -1;
	}
	if (unit == BUDGET_SECONDS) {
		for (size_t i = 0; i < sizeof(time_units) / sizeof(time_units[0]); i++)
			if (strcmp(rest, time_units[i].suffix) == 0) {
				*limit *= time_units[i].seconds;
				return 0;
			}
		snprintf(err, errlen, "time '%s' takes s, ms, us or ns (e.g. 2s, 150ms)", s);
		return -1;
	}
	if (*rest || *limit != floor(*limit)) {
		snprintf(err, errlen, "'%s' is not a whole number", s);
		return -1;
	}
	return 0;
}

int budget_rule_parse(const char *text, struct budget_rule *r, char *err, size_t errlen)
{
	enum budget_op op;
	size_t oplen;
	const char *at = find_op(text, &op, &oplen);

	memset(r, 0, sizeof(*r));
	r->text = text;
	if (!at) {
		snprintf(err, errlen, "'%s' is not a rule (e.g. 'peak<=64MiB', 'main:cumtime<=2s')",
			 text);
		return -1;
	}
	/* METRIC, or TARGET:METRIC with the target's own colons kept. */
	size_t left = (size_t)(at - text);
	const char *colon = memrchr(text, ':', left);
	const char *name = colon ? colon + 1 : text;
	size_t name_len = left - (size_t)(name - text);
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		if (strlen(metrics[i].name) != name_len || strncmp(name, metrics[i].name, name_len))
			continue;
		if (metrics[i].has_target != (colon != NULL) || (colon && colon == text)) {
			snprintf(err, errlen, "'%s': %s", text,
				 metrics[i].has_target
					 ? "say whose, as SITE:size, FUNCTION:cumtime (e.g. 'main:cumtime<=2s')"
					 : "this measure is of the whole run and takes no SITE: or FUNCTION:");
			return -1;
		}
		r->metric = metrics[i].metric;
		r->op = op;
		if (parse_limit(at + oplen, budget_rule_unit(r), &r->limit, err, errlen) < 0)
			return -1;
		if (colon)
			r->target = xstrfmt("%.*s", (int)(colon - text), text);
		return 0;
	}
	snprintf(err, errlen,
		 "'%s': unknown measure '%.*s' (peak, live, leaks, allocations, SITE:size; "
		 "total, FUNCTION:cumtime, FUNCTION:tottime, FUNCTION:calls)",
		 text, (int)name_len, name);
	return -1;
}

void budget_rule_release(struct budget_rule *r)
{
	free(r->target);
	r->target = NULL;
}

int budget_holds(const struct budget_rule *r, double value)
{
	switch (r->op) {
	case BUDGET_LE:
		return value <= r->limit;
	case BUDGET_LT:
		return value < r->limit;
	case BUDGET_EQ:
		return value == r->limit;
	case BUDGET_GE:
		return value >= r->limit;
	case BUDGET_GT:
		break;
	}
	return value > r->limit;
}

void budget_format(char *out, size_t cap, enum budget_unit unit, double value)
{
	if (unit == BUDGET_BYTES && value >= 1024) {
		char human[32];
		util_format_bytes(human, sizeof(human), value, 0);
		snprintf(out, cap, "%s (%.0f B)", human, value);	/* exact, for budgets */
	} else if (unit == BUDGET_BYTES) {
		snprintf(out, cap, "%.0f B", value);
	} else if (unit == BUDGET_SECONDS) {
		snprintf(out, cap, "%.6f s", value);
	} else {
		snprintf(out, cap, "%.0f", value);
	}
}

/* ---- what a rule measures ---- */

/* "file.c:88" names a line; anything else a function. */
static int split_file_line(const char *site, size_t *file_len, int *line)
{
	const char *colon = strrchr(site, ':');
	char *end;

	if (!colon || colon == site || !isdigit((unsigned char)colon[1]))
		return 0;
	long v = strtol(colon + 1, &end, 10);
	if (*end || v <= 0 || v > 0x7fffffff)
		return 0;
	*file_len = (size_t)(colon - site);
	*line = (int)v;
	return 1;
}

/* file as the symbolizer shows it, against the rule's: equal, or its
 * tail after a '/' ("features.c" for "pipeline-demo/features.c"). */
static int same_file(const char *shown, const char *want, size_t want_len)
{
	size_t len = strlen(shown);

	if (len < want_len || strncmp(shown + len - want_len, want, want_len) != 0)
		return 0;
	return len == want_len || shown[len - want_len - 1] == '/';
}

size_t budget_site_size(const struct loaded *snap, const char *site, double *bytes)
{
	size_t file_len = 0, matched = 0;
	int line = 0, is_line = split_file_line(site, &file_len, &line);
	double sum = 0;

	for (size_t i = 0; i < snap->s->ntraces; i++) {
		const struct snap_trace *t = &snap->s->traces[i];
		struct sym_frame f;

		if (t->nframes == 0 || symbolize_code(snap->sym, t->frames[0], &f, 1) < 1)
			continue;
		/* The innermost frame is the site, as `cprof stats` groups it. */
		if (is_line ? f.line == line && same_file(f.file, site, file_len)
			    : strcmp(f.function, site) == 0) {
			matched++;
			sum += (double)t->live_bytes;
		}
	}
	if (matched)
		*bytes = sum;
	return matched;
}

size_t budget_function(const struct loaded *prof, const char *function,
		       struct budget_function_figures *out)
{
	struct budget_function_figures sum = { 0, 0, 0 };
	size_t matched = 0;

	for (size_t i = 0; i < prof->cs.nfuncs; i++) {
		const struct func_stat *fs = &prof->cs.funcs[i];
		if (strcmp(prof->names[i], function) != 0 && strcmp(prof->labels[i], function) != 0)
			continue;
		matched++;
		sum.cumtime += fs->cumtime;
		sum.tottime += fs->tottime;
		sum.calls += (double)fs->calls;
	}
	if (matched)
		*out = sum;
	return matched;
}

/* Whether snapshot i is the newest of its process among files. */
static int is_newest_of_process(const struct loaded *files, size_t nfiles, size_t i)
{
	const struct snapshot *s = files[i].s;

	for (size_t k = 0; k < nfiles; k++) {
		const struct snapshot *o = files[k].s;
		if (k == i || !o || o->meta.pid != s->meta.pid)
			continue;
		if (o->meta.seq > s->meta.seq || (o->meta.seq == s->meta.seq && k < i))
			return 0;	/* a newer one, or the same one given twice */
	}
	return 1;
}

static int measure_snapshots(const struct budget_rule *r, const struct loaded *files,
			     size_t nfiles, double *value, char *err, size_t errlen)
{
	size_t matched = 0;
	double sum = 0;

	for (size_t i = 0; i < nfiles; i++) {
		const struct snapshot *s = files[i].s;
		double site_bytes = 0;

		if (!s || !is_newest_of_process(files, nfiles, i))
			continue;
		switch (r->metric) {
		case BUDGET_PEAK:
			sum += (double)s->info.peak_bytes;
			break;
		case BUDGET_LEAKS:
			if (strcmp(s->meta.label, "exit") != 0) {
				snprintf(err, errlen,
					 "leaks are what is live at exit, and the newest snapshot of "
					 "process %llu ('%s') is '%s': give its 'exit' snapshot",
					 (unsigned long long)s->meta.pid, util_display_path(files[i].path),
					 s->meta.label);
				return -1;
			}
			/* leaks are what the exit snapshot holds live */
			__attribute__((fallthrough));
		case BUDGET_LIVE:
			sum += (double)s->info.current_bytes;
			break;
		case BUDGET_ALLOCATIONS:
			sum += (double)s->info.total_blocks;
			break;
		case BUDGET_SITE_SIZE:
			if (budget_site_size(&files[i], r->target, &site_bytes)) {
				matched++;
				sum += site_bytes;
			}
			break;
		default:
			break;
		}
	}
	if (r->metric == BUDGET_SITE_SIZE && !matched) {
		snprintf(err, errlen,
			 "no allocation site '%s' in the snapshots (sites as 'cprof stats --by "
			 "lineno' prints them, FILE:LINE, or a function name)",
			 r->target);
		return -1;
	}
	*value = sum;
	return 0;
}

static int measure_profiles(const struct budget_rule *r, const struct loaded *files,
			    size_t nfiles, double *value, char *err, size_t errlen)
{
	size_t matched = 0;
	double sum = 0;

	for (size_t i = 0; i < nfiles; i++) {
		struct budget_function_figures f;

		if (!files[i].p)
			continue;
		if (r->metric == BUDGET_TOTAL) {
			sum += files[i].cs.total_time;
			continue;
		}
		if (!budget_function(&files[i], r->target, &f))
			continue;
		matched++;
		sum += r->metric == BUDGET_CUMTIME   ? f.cumtime
		       : r->metric == BUDGET_TOTTIME ? f.tottime
						     : f.calls;
	}
	if (r->metric != BUDGET_TOTAL && !matched) {
		snprintf(err, errlen,
			 "no function '%s' in the profiles (names as 'cprof report' prints them)",
			 r->target);
		return -1;
	}
	*value = sum;
	return 0;
}

int budget_measure(const struct budget_rule *r, const struct loaded *files, size_t nfiles,
		   double *value, char *err, size_t errlen)
{
	if (budget_rule_kind(r) == FMT_KIND_SNAPSHOT)
		return measure_snapshots(r, files, nfiles, value, err, errlen);
	return measure_profiles(r, files, nfiles, value, err, errlen);
}

/* ---- growth budgets ---- */

int budget_growth_parse(const char *text, struct budget_growth *g, char *err, size_t errlen)
{
	const char *eq = strrchr(text, '=');
	const char *pct = eq ? eq + 1 : text, *rest;

	memset(g, 0, sizeof(*g));
	if (eq == text || parse_number(pct, &g->percent, &rest) < 0 ||
	    (*rest && strcmp(rest, "%") != 0)) {
		snprintf(err, errlen,
			 "--fail-over takes PERCENT or TARGET=PERCENT (e.g. 5%%, "
			 "'features.c:88=5%%'), not '%s'",
			 text);
		return -1;
	}
	if (eq)
		g->target = xstrfmt("%.*s", (int)(eq - text), text);
	return 0;
}

void budget_growth_release(struct budget_growth *g)
{
	free(g->target);
	g->target = NULL;
}

size_t budget_growth_measure(const struct budget_growth *g, const struct budget_entry *entries,
			     size_t n, double *old_value, double *new_value)
{
	size_t file_len = 0, matched = 0;
	int line = 0, is_line = split_file_line(g->target, &file_len, &line);

	*old_value = *new_value = 0;
	for (size_t i = 0; i < n; i++) {
		const struct budget_entry *e = &entries[i];
		int is_match = is_line ? e->file && e->line == line && same_file(e->file, g->target, file_len)
				       : (e->function && strcmp(e->function, g->target) == 0) ||
						 strcmp(e->label, g->target) == 0;
		if (!is_match)
			continue;
		matched++;
		*old_value += e->old_value;
		*new_value += e->new_value;
	}
	return matched;
}

int budget_growth_exceeded(const struct budget_growth *g, double old_value, double new_value)
{
	if (new_value <= old_value)
		return 0;
	if (old_value <= 0)
		return 1;
	return (new_value - old_value) / old_value * 100 > g->percent;
}
