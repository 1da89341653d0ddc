/*
 * Opening a profile or a snapshot for the commands that take either:
 * the kind from the header, then the model, the statistics, and every
 * function symbolized once (with a progress line on a terminal).
 */
#include "loaded.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int loaded_read(struct fmt_file *f, const char *path)
{
	char err[512];
	struct stat st;

	memset(f, 0, sizeof(*f));
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		f->path = path;
		f->header.kind = FMT_KIND_PROFILE;	/* a merged set, read by profile_open_set */
		return 0;
	}
	if (fmt_file_open(f, path, err, sizeof(err)) < 0)
		return error("%s", err);
	return 0;
}

/* The model of f as kind (the header's, or what the command wants: the
 * parser then says what else the file is). */
static int open_as(struct loaded *l, struct fmt_file *f, uint32_t kind)
{
	char err[512];

	memset(l, 0, sizeof(*l));
	l->path = f->path;
	if (kind == FMT_KIND_SNAPSHOT) {
		l->s = snapshot_parse(f, err, sizeof(err));
		fmt_file_close(f);
		if (!l->s)
			return error("%s", err);
		l->sym = symbolizer_new(&l->s->modules);
		return 0;
	}
	struct profile *p;
	if (f->data) {
		p = profile_parse(f, err, sizeof(err));
		if (!p)
			error("%s", err);
	} else {
		/* A directory: the merged set of the profiles in it. */
		int is_usage;
		char *const one[1] = { (char *)f->path };
		p = profile_open_set(one, 1, NULL, &is_usage);
	}
	const char *path = f->path;
	fmt_file_close(f);
	return loaded_adopt_profile(l, p, path, 1);
}

int loaded_open_read(struct loaded *l, struct fmt_file *f)
{
	return open_as(l, f, f->header.kind);
}

int loaded_open_snapshot(struct loaded *l, const char *path)
{
	struct fmt_file f;
	char err[512];

	memset(l, 0, sizeof(*l));
	l->path = path;
	if (fmt_file_open(&f, path, err, sizeof(err)) < 0)
		return error("%s", err);
	return open_as(l, &f, FMT_KIND_SNAPSHOT);
}

int loaded_open(struct loaded *l, const char *path)
{
	struct fmt_file f;

	if (loaded_read(&f, path) < 0) {
		memset(l, 0, sizeof(*l));
		l->path = path;
		return -1;
	}
	return loaded_open_read(l, &f);
}

int loaded_adopt_profile_unnamed(struct loaded *l, struct profile *p, const char *path,
				 int compensate)
{
	memset(l, 0, sizeof(*l));
	l->path = path;
	l->p = p;
	if (!l->p)
		return -1;
	callstats_build(&l->cs, l->p, compensate);
	l->sym = symbolizer_new(&l->p->modules);
	l->syms = xcalloc(l->cs.nfuncs + 1, sizeof(*l->syms));
	l->names = xcalloc(l->cs.nfuncs + 1, sizeof(*l->names));
	l->labels = xcalloc(l->cs.nfuncs + 1, sizeof(*l->labels));
	return 0;
}

void loaded_name_function(struct loaded *l, size_t i)
{
	if (l->syms[i])
		return;
	l->syms[i] = symbolize_function(l->sym, l->cs.funcs[i].fn);
	l->names[i] = l->syms[i]->function;
	l->labels[i] = xstrfmt("%s:%d(%s)", l->syms[i]->file, l->syms[i]->decl_line,
			       l->syms[i]->function);
}

int loaded_adopt_profile(struct loaded *l, struct profile *p, const char *path, int compensate)
{
	if (loaded_adopt_profile_unnamed(l, p, path, compensate) < 0)
		return -1;
	for (size_t i = 0; i < l->cs.nfuncs; i++) {
		util_progress("symbolizing functions", i, l->cs.nfuncs);
		loaded_name_function(l, i);
	}
	util_progress("symbolizing functions", l->cs.nfuncs, l->cs.nfuncs);
	return 0;
}

void loaded_close(struct loaded *l)
{
	if (l->p) {
		for (size_t i = 0; i < l->cs.nfuncs; i++)
			free(l->labels[i]);
		callstats_release(&l->cs);
		profile_free(l->p);
	}
	free(l->labels);
	free(l->names);
	free(l->syms);
	symbolizer_free(l->sym);
	snapshot_free(l->s);
	memset(l, 0, sizeof(*l));
}
