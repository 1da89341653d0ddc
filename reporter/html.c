/*
 * The html page of `cprof html`: each file's summary, sortable table and
 * flame graph (in an iframe), and the diff of two files of a kind.
 * Everything is inline and escaped; the page must never fetch anything,
 * so its CSP forbids every network source. Writes only to the FILE given.
 */
#define _GNU_SOURCE
#include "export.h"
#include "html.h"
#include "profdiff.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- flame graphs ---- */

/*
 * The SVG of flamegraph.c, with its own zoom and search script, inline in
 * an iframe's srcdoc: each graph then has a document of its own, since
 * the script's globals and ids would collide between several graphs in
 * one page. Escaped once more for the attribute.
 */
static void write_flame(FILE *out, struct loaded *in)
{
	uint64_t total;
	struct flamegraph *fg = export_svg_build(in, NULL, &total);
	char *svg = NULL;
	size_t len = 0;

	fputs("<h3>Flame graph</h3>\n", out);
	if (!total) {
		fputs("<p class=\"note\">Nothing to draw: the file records no time or live "
		      "memory.</p>\n",
		      out);
		flamegraph_free(fg);
		return;
	}
	FILE *mem = open_memstream(&svg, &len);
	if (!mem) {
		flamegraph_free(fg);
		fputs("<p class=\"note\">The flame graph could not be drawn (out of "
		      "memory).</p>\n",
		      out);
		return;
	}
	char *title = export_svg_title(in);
	int rc = flamegraph_write_svg(mem, fg, title, export_svg_unit(in));
	fclose(mem);
	free(title);
	flamegraph_free(fg);
	const char *body = svg ? strstr(svg, "<svg") : NULL;
	const char *h = body ? strstr(body, " height=\"") : NULL;
	int height = h ? atoi(h + 9) : 0;
	if (rc == 0 && body) {
		fputs("<p class=\"fg-bar\">Click a frame to zoom; Reset zoom and Search "
		      "are at the "
		      "graph's top right.</p>\n",
		      out);
		fprintf(out,
			"<iframe class=\"fg\" title=\"flame graph\" style=\"height:%dpx\" "
			"srcdoc=\"",
			(height > 0 ? height : 400) + 4);
		html_table_text(out, "<!DOCTYPE html><html><head><meta "
			       "charset=\"utf-8\"><style>body{margin:0}"
			       "</style></head><body>");
		html_table_text(out, body);
		html_table_text(out, "</body></html>");
		fputs("\"></iframe>\n", out);
	}
	free(svg);
}

/* ---- one file ---- */

