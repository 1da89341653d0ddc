/*
 * The folded-stacks text format: one line per stack, frames joined by
 * ';', then a space and the value. A ';' or newline inside a name would
 * split it, so those become '_'.
 */
#include "export.h"

void export_folded_line(void *ctx, const char *const *frames, int nframes, uint64_t value)
{
	FILE *out = ctx;

	for (int i = 0; i < nframes; i++) {
		if (i)
			fputc(';', out);
		for (const char *c = frames[i]; *c; c++)
			fputc(*c == ';' || *c == '\n' || *c == ' ' ? '_' : *c, out);
	}
	fprintf(out, " %llu\n", (unsigned long long)value);
}

int export_folded_profile(FILE *out, struct loaded *in)
{
	stacks_of_profile(in->p, &in->cs, in->names, export_folded_line, out);
	return 0;
}

int export_folded_snapshot(FILE *out, struct loaded *in)
{
	stacks_of_snapshot(in->s, in->sym, export_folded_line, out);
	return 0;
}
