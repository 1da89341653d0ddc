/*
 * `cprof html FILE... [-o report.html]`: one self-contained HTML page with
 * each file's summary, sortable table and flame graph, and the diff of two
 * files of a kind. Everything is inline (CSS, JS, SVG) and escaped; the page
 * must never fetch anything, so its CSP forbids every network source.
 */
#define _GNU_SOURCE
#include "cmd_html.h"
#include "cmds.h"
#include "export.h"
#include "loaded.h"
#include "profdiff.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char html_usage[] = "usage: cprof html FILE... [-o report.html]";

/* A profile or a snapshot, whichever the file is. */
/* ---- HTML pieces ---- */

/* s escaped for both text and attribute values. */
static void html_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

static void summary_row(FILE *out, const char *name, const char *value)
{
	fprintf(out, "<tr><th>");
	html_text(out, name);
	fprintf(out, "</th><td>");
	html_text(out, value);
	fprintf(out, "</td></tr>\n");
}

static void summary_u64(FILE *out, const char *name, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	summary_row(out, name, buf);
}

static void summary_bytes(FILE *out, const char *name, double bytes, uint64_t blocks)
{
	char sz[32], buf[96];

	util_format_bytes(sz, sizeof(sz), bytes, 0);
	snprintf(buf, sizeof(buf), "%s in %" PRIu64 " blocks", sz, blocks);
	summary_row(out, name, buf);
}

/* A header cell: numeric columns sort largest first on the first click. */
static void th(FILE *out, const char *title, int is_num)
{
	fprintf(out, "<th data-type=\"%s\" title=\"click to sort\">", is_num ? "num" : "text");
	html_text(out, title);
	fputs("</th>", out);
}

static void td_text(FILE *out, const char *s)
{
	fputs("<td class=\"name\">", out);
	html_text(out, s);
	fputs("</td>", out);
}

static void td_num(FILE *out, double v, const char *fmt)
{
	fprintf(out, "<td class=\"num\" data-v=\"%.17g\">", v);
	fprintf(out, fmt, v);
	fputs("</td>", out);
}

static void td_bytes(FILE *out, double v, int with_sign)
{
	char sz[32];

	util_format_bytes(sz, sizeof(sz), v, with_sign);
	fprintf(out, "<td class=\"num\" data-v=\"%.17g\">", v);
	html_text(out, sz);
	fputs("</td>", out);
}

static void td_int(FILE *out, int64_t v, int with_sign)
{
	fprintf(out, "<td class=\"num\" data-v=\"%" PRId64 "\">%s%" PRId64 "</td>", v,
		with_sign && v > 0 ? "+" : "", v);
}

/* ---- flame graphs ---- */

struct fg_ctx {
	struct flamegraph *fg;
	uint64_t total;
};

static void fg_visit(void *ctx, const char *const *frames, int nframes, uint64_t value)
{
	struct fg_ctx *c = ctx;

	c->total += value;
	flamegraph_add(c->fg, frames, nframes, value);
}

/*
 * The SVG of flamegraph.c, with its own zoom and search script, inline in
 * an iframe's srcdoc: each graph then has a document of its own, since
 * the script's globals and ids would collide between several graphs in
 * one page. Escaped once more for the attribute.
 */
