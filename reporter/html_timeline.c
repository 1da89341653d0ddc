/*
 * The html page's memory-over-time chart: a snapshot's traced bytes and
 * RSS against time as inline SVG, round ticks, the exact peak and the
 * run's snapshots marked. Values on hover come from html_assets.c's
 * script reading the samples from data attributes. Writes only to out.
 */
#define _GNU_SOURCE
#include "html.h"
#include "snapshot.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#define W 900	/* the whole chart */
#define H 280
#define LEFT 80	/* the plot inside it */
#define RIGHT 20
#define TOP 20
#define BOTTOM 40
#define PLOT_W (W - LEFT - RIGHT)
#define PLOT_H (H - TOP - BOTTOM)
#define NTICKS 5	/* about this many ticks an axis */

/* 1, 2 or 5 times a power of ten, the smallest at least range / NTICKS. */
static double round_step(double range)
{
	double raw = range / NTICKS, mag = pow(10, floor(log10(raw)));

	for (int m = 1; m <= 10; m = m == 1 ? 2 : m == 2 ? 5 : 10)
		if (m * mag >= raw)
			return m * mag;
	return 10 * mag;
}

/* Byte ticks are round in their unit: 512 KiB, 1 MiB, 1.5 MiB... */
static double byte_step(double max_bytes, double *unit, const char **unit_name)
{
	static const char *names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	*unit = 1;
	while (max_bytes / *unit >= 1024 && u < 4) {
		*unit *= 1024;
		u++;
	}
	*unit_name = names[u];
	return round_step(max_bytes / *unit) * *unit;
}

/* b was taken in a's run (same process, same start): it gets a marker. */
static int same_run(const struct snapshot *a, const struct snapshot *b)
{
	return b && a->meta.pid == b->meta.pid && a->meta.start_unix_ns == b->meta.start_unix_ns;
}

static uint64_t taken_ns(const struct snapshot *s)
{
	return s->meta.end_unix_ns > s->meta.start_unix_ns
		       ? s->meta.end_unix_ns - s->meta.start_unix_ns : 0;
}

static void polyline(FILE *out, const struct snapshot *s, int is_rss, double sx, double sy,
		     const char *cls)
{
	fprintf(out, "<polyline class=\"%s\" fill=\"none\" points=\"", cls);
	for (uint32_t i = 0; i < s->timeline.nsamples; i++) {
		const struct fmt_timeline_sample *x = &s->samples[i];
		double v = (double)(is_rss ? x->rss_bytes : x->traced_bytes);
		fprintf(out, "%s%.1f,%.1f", i ? " " : "", LEFT + (double)x->t_ns * sx,
			TOP + PLOT_H - v * sy);
	}
	fputs("\"/>\n", out);
}

