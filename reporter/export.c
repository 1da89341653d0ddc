/*
 * The table of export formats: `cprof export`'s --format values, its
 * usage and its errors all come from here. Never writes a file itself.
 */
#include "export.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const struct exporter exporters[] = {
	{ "callgrind", export_callgrind_profile, export_callgrind_snapshot,
	  "callgrind_annotate, KCachegrind" },
	{ "folded", export_folded_profile, export_folded_snapshot,
	  "flamegraph.pl, inferno, speedscope" },
	{ "pprof", export_pprof_profile, export_pprof_snapshot, "go tool pprof, Pyroscope, Parca" },
	{ "speedscope", export_speedscope_profile, export_speedscope_snapshot,
	  "speedscope.app" },
	{ NULL, NULL, NULL, NULL },
};

const struct exporter *exporter_find(const char *name)
{
	for (const struct exporter *e = exporters; e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

char *exporter_names(const char *sep, const char *last_sep)
{
	char *out = xstrdup("");

	for (const struct exporter *e = exporters; e->name; e++) {
		const char *before = e == exporters ? "" : e[1].name ? sep : last_sep;
		char *longer = xstrfmt("%s%s%s", out, before, e->name);
		free(out);
		out = longer;
	}
	return out;
}
