/*
 * Flame graphs as standalone SVG: stacks merged into a tree (siblings
 * by name), each frame as wide as its value, the root at the bottom.
 * Hover titles carry name, file:line, value and share; a few lines of
 * inline script zoom on click and highlight a search. With a base (the
 * older of two snapshots) frames are coloured by growth or shrink.
 */
#include "export.h"
#include "hashmap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define FG_WIDTH ((double)FLAMEGRAPH_WIDTH_PX)
#define FG_ROW 17
#define FG_PAD 10
#define FG_TOP 34	/* title and controls */
/* Deeper frames are drawn as one "[deeper frames]" box: a 100,000-deep
 * recursion would be 1.7 million pixels tall, and the drawing recurses
 * once per level. */
#define FG_MAX_DEPTH 1024
/* More than FG_MAX_NARROW siblings narrower than FG_MIN_WIDTH pixels are
 * drawn as one box; what is narrower than FG_MIN_DRAWN is not drawn. */
#define FG_MIN_WIDTH 1.0
#define FG_MAX_NARROW 8
#define FG_MIN_DRAWN (FG_WIDTH / FLAMEGRAPH_RESOLUTION)

struct fg_node {
	char *name;
	uint64_t value;		/* this frame and everything above it */
	uint64_t base;		/* the same in the older file (differential) */
	struct fg_node **kids;
	size_t nkids, cap;
};

struct flamegraph {
	struct fg_node root;
	int depth;		/* deepest stack drawn */
	int is_differential;
	const char *(*detail)(void *ctx, const char *name);
	void *detail_ctx;
};

struct flamegraph *flamegraph_new(void)
{
	struct flamegraph *fg = xcalloc(1, sizeof(*fg));

	fg->root.name = xstrdup("all");
	return fg;
}

static void free_node(struct fg_node *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		free_node(n->kids[i]);
		free(n->kids[i]);
	}
	free(n->kids);
	free(n->name);
}

void flamegraph_free(struct flamegraph *fg)
{
	if (!fg)
		return;
	free_node(&fg->root);
	free(fg);
}

void flamegraph_set_detail(struct flamegraph *fg, const char *(*detail)(void *, const char *),
			   void *ctx)
{
	fg->detail = detail;
	fg->detail_ctx = ctx;
}

static struct fg_node *kid(struct fg_node *n, const char *name)
{
	/* Stacks come depth first: most go on through the newest kid. */
	if (n->nkids && strcmp(n->kids[n->nkids - 1]->name, name) == 0)
		return n->kids[n->nkids - 1];
	for (size_t i = 0; i < n->nkids; i++)
		if (strcmp(n->kids[i]->name, name) == 0)
			return n->kids[i];
	if (n->nkids == n->cap) {
		n->cap = n->cap ? n->cap * 2 : 4;
		n->kids = xreallocarray(n->kids, n->cap, sizeof(*n->kids));
	}
	struct fg_node *k = xcalloc(1, sizeof(*k));
	k->name = xstrdup(name);
	n->kids[n->nkids++] = k;
	return k;
}

static void add_to(struct flamegraph *fg, const char *const *frames, int nframes, uint64_t v,
		   int is_base)
{
	struct fg_node *n = &fg->root;
	int shown = nframes > FG_MAX_DEPTH ? FG_MAX_DEPTH : nframes;

	*(is_base ? &n->base : &n->value) += v;
	for (int i = 0; i < shown; i++) {
		n = kid(n, frames[i]);
		*(is_base ? &n->base : &n->value) += v;
	}
	if (shown < nframes) {
		n = kid(n, "[deeper frames]");
		*(is_base ? &n->base : &n->value) += v;
		shown++;
	}
	if (shown > fg->depth)
		fg->depth = shown;
}

void flamegraph_add(void *ctx, const char *const *frames, int nframes, uint64_t value)
{
	add_to(ctx, frames, nframes, value, 0);
}

void flamegraph_add_base(void *ctx, const char *const *frames, int nframes, uint64_t value)
{
	struct flamegraph *fg = ctx;

	fg->is_differential = 1;
	add_to(fg, frames, nframes, value, 1);
}

/* s, escaped, cut to max characters (the last two then being ".."). */
static void xml_text(FILE *out, const char *s, size_t max)
{
	size_t n = 0, keep = strlen(s) <= max ? max : max - 2;

	for (; *s && n < keep; s++, n++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*s, out);
		}
	}
	if (*s)
		fputs("..", out);
}