void html_timeline_write(FILE *out, const struct loaded *in, int n, int idx)
{
	const struct snapshot *s = in[idx].s;
	const struct fmt_timeline *h = &s->timeline;
	char a[32], b[32];

	fputs("<h3 id=\"timeline\">Memory over time</h3>\n", out);
	if (!s->has_timeline || !h->nsamples) {
		fputs("<p class=\"note\">No timeline: the snapshot was written by an older cprof, or "
		      "with CPROF_TIMELINE=0.</p>\n",
		      out);
		return;
	}
	/* The axes cover every sample, the peak and every marked snapshot. */
	double max_ns = (double)taken_ns(s), max_bytes = (double)s->info.peak_bytes;
	for (uint32_t i = 0; i < h->nsamples; i++) {
		const struct fmt_timeline_sample *x = &s->samples[i];
		max_ns = fmax(max_ns, (double)x->t_ns);
		max_bytes = fmax(max_bytes, fmax((double)x->traced_bytes, (double)x->rss_bytes));
	}
	for (int i = 0; i < n; i++)
		if (same_run(s, in[i].s))
			max_ns = fmax(max_ns, (double)taken_ns(in[i].s));
	max_ns = fmax(max_ns, (double)s->info.peak_ns);
	double t_step = round_step(fmax(max_ns, 1e6) / 1e9) * 1e9;	/* at least 1 ms */
	double unit;
	const char *unit_name;
	double y_step = byte_step(fmax(max_bytes, 1024), &unit, &unit_name);
	double t_end = ceil(max_ns / t_step) * t_step, y_end = ceil(max_bytes / y_step) * y_step;
	if (t_end <= 0)
		t_end = t_step;
	if (y_end <= 0)
		y_end = y_step;
	double sx = PLOT_W / t_end, sy = PLOT_H / y_end;

	fprintf(out, "<p>Traced bytes and resident memory (RSS), %u samples, one every %.3g ms%s.</p>\n",
		h->nsamples, (double)h->interval_ns / 1e6,
		h->decimations ? " (thinned as the run grew)" : "");
	/* The samples for the hover script: t in ns, then bytes. */
	fprintf(out, "<svg class=\"timeline\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		     "role=\"img\" data-left=\"%d\" data-top=\"%d\" data-w=\"%d\" data-h=\"%d\" "
		     "data-t-end=\"%.0f\" data-samples=\"",
		W, H, W, H, LEFT, TOP, PLOT_W, PLOT_H, t_end);
	for (uint32_t i = 0; i < h->nsamples; i++)
		fprintf(out, "%s%" PRIu64 ",%" PRIu64 ",%" PRIu64, i ? ";" : "", s->samples[i].t_ns,
			s->samples[i].traced_bytes, s->samples[i].rss_bytes);
	fputs("\">\n<title>Memory over time: traced bytes and RSS</title>\n", out);

	/* Axes with round ticks. */
	fputs("<g class=\"tl-axes\" font-size=\"11\" fill=\"#555\">\n", out);
	for (double y = 0; y <= y_end + y_step / 2; y += y_step) {
		double py = TOP + PLOT_H - y * sy;
		fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
			     "<text class=\"tl-ytick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g %s</text>\n",
			LEFT, LEFT + PLOT_W, py, py, LEFT - 6, py + 4, y / unit, unit_name);
	}
	for (double t = 0; t <= t_end + t_step / 2; t += t_step) {
		double px = LEFT + t * sx;
		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#eee\"/>"
			     "<text class=\"tl-xtick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g s</text>\n",
			px, px, TOP, TOP + PLOT_H, px, TOP + PLOT_H + 16, t / 1e9);
	}
	fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", LEFT,
		LEFT + PLOT_W, TOP + PLOT_H, TOP + PLOT_H);
	fputs("</g>\n", out);

	/* Below the lines and markers: the area that takes the pointer. */
	fprintf(out, "<rect class=\"tl-hover\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"transparent\"/>\n",
		LEFT, TOP, PLOT_W, PLOT_H);
	polyline(out, s, 1, sx, sy, "tl-rss");
	polyline(out, s, 0, sx, sy, "tl-traced");

	/* The run's snapshots, each a dashed line where it was taken. */
	for (int i = 0; i < n; i++) {
		const struct snapshot *o = in[i].s;
		if (!same_run(s, o))
			continue;
		double px = LEFT + (double)taken_ns(o) * sx;
		util_format_bytes(a, sizeof(a), (double)o->info.current_bytes, 0);
		fprintf(out, "<line class=\"tl-snap%s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\">"
			     "<title>snapshot %" PRIu64 " '",
			i == idx ? " this" : "", px, px, TOP, TOP + PLOT_H, o->meta.seq);
		html_table_text(out, o->meta.label);
		fprintf(out, "' at %.3f s: %s traced</title></line>\n", (double)taken_ns(o) / 1e9, a);
	}
	/* The peak is exact (the runtime's counter), not a sample. */
	util_format_bytes(b, sizeof(b), (double)s->info.peak_bytes, 0);
	fprintf(out, "<circle class=\"tl-peak\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"><title>peak %s at "
		     "%.3f s</title></circle>\n",
		LEFT + (double)s->info.peak_ns * sx, TOP + PLOT_H - (double)s->info.peak_bytes * sy, b,
		(double)s->info.peak_ns / 1e9);

	/* Legend, and the hover guide and readout the script moves. */
	fprintf(out, "<g font-size=\"12\"><rect x=\"%d\" y=\"4\" width=\"12\" height=\"3\" class=\"tl-traced-key\"/>"
		     "<text x=\"%d\" y=\"10\">traced</text>"
		     "<rect x=\"%d\" y=\"4\" width=\"12\" height=\"3\" class=\"tl-rss-key\"/>"
		     "<text x=\"%d\" y=\"10\">RSS</text>"
		     "<circle cx=\"%d\" cy=\"6\" r=\"4\" class=\"tl-peak\"/><text x=\"%d\" y=\"10\">peak %s</text>"
		     "<text class=\"tl-readout\" x=\"%d\" y=\"10\" text-anchor=\"end\"></text></g>\n",
		LEFT, LEFT + 16, LEFT + 70, LEFT + 86, LEFT + 130, LEFT + 138, b, LEFT + PLOT_W);
	fprintf(out, "<line class=\"tl-guide\" x1=\"0\" x2=\"0\" y1=\"%d\" y2=\"%d\" visibility=\"hidden\"/>\n"
		     "</svg>\n",
		TOP, TOP + PLOT_H);
}
