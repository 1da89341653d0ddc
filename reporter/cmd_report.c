/*
 * `cprof report`: a call profile in pstats' layout (flat table, callers,
 * callees) or as JSON. Options and printing only; the numbers come from
 * callstats.c and names from symbolize.c.
 */
#define _GNU_SOURCE
#include "callstats.h"
#include "cmds.h"
#include "loaded.h"
#include "symbolize.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum sort_key { SORT_CUMULATIVE, SORT_TOTTIME, SORT_CALLS, SORT_PCALLS, SORT_NAME, SORT_FILE };

static const struct {
	const char *name;
	enum sort_key key;
	const char *title;
} sort_names[] = {
	{ "cumulative", SORT_CUMULATIVE, "cumulative time" },
	{ "cumtime", SORT_CUMULATIVE, "cumulative time" },
	{ "tottime", SORT_TOTTIME, "internal time" },
	{ "time", SORT_TOTTIME, "internal time" },
	{ "calls", SORT_CALLS, "call count" },
	{ "ncalls", SORT_CALLS, "call count" },
	{ "pcalls", SORT_PCALLS, "primitive call count" },
	{ "name", SORT_NAME, "function name" },
	{ "file", SORT_FILE, "file name" },
	{ "filename", SORT_FILE, "file name" },
};

struct row {
	size_t func;
	const struct sym_frame *sym;
	char *label;		/* file:line(function) */
};

struct report_opts {
	enum sort_key keys[8];
	int nkeys;
	long limit;
	const char *match;
	int callers, callees, json, compensate;
	FILE *out;
};

/* What cmp_rows sorts by (qsort_r's context). */
struct sort_by {
	const struct callstats *cs;
	const struct report_opts *o;
};

