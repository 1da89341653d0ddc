/*
 * The peak's composition with exactly known answers (tests/e2e/test_peak.py):
 *   grow SITE_A (100 x 1000 B), grow SITE_B (50 x 2000 B), free B, grow
 *   SITE_C (150 x 1000 B) past the old peak: the peak is A + C, 250000 B.
 *   Then free A and half of C, grow SITE_D (10 x 100 B): snapshot "first".
 *   cprof_reset_peak(), grow SITE_E (20 x 500 B) and free it: the peak is
 *   C's 75 blocks, D and E: snapshot "reset".
 * No stdio (its buffer would be a site too).
 */
#include <cprof.h>
#include <stdlib.h>

static void *volatile a[100], *volatile b[50], *volatile c[150], *volatile d[10], *volatile e[20];

__attribute__((noinline)) static void grow_a(void)
{
	for (int i = 0; i < 100; i++)
		a[i] = malloc(1000); /* SITE_A */
}

__attribute__((noinline)) static void grow_b(void)
{
	for (int i = 0; i < 50; i++)
		b[i] = malloc(2000); /* SITE_B */
}

__attribute__((noinline)) static void grow_c(void)
{
	for (int i = 0; i < 150; i++)
		c[i] = malloc(1000); /* SITE_C */
}

__attribute__((noinline)) static void grow_d(void)
{
	for (int i = 0; i < 10; i++)
		d[i] = malloc(100); /* SITE_D */
}

__attribute__((noinline)) static void grow_e(void)
{
	for (int i = 0; i < 20; i++)
		e[i] = malloc(500); /* SITE_E */
}

int main(void)
{
	grow_a();
	grow_b();
	for (int i = 0; i < 50; i++)
		free(b[i]);
	grow_c();
	for (int i = 0; i < 100; i++)
		free(a[i]);
	for (int i = 0; i < 75; i++)
		free(c[i]);
	grow_d();
	cprof_snapshot("first");
	cprof_reset_peak();
	grow_e();
	for (int i = 0; i < 20; i++)
		free(e[i]);
	cprof_snapshot("reset");
	return 0;
}
