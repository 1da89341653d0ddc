/*
 * `cprof html FILE... [-o report.html]`: options, loading and the output
 * file; the page is html.c's.
 */
#include "cmds.h"
#include "html.h"
#include "loaded.h"
#include "output.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char html_usage[] = "usage: cprof html FILE... [-o report.html]";

static int write_output(struct loaded *in, int n, const char *out_path)
{
	struct output o;

	if (output_open(&o, out_path) < 0)
		return -1;
	html_write_page(o.f, in, n);
	return output_close(&o, 0);
}

int cmd_html(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *out_path = NULL;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out_path = optarg; break;
		case 'h':
			printf("%s\n\nProfiles and memory snapshots as one self-contained HTML "
			       "page:\n"
			       "summaries, sortable tables, zoomable flame graphs, and the diff "
			       "of\n"
			       "two files of a kind. Without -o the page goes to standard "
			       "output.\n",
			       html_usage);
			return EXIT_OK;
		default:
			if (optopt == 'o')
				return usage_error("-o needs a file name\n%s", html_usage);
			return usage_error("unknown option '%s'\n%s", argv[optind - 1], html_usage);
		}
	}
	int n = argc - optind;
	if (n < 1)
		return usage_error("html takes one or more profiles or snapshots\n%s", html_usage);
	struct loaded *in = xcalloc((size_t)n, sizeof(*in));
	int status = EXIT_OK, loaded = 0;
	for (; loaded < n; loaded++)
		if (loaded_open(&in[loaded], argv[optind + loaded]) < 0) {
			status = EXIT_ERROR;
			loaded++; /* a half-loaded input is released too */
			break;
		}
	if (status == EXIT_OK && write_output(in, n, out_path) < 0)
		status = EXIT_ERROR;
	for (int i = 0; i < loaded; i++)
		loaded_close(&in[i]);
	free(in);
	return status;
}
