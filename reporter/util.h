/*
 * Reporter-wide helpers: one-line errors, allocation that stops on OOM,
 * checked arithmetic for sizes read from files. Never used by runtimes.
 */
#ifndef CPROF_REPORTER_UTIL_H
#define CPROF_REPORTER_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Prints "cprof: MESSAGE" on stderr; returns -1 for `return error(...)`. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, for a bad command line: returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "cprof: warning: MESSAGE" on stderr. */
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Stop the program with a message when memory runs out. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
/* n * size, stopping with a message on overflow. */
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* path relative to the current directory when below it, else path.
 * Points into path (no allocation). */
const char *util_display_path(const char *path);

/* Human sizes as tracemalloc prints them: "512 B", "1.2 KiB", "3.4 MiB". */
void util_format_bytes(char *out, size_t cap, double bytes, int with_sign);

/* Parses a non-negative decimal option value; -1 if not a number. */
long util_parse_count(const char *s);

/* "cprof: WHAT DONE/TOTAL" redrawn in place on stderr, only when stderr
 * is a terminal and TOTAL is large enough to take a noticeable time;
 * done == total clears the line. */
void util_progress(const char *what, size_t done, size_t total);

/* Writes s as a JSON string literal (quoted, escaped) to out. */
#include <stdio.h>
void util_json_string(FILE *out, const char *s);

/* Usage-error exit code for cmd_* (0 ok, 1 error, 2 usage). */
enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

#endif