static int cmp_double_desc(double a, double b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

/* The numeric keys; 0 for the others. */
static int cmp_number(enum sort_key key, const struct func_stat *fa, const struct func_stat *fb)
{
	switch (key) {
	case SORT_CUMULATIVE:
		return cmp_double_desc(fa->cumtime, fb->cumtime);
	case SORT_TOTTIME:
		return cmp_double_desc(fa->tottime, fb->tottime);
	case SORT_CALLS:
		return fa->calls < fb->calls ? 1 : fa->calls > fb->calls ? -1 : 0;
	case SORT_PCALLS:
		return fa->pcalls < fb->pcalls ? 1 : fa->pcalls > fb->pcalls ? -1 : 0;
	default:
		return 0;
	}
}

/* The order of cmp_rows up to the name that breaks ties (callstats_top). */
static int cmp_numbers(const struct func_stat *fa, const struct func_stat *fb, void *ctx)
{
	const struct report_opts *o = ctx;

	for (int i = 0; i < o->nkeys; i++) {
		int c = cmp_number(o->keys[i], fa, fb);
		if (c)
			return c;
	}
	return 0;
}

/*
 * With --limit and numeric keys only, the rows are the top of the
 * statistics, symbolized alone: 100,000 functions need not be named and
 * sorted to print 20. Filters and edges need every name.
 */
static int selects_top(const struct report_opts *o)
{
	if (o->limit < 0 || o->match || o->callers || o->callees)
		return 0;
	for (int i = 0; i < o->nkeys; i++)
		if (o->keys[i] == SORT_NAME || o->keys[i] == SORT_FILE)
			return 0;
	return 1;
}

static int cmp_rows(const void *pa, const void *pb, void *ctx)
{
	const struct sort_by *by = ctx;
	const struct row *a = pa, *b = pb;
	const struct func_stat *fa = &by->cs->funcs[a->func], *fb = &by->cs->funcs[b->func];

	for (int i = 0; i < by->o->nkeys; i++) {
		int c = 0;
		switch (by->o->keys[i]) {
		case SORT_CUMULATIVE:
		case SORT_TOTTIME:
		case SORT_CALLS:
		case SORT_PCALLS:
			c = cmp_number(by->o->keys[i], fa, fb);
			break;
		case SORT_NAME:
			c = strcmp(a->sym->function, b->sym->function);
			break;
		case SORT_FILE:
			c = strcmp(a->sym->file, b->sym->file);
			if (!c)
				c = a->sym->decl_line - b->sym->decl_line;
			break;
		}
		if (c)
			return c;
	}
	return strcmp(a->label, b->label);
}

static void ncalls_text(char *buf, size_t cap, uint64_t calls, uint64_t pcalls)
{
	if (calls == pcalls)
		snprintf(buf, cap, "%" PRIu64, calls);
	else
		snprintf(buf, cap, "%" PRIu64 "/%" PRIu64, calls, pcalls);
}

/* Which processes a merged set holds, under the header. */
static void print_processes(FILE *out, const struct profile *p)
{
	if (p->nprocesses < 2)
		return;
	fprintf(out, "   Merged %zu processes:\n", p->nprocesses);
	for (size_t i = 0; i < p->nprocesses; i++) {
		const struct profile_process *pr = &p->processes[i];
		fprintf(out, "     pid %" PRIu64 " (parent %" PRIu64 ") %s  %s\n", pr->pid,
			pr->ppid, pr->program, util_display_path(pr->path));
	}
	if (p->inherited_calls_removed)
		fprintf(out, "   %" PRIu64 " call%s that forked children inherited open counted once, in the parent\n",
			p->inherited_calls_removed, p->inherited_calls_removed == 1 ? "" : "s");
	fprintf(out, "\n");
}

static void json_processes(FILE *out, const struct profile *p)
{
	fprintf(out, " \"processes\": [");
	for (size_t i = 0; i < p->nprocesses; i++) {
		const struct profile_process *pr = &p->processes[i];
		fprintf(out, "%s{\"pid\": %" PRIu64 ", \"ppid\": %" PRIu64 ", \"program\": ",
			i ? ", " : "", pr->pid, pr->ppid);
		util_json_string(out, pr->program);
		fprintf(out, ", \"file\": ");
		util_json_string(out, pr->path);
		/* Each process its own (the top-level pair is the first's). */
		fprintf(out, ", \"overhead_per_call\": {\"inner\": %.3e, \"outer\": %.3e}"
			", \"overhead_measured_in_run\": {\"inner\": %.3e, \"outer\": %.3e}}",
			pr->inner_s, pr->outer_s, pr->probe_inner_s, pr->probe_outer_s);
	}
	fprintf(out, "], \"inherited_calls_counted_once\": %" PRIu64 ",\n",
		p->inherited_calls_removed);
}

static void print_header(FILE *out, const struct profile *p, const struct callstats *cs,
			 const struct report_opts *o, size_t shown, size_t total)
{
	if (cs->total_calls == cs->total_pcalls)
		fprintf(out, "         %" PRIu64 " function calls in %.3f seconds\n\n", cs->total_calls,
		       cs->total_time);
	else
		fprintf(out, "         %" PRIu64 " function calls (%" PRIu64
		       " primitive calls) in %.3f seconds\n\n",
		       cs->total_calls, cs->total_pcalls, cs->total_time);
	fprintf(out, "   Ordered by: ");
	for (int i = 0; i < o->nkeys; i++)
		for (size_t k = 0; k < sizeof(sort_names) / sizeof(sort_names[0]); k++)
			if (sort_names[k].key == o->keys[i]) {
				fprintf(out, "%s%s", i ? ", " : "", sort_names[k].title);
				break;
			}
	fprintf(out, "\n");
	if (o->match)
		fprintf(out, "   List reduced from %zu to %zu due to restriction <'%s'>\n", total, shown,
		       o->match);
	else if (shown < total)
		fprintf(out, "   List reduced from %zu to %zu due to restriction <%ld>\n", total, shown,
		       o->limit);
	fprintf(out, "\n");
	print_processes(out, p);
	if (p->is_counts_only)
		fprintf(out, "   (counts only: the profile was taken without a clock)\n\n");
}

/* After the tables: how far the compensated times may be off. */
static void print_uncertainty(FILE *out, const struct callstats *cs)
{
	double lo, hi;

	if (!(cs->total_taken > 0))
		return;
	callstats_range(cs->total_time, cs->total_taken, &lo, &hi);
	fprintf(out, "   The hooks' overhead taken out: %.3f seconds (%.1f ns a call). What is left\n"
		"   stands for %.3f to %.3f seconds of the program's own time (cprof(1):\n"
		"   COMPENSATION); --json gives each function's range.\n\n",
		cs->total_taken, cs->total_calls ? cs->total_taken * 1e9 / (double)cs->total_calls : 0,
		lo, hi);
}

static void print_flat(FILE *out, const struct callstats *cs, const struct row *rows, size_t nrows)
{
	fprintf(out, "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)\n");
	for (size_t i = 0; i < nrows; i++) {
		const struct func_stat *f = &cs->funcs[rows[i].func];
		char nc[48];
		ncalls_text(nc, sizeof(nc), f->calls, f->pcalls);
		fprintf(out, "%9s %8.3f %8.3f %8.3f %8.3f %s\n", nc, f->tottime,
		       f->calls ? f->tottime / (double)f->calls : 0, f->cumtime,
		       f->pcalls ? f->cumtime / (double)f->pcalls : 0, rows[i].label);
	}
	fprintf(out, "\n\n");
}

static void print_edges(FILE *out, const struct callstats *cs, const struct row *rows,
			size_t nrows, char **labels, int callers)
{
	size_t width = 8;

	for (size_t i = 0; i < nrows; i++)
		if (strlen(rows[i].label) > width)
			width = strlen(rows[i].label);
	fprintf(out, "%-*s %s\n", (int)width + 4, "Function", callers ? "was called by..." : "called...");
	fprintf(out, "%*s ncalls  tottime  cumtime\n", (int)width + 8, "");
	for (size_t i = 0; i < nrows; i++) {
		int first = 1;
		fprintf(out, "%-*s %s", (int)width, rows[i].label, callers ? "<-" : "->");
		for (size_t e = 0; e < cs->nedges; e++) {
			const struct edge_stat *es = &cs->edges[e];
			size_t self = callers ? es->callee : es->caller;
			size_t other = callers ? es->caller : es->callee;
			if (self != rows[i].func || other == SIZE_MAX || !es->calls)
				continue;
			char nc[48];
			ncalls_text(nc, sizeof(nc), es->calls, es->pcalls);
			fprintf(out, "%*s%9s %8.3f %8.3f  %s\n", first ? 0 : (int)width + 3, "", nc,
			       es->tottime, es->cumtime, labels[other]);
			first = 0;
		}
		if (first)
			fprintf(out, "\n");
	}
	fprintf(out, "\n\n");
}

static void json_edges(FILE *out, const struct callstats *cs, size_t func,
		       const struct sym_frame *const *syms, int callers)
{
	int first = 1;

	fprintf(out, ",\n     \"%s\": [", callers ? "callers" : "callees");
	for (size_t e = 0; e < cs->nedges; e++) {
		const struct edge_stat *es = &cs->edges[e];
		size_t self = callers ? es->callee : es->caller;
		size_t other = callers ? es->caller : es->callee;
		if (self != func || other == SIZE_MAX || !es->calls)
			continue;
		fprintf(out, "%s{\"name\": ", first ? "" : ", ");
		util_json_string(out, syms[other]->function);
		fprintf(out, ", \"file\": ");
		util_json_string(out, syms[other]->file);
		fprintf(out, ", \"line\": %d, \"calls\": %" PRIu64 ", \"primitive_calls\": %" PRIu64
		       ", \"tottime\": %.9f, \"cumtime\": %.9f}",
		       syms[other]->decl_line, es->calls, es->pcalls, es->tottime, es->cumtime);
		first = 0;
	}
	fprintf(out, "]");
}

static void print_json(FILE *out, const struct profile *p, const struct callstats *cs,
		       const struct report_opts *o, const struct row *rows, size_t nrows,
		       const struct sym_frame *const *syms)
{
	fprintf(out, "{\"program\": ");
	util_json_string(out, p->meta.program);
	fprintf(out, ", \"pid\": %" PRIu64 ", \"threads\": %zu, \"counts_only\": %s,\n",
	       p->meta.pid, p->nthreads, p->is_counts_only ? "true" : "false");
	json_processes(out, p);
	fprintf(out, " \"total_calls\": %" PRIu64 ", \"primitive_calls\": %" PRIu64
	       ", \"total_time\": %.9f,\n",
	       cs->total_calls, cs->total_pcalls, cs->total_time);
	fprintf(out, " \"overhead_compensated\": %s, \"overhead_per_call\": {\"inner\": %.3e, \"outer\": %.3e},\n",
	       o->compensate ? "true" : "false", p->inner_s, p->outer_s);
	double lo, hi;
	callstats_range(cs->total_time, cs->total_taken, &lo, &hi);
	fprintf(out, " \"overhead_measured_in_run\": {\"inner\": %.3e, \"outer\": %.3e},"
		" \"overhead_taken\": %.9f, \"total_time_range\": [%.9f, %.9f],\n",
		p->nprocesses ? p->processes[0].probe_inner_s : 0,
		p->nprocesses ? p->processes[0].probe_outer_s : 0, cs->total_taken, lo, hi);
	fprintf(out, " \"dropped\": {\"nodes\": %" PRIu64 ", \"frames\": %" PRIu64
	       ", \"mismatched_exits\": %" PRIu64
	       ", \"skipped_in_signal_handlers\": %" PRIu64 "},\n",
	       p->meta.dropped_nodes, p->meta.dropped_frames, p->meta.mismatched_exits,
	       p->meta.skipped_reentrant);
	fprintf(out, " \"functions\": [");
	for (size_t i = 0; i < nrows; i++) {
		const struct func_stat *f = &cs->funcs[rows[i].func];
		fprintf(out, "%s\n    {\"name\": ", i ? "," : "");
		util_json_string(out, rows[i].sym->function);
		fprintf(out, ", \"file\": ");
		util_json_string(out, rows[i].sym->file);
		fprintf(out, ", \"line\": %d, \"module\": ", rows[i].sym->decl_line);
		util_json_string(out, rows[i].sym->module);
		fprintf(out, ", \"address\": \"0x%" PRIx64 "\", \"calls\": %" PRIu64
		       ", \"primitive_calls\": %" PRIu64 ", \"tottime\": %.9f, \"cumtime\": %.9f",
		       f->fn, f->calls, f->pcalls, f->tottime, f->cumtime);
		callstats_range(f->tottime, f->tottime_taken, &lo, &hi);
		fprintf(out, ", \"tottime_range\": [%.9f, %.9f]", lo, hi);
		callstats_range(f->cumtime, f->cumtime_taken, &lo, &hi);
		fprintf(out, ", \"cumtime_range\": [%.9f, %.9f]", lo, hi);
		if (o->callers)
			json_edges(out, cs, rows[i].func, syms, 1);
		if (o->callees)
			json_edges(out, cs, rows[i].func, syms, 0);
		fprintf(out, "}");
	}
	fprintf(out, "\n ]}\n");
}

/* Prints p (taken over: freed here) as o asks. */
static int report_profile(struct profile *p, const char *path, const struct report_opts *o)
{
	FILE *out = o->out;
	regex_t re;
	int status = EXIT_OK;

	if (o->match && regcomp(&re, o->match, REG_EXTENDED | REG_NOSUB) != 0) {
		profile_free(p);
		return usage_error("bad --match regular expression '%s' (POSIX extended syntax)",
				   o->match);
	}
	if (p->meta.dropped_nodes || p->meta.dropped_frames)
		warning("'%s': %" PRIu64 " calls were not recorded (%" PRIu64
			" past the tree's memory, %" PRIu64
			" past the stack depth); raise CPROF_MAX_MEMORY / CPROF_MAX_DEPTH",
			path, p->meta.dropped_nodes + p->meta.dropped_frames, p->meta.dropped_nodes,
			p->meta.dropped_frames);
	struct loaded l;
	loaded_adopt_profile_unnamed(&l, p, path, o->compensate);
	const struct callstats *cs = &l.cs;
	struct row *rows = xcalloc(cs->nfuncs + 1, sizeof(*rows));
	size_t nrows = 0, ncalled = 0, ntop = 0;
	size_t *top = selects_top(o) ? callstats_top(cs, (size_t)o->limit, cmp_numbers,
						      (void *)o, &ntop)
				     : NULL;
	size_t nnamed = top ? ntop : cs->nfuncs;
	for (size_t i = 0; i < cs->nfuncs; i++)
		ncalled += cs->funcs[i].calls != 0;
	for (size_t k = 0; k < nnamed; k++) {
		size_t i = top ? top[k] : k;
		util_progress("symbolizing functions", k, nnamed);
		loaded_name_function(&l, i);
		/* A forked child keeps the parent's tree with zeroed counts. */
		if (!cs->funcs[i].calls)
			continue;
		if (o->match && regexec(&re, l.labels[i], 0, NULL, 0) != 0)
			continue;
		rows[nrows++] = (struct row){ .func = i, .sym = l.syms[i], .label = l.labels[i] };
	}
	util_progress("symbolizing functions", nnamed, nnamed);
	free(top);
	struct sort_by by = { cs, o };
	qsort_r(rows, nrows, sizeof(*rows), cmp_rows, &by);
	if (o->limit >= 0 && (size_t)o->limit < nrows)
		nrows = (size_t)o->limit;

	if (o->json) {
		print_json(out, p, cs, o, rows, nrows, l.syms);
	} else {
		print_header(out, p, cs, o, nrows, ncalled);
		if (o->callers)
			print_edges(out, cs, rows, nrows, l.labels, 1);
		if (o->callees)
			print_edges(out, cs, rows, nrows, l.labels, 0);
		if (!o->callers && !o->callees)
			print_flat(out, cs, rows, nrows);
		print_uncertainty(out, cs);
	}
	if (fflush(out) != 0)
		status = error("cannot write the report (%s)", "output closed or full");

	free(rows);
	loaded_close(&l);
	if (o->match)
		regfree(&re);
	return status;
}

/* One file, or a merged set (--merge, or a directory). */
static int report_set(char *const *paths, size_t n, const struct report_opts *o)
{
	int is_usage;
	struct profile *p = profile_open_set(paths, n, NULL, &is_usage);

	if (!p)
		return is_usage ? EXIT_USAGE : EXIT_ERROR;
	return report_profile(p, n == 1 ? paths[0] : p->path, o);
}

static int parse_sort(struct report_opts *o, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL;

	o->nkeys = 0;
	for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < sizeof(sort_names) / sizeof(sort_names[0]); i++)
			if (strcmp(k, sort_names[i].name) == 0)
				break;
		if (i == sizeof(sort_names) / sizeof(sort_names[0]) || o->nkeys == 8) {
			error("unknown sort key '%s' (use cumulative, tottime, calls, pcalls, name or file)",
			      k);
			free(copy);
			return -1;
		}
		o->keys[o->nkeys++] = sort_names[i].key;
	}
	free(copy);
	return o->nkeys ? 0 : error("empty --sort (use cumulative, tottime, calls, pcalls, name or file)");
}

