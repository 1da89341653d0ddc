/*
 * `cprof diff OLD.snap NEW.snap`: tracemalloc's Snapshot.compare_to(),
 * sorted by the absolute size difference, then the total difference.
 * Refuses snapshots of different programs and call profiles.
 */
#include "cmd_stats.h"
#include "cmds.h"
#include "loaded.h"
#include "snapshot.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
	printf("usage: cprof diff OLD.snap NEW.snap [--by lineno|filename|function|traceback]\n"
	       "                 [--sort size|count|allocated_size|allocated_count|temporary_count] [--peak]\n"
	       "                 [--limit N] [--include GLOB] [--exclude GLOB] [--all-frames] [--json]\n"
	       "                 [--fail-over PERCENT | --fail-over SITE=PERCENT]...\n\n"
	       "What NEW holds live compared to OLD, by allocation site (tracemalloc's\n"
	       "compare_to): size=NEW (+DIFF), count=NEW (+DIFF), largest change first.\n"
	       "--sort by a total over the run adds calls=, allocated= and temporary=, each\n"
	       "NEW (+DIFF), ranked by the change in that total. --peak compares what was\n"
	       "live at each snapshot's peak.\n"
	       "--fail-over: exit 1 when the total live size (or SITE's: file.c:LINE or a\n"
	       "function) grew by more than PERCENT.\n");
}

int cmd_diff_snapshots(int argc, char **argv, struct fmt_file *read)
{
	struct loaded l[2] = { { 0 }, { 0 } };
	struct stats_options o;
	struct snap_stats st;
	int status = EXIT_ERROR;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return EXIT_OK;
		}
	if (cmd_stats_parse_options(argc, argv, &o, 2, 0) < 0) {
		cmd_stats_options_release(&o);
		return EXIT_USAGE;
	}
	if (loaded_open_read(&l[0], &read[0]) < 0 || loaded_open_read(&l[1], &read[1]) < 0)
		goto out;
	struct snapshot *old_snap = l[0].s, *new_snap = l[1].s;
	if (cmd_stats_check_peak(old_snap, &o) < 0 || cmd_stats_check_peak(new_snap, &o) < 0)
		goto out;
	if (strcmp(old_snap->meta.program, new_snap->meta.program) != 0) {
		error("'%s' and '%s' are snapshots of different programs ('%s' and '%s'); compare snapshots of one program",
		      o.files[0], o.files[1], old_snap->meta.program, new_snap->meta.program);
		goto out;
	}
	snapshot_compare(old_snap, l[0].sym, new_snap, l[1].sym, (enum snap_key)o.key, &o.filter, &st);
	struct budget_entry *entries = xcalloc(st.nstats + 1, sizeof(*entries));
	for (size_t i = 0; i < st.nstats; i++) {
		const struct snap_stat *e = &st.stats[i];
		entries[i] = (struct budget_entry){ .label = e->key, .file = e->file,
						    .function = e->function, .line = e->line,
						    .old_value = (double)(e->size - e->size_diff),
						    .new_value = (double)e->size };
	}
	struct growth_check gc;
	status = check_growth_eval(&gc, o.fail_over, o.nfail_over, (double)(st.size - st.size_diff),
				   (double)st.size, entries, st.nstats, BUDGET_BYTES);
	if (status != EXIT_OK) {
		/* a bad budget: nothing printed */
	} else if (o.is_json) {
		printf("{");
		cmd_stats_print_json_snapshot("old", old_snap);
		printf(",");
		cmd_stats_print_json_snapshot("new", new_snap);
		printf(",");
		cmd_stats_print_json_entries(&st, &o, 1);
		printf("}\n");
	} else {
		printf("Comparing %ssnapshot %llu '%s' to %ssnapshot %llu '%s' of %s\n",
		       o.filter.at_peak ? "the peak of " : "",
		       (unsigned long long)new_snap->meta.seq, new_snap->meta.label,
		       o.filter.at_peak ? "the peak of " : "",
		       (unsigned long long)old_snap->meta.seq, old_snap->meta.label,
		       new_snap->meta.program);
		cmd_stats_print_text(&st, &o, 1);
	}
	if (status == EXIT_OK)
		status = fflush(stdout) == 0 ? check_growth_report(&gc) : EXIT_ERROR;
	check_growth_release(&gc);
	free(entries);
	snapshot_stats_release(&st);
out:
	loaded_close(&l[0]);
	loaded_close(&l[1]);
	cmd_stats_options_release(&o);
	return status;
}
