/*
 * The html page's escaping and table cells: every text that reaches the
 * page goes through html_table_text(). Writes only to the FILE given.
 */
#include "html.h"
#include "util.h"

#include <inttypes.h>

/* s escaped for both text and attribute values. */
void html_table_text(FILE *out, const char *s)
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

void html_table_summary_row(FILE *out, const char *name, const char *value)
{
	fprintf(out, "<tr><th>");
	html_table_text(out, name);
	fprintf(out, "</th><td>");
	html_table_text(out, value);
	fprintf(out, "</td></tr>\n");
}

void html_table_summary_u64(FILE *out, const char *name, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	html_table_summary_row(out, name, buf);
}

void html_table_summary_bytes(FILE *out, const char *name, double bytes, uint64_t blocks)
{
	char sz[32], buf[96];

	util_format_bytes(sz, sizeof(sz), bytes, 0);
	snprintf(buf, sizeof(buf), "%s in %" PRIu64 " blocks", sz, blocks);
	html_table_summary_row(out, name, buf);
}

/* A header cell: numeric columns sort largest first on the first click. */
void html_table_th(FILE *out, const char *title, int is_num)
{
	fprintf(out, "<th data-type=\"%s\" title=\"click to sort\">", is_num ? "num" : "text");
	html_table_text(out, title);
	fputs("</th>", out);
}

void html_table_td_text(FILE *out, const char *s)
{
	fputs("<td class=\"name\">", out);
	html_table_text(out, s);
	fputs("</td>", out);
}

void html_table_td_num(FILE *out, double v, const char *fmt)
{
	fprintf(out, "<td class=\"num\" data-v=\"%.17g\">", v);
	fprintf(out, fmt, v);
	fputs("</td>", out);
}

void html_table_td_bytes(FILE *out, double v, int with_sign)
{
	char sz[32];

	util_format_bytes(sz, sizeof(sz), v, with_sign);
	fprintf(out, "<td class=\"num\" data-v=\"%.17g\">", v);
	html_table_text(out, sz);
	fputs("</td>", out);
}

void html_table_td_int(FILE *out, int64_t v, int with_sign)
{
	fprintf(out, "<td class=\"num\" data-v=\"%" PRId64 "\">%s%" PRId64 "</td>", v,
		with_sign && v > 0 ? "+" : "", v);
}

void html_table_open(FILE *out, const char *const *titles, const char *kinds)
{
	fputs("<div class=\"wrap\"><table class=\"sortable stats\"><thead><tr>", out);
	for (size_t i = 0; kinds[i]; i++)
		html_table_th(out, titles[i], kinds[i] == 'n');
	fputs("</tr></thead>\n<tbody>\n", out);
}

void html_table_close(FILE *out)
{
	fputs("</tbody></table></div>\n", out);
}
