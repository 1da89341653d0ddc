/*
 * The subcommands: each parses its own options, prints, and returns the
 * exit status (0 ok, 1 error, 2 usage). argv[0] is the subcommand name.
 */
#ifndef CPROF_REPORTER_CMDS_H
#define CPROF_REPORTER_CMDS_H

#include <stddef.h>

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* `cprof diff OLD.prof NEW.prof` (main dispatches two profiles here). */
int cmd_diff_profiles(int argc, char **argv);
/* `cprof whatif PROFILE FUNCTION=FACTOR...` (Amdahl's law). */
int cmd_whatif(int argc, char **argv);
/* `cprof export FILE --format ...` and `cprof flamegraph FILE`. */
int cmd_export(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);

/* Prints the pstats table of a profile file, top `limit` rows by
 * cumulative time, as `cprof run` does after the program ends. */
int report_summary(char *const *paths, size_t n, int limit);


/* ---- memory snapshots (cmd_stats.c, cmd_diff_snap.c) ---- */

#include "snapshot.h"

/* `cprof stats SNAPSHOT ...` (tracemalloc's Snapshot.statistics). */
int cmd_stats(int argc, char **argv);
/* `cprof diff OLD.snap NEW.snap ...` (compare_to); main dispatches a
 * diff of two .snap files here. */
int cmd_diff_snapshots(int argc, char **argv);

/* Options stats and diff share; filter globs point into argv. */
struct stats_options {
	int key;		/* enum snap_key */
	long limit;		/* entries shown, 0 = all */
	int is_json, is_leaks;
	struct snap_filter filter;
	const char *files[2];
	int nfiles;
};
/* Parses argv[1..] wanting nfiles files; -1 after one error line (usage).
 * Release o with cmd_stats_options_release() either way. */
int cmd_stats_parse_options(int argc, char **argv, struct stats_options *o, int nfiles,
			    int allow_leaks);
void cmd_stats_options_release(struct stats_options *o);
/* The entries lines and the total, tracemalloc's shapes (stdout). */
void cmd_stats_print_text(const struct snap_stats *st, const struct stats_options *o, int is_diff);
/* "Snapshot N 'label' of PROG (pid P): ..." and dropped counts (stdout). */
void cmd_stats_print_header(const struct snapshot *s);
/* JSON members (no braces): "by", totals and "entries"; and "NAME":{...}
 * describing one snapshot. */
void cmd_stats_print_json_entries(const struct snap_stats *st, const struct stats_options *o,
				  int is_diff);
void cmd_stats_print_json_snapshot(const char *name, const struct snapshot *s);

#endif
