/*
 * What `cprof stats` (cmd_stats.c) shares with `cprof diff` of two
 * snapshots (cmd_diff_snap.c): their options and their printing.
 */
#ifndef CPROF_REPORTER_CMD_STATS_H
#define CPROF_REPORTER_CMD_STATS_H

#include "snapshot.h"

/* Options stats and diff share; filter globs point into argv. */
struct stats_options {
	int key;		/* enum snap_key */
	long limit;		/* entries shown, 0 = all */
	int is_json, is_leaks;
	int is_sizes, has_by;	/* stats --sizes; --by given */
	int is_timeline;	/* stats --timeline: the samples, not the sites */
	struct snap_filter filter;
	const char *files[2];
	int nfiles;
	const char **fail_over;	/* diff's growth budgets; point into argv */
	size_t nfail_over;
};
/* Parses argv[1..] wanting nfiles files; -1 after one error line (usage).
 * Release o with cmd_stats_options_release() either way. */
int cmd_stats_parse_options(int argc, char **argv, struct stats_options *o, int nfiles,
			    int allow_leaks);
void cmd_stats_options_release(struct stats_options *o);
/* -1 after one error line when --peak asks s for what it does not carry. */
int cmd_stats_check_peak(const struct snapshot *s, const struct stats_options *o);
/* The entries lines and the total, tracemalloc's shapes (stdout). */
void cmd_stats_print_text(const struct snap_stats *st, const struct stats_options *o, int is_diff);
/* "Snapshot N 'label' of PROG (pid P): ..." and dropped counts (stdout). */
void cmd_stats_print_header(const struct snapshot *s);
/* JSON members (no braces): "by", totals and "entries"; and "NAME":{...}
 * describing one snapshot. */
void cmd_stats_print_json_entries(const struct snap_stats *st, const struct stats_options *o,
				  int is_diff);
void cmd_stats_print_json_snapshot(const char *name, const struct snapshot *s);
/* `stats --sizes` (cmd_stats_sizes.c): s's allocation-size histogram, as
 * text or JSON (stdout); -1 after one error line when s has none. */
int cmd_stats_print_sizes(const struct snapshot *s, int is_json);

#endif
