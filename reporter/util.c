/*
 * Reporter helpers: messages on stderr, allocation that stops on OOM,
 * display paths and tracemalloc-style sizes. Never writes to stdout.
 */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "cprof: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
	return -1;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("warning: ", fmt, ap);
	va_end(ap);
}

static void *oom(size_t size)
{
	fprintf(stderr, "cprof: out of memory (%zu bytes)\n", size);
	exit(EXIT_ERROR);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	return p ? p : oom(size);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	return p ? p : oom(n * size);
}

void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	return q ? q : oom(size);
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return oom(SIZE_MAX);
	return xrealloc(p, n * size);
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);
	return d ? d : oom(strlen(s));
}

char *xstrfmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? oom(0) : s;
}

const char *util_display_path(const char *path)
{
	static char cwd[PATH_MAX];
	static size_t cwd_len;

	if (!cwd_len) {
		if (!getcwd(cwd, sizeof(cwd) - 1))
			return path;
		cwd_len = strlen(cwd);
		if (cwd_len > 1) {
			cwd[cwd_len++] = '/';
			cwd[cwd_len] = 0;
		}
	}
	if (cwd_len > 1 && strncmp(path, cwd, cwd_len) == 0 && path[cwd_len])
		return path + cwd_len;
	return path;
}

void util_format_bytes(char *out, size_t cap, double bytes, int with_sign)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = fabs(bytes);
	int u = 0;
	const char *sign = bytes < 0 ? "-" : with_sign ? "+" : "";

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	/* tracemalloc: whole bytes, then one decimal above 10 KiB drops it */
	if (u == 0)
		snprintf(out, cap, "%s%.0f %s", sign, v, units[u]);
	else if (v < 10)
		snprintf(out, cap, "%s%.1f %s", sign, v, units[u]);
	else
		snprintf(out, cap, "%s%.0f %s", sign, v, units[u]);
}

long util_parse_count(const char *s)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	return errno || *end ? -1 : v;
}

void util_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

void util_progress(const char *what, size_t done, size_t total)
{
	static int is_tty = -1;

	if (total < 2000 || (done % 256 && done != total))
		return;
	if (is_tty < 0)
		is_tty = isatty(2);
	if (!is_tty)
		return;
	if (done == total)
		fprintf(stderr, "\r\033[K");
	else
		fprintf(stderr, "\rcprof: %s %zu/%zu", what, done, total);
}
