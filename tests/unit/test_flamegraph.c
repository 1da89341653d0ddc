/*
 * Flame graphs (reporter/flamegraph.c) of many narrow frames: more than
 * 8 siblings narrower than a pixel are drawn as one box holding their
 * sum, so the SVG's size follows its width, not the number of paths.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reporter/export.h"
#include "../../reporter/util.h"

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The SVG of main -> spin (1,000,000) and main -> tiny_K (each tiny). */
static char *svg_of(int ntiny, uint64_t tiny)
{
	struct flamegraph *fg = flamegraph_new();
	const char *big[] = { "main", "spin" };
	char *svg = NULL;
	size_t len = 0;

	flamegraph_add(fg, big, 2, 1000000);
	for (int k = 0; k < ntiny; k++) {
		char name[32];
		snprintf(name, sizeof(name), "tiny_%05d", k);
		const char *frames[] = { "main", name };
		flamegraph_add(fg, frames, 2, tiny);
	}
	FILE *out = open_memstream(&svg, &len);
	cr_assert_eq(flamegraph_write_svg(out, fg, "t", "ns"), 0);
	fclose(out);
	flamegraph_free(fg);
	return svg;
}

Test(flamegraph, narrow_siblings_become_one_box)
{
	char *svg = svg_of(10000, 1);

	/* all, main, spin and one box for the 10,000 narrow frames */
	cr_assert_eq(count(svg, "<g class=\"f\""), 4, "%zu boxes", count(svg, "<g class=\"f\""));
	cr_assert(strstr(svg, "<title>[10000 frames narrower than a pixel] (10000 ns, 0.99%)"),
		  "no merged box with the sum");
	cr_assert_null(strstr(svg, "tiny_00000"), "a narrow frame drawn on its own");
	free(svg);
}

Test(flamegraph, a_few_narrow_frames_keep_their_names)
{
	char *svg = svg_of(8, 500);	/* 0.6 pixels wide each */

	cr_assert_eq(count(svg, "<g class=\"f\""), 3 + 8);
	cr_assert(strstr(svg, "<title>tiny_00007 (500 ns"), "a narrow frame lost its name");
	cr_assert_null(strstr(svg, "narrower than a pixel"));
	free(svg);
	svg = svg_of(9, 500);
	cr_assert_eq(count(svg, "<g class=\"f\""), 3 + 1);
	cr_assert(strstr(svg, "<title>[9 frames narrower than a pixel] (4500 ns"), "not merged");
	free(svg);
}
