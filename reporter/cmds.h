/*
 * The subcommands: each parses its own options, prints, and returns the
 * exit status (0 ok, 1 error, 2 usage). argv[0] is the subcommand name.
 */
#ifndef CPROF_REPORTER_CMDS_H
#define CPROF_REPORTER_CMDS_H

#include <stddef.h>
#include <stdio.h>

#include "budget.h"

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
struct fmt_file;
/* `cprof diff OLD.prof NEW.prof` (main dispatches two profiles here,
 * read once by loaded_read(); read[] is consumed). */
int cmd_diff_profiles(int argc, char **argv, struct fmt_file *read);
/* `cprof whatif PROFILE FUNCTION=FACTOR...` (Amdahl's law). */
int cmd_whatif(int argc, char **argv);
/* `cprof export FILE --format ...` and `cprof flamegraph FILE`. */
int cmd_export(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
/* `cprof html FILE... [-o report.html]`: one self-contained page. */
int cmd_html(int argc, char **argv);
/* `cprof dump FILE [--json]`: sections, records and offsets (cmd_dump.c). */
int cmd_dump(int argc, char **argv);

/* `cprof check FILE... RULE...` (budgets), and the same verdict, as text
 * on out or JSON on stdout, for the files `cprof run --check` found:
 * 0 every rule holds, 1 one fails, 2 a bad rule or file. */
int cmd_check(int argc, char **argv);
int check_files(char **paths, size_t npaths, char **rules, size_t nrules, int is_json,
		FILE *out);

/* `cprof diff OLD NEW --fail-over BUDGET...`: check_growth_eval() reads
 * the budgets (PERCENT for the total, TARGET=PERCENT for one row) before
 * anything is printed (2 after one error line for a bad budget or a
 * target in neither file); check_growth_report() then prints one verdict
 * line each on stderr and returns 0, or 1 when one is exceeded. */
struct growth_verdict {
	const char *text;		/* as given; borrowed */
	struct budget_growth growth;
	double old_value, new_value;
	int is_exceeded;
};

struct growth_check {
	struct growth_verdict *v;
	size_t n;
	const struct budget_entry *entries;
	size_t nentries;
	enum budget_unit unit;
};

int check_growth_eval(struct growth_check *gc, const char *const *budgets, size_t n,
		      double total_old, double total_new, const struct budget_entry *entries,
		      size_t nentries, enum budget_unit unit);
int check_growth_report(struct growth_check *gc);
void check_growth_release(struct growth_check *gc);

/* Prints the pstats table of a profile file, top `limit` rows by
 * cumulative time, as `cprof run` does after the program ends. */
int report_summary(char *const *paths, size_t n, int limit);

/* `cprof stats SNAPSHOT ...` (tracemalloc's Snapshot.statistics). */
int cmd_stats(int argc, char **argv);
/* `cprof diff OLD.snap NEW.snap ...` (compare_to); main dispatches a
 * diff of two .snap files here, read as for cmd_diff_profiles(). */
int cmd_diff_snapshots(int argc, char **argv, struct fmt_file *read);

#endif
