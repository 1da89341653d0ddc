/*
 * The allocation family's edge cases, printed without addresses so the
 * output is the same with and without the shim: alignment, zero and
 * huge sizes, ENOMEM and EINVAL, realloc(NULL, n), realloc(p, 0),
 * free(NULL), reallocarray overflow, malloc_usable_size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t huge = SIZE_MAX - 4096;
static volatile size_t half = SIZE_MAX / 2 + 2;

static void show(const char *what, const void *p, int err, size_t align)
{
	printf("%-28s %s errno=%-6s%s\n", what, p ? "ok  " : "NULL",
	       err ? strerrorname_np(err) : "0",
	       p && align ? ((uintptr_t)p % align ? " MISALIGNED" : " aligned") : "");
}

int main(void)
{
	void *p, *q;
	int r;

	errno = 0; p = malloc(0); show("malloc(0)", p, errno, 16); free(p);
	errno = 0; p = malloc(huge); show("malloc(huge)", p, errno, 0);
	errno = 0; p = calloc(half, 2); show("calloc(overflow)", p, errno, 0);
	errno = 0; p = calloc(1, huge); show("calloc(1, huge)", p, errno, 0);
	errno = 0; p = realloc(NULL, 100); show("realloc(NULL, 100)", p, errno, 16);
	errno = 0; q = realloc(p, huge); show("realloc(p, huge)", q, errno, 0);
	printf("%-28s %s\n", "p still usable", malloc_usable_size(p) >= 100 ? "yes" : "no");
	errno = 0; q = realloc(p, 0); show("realloc(p, 0)", q, errno, 0);
	errno = 0; free(NULL); show("free(NULL)", "", errno, 0);
	errno = 0; p = reallocarray(NULL, half, 2); show("reallocarray(overflow)", p, errno, 0);
	errno = 0; p = reallocarray(NULL, 10, 10); show("reallocarray(10, 10)", p, errno, 16);
	free(p);
	static const size_t aligns[] = { 8, 16, 64, 256, 4096, 65536 };
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		char what[64];
		snprintf(what, sizeof(what), "posix_memalign(%zu)", aligns[i]);
		p = NULL;
		errno = 0;
		r = posix_memalign(&p, aligns[i], 100);
		show(what, r == 0 ? p : NULL, r, aligns[i]);
		free(p);
		snprintf(what, sizeof(what), "aligned_alloc(%zu)", aligns[i]);
		errno = 0; p = aligned_alloc(aligns[i], aligns[i] * 2); show(what, p, errno, aligns[i]);
		free(p);
		snprintf(what, sizeof(what), "memalign(%zu)", aligns[i]);
		errno = 0; p = memalign(aligns[i], 10); show(what, p, errno, aligns[i]);
		free(p);
	}
	errno = 0; r = posix_memalign(&p, 24, 100); show("posix_memalign(24)", r ? NULL : p, r, 0);
	errno = 0; r = posix_memalign(&p, 64, huge); show("posix_memalign(64, huge)", r ? NULL : p, r, 0);
	errno = 0; p = aligned_alloc(64, huge); show("aligned_alloc(64, huge)", p, errno, 0);
	errno = 0; p = memalign(64, huge); show("memalign(64, huge)", p, errno, 0);
	errno = 0; p = valloc(100); show("valloc(100)", p, errno, 4096); free(p);
	errno = 0; p = pvalloc(100); show("pvalloc(100)", p, errno, 4096); free(p);
	errno = 0; p = valloc(huge); show("valloc(huge)", p, errno, 0);
	errno = 0; p = malloc(100);
	printf("%-28s %s\n", "usable_size(malloc(100))", malloc_usable_size(p) >= 100 ? ">= 100" : "< 100");
	free(p);
	printf("%-28s %zu\n", "usable_size(NULL)", malloc_usable_size(NULL));
	/* errno is kept across a successful call and a free */
	errno = EILSEQ; p = malloc(10); free(p);
	printf("%-28s %s\n", "errno kept", errno == EILSEQ ? "yes" : "no");
	return 0;
}