struct layout {
	FILE *out;
	const struct flamegraph *fg;
	double total;
	int height;
	const char *unit;
};

static void fill(const struct layout *l, const struct fg_node *n, char *rgb, size_t cap)
{
	if (l->fg->is_differential) {
		/* red grows, blue shrinks, saturation by the relative change */
		double v = (double)n->value, b = (double)n->base;
		double rel = (v - b) / (v > b ? v : (b > 0 ? b : 1));
		int k = (int)(205 * (rel < 0 ? -rel : rel));
		if (rel >= 0)
			snprintf(rgb, cap, "rgb(255,%d,%d)", 255 - k, 255 - k);
		else
			snprintf(rgb, cap, "rgb(%d,%d,255)", 255 - k, 255 - k);
		return;
	}
	unsigned h = hash_str32(n->name);
	snprintf(rgb, cap, "rgb(%u,%u,%u)", 205 + h % 50, 80 + (h >> 8) % 120, 40 + (h >> 16) % 50);
}

/* Recursion depth is bounded by FG_MAX_DEPTH + 1. */
static void draw(const struct layout *l, const struct fg_node *n, double x, int level)
{
	double w = (double)n->value / l->total * FG_WIDTH;
	int y = l->height - FG_PAD - (level + 1) * FG_ROW;
	const char *detail = l->fg->detail ? l->fg->detail(l->fg->detail_ctx, n->name) : NULL;
	char rgb[40];

	if (w < FG_MIN_DRAWN)
		return;
	fill(l, n, rgb, sizeof(rgb));
	fprintf(l->out, "<g class=\"f\" data-x=\"%.3f\" data-w=\"%.3f\" data-l=\"%d\" data-n=\"", x,
		w, level);
	xml_text(l->out, n->name, 4096);
	fputs("\"><title>", l->out);
	xml_text(l->out, n->name, 4096);
	if (detail) {
		fputs(" at ", l->out);
		xml_text(l->out, detail, 4096);
	}
	fprintf(l->out, " (%llu %s, %.2f%%", (unsigned long long)n->value, l->unit,
		100.0 * (double)n->value / l->total);
	if (l->fg->is_differential)
		fprintf(l->out, "; before %llu, %+lld", (unsigned long long)n->base,
			(long long)(n->value - n->base));
	fprintf(l->out, ")</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" rx=\"2\"/>",
		FG_PAD + x, y, w, FG_ROW - 1, rgb);
	fprintf(l->out, "<text x=\"%.2f\" y=\"%d\">", FG_PAD + x + 3, y + FG_ROW - 5);
	size_t fits = w > 6 ? (size_t)((w - 6) / 7.3) : 0;	/* 12px monospace */
	if (fits >= 3 || (fits && strlen(n->name) <= fits))
		xml_text(l->out, n->name, fits);
	fputs("</text></g>\n", l->out);
	/* Many children narrower than a pixel become one box after the
	 * others, so that a profile of millions of call paths stays a
	 * drawing of a few thousand boxes (flamegraph.pl's --minwidth drops
	 * them instead). A few are drawn as they are. */
	size_t nnarrow = 0;
	for (size_t i = 0; i < n->nkids; i++)
		nnarrow += (double)n->kids[i]->value / l->total * FG_WIDTH < FG_MIN_WIDTH;
	int is_merging = nnarrow > FG_MAX_NARROW;
	struct fg_node narrow = { .name = NULL };
	double cx = x;
	for (size_t i = 0; i < n->nkids; i++) {
		const struct fg_node *k = n->kids[i];
		if (is_merging && (double)k->value / l->total * FG_WIDTH < FG_MIN_WIDTH) {
			narrow.value += k->value;
			narrow.base += k->base;
			continue;
		}
		draw(l, k, cx, level + 1);
		cx += (double)k->value / l->total * FG_WIDTH;
	}
	if (is_merging) {
		narrow.name = xstrfmt("[%zu frames narrower than a pixel]", nnarrow);
		draw(l, &narrow, cx, level + 1);
		free(narrow.name);
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct fg_node *const *)a)->name, (*(struct fg_node *const *)b)->name);
}

