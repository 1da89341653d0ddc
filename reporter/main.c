/*
 * cprof: the one command users type. Dispatches to cmd_*.c, which choose
 * the exit status (0 ok, 1 error, 2 usage).
 */
#include "cmds.h"
#include "export.h"
#include "loaded.h"
#include "util.h"

#include "../common/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * `cprof diff OLD NEW`: two profiles or two snapshots, told apart by the
 * files' headers, not their names; a mix is refused.
 */
static int cmd_diff(int argc, char **argv)
{
	static const char *const with_value[] = { "--by",    "--limit", "--include", "--exclude",
						  "--match", "--fail-over", "--sort" };
	struct fmt_file read[2];
	int nfiles = 0, status;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		puts("usage: cprof diff OLD.prof NEW.prof [--limit N] [--match REGEX] [--json]\n"
		     "       cprof diff OLD.snap NEW.snap [--by lineno|filename|function|traceback]\n"
		     "                  [--sort size|count|allocated_size|allocated_count|temporary_count] [--peak]\n"
		     "                  [--limit N] [--include GLOB] [--exclude GLOB] [--json]\n"
		     "  either: [--fail-over PERCENT] [--fail-over FUNCTION|SITE=PERCENT]...\n"
		     "          exit 1 when the total (or that entry) grew by more than PERCENT");
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		int is_value = 0;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			is_value |= strcmp(argv[i - 1], with_value[k]) == 0;
		if (argv[i][0] == '-' || is_value)
			continue;
		/* Read here, once: the kind decides which diff runs. */
		struct fmt_file f;
		if (loaded_read(nfiles < 2 ? &read[nfiles] : &f, argv[i]) < 0) {
			status = EXIT_ERROR;
			goto out;
		}
		if (nfiles++ >= 2)
			fmt_file_close(&f);
	}
	if (nfiles != 2) {
		status = usage_error("diff takes two files, OLD and NEW: two profiles or two snapshots");
	} else if (read[0].header.kind != read[1].header.kind) {
		status = EXIT_ERROR;
		error("'%s' is a %s and '%s' a %s: diff compares two of a kind", read[0].path,
		      fmt_kind_name(read[0].header.kind), read[1].path,
		      fmt_kind_name(read[1].header.kind));
	} else if (read[0].header.kind == FMT_KIND_PROFILE) {
		status = cmd_diff_profiles(argc, argv, read);
	} else {
		status = cmd_diff_snapshots(argc, argv, read);
	}
out:
	for (int i = 0; i < nfiles && i < 2; i++)
		fmt_file_close(&read[i]);
	return status;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "run", cmd_run, "run a program under the profilers" },
	{ "report", cmd_report, "print a call profile (pstats layout)" },
	{ "stats", cmd_stats, "print a memory snapshot (tracemalloc statistics)" },
	{ "diff", cmd_diff, "compare two profiles or two memory snapshots" },
	{ "whatif", cmd_whatif, "predict a speedup with Amdahl's law" },
	{ "export", cmd_export, NULL },	/* help: from export.c's table */
	{ "flamegraph", cmd_flamegraph, "draw a profile or a snapshot as an SVG flame graph" },
	{ "html", cmd_html, "write a self-contained HTML report" },
	{ "check", cmd_check, "enforce time and memory budgets (exit 1 when one fails)" },
	{ "dump", cmd_dump, "print a file's sections and records with their byte offsets" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: cprof COMMAND [OPTIONS] FILE...\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char *formats = commands[i].help ? NULL : exporter_names(", ", " or ");
		if (formats)
			fprintf(out, "  %-10s write %s\n", commands[i].name, formats);
		else
			fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
		free(formats);
	}
	fprintf(out, "\n'cprof COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("cprof %s\n", CPROF_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage_error("unknown command '%s' (see 'cprof --help')", argv[1]);
}
