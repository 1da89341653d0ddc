/*
 * The self-contained HTML page of `cprof html` (html.c), its escaping
 * and table cells (html_table.c) and its CSS and script
 * (html_assets.c). Never writes to stdout on its own.
 */
#ifndef CPROF_REPORTER_HTML_H
#define CPROF_REPORTER_HTML_H

#include <stdint.h>
#include <stdio.h>

#include "loaded.h"

/* The page of the n files in (each file, then the diff of two of a kind). */
void html_write_page(FILE *out, struct loaded *in, int n);

/* The memory-over-time chart of in[idx]'s snapshot (html_timeline.c),
 * marking the snapshots among the n inputs that are of the same run. */
void html_timeline_write(FILE *out, const struct loaded *in, int n, int idx);

/* s escaped for both text and attribute values. */
void html_table_text(FILE *out, const char *s);
/* A summary row: name, then value. */
void html_table_summary_row(FILE *out, const char *name, const char *value);
void html_table_summary_u64(FILE *out, const char *name, uint64_t v);
void html_table_summary_bytes(FILE *out, const char *name, double bytes, uint64_t blocks);
/* A header cell: numeric columns sort largest first on the first click. */
void html_table_th(FILE *out, const char *title, int is_num);
/* A sortable table with these column titles, kinds[i] 'n' for a number
 * column and 't' for text (the string's length is the column count);
 * html_table_close() ends it. */
void html_table_open(FILE *out, const char *const *titles, const char *kinds);
void html_table_close(FILE *out);
/* Cells: text, and numbers with their value in data-v for sorting. */
void html_table_td_text(FILE *out, const char *s);
void html_table_td_num(FILE *out, double v, const char *fmt);
void html_table_td_bytes(FILE *out, double v, int with_sign);
void html_table_td_int(FILE *out, int64_t v, int with_sign);

extern const char html_assets_css[];
extern const char html_assets_js[];

#endif
