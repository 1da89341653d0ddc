/*
 * `cprof export FILE --format F [-o OUT]` and `cprof flamegraph FILE
 * [-o OUT.svg]`: a profile or a snapshot in the formats other tools read.
 * Options, file kinds and output files; the writers are export_*.c and
 * flamegraph.c.
 */
#define _GNU_SOURCE
#include "cmds.h"
#include "export.h"
#include "loaded.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void visit_all(struct loaded *in, stacks_visit visit, void *ctx)
{
	if (in->p)
		stacks_of_profile(in->p, &in->cs, in->names, visit, ctx);
	else
		stacks_of_snapshot(in->s, in->sym, visit, ctx);
}

/* A profile's functions sorted by name (then index), for the tooltips'
 * lookups: a linear search per frame drawn was quadratic. */
struct by_name_index {
	const struct loaded *in;
	size_t *order;
	char buf[4200];
};

static int by_name_then_index(const void *a, const void *b, void *ctx)
{
	const struct loaded *in = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(in->names[i], in->names[j]);

	return c ? c : (i < j ? -1 : i > j);
}

static void by_name_index_init(struct by_name_index *x, const struct loaded *in)
{
	x->in = in;
	x->order = xcalloc(in->cs.nfuncs + 1, sizeof(*x->order));
	for (size_t i = 0; i < in->cs.nfuncs; i++)
		x->order[i] = i;
	if (in->cs.nfuncs)
		qsort_r(x->order, in->cs.nfuncs, sizeof(*x->order), by_name_then_index, (void *)in);
}

/* "file:line" of a profile's function (the first of that name), for
 * flame-graph tooltips. */
static const char *profile_detail(void *ctx, const char *name)
{
	struct by_name_index *x = ctx;
	size_t lo = 0, hi = x->in->cs.nfuncs;

	while (lo < hi) {	/* the leftmost name >= name */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(x->in->names[x->order[mid]], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == x->in->cs.nfuncs || strcmp(x->in->names[x->order[lo]], name) != 0)
		return NULL;
	const struct sym_frame *f = x->in->syms[x->order[lo]];
	snprintf(x->buf, sizeof(x->buf), "%s:%d", f->file, f->decl_line);
	return x->buf;
}

/* Writes through a temporary beside OUT, renamed at the end: a failed
 * export leaves no half-written file. base, when given, is the older
 * file of a differential flame graph; fmt NULL: the flame graph. */
static int write_output(struct loaded *in, struct loaded *base, const struct exporter *fmt,
			const char *out_path)
{
	char *tmp = out_path ? xstrfmt("%s.tmp%d", out_path, (int)getpid()) : NULL;
	FILE *out = tmp ? fopen(tmp, "wx") : stdout;
	int rc = 0;

	if (!out) {
		rc = error("cannot create '%s': %s (choose another -o)", out_path, strerror(errno));
		free(tmp);
		return rc;
	}
	if (fmt) {
		rc = in->p ? fmt->write_profile(out, in) : fmt->write_snapshot(out, in);
	} else {
		struct flamegraph *fg = flamegraph_new();
		if (in->p && !base)	/* one side only: both sides must keep the same frames */
			stacks_of_profile_drawn(in->p, &in->cs, in->names, FLAMEGRAPH_RESOLUTION,
						flamegraph_add, fg);
		else
			visit_all(in, flamegraph_add, fg);
		if (base)
			visit_all(base, flamegraph_add_base, fg);
		struct by_name_index names = { .order = NULL };
		if (in->p) {
			by_name_index_init(&names, in);
			flamegraph_set_detail(fg, profile_detail, &names);
		}
		char *title = in->p ? xstrfmt("cprof: time in %s (pid %llu)", in->p->meta.program,
					      (unsigned long long)in->p->meta.pid)
				    : xstrfmt("cprof: live memory at '%s' in %s (pid %llu)",
					      in->s->meta.label, in->s->meta.program,
					      (unsigned long long)in->s->meta.pid);
		if (base) {
			char *longer = xstrfmt("%s, red: grew, blue: shrank since '%s'", title,
					       base->p ? "the older profile" : base->s->meta.label);
			free(title);
			title = longer;
		}
		rc = flamegraph_write_svg(out, fg, title, in->p && !in->p->is_counts_only ? "ns"
							  : in->p ? "calls" : "bytes");
		free(title);
		free(names.order);
		flamegraph_free(fg);
	}
	if (fflush(out) != 0 && rc == 0)
		rc = error("cannot write '%s': %s", out_path ? out_path : "standard output",
			   strerror(errno));
	if (tmp) {
		fclose(out);
		if (rc == 0 && rename(tmp, out_path) != 0)
			rc = error("cannot create '%s': %s", out_path, strerror(errno));
		if (rc != 0)
			unlink(tmp);
		else
			fprintf(stderr, "cprof: wrote %s\n", out_path);
		free(tmp);
	}
	return rc;
}

static int run(int argc, char **argv, int is_flamegraph)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *names = exporter_names("|", "|");
	char *usage = is_flamegraph
			      ? xstrdup("usage: cprof flamegraph FILE [-o OUT.svg]\n"
					"       cprof flamegraph OLD NEW [-o OUT.svg]   (differential: NEW's widths,\n"
					"       red where it grew since OLD, blue where it shrank)")
			      : xstrfmt("usage: cprof export FILE --format %s [-o OUT]", names);
	const char *out_path = NULL, *format = NULL;
	const struct exporter *fmt = NULL;
	int c, rc;

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
