/*
 * `cprof html FILE... [-o report.html]`: profiles and snapshots as one
 * self-contained HTML page (inline CSS, JS and SVG; no network fetch).
 */
#ifndef CPROF_REPORTER_CMD_HTML_H
#define CPROF_REPORTER_CMD_HTML_H

/* Parses its options, writes the page; returns 0 ok, 1 error, 2 usage. */
int cmd_html(int argc, char **argv);

#endif
