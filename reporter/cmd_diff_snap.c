/*
 * `cprof diff OLD.snap NEW.snap`: tracemalloc's Snapshot.compare_to(),
 * sorted by the absolute size difference, then the total difference.
 * Refuses snapshots of different programs and call profiles.
 */
#include "cmds.h"
#include "snapshot.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static void usage(void)
{
	printf("usage: cprof diff OLD.snap NEW.snap [--by lineno|filename|function|traceback]\n"
	       "                 [--limit N] [--include GLOB] [--exclude GLOB] [--all-frames] [--json]\n\n"
	       "What NEW holds live compared to OLD, by allocation site (tracemalloc's\n"
	       "compare_to): size=NEW (+DIFF), count=NEW (+DIFF), largest change first.\n");
}

int cmd_diff_snapshots(int argc, char **argv)
{
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
	struct snapshot *old_snap = snapshot_open(o.files[0]);
	struct snapshot *new_snap = old_snap ? snapshot_open(o.files[1]) : NULL;
	if (!old_snap || !new_snap)
		goto out;
	if (strcmp(old_snap->meta.program, new_snap->meta.program) != 0) {
		error("'%s' and '%s' are snapshots of different programs ('%s' and '%s'); compare snapshots of one program",
		      o.files[0], o.files[1], old_snap->meta.program, new_snap->meta.program);
		goto out;
	}
	struct symbolizer *old_sym = symbolizer_new(&old_snap->modules);
	struct symbolizer *new_sym = symbolizer_new(&new_snap->modules);
	snapshot_compare(old_snap, old_sym, new_snap, new_sym, (enum snap_key)o.key, &o.filter, &st);
	if (o.is_json) {
		printf("{");
		cmd_stats_print_json_snapshot("old", old_snap);
		printf(",");
		cmd_stats_print_json_snapshot("new", new_snap);
		printf(",");
		cmd_stats_print_json_entries(&st, &o, 1);
		printf("}\n");
	} else {
		printf("Comparing snapshot %llu '%s' to snapshot %llu '%s' of %s\n",
		       (unsigned long long)new_snap->meta.seq, new_snap->meta.label,
		       (unsigned long long)old_snap->meta.seq, old_snap->meta.label,
		       new_snap->meta.program);
		cmd_stats_print_text(&st, &o, 1);
	}
	snapshot_stats_release(&st);
	symbolizer_free(old_sym);
	symbolizer_free(new_sym);
	status = fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
out:
	snapshot_free(old_snap);
	snapshot_free(new_snap);
	cmd_stats_options_release(&o);
	return status;
}