static void write_flame(FILE *out, struct loaded *in)
{
	struct fg_ctx c = {flamegraph_new(), 0};
	char *svg = NULL;
	size_t len = 0;

	if (in->p)
		stacks_of_profile_drawn(in->p, &in->cs, in->names, FLAMEGRAPH_RESOLUTION, fg_visit,
					&c);
	else
		stacks_of_snapshot(in->s, in->sym, fg_visit, &c);
	fputs("<h3>Flame graph</h3>\n", out);
	if (!c.total) {
		fputs("<p class=\"note\">Nothing to draw: the file records no time or live "
		      "memory.</p>\n",
		      out);
		flamegraph_free(c.fg);
		return;
	}
	FILE *mem = open_memstream(&svg, &len);
	if (!mem) {
		flamegraph_free(c.fg);
		fputs("<p class=\"note\">The flame graph could not be drawn (out of "
		      "memory).</p>\n",
		      out);
		return;
	}
	char *title = in->p ? xstrfmt("time in %s (pid %" PRIu64 ")", in->p->meta.program,
				      in->p->meta.pid)
			    : xstrfmt("live memory at '%s' in %s (pid %" PRIu64 ")",
				      in->s->meta.label, in->s->meta.program, in->s->meta.pid);
	int rc = flamegraph_write_svg(mem, c.fg, title,
				      in->p && !in->p->is_counts_only ? "ns"
				      : in->p			      ? "calls"
								      : "bytes");
	fclose(mem);
	free(title);
	flamegraph_free(c.fg);
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
		html_text(out, "<!DOCTYPE html><html><head><meta "
			       "charset=\"utf-8\"><style>body{margin:0}"
			       "</style></head><body>");
		html_text(out, body);
		html_text(out, "</body></html>");
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
	html_text(out, util_display_path(in->path));
	fputs("</h2>\n<table class=\"summary\">\n", out);
	summary_row(out, "program", p->meta.program);
	summary_u64(out, "pid", p->meta.pid);
	summary_u64(out, "parent pid", p->meta.ppid);
	summary_u64(out, "threads", p->nthreads);
	snprintf(buf, sizeof(buf), "%.3f s",
		 (double)p->meta.elapsed_ticks * p->meta.ns_per_tick / 1e9);
	summary_row(out, "elapsed", buf);
	if (cs->total_calls == cs->total_pcalls)
		snprintf(buf, sizeof(buf), "%" PRIu64 " function calls in %.3f seconds",
			 cs->total_calls, cs->total_time);
	else
		snprintf(buf, sizeof(buf),
			 "%" PRIu64 " function calls (%" PRIu64 " primitive calls) in %.3f seconds",
			 cs->total_calls, cs->total_pcalls, cs->total_time);
	summary_row(out, "total", buf);
	summary_u64(out, "functions", cs->nfuncs);
	summary_u64(out, "dropped calls (tree full)", p->meta.dropped_nodes);
	summary_u64(out, "dropped calls (stack too deep)", p->meta.dropped_frames);
	summary_u64(out, "exits without entry (longjmp)", p->meta.mismatched_exits);
	summary_u64(out, "calls skipped in signal handlers", p->meta.skipped_reentrant);
	if (p->is_counts_only)
		summary_row(out, "note", "counts only: the profile was taken without a clock");
	fputs("</table>\n<h3>Functions</h3>\n"
	      "<div class=\"wrap\"><table class=\"sortable stats\"><thead><tr>",
	      out);
	th(out, "ncalls", 1);
	th(out, "tottime", 1);
	th(out, "percall", 1);
	th(out, "cumtime", 1);
	th(out, "percall", 1);
	th(out, "filename:lineno(function)", 0);
	fputs("</tr></thead>\n<tbody>\n", out);

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
		td_num(out, f->tottime, "%.6f");
		td_num(out, f->calls ? f->tottime / (double)f->calls : 0, "%.6f");
		td_num(out, f->cumtime, "%.6f");
		td_num(out, f->pcalls ? f->cumtime / (double)f->pcalls : 0, "%.6f");
		td_text(out, in->labels[order[k]]);
		fputs("</tr>\n", out);
	}
	free(order);
	fputs("</tbody></table></div>\n", out);
	if (n < ncalled)
		fprintf(out, "<p class=\"note\">The %zu functions of most cumulative time of %zu "
			"(<code>cprof report</code> lists them all).</p>\n", n, ncalled);
	write_flame(out, in);
	fputs("</section>\n", out);
}

