/*
 * `cprof export FILE --format F [-o OUT]` and `cprof flamegraph FILE
 * [-o OUT.svg]`: a profile or a snapshot in the formats other tools read.
 * Options and file kinds; the formats are export.c's table, the flame
 * graph export_svg.c's, the output file output.c's.
 */
#include "cmds.h"
#include "export.h"
#include "loaded.h"
#include "output.h"
#include "snapshot.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* base, when given, is the older file of a differential flame graph;
 * fmt NULL: the flame graph. */
static int write_output(struct loaded *in, struct loaded *base, const struct exporter *fmt,
			const char *out_path)
{
	struct output o;

	if (output_open(&o, out_path) < 0)
		return -1;
	int rc = !fmt	 ? export_svg_write(o.f, in, base)
		 : in->p ? fmt->write_profile(o.f, in)
			 : fmt->write_snapshot(o.f, in);
	return output_close(&o, rc);
}

static int run(int argc, char **argv, int is_flamegraph)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "peak", no_argument, NULL, 'p' },
		{ 0 },
	};
	char *names = exporter_names("|", "|");
	char *usage = is_flamegraph
			      ? xstrdup("usage: cprof flamegraph FILE [-o OUT.svg] [--peak]\n"
					"       cprof flamegraph OLD NEW [-o OUT.svg] [--peak]   (differential: NEW's\n"
					"       widths, red where it grew since OLD, blue where it shrank)\n"
					"  --peak: of snapshots, what was live at the peak instead of at the snapshot")
			      : xstrfmt("usage: cprof export FILE --format %s [-o OUT] [--peak]\n"
					"  --peak: of a snapshot, what was live at the peak", names);
	const char *out_path = NULL, *format = NULL;
	const struct exporter *fmt = NULL;
	int c, rc, at_peak = 0;

	free(names);

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (is_flamegraph)
				goto bad;
			format = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'p':
			at_peak = 1;
			break;
		case 'h':
			puts(usage);
			if (!is_flamegraph)
				for (const struct exporter *e = exporters; e->name; e++)
					printf("  %-11s %s\n", e->name, e->help);
			free(usage);
			return EXIT_OK;
		default:
		bad:
			rc = usage_error("unknown option '%s'\n%s", argv[optind - 1], usage);
			free(usage);
			return rc;
		}
	}
	int nfiles = argc - optind;
	rc = 0;
	if (nfiles != 1 && !(is_flamegraph && nfiles == 2))
		rc = usage_error("%s takes %s\n%s", argv[0],
				 is_flamegraph ? "one file or two" : "one file", usage);
	else if (!is_flamegraph && !format)
		rc = usage_error("export needs --format\n%s", usage);
	else if (!is_flamegraph && !(fmt = exporter_find(format))) {
		char *known = exporter_names(", ", " or ");
		rc = usage_error("unknown --format '%s' (use %s)", format, known);
		free(known);
	}
	free(usage);
	if (rc)
		return rc;
	/* With two files the newer (last) one is drawn, the older is the base. */
	struct loaded in, base;
	memset(&base, 0, sizeof(base));
	rc = loaded_open(&in, argv[argc - 1]);
	if (rc == 0 && nfiles == 2) {
		rc = loaded_open(&base, argv[optind]);
		if (rc == 0 && !in.p != !base.p)
			rc = error("'%s' and '%s' are not of one kind: a differential flame graph compares two profiles or two snapshots",
				   argv[optind], argv[argc - 1]);
	}
	for (struct loaded *l = &in; rc == 0 && at_peak && l; l = l == &in && nfiles == 2 ? &base : NULL) {
		if (!l->s)
			rc = error("'%s' is a call profile: --peak is for memory snapshots (.snap)",
				   l->path);
		else if (!l->s->has_peak)
			rc = error("'%s' was written by an older cprof that did not record what was live at the peak (take a new snapshot for --peak)",
				   l->s->path);
		else
			snapshot_use_peak(l->s);
	}
	if (rc == 0)
		rc = write_output(&in, nfiles == 2 ? &base : NULL, fmt, out_path);
	loaded_close(&in);
	loaded_close(&base);
	return rc == 0 ? EXIT_OK : EXIT_ERROR;
}

int cmd_export(int argc, char **argv)
{
	return run(argc, argv, 0);
}

int cmd_flamegraph(int argc, char **argv)
{
	return run(argc, argv, 1);
}
