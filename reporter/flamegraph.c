/*
 * Flame graphs as standalone SVG: stacks merged into a tree (siblings
 * by name), laid out with each frame's width proportional to its total
 * value, the root at the bottom. Tooltips carry the exact values.
 */
#include "export.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define FG_WIDTH 1200.0
#define FG_ROW 17
#define FG_PAD 10
/* Deeper frames are drawn as one "[deeper frames]" box: a 100,000-deep
 * recursion would be 1.7 million pixels tall, and the drawing recurses
 * once per level. */
#define FG_MAX_DEPTH 1024

struct fg_node {
	char *name;
	uint64_t value;		/* this frame and everything above it */
	struct fg_node **kids;
	size_t nkids, cap;
};

struct flamegraph {
	struct fg_node root;
	int depth;		/* deepest stack seen */
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

static struct fg_node *kid(struct fg_node *n, const char *name)
{
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

void flamegraph_add(void *ctx, const char *const *frames, int nframes, uint64_t value)
{
	struct flamegraph *fg = ctx;
	struct fg_node *n = &fg->root;

	int shown = nframes > FG_MAX_DEPTH ? FG_MAX_DEPTH : nframes;

	n->value += value;
	for (int i = 0; i < shown; i++) {
		n = kid(n, frames[i]);
		n->value += value;
	}
	if (shown < nframes) {
		n = kid(n, "[deeper frames]");
		n->value += value;
		shown++;
	}
	if (shown > fg->depth)
		fg->depth = shown;
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

static unsigned name_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct layout {
	FILE *out;
	double total;
	int height;
	const char *unit;
};

/* Recursion depth is bounded by FG_MAX_DEPTH + 1. */
static void draw(const struct layout *l, const struct fg_node *n, double x, int level)
{
	double w = (double)n->value / l->total * FG_WIDTH;
	int y = l->height - FG_PAD - (level + 1) * FG_ROW;
	unsigned h = name_hash(n->name);

	if (w < 0.1)
		return;
	fprintf(l->out, "<g><title>");
	xml_text(l->out, n->name, 4096);
	fprintf(l->out, " (%llu %s, %.2f%%)</title>", (unsigned long long)n->value, l->unit,
		100.0 * (double)n->value / l->total);
	fprintf(l->out,
		"<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>",
		FG_PAD + x, y, w, FG_ROW - 1, 205 + h % 50, 80 + (h >> 8) % 120, 40 + (h >> 16) % 50);
	size_t fits = w > 6 ? (size_t)((w - 6) / 7.3) : 0;	/* 12px monospace */
	if (fits >= 3 || (fits && strlen(n->name) <= fits)) {
		fprintf(l->out, "<text x=\"%.2f\" y=\"%d\">", FG_PAD + x + 3, y + FG_ROW - 5);
		xml_text(l->out, n->name, fits);
		fputs("</text>", l->out);
	}
	fputs("</g>\n", l->out);
	double cx = x;
	for (size_t i = 0; i < n->nkids; i++) {
		draw(l, n->kids[i], cx, level + 1);
		cx += (double)n->kids[i]->value / l->total * FG_WIDTH;
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct fg_node *const *)a)->name, (*(struct fg_node *const *)b)->name);
}

static void sort_tree(struct fg_node *n)
{
	/* Alphabetical, as flame graphs are: x carries no meaning but order. */
	qsort(n->kids, n->nkids, sizeof(*n->kids), by_name);
	for (size_t i = 0; i < n->nkids; i++)
		sort_tree(n->kids[i]);
}

int flamegraph_write_svg(FILE *out, const struct flamegraph *fg, const char *title,
			 const char *unit)
{
	if (!fg->root.value)
		return error("nothing to draw: the file records no time or live memory");
	struct layout l = {
		.out = out, .total = (double)fg->root.value, .unit = unit,
		.height = (fg->depth + 1) * FG_ROW + 2 * FG_PAD + 24,
	};
	sort_tree((struct fg_node *)&fg->root);
	fprintf(out, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		     "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		     "viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"12\">\n",
		(int)FG_WIDTH + 2 * FG_PAD, l.height, (int)FG_WIDTH + 2 * FG_PAD, l.height);
	fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#f8f8f0\"/>\n"
		     "<text x=\"%d\" y=\"20\" font-size=\"15\">", FG_PAD);
	xml_text(out, title, 200);
	fputs("</text>\n", out);
	draw(&l, &fg->root, 0, 0);
	fputs("</svg>\n", out);
	return ferror(out) ? error("cannot write the flame graph") : 0;
}