static void write_snapshot(FILE *out, struct loaded *in, int idx)
{
	const struct snapshot *s = in->s;
	struct snap_stats st;
	char buf[128], sz[32];

	fprintf(out, "<section class=\"file\" id=\"file%d\">\n<h2>Snapshot ", idx);
	html_text(out, util_display_path(in->path));
	fputs("</h2>\n<table class=\"summary\">\n", out);
	summary_row(out, "program", s->meta.program);
	summary_u64(out, "pid", s->meta.pid);
	snprintf(buf, sizeof(buf), "%" PRIu64 " '%s'", s->meta.seq, s->meta.label);
	summary_row(out, "snapshot", buf);
	summary_bytes(out, "live (traced)", (double)s->info.current_bytes, s->info.current_blocks);
	util_format_bytes(sz, sizeof(sz), (double)s->info.peak_bytes, 0);
	snprintf(buf, sizeof(buf), "%s at %.3f s", sz, (double)s->info.peak_ns / 1e9);
	summary_row(out, "peak", buf);
	summary_bytes(out, "allocated since start", (double)s->info.total_bytes,
		      s->info.total_blocks);
	summary_u64(out, "frees", s->info.total_frees);
	summary_u64(out, "traces", s->ntraces);
	summary_u64(out, "frames kept per trace", s->info.max_frames);
	summary_u64(out, "dropped allocations (table full)", s->info.dropped_allocs);
	summary_u64(out, "allocations without a stack (trace table full)", s->info.dropped_traces);
	summary_u64(out, "frees of untraced blocks", s->info.untraced_frees);
	summary_u64(out, "blocks freed with an overwritten header", s->info.corrupt_headers);
	fputs("</table>\n", out);

	snapshot_statistics(s, in->sym, SNAP_BY_LINENO, NULL, &st);
	util_format_bytes(sz, sizeof(sz), (double)st.size, 0);
	fprintf(out, "<h3>Live memory by line</h3>\n<p>%zu site%s, %s in %" PRId64 " blocks</p>\n",
		st.nstats, st.nstats == 1 ? "" : "s", sz, st.count);
	fputs("<div class=\"wrap\"><table class=\"sortable stats\"><thead><tr>", out);
	th(out, "file:line", 0);
	th(out, "function", 0);
	th(out, "size", 1);
	th(out, "count", 1);
	th(out, "average", 1);
	fputs("</tr></thead>\n<tbody>\n", out);
	for (size_t i = 0; i < st.nstats; i++) {
		const struct snap_stat *e = &st.stats[i];
		fputs("<tr>", out);
		td_text(out, e->key);
		td_text(out, e->function ? e->function : "?");
		td_bytes(out, (double)e->size, 0);
		td_int(out, e->count, 0);
		td_bytes(out, e->count ? (double)e->size / (double)e->count : 0, 0);
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table></div>\n", out);
	snapshot_stats_release(&st);
	write_flame(out, in);
	fputs("</section>\n", out);
}

/* ---- two files of a kind ---- */

static void write_diff_profiles(FILE *out, struct loaded *a, struct loaded *b)
{
	const struct callstats *cs[2] = {&a->cs, &b->cs};
	char **const labels[2] = {a->labels, b->labels};
	struct profdiff d;

	profdiff_build(&d, cs, labels);
	double speedup = d.total[1] > 0 ? d.total[0] / d.total[1] : 0;
	fputs("<section class=\"diff\" id=\"diff\">\n<h2>Diff: ", out);
	html_text(out, util_display_path(a->path));
	fputs(" &rarr; ", out);
	html_text(out, util_display_path(b->path));
	fprintf(out, "</h2>\n<p>%.3f s &rarr; %.3f s: %.2fx %s</p>\n", d.total[0], d.total[1],
		speedup >= 1 ? speedup : (speedup > 0 ? 1 / speedup : 0),
		speedup >= 1 ? "faster" : "slower");
	fputs("<div class=\"wrap\"><table class=\"sortable stats\"><thead><tr>", out);
	th(out, "ncalls old", 1);
	th(out, "ncalls new", 1);
	th(out, "tottime old", 1);
	th(out, "tottime new", 1);
	th(out, "tottime change", 1);
	th(out, "cumtime old", 1);
	th(out, "cumtime new", 1);
	th(out, "cumtime change", 1);
	th(out, "filename:lineno(function)", 0);
	fputs("</tr></thead>\n<tbody>\n", out);
	for (size_t i = 0; i < d.nrows; i++) {
		const struct profdiff_row *r = &d.rows[i];
		double dt = r->tottime[1] - r->tottime[0], dc = r->cumtime[1] - r->cumtime[0];
		fputs("<tr>", out);
		td_int(out, (int64_t)r->calls[0], 0);
		td_int(out, (int64_t)r->calls[1], 0);
		td_num(out, r->tottime[0], "%.6f");
		td_num(out, r->tottime[1], "%.6f");
		td_num(out, dt, dt > 0 ? "+%.6f" : "%.6f");
		td_num(out, r->cumtime[0], "%.6f");
		td_num(out, r->cumtime[1], "%.6f");
		td_num(out, dc, dc > 0 ? "+%.6f" : "%.6f");
		td_text(out, r->label);
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table></div>\n</section>\n", out);
	profdiff_release(&d);
}

static void write_diff_snapshots(FILE *out, struct loaded *a, struct loaded *b)
{
	struct snap_stats st;
	char sz[32], dsz[32];

	snapshot_compare(a->s, a->sym, b->s, b->sym, SNAP_BY_LINENO, NULL, &st);
	util_format_bytes(sz, sizeof(sz), (double)st.size, 0);
	util_format_bytes(dsz, sizeof(dsz), (double)st.size_diff, 1);
	fputs("<section class=\"diff\" id=\"diff\">\n<h2>Diff: ", out);
	html_text(out, util_display_path(a->path));
	fputs(" &rarr; ", out);
	html_text(out, util_display_path(b->path));
	fprintf(out, "</h2>\n<p>%zu site%s, %s (%s) in %" PRId64 " blocks (%+" PRId64 ")</p>\n",
		st.nstats, st.nstats == 1 ? "" : "s", sz, dsz, st.count, st.count_diff);
	fputs("<div class=\"wrap\"><table class=\"sortable stats\"><thead><tr>", out);
	th(out, "file:line", 0);
	th(out, "function", 0);
	th(out, "size", 1);
	th(out, "size change", 1);
	th(out, "count", 1);
	th(out, "count change", 1);
	th(out, "average", 1);
	fputs("</tr></thead>\n<tbody>\n", out);
	for (size_t i = 0; i < st.nstats; i++) {
		const struct snap_stat *e = &st.stats[i];
		fputs("<tr>", out);
		td_text(out, e->key);
		td_text(out, e->function ? e->function : "?");
		td_bytes(out, (double)e->size, 0);
		td_bytes(out, (double)e->size_diff, 1);
		td_int(out, e->count, 0);
		td_int(out, e->count_diff, 1);
		td_bytes(out, e->count ? (double)e->size / (double)e->count : 0, 0);
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table></div>\n</section>\n", out);
	snapshot_stats_release(&st);
}

/* ---- the page ---- */

static const char page_css[] =
	"body{font:14px/1.4 "
	"system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}\n"
	"h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid "
	"#ccc;margin-top:2em}\n"
	"h3{font-size:1.05em}\n"
	"table{border-collapse:collapse;margin:.5em 0}\n"
	"td,th{padding:2px 8px;text-align:left;vertical-align:top}\n"
	"table.summary th{font-weight:normal;color:#555}\n"
	"table.stats{font:12px/1.3 monospace}\n"
	"table.stats "
	"th{background:#eee;cursor:pointer;user-select:none;white-space:nowrap}\n"
	"table.stats th:hover{background:#ddd}\n"
	"table.stats tr:nth-child(even) td{background:#f7f7f7}\n"
	"td.num{text-align:right;white-space:nowrap}\n"
	"td.name{word-break:break-all}\n"
	"th[aria-sort=ascending]::after{content:' \\25B2'}\n"
	"th[aria-sort=descending]::after{content:' \\25BC'}\n"
	".wrap{max-height:32em;overflow:auto;display:inline-block;border:1px solid "
	"#ddd}\n"
	"iframe.fg{width:1224px;max-width:100%;border:1px solid "
	"#ddd;display:block}\n"
	".fg-bar{margin:.3em 0;color:#555}\n"
	".note{color:#a40}\n"
	"nav a{margin-right:1em}\n";

/* Sorting: numbers by data-v, text by content; a second click reverses.
 * The flame graphs zoom with their own script (flamegraph.c). */
static const char page_js[] =
	"(function(){\n"
	"'use strict';\n"
	"document.querySelectorAll('table.sortable').forEach(function(t){\n"
	"  var ths=t.querySelectorAll('thead th');\n"
	"  ths.forEach(function(th,col){\n"
	"    th.addEventListener('click',function(){\n"
	"      var num=th.dataset.type==='num', cur=th.getAttribute('aria-sort');\n"
	"      var desc=cur?cur==='ascending':num;\n"
	"      ths.forEach(function(o){o.removeAttribute('aria-sort');});\n"
	"      th.setAttribute('aria-sort',desc?'descending':'ascending');\n"
	"      var tb=t.tBodies[0], rows=Array.prototype.slice.call(tb.rows);\n"
	"      rows.sort(function(a,b){\n"
	"        var x=a.cells[col], y=b.cells[col], r;\n"
	"        if(num) r=parseFloat(x.dataset.v)-parseFloat(y.dataset.v);\n"
	"        else "
	"r=x.textContent<y.textContent?-1:x.textContent>y.textContent?1:0;\n"
	"        return desc?-r:r;\n"
	"      });\n"
	"      rows.forEach(function(r){tb.appendChild(r);});\n"
	"    });\n"
	"  });\n"
	"});\n"
	"})();\n";

static void write_page(FILE *out, struct loaded *in, int n)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      /* Nothing may leave the page: no fetch, image, font or frame. */
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	      "'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
	      "<title>cprof report</title>\n<style>\n",
	      out);
	fputs(page_css, out);
	fputs("</style>\n</head>\n<body>\n<h1>cprof report</h1>\n<nav>", out);
	for (int i = 0; i < n; i++) {
		fprintf(out, "<a href=\"#file%d\">%s ", i, in[i].p ? "profile" : "snapshot");
		html_text(out, util_display_path(in[i].path));
		fputs("</a>", out);
	}
	if (n == 2 && !!in[0].p == !!in[1].p)
		fputs("<a href=\"#diff\">diff</a>", out);
	fputs("</nav>\n", out);
	for (int i = 0; i < n; i++) {
		if (in[i].p)
			write_profile(out, &in[i], i);
		else
			write_snapshot(out, &in[i], i);
	}
	if (n == 2 && in[0].p && in[1].p)
		write_diff_profiles(out, &in[0], &in[1]);
	else if (n == 2 && in[0].s && in[1].s)
		write_diff_snapshots(out, &in[0], &in[1]);
	fputs("<script>\n", out);
	fputs(page_js, out);
	fputs("</script>\n</body>\n</html>\n", out);
}

/* Writes through a temporary beside OUT, renamed at the end: a failed
 * report leaves no half-written file. */
static int write_output(struct loaded *in, int n, const char *out_path)
{
	char *tmp = out_path ? xstrfmt("%s.tmp%d", out_path, (int)getpid()) : NULL;
	FILE *out = tmp ? fopen(tmp, "wx") : stdout;
	int rc = 0;

	if (!out) {
		rc = error("cannot create '%s': %s (choose another -o)", out_path, strerror(errno));
		free(tmp);
		return rc;
	}
	write_page(out, in, n);
	if ((fflush(out) != 0 || ferror(out)) && rc == 0)
		rc = error("cannot write '%s': %s", out_path ? out_path : "standard output",
			   strerror(errno));
	if (tmp) {
		if (fclose(out) != 0 && rc == 0)
			rc = error("cannot write '%s': %s", out_path, strerror(errno));
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
				error("-o needs a file name\n%s", html_usage);
			else
				error("unknown option '%s'\n%s", argv[optind - 1], html_usage);
			return EXIT_USAGE;
		}
	}
	int n = argc - optind;
	if (n < 1)
		return error("html takes one or more profiles or snapshots\n%s", html_usage),
		       EXIT_USAGE;
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
