/*
 * Allocation sites of known sizes and counts for the memory profiler's
 * exact tests. No stdio before the end (its buffer would be a site too).
 *   keep_blocks  (SITE_KEEP):   1000 x malloc(1000), 500 freed between
 *                               the snapshots "before" and "after"
 *   temp_blocks  (SITE_TEMP):   10 x calloc(100, 10), all freed at once
 *   later_blocks (SITE_LATER):  300 x malloc(64) after "before", kept
 *   big_block    (SITE_BIG):    one malloc(1 MiB), freed: sets the peak
 *   grow         (SITE_GROW):   realloc chain 16 -> 32 -> ... -> 4096
 *   leak         (SITE_LEAK):   7 x malloc(333), never freed
 * At exit: SITE_KEEP 500 x 1000, SITE_LATER 300 x 64, SITE_GROW 1 x 4096,
 * SITE_LEAK 7 x 333 live. Prints its own expectations as key=value.
 */
#include <cprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile keep[1000];
static void *volatile later[300];
static void *volatile grown;
static volatile size_t big_size = 1 << 20;

__attribute__((noinline)) static void keep_blocks(int n)
{
	for (int i = 0; i < n; i++)
		keep[i] = malloc(1000); /* SITE_KEEP */
}

__attribute__((noinline)) static void temp_blocks(void)
{
	void *t[10];
	for (int i = 0; i < 10; i++)
		t[i] = calloc(100, 10); /* SITE_TEMP */
	for (int i = 0; i < 10; i++)
		free(t[i]);
}

__attribute__((noinline)) static void later_blocks(void)
{
	for (int i = 0; i < 300; i++)
		later[i] = malloc(64); /* SITE_LATER */
}

__attribute__((noinline)) static void big_block(void)
{
	char *p = malloc(big_size); /* SITE_BIG */
	memset(p, 1, big_size);
	free(p);
}

__attribute__((noinline)) static void grow(void)
{
	void *p = NULL;
	for (size_t n = 16; n <= 4096; n *= 2)
		p = realloc(p, n); /* SITE_GROW */
	grown = p;
}

__attribute__((noinline)) static void leak(void)
{
	for (int i = 0; i < 7; i++) {
		void *volatile p = malloc(333); /* SITE_LEAK */
		(void)p;
	}
}

int main(void)
{
	size_t base, peak, cur;
	char out[512];

	cprof_traced_memory(&base, &peak);
	keep_blocks(1000);
	temp_blocks();
	cprof_snapshot("before");
	for (int i = 0; i < 500; i++)
		free(keep[i]);
	later_blocks();
	big_block();
	grow();
	leak();
	cprof_snapshot("after");
	cprof_traced_memory(&cur, &peak);
	/* Peak: 1000 kept + 10 temp blocks, or after the frees, 500 kept +
	 * 300 later + 1 MiB, whichever is larger (the latter). */
	size_t want_peak = base + 500 * 1000 + 300 * 64 + (1 << 20);
	int n = snprintf(out, sizeof(out), "base=%zu current=%zu peak=%zu expected_peak=%zu\n",
			 base, cur, peak, want_peak);
	if (write(1, out, (size_t)n) != n)
		return 1;
	return 0;
}