static const char report_usage[] =
	"usage: cprof report PROFILE... [--merge] [--sort KEY[,KEY...]] [--limit N]\n"
	"                    [--match REGEX] [--callers | --callees] [--json] [--no-compensate]\n"
	"  several PROFILE files are reported one after the other; --merge sums them\n"
	"  (a DIRECTORY stands for the merged set of the profiles in it)";

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "match", required_argument, NULL, 'm' },
		{ "callers", no_argument, NULL, 'r' },
		{ "callees", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-compensate", no_argument, NULL, 'n' },
		{ "merge", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct report_opts o = { .keys = { SORT_CUMULATIVE }, .nkeys = 1, .limit = -1,
				 .compensate = 1, .out = stdout };
	int c, is_merge = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_sort(&o, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'l':
			o.limit = util_parse_count(optarg);
			if (o.limit < 0) {
				return usage_error("--limit needs a number, not '%s'", optarg);
			}
			break;
		case 'm':
			o.match = optarg;
			break;
		case 'r':
			o.callers = 1;
			break;
		case 'e':
			o.callees = 1;
			break;
		case 'j':
			o.json = 1;
			break;
		case 'n':
			o.compensate = 0;
			break;
		case 'M':
			is_merge = 1;
			break;
		case 'h':
			puts(report_usage);
			return EXIT_OK;
		default:
			return usage_error("unknown option '%s' for report\n%s", argv[optind - 1],
					   report_usage);
		}
	}
	if (o.callers && o.callees) {
		return usage_error("--callers and --callees are exclusive (run report twice)");
	}
	if (optind >= argc) {
		return usage_error("report needs a profile file\n%s", report_usage);
	}
	if (is_merge)
		return report_set(argv + optind, (size_t)(argc - optind), &o);
	/* Several files (a program that forked, a shell glob over runs):
	 * one report each, as `tail` does, so no process hides another;
	 * --merge sums them. A directory is the merged set of its profiles. */
	int status = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		struct stat st;
		if (argc - optind > 1 && !o.json)
			printf("%s==> %s <==\n", i > optind ? "\n" : "", argv[i]);
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			error("'%s' is not a regular file but a directory ('cprof report --merge %s' sums the profiles in it)",
			      argv[i], argv[i]);
			status = EXIT_ERROR;
			continue;
		}
		int one = report_set(argv + i, 1, &o);
		if (one != EXIT_OK)
			status = one;
	}
	return status;
}

int report_summary(char *const *paths, size_t n, int limit)
{
	struct report_opts o = { .keys = { SORT_CUMULATIVE }, .nkeys = 1, .limit = limit,
				 .compensate = 1, .out = stderr };

	return report_set(paths, n, &o);
}