static void sort_tree(struct fg_node *n)
{
	/* Alphabetical, as flame graphs are: x carries no meaning but order. */
	if (n->nkids)	/* a leaf has no array at all */
		qsort(n->kids, n->nkids, sizeof(*n->kids), by_name);
	for (size_t i = 0; i < n->nkids; i++)
		sort_tree(n->kids[i]);
}

/* Zoom: a click makes that frame the full width (its ancestors too, the
 * rest hidden); "Reset zoom" undoes it. "Search" highlights frames whose
 * name matches a regular expression and shows their share. */
static const char fg_script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"var W=%.1f,P=%d,frames=document.querySelectorAll('g.f');\n"
	"function fit(g,x,w){var r=g.querySelector('rect'),t=g.querySelector('text'),"
	"n=g.dataset.n;r.setAttribute('x',P+x);"
	"r.setAttribute('width',w);t.setAttribute('x',P+x+3);var k=Math.floor((w-6)/7.3);"
	"t.textContent=k<3?'':(n.length<=k?n:n.slice(0,k-2)+'..');}\n"
	"function zoom(e){var g=e.currentTarget,fx=+g.dataset.x,fw=+g.dataset.w,fl=+g.dataset.l;"
	"frames.forEach(function(o){var x=+o.dataset.x,w=+o.dataset.w,l=+o.dataset.l;"
	"var inside=l>=fl&&x>=fx-1e-6&&x+w<=fx+fw+1e-6,below=l<fl&&x<=fx+1e-6&&x+w>=fx+fw-1e-6;"
	"o.style.display=inside||below?'':'none';if(inside)fit(o,(x-fx)/fw*W,w/fw*W);"
	"else if(below)fit(o,0,W);});document.getElementById('reset').style.opacity=1;}\n"
	"function reset(){frames.forEach(function(o){o.style.display='';fit(o,+o.dataset.x,+o.dataset.w);});"
	"document.getElementById('reset').style.opacity=0.3;}\n"
	"function search(){var s=prompt('Highlight frames matching (regular expression):');"
	"if(s===null)return;var re=new RegExp(s),hit=0,root=frames[0];"
	"frames.forEach(function(o){var n=o.dataset.n,"
	"r=o.querySelector('rect');if(!r.dataset.c)r.dataset.c=r.getAttribute('fill');"
	"var m=s!==''&&re.test(n);r.setAttribute('fill',m?'rgb(200,80,230)':r.dataset.c);"
	"if(m)hit=Math.max(hit,+o.dataset.w);});document.getElementById('found').textContent="
	"s===''?'':'matched: widest '+(100*hit/W).toFixed(1)+'%%';}\n"
	"frames.forEach(function(o){o.addEventListener('click',zoom);});\n"
	"]]></script>\n";

int flamegraph_write_svg(FILE *out, const struct flamegraph *fg, const char *title,
			 const char *unit)
{
	if (!fg->root.value)
		return error("nothing to draw: the file records no time or live memory");
	struct layout l = {
		.out = out, .fg = fg, .total = (double)fg->root.value, .unit = unit,
		.height = (fg->depth + 1) * FG_ROW + 2 * FG_PAD + FG_TOP,
	};
	int width = (int)FG_WIDTH + 2 * FG_PAD;
	sort_tree((struct fg_node *)&fg->root);
	fprintf(out, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		     "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		     "viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"12\">\n"
		     "<style>g.f{cursor:pointer} g.f:hover rect{stroke:#000;stroke-width:0.5}"
		     " .ctl{cursor:pointer;fill:#335}</style>\n",
		width, l.height, width, l.height);
	fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#f8f8f0\"/>\n"
		     "<text x=\"%d\" y=\"20\" font-size=\"15\">", FG_PAD);
	xml_text(out, title, 200);
	fprintf(out, "</text>\n<text id=\"reset\" class=\"ctl\" x=\"%d\" y=\"20\" opacity=\"0.3\" "
		     "onclick=\"reset()\">Reset zoom</text>\n"
		     "<text class=\"ctl\" x=\"%d\" y=\"20\" onclick=\"search()\">Search</text>\n"
		     "<text id=\"found\" x=\"%d\" y=\"%d\"></text>\n",
		width - 200, width - 70, FG_PAD, FG_TOP - 2);
	draw(&l, &fg->root, 0, 0);
	fprintf(out, fg_script, FG_WIDTH, FG_PAD);
	fputs("</svg>\n", out);
	return 0;	/* stream errors: output_close() */
}