/* Larger cumtime first; ties keep the functions' order (stable). */
static int by_cumtime_stat(const struct func_stat *a, const struct func_stat *b, void *ctx)
{
	(void)ctx;
	if (a->cumtime != b->cumtime)
		return a->cumtime > b->cumtime ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int by_cumtime(const void *a, const void *b, void *ctx)
{
	const struct callstats *cs = ctx;

	return by_cumtime_stat(&cs->funcs[*(const size_t *)a], &cs->funcs[*(const size_t *)b], NULL);
}

/* Table rows of a profile: a browser keeps every row in its DOM, and
 * `cprof report` lists them all. */
#define HTML_MAX_FUNCTIONS 5000

static void write_profile(FILE *out, struct loaded *in, int idx)
{
	const struct profile *p = in->p;
	const struct callstats *cs = &in->cs;
	char buf[128];

	fprintf(out, "<section class=\"file\" id=\"file%d\">\n<h2>Profile ", idx);
	html_table_text(out, util_display_path(in->path));
	fputs("</h2>\n<table class=\"summary\">\n", out);
	html_table_summary_row(out, "program", p->meta.program);
	html_table_summary_u64(out, "pid", p->meta.pid);
	html_table_summary_u64(out, "parent pid", p->meta.ppid);
	html_table_summary_u64(out, "threads", p->nthreads);
	snprintf(buf, sizeof(buf), "%.3f s",
		 (double)p->meta.elapsed_ticks * p->meta.ns_per_tick / 1e9);
	html_table_summary_row(out, "elapsed", buf);
	if (cs->total_calls == cs->total_pcalls)
		snprintf(buf, sizeof(buf), "%" PRIu64 " function calls in %.3f seconds",
			 cs->total_calls, cs->total_time);
	else
		snprintf(buf, sizeof(buf),
			 "%" PRIu64 " function calls (%" PRIu64 " primitive calls) in %.3f seconds",
			 cs->total_calls, cs->total_pcalls, cs->total_time);
	html_table_summary_row(out, "total", buf);
	if (cs->total_taken > 0) {
		double lo, hi;
		callstats_range(cs->total_time, cs->total_taken, &lo, &hi);
		snprintf(buf, sizeof(buf), "%.3f s (%.1f ns a call)", cs->total_taken,
			 cs->total_calls ? cs->total_taken * 1e9 / (double)cs->total_calls : 0);
		html_table_summary_row(out, "hooks' overhead taken out", buf);
		snprintf(buf, sizeof(buf), "%.3f to %.3f s (cprof(1): COMPENSATION)", lo, hi);
		html_table_summary_row(out, "the program's own time", buf);
	}
	html_table_summary_u64(out, "functions", cs->nfuncs);
	html_table_summary_u64(out, "dropped calls (tree full)", p->meta.dropped_nodes);
	html_table_summary_u64(out, "dropped calls (stack too deep)", p->meta.dropped_frames);
	html_table_summary_u64(out, "exits without entry (longjmp)", p->meta.mismatched_exits);
	html_table_summary_u64(out, "calls skipped in signal handlers", p->meta.skipped_reentrant);
	if (p->is_counts_only)
		html_table_summary_row(out, "note", "counts only: the profile was taken without a clock");
	fputs("</table>\n<h3>Functions</h3>\n", out);
	html_table_open(out,
			(const char *const[]){ "ncalls", "tottime", "percall", "cumtime", "percall",
					       "filename:lineno(function)" },
			"nnnnnt");

	/* Ordered by cumulative time, as `cprof run` prints it. */
	size_t n, ncalled = 0;
	size_t *order = callstats_top(cs, HTML_MAX_FUNCTIONS, by_cumtime_stat, NULL, &n);
	for (size_t i = 0; i < cs->nfuncs; i++)
		ncalled += cs->funcs[i].calls != 0;
	if (n)	/* 100,000 functions happen: not an insertion sort */
		qsort_r(order, n, sizeof(*order), by_cumtime, (void *)cs);
	for (size_t k = 0; k < n; k++) {
		const struct func_stat *f = &cs->funcs[order[k]];
		fputs("<tr>", out);
		if (f->calls == f->pcalls)
			snprintf(buf, sizeof(buf), "%" PRIu64, f->calls);
		else
			snprintf(buf, sizeof(buf), "%" PRIu64 "/%" PRIu64, f->calls, f->pcalls);
		fprintf(out, "<td class=\"num\" data-v=\"%" PRIu64 "\">%s</td>", f->calls, buf);
		html_table_td_num(out, f->tottime, "%.6f");
		html_table_td_num(out, f->calls ? f->tottime / (double)f->calls : 0, "%.6f");
		html_table_td_num(out, f->cumtime, "%.6f");
		html_table_td_num(out, f->pcalls ? f->cumtime / (double)f->pcalls : 0, "%.6f");
		html_table_td_text(out, in->labels[order[k]]);
		fputs("</tr>\n", out);
	}
	free(order);
	html_table_close(out);
	if (n < ncalled)
		fprintf(out, "<p class=\"note\">The %zu functions of most cumulative time of %zu "
			"(<code>cprof report</code> lists them all).</p>\n", n, ncalled);
	write_flame(out, in);
	fputs("</section>\n", out);
}

/* Live memory by site; a diff adds the changes beside size and count. */
static void site_table(FILE *out, const struct snap_stats *st, int is_diff)
{
	if (is_diff)
		html_table_open(out,
				(const char *const[]){ "file:line", "function", "size", "size change",
						       "count", "count change", "average" },
				"ttnnnnn");
	else
		html_table_open(out,
				(const char *const[]){ "file:line", "function", "size", "count",
						       "average" },
				"ttnnn");
	for (size_t i = 0; i < st->nstats; i++) {
		const struct snap_stat *e = &st->stats[i];
		fputs("<tr>", out);
		html_table_td_text(out, e->key);
		html_table_td_text(out, e->function ? e->function : "?");
		html_table_td_bytes(out, (double)e->size, 0);
		if (is_diff)
			html_table_td_bytes(out, (double)e->size_diff, 1);
		html_table_td_int(out, e->count, 0);
		if (is_diff)
			html_table_td_int(out, e->count_diff, 1);
		html_table_td_bytes(out, e->count ? (double)e->size / (double)e->count : 0, 0);
		fputs("</tr>\n", out);
	}
	html_table_close(out);
}

static void write_snapshot(FILE *out, struct loaded *all, int n, int idx)
{
	struct loaded *in = &all[idx];
	const struct snapshot *s = in->s;
	struct snap_stats st;
	char buf[128], sz[32];

	fprintf(out, "<section class=\"file\" id=\"file%d\">\n<h2>Snapshot ", idx);
	html_table_text(out, util_display_path(in->path));
	fputs("</h2>\n<table class=\"summary\">\n", out);
	html_table_summary_row(out, "program", s->meta.program);
	html_table_summary_u64(out, "pid", s->meta.pid);
	snprintf(buf, sizeof(buf), "%" PRIu64 " '%s'", s->meta.seq, s->meta.label);
	html_table_summary_row(out, "snapshot", buf);
	html_table_summary_bytes(out, "live (traced)", (double)s->info.current_bytes, s->info.current_blocks);
	util_format_bytes(sz, sizeof(sz), (double)s->info.peak_bytes, 0);
	snprintf(buf, sizeof(buf), "%s at %.3f s", sz, (double)s->info.peak_ns / 1e9);
	html_table_summary_row(out, "peak", buf);
	html_table_summary_bytes(out, "allocated since start", (double)s->info.total_bytes,
		      s->info.total_blocks);
	html_table_summary_u64(out, "frees", s->info.total_frees);
	html_table_summary_u64(out, "traces", s->ntraces);
	html_table_summary_u64(out, "frames kept per trace", s->info.max_frames);
	html_table_summary_u64(out, "dropped allocations (table full)", s->info.dropped_allocs);
	html_table_summary_u64(out, "allocations without a stack (trace table full)", s->info.dropped_traces);
	html_table_summary_u64(out, "frees of untraced blocks", s->info.untraced_frees);
	html_table_summary_u64(out, "blocks freed with an overwritten header", s->info.corrupt_headers);
	fputs("</table>\n", out);
	html_timeline_write(out, all, n, idx);

	snapshot_statistics(s, in->sym, SNAP_BY_LINENO, NULL, &st);
	util_format_bytes(sz, sizeof(sz), (double)st.size, 0);
	fprintf(out, "<h3>Live memory by line</h3>\n<p>%zu site%s, %s in %" PRId64 " blocks</p>\n",
		st.nstats, st.nstats == 1 ? "" : "s", sz, st.count);
	site_table(out, &st, 0);
	snapshot_stats_release(&st);
	if (s->has_peak) {	/* what made the peak, beside what is live now */
		struct snap_filter at_peak = { .at_peak = 1 };
		snapshot_statistics(s, in->sym, SNAP_BY_LINENO, &at_peak, &st);
		util_format_bytes(sz, sizeof(sz), (double)st.size, 0);
		fprintf(out, "<h3 id=\"peak\">Live at the peak by line</h3>\n<p>%zu site%s, %s in %" PRId64
			     " blocks, at %.3f s</p>\n",
			st.nstats, st.nstats == 1 ? "" : "s", sz, st.count,
			(double)s->info.peak_ns / 1e9);
		site_table(out, &st, 0);
		snapshot_stats_release(&st);
	}
	write_flame(out, in);
	fputs("</section>\n", out);
}

/* ---- two files of a kind ---- */

/* The diff's section and "Diff: A -> B" (its <h2> left open). */
static void diff_heading(FILE *out, const struct loaded *a, const struct loaded *b)
{
	fputs("<section class=\"diff\" id=\"diff\">\n<h2>Diff: ", out);
	html_table_text(out, util_display_path(a->path));
	fputs(" &rarr; ", out);
	html_table_text(out, util_display_path(b->path));
}

static void write_diff_profiles(FILE *out, struct loaded *a, struct loaded *b)
{
	const struct callstats *cs[2] = {&a->cs, &b->cs};
	char **const labels[2] = {a->labels, b->labels};
	struct profdiff d;

	profdiff_build(&d, cs, labels);
	double speedup = d.total[1] > 0 ? d.total[0] / d.total[1] : 0;
	diff_heading(out, a, b);
	fprintf(out, "</h2>\n<p>%.3f s &rarr; %.3f s: %.2fx %s</p>\n", d.total[0], d.total[1],
		speedup >= 1 ? speedup : (speedup > 0 ? 1 / speedup : 0),
		speedup >= 1 ? "faster" : "slower");
	html_table_open(out,
			(const char *const[]){ "ncalls old", "ncalls new", "tottime old",
					       "tottime new", "tottime change", "cumtime old",
					       "cumtime new", "cumtime change",
					       "filename:lineno(function)" },
			"nnnnnnnnt");
	for (size_t i = 0; i < d.nrows; i++) {
		const struct profdiff_row *r = &d.rows[i];
		double dt = r->tottime[1] - r->tottime[0], dc = r->cumtime[1] - r->cumtime[0];
		fputs("<tr>", out);
		html_table_td_int(out, (int64_t)r->calls[0], 0);
		html_table_td_int(out, (int64_t)r->calls[1], 0);
		html_table_td_num(out, r->tottime[0], "%.6f");
		html_table_td_num(out, r->tottime[1], "%.6f");
		html_table_td_num(out, dt, dt > 0 ? "+%.6f" : "%.6f");
		html_table_td_num(out, r->cumtime[0], "%.6f");
		html_table_td_num(out, r->cumtime[1], "%.6f");
		html_table_td_num(out, dc, dc > 0 ? "+%.6f" : "%.6f");
		html_table_td_text(out, r->label);
		fputs("</tr>\n", out);
	}
	html_table_close(out);
	fputs("</section>\n", out);
	profdiff_release(&d);
}

static void write_diff_snapshots(FILE *out, struct loaded *a, struct loaded *b)
{
	struct snap_stats st;
	char sz[32], dsz[32];

	snapshot_compare(a->s, a->sym, b->s, b->sym, SNAP_BY_LINENO, NULL, &st);
	util_format_bytes(sz, sizeof(sz), (double)st.size, 0);
	util_format_bytes(dsz, sizeof(dsz), (double)st.size_diff, 1);
	diff_heading(out, a, b);
	fprintf(out, "</h2>\n<p>%zu site%s, %s (%s) in %" PRId64 " blocks (%+" PRId64 ")</p>\n",
		st.nstats, st.nstats == 1 ? "" : "s", sz, dsz, st.count, st.count_diff);
	site_table(out, &st, 1);
	fputs("</section>\n", out);
	snapshot_stats_release(&st);
}

/* ---- the page ---- */

void html_write_page(FILE *out, struct loaded *in, int n)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      /* Nothing may leave the page: no fetch, image, font or frame. */
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	      "'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
	      "<title>cprof report</title>\n<style>\n",
	      out);
	fputs(html_assets_css, out);
	fputs("</style>\n</head>\n<body>\n<h1>cprof report</h1>\n<nav>", out);
	for (int i = 0; i < n; i++) {
		fprintf(out, "<a href=\"#file%d\">%s ", i, in[i].p ? "profile" : "snapshot");
		html_table_text(out, util_display_path(in[i].path));
		fputs("</a>", out);
	}
	if (n == 2 && !!in[0].p == !!in[1].p)
		fputs("<a href=\"#diff\">diff</a>", out);
	fputs("</nav>\n", out);
	for (int i = 0; i < n; i++) {
		if (in[i].p)
			write_profile(out, &in[i], i);
		else
			write_snapshot(out, in, n, i);
	}
	if (n == 2 && in[0].p && in[1].p)
		write_diff_profiles(out, &in[0], &in[1]);
	else if (n == 2 && in[0].s && in[1].s)
		write_diff_snapshots(out, &in[0], &in[1]);
	fputs("<script>\n", out);
	fputs(html_assets_js, out);
	fputs("</script>\n</body>\n</html>\n", out);
}
