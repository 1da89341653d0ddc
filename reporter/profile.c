/*
 * Loading .prof files: container checks come from common/format.c, the
 * profile's own sections are checked here (sizes, node counts, parent
 * indices that only point backwards, so no cycle can be read).
 */
#include "profile.h"
#include "util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A hook pair costs tens of ns; a millisecond a call is a corrupt file. */
#define MAX_OVERHEAD_NS 1e6

static int parse_thread(struct profile *p, const struct fmt_file_section *sec, const char *path,
			char *err, size_t errlen)
{
	struct fmt_thread th;

	if (sec->size < sizeof(th)) {
		snprintf(err, errlen, "'%s' is corrupt: thread record too short", path);
		return -1;
	}
	/* One thread record per section, as the runtime writes it. */
	if (sec->count != 1) {
		snprintf(err, errlen, "'%s' is corrupt: a thread section claims %u threads", path,
			 sec->count);
		return -1;
	}
	memcpy(&th, sec->payload, sizeof(th));
	if (th.nnodes == 0 || th.nnodes > (sec->size - sizeof(th)) / sizeof(struct fmt_node) ||
	    sizeof(th) + th.nnodes * sizeof(struct fmt_node) != sec->size ||
	    th.nnodes > UINT32_MAX - p->nnodes) {
		snprintf(err, errlen, "'%s' is corrupt: thread %llu claims %llu nodes in %llu bytes", path,
			 (unsigned long long)th.tid, (unsigned long long)th.nnodes,
			 (unsigned long long)sec->size);
		return -1;
	}
	uint32_t base = (uint32_t)p->nnodes;
	p->nodes = xreallocarray(p->nodes, p->nnodes + th.nnodes, sizeof(*p->nodes));
	p->threads = xreallocarray(p->threads, p->nthreads + 1, sizeof(*p->threads));
	struct profile_thread *t = &p->threads[p->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = th.tid;
	memcpy(t->name, th.name, FMT_THREAD_NAME_MAX);
	t->root = base;
	t->nnodes = (uint32_t)th.nnodes;

	double tick_s = p->is_counts_only ? 0 : p->meta.ns_per_tick / 1e9;
	const unsigned char *raw = sec->payload + sizeof(th);
	for (uint32_t i = 0; i < th.nnodes; i++) {
		struct fmt_node n;
		memcpy(&n, raw + (size_t)i * sizeof(n), sizeof(n));
		/* The root has no parent: a non-zero one is corrupt, not ignored. */
		if (i == 0 ? (n.fn != 0 || n.parent != 0) : (n.fn == 0 || n.parent >= i)) {
			snprintf(err, errlen, "'%s' is corrupt: node %u of thread %llu has a bad %s", path,
				 i, (unsigned long long)th.tid, i == 0 ? "root" : "parent or function");
			return -1;
		}
		struct profile_node *d = &p->nodes[base + i];
		d->fn = n.fn;
		d->parent = base + (i ? n.parent : 0);
		d->gen = n.gen;
		d->calls = n.calls;
		d->incl_s = (double)n.incl_ticks * tick_s;
		d->self_s = (double)n.self_ticks * tick_s;
	}
	p->nnodes += th.nnodes;
	return 0;
}

/* ---- one address space for functions of many loads and processes ---- */

/*
 * Moves the nodes in [from, to) of p into the address space of out: each
 * function's address is looked up in map at the generation its node was
 * made in (the library mapped there then), then shifted as its module
 * was placed. An address in no module stays as it is.
 */
static void place_nodes(struct profile *p, size_t from, size_t to, const struct modmap *map,
			struct modmap *out)
{
	int64_t *delta = xcalloc(map->count + 1, sizeof(*delta));

	for (size_t i = 0; i < map->count; i++)
		if (modmap_place(out, &map->entries[i], 1, &delta[i]) < 0) {
			error("out of memory placing modules");
			exit(EXIT_ERROR);
		}
	for (size_t i = from; i < to; i++) {
		struct profile_node *nd = &p->nodes[i];
		const struct modmap_entry *m = nd->fn ? modmap_find_gen(map, nd->fn, nd->gen) : NULL;
		if (m)
			nd->fn += (uint64_t)delta[m - map->entries];
		nd->gen = 0;
	}
	free(delta);
}

/* After a dlclose several modules may cover one address: give each its
 * own range, so that every address names one function. */
static void place_own_modules(struct profile *p)
{
	struct modmap out = { 0 };

	place_nodes(p, 0, p->nnodes, &p->modules, &out);
	modmap_release(&p->modules);
	p->modules = out;
}

static int parse_process(struct profile *p, char *err, size_t errlen)
{
	struct profile_process *pr = xcalloc(1, sizeof(*pr));

	p->processes = pr;
	p->nprocesses = 1;
	pr->pid = p->meta.pid;
	pr->ppid = p->meta.ppid;
	memcpy(pr->program, p->meta.program, sizeof(pr->program));
	pr->path = xstrdup(p->path);
	pr->start_unix_ns = p->meta.start_unix_ns;
	pr->end_unix_ns = p->meta.end_unix_ns;
	pr->inherited_node = UINT32_MAX;
	pr->inner_s = p->inner_s;
	pr->outer_s = p->outer_s;
	pr->probe_inner_s = p->is_counts_only ? 0 : p->meta.probe_inner_ticks * p->meta.ns_per_tick / 1e9;
	pr->probe_outer_s = p->is_counts_only ? 0 : p->meta.probe_outer_ticks * p->meta.ns_per_tick / 1e9;
	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i].process = 0;
	if (!p->meta.inherited_node)
		return 0;
	/* In the thread that forked: the child's only one then, whose tid
	 * is the child's pid. */
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct profile_thread *t = &p->threads[i];
		if (t->tid != p->meta.pid)
			continue;
		if (p->meta.inherited_node - 1 >= t->nnodes || p->meta.inherited_node == 1)
			break;
		pr->inherited_node = t->root + (uint32_t)(p->meta.inherited_node - 1);
		return 0;
	}
	snprintf(err, errlen, "'%s' is corrupt: its calls inherited from the parent process are not in its tree",
		 p->path);
	return -1;
}

struct profile *profile_parse(const struct fmt_file *f, char *err, size_t errlen)
{
	struct profile *p;
	const struct fmt_file_section *meta, *mods;

	if (f->header.kind != FMT_KIND_PROFILE) {
		snprintf(err, errlen, "'%s' is a %s, not a call profile (use 'cprof stats' or compare it with another snapshot)",
			 f->path, fmt_kind_name(f->header.kind));
		return NULL;
	}
	meta = fmt_file_find(f, FMT_SEC_META);
	mods = fmt_file_find(f, FMT_SEC_MODULES);
	/* A count other than the one record it holds is corrupt too. */
	int is_bad_meta = !meta || meta->size != sizeof(struct fmt_meta) || meta->count != 1;
	if (is_bad_meta || !mods) {
		snprintf(err, errlen, "'%s' is corrupt: its %s section is missing or malformed", f->path,
			 is_bad_meta ? "meta" : "module map");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->path = xstrdup(f->path);
	memcpy(&p->meta, meta->payload, sizeof(p->meta));
	p->meta.program[FMT_PROGRAM_MAX - 1] = 0;
	p->meta.label[FMT_LABEL_MAX - 1] = 0;
	p->is_counts_only = (f->header.features & FMT_FEAT_COUNTS_ONLY) != 0;
	double npt = p->meta.ns_per_tick;
	/* Per-call figures in ns, bounded: an overhead of more than a
	 * millisecond a call (+inf, NaN) would zero every compensated time
	 * without a word. The probes' part may be below zero. */
	double in_ns = p->meta.overhead_inner_ticks * npt, out_ns = p->meta.overhead_outer_ticks * npt;
	double pin_ns = p->meta.probe_inner_ticks * npt, pout_ns = p->meta.probe_outer_ticks * npt;
	if (!(npt > 0 && npt < 1e6) || !(in_ns >= 0 && in_ns < MAX_OVERHEAD_NS) ||
	    !(out_ns >= 0 && out_ns < MAX_OVERHEAD_NS) || !(fabs(pin_ns) < MAX_OVERHEAD_NS) ||
	    !(fabs(pout_ns) < MAX_OVERHEAD_NS)) {
		snprintf(err, errlen, "'%s' is corrupt: its clock calibration is out of range", f->path);
		goto fail;
	}
	p->inner_s = p->is_counts_only ? 0 : p->meta.overhead_inner_ticks * npt / 1e9;
	p->outer_s = p->is_counts_only ? 0 : p->meta.overhead_outer_ticks * npt / 1e9;
	if (modmap_parse(&p->modules, mods, f->path, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < f->nsections; i++)
		if (f->sections[i].type == FMT_SEC_THREAD &&
		    parse_thread(p, &f->sections[i], f->path, err, errlen) < 0)
			goto fail;
	/* The runtime writes at least the main thread: a profile without one
	 * is a foreign or mislabelled file, not an empty run. */
	if (p->nthreads == 0) {
		snprintf(err, errlen, "'%s' is corrupt: it holds no thread's calls", f->path);
		goto fail;
	}
	if (parse_process(p, err, errlen) < 0)
		goto fail;
	place_own_modules(p);
	/* Every count the report sums (per function, per edge, in total) is
	 * a part of this one: if it cannot wrap, none of them can. */
	uint64_t total_calls = 0;
	for (size_t i = 0; i < p->nnodes; i++) {
		if (p->nodes[i].calls > UINT64_MAX - total_calls) {
			snprintf(err, errlen, "'%s' is corrupt: its call counts add up to more than 2^64",
				 f->path);
			goto fail;
		}
		total_calls += p->nodes[i].calls;
	}
	return p;
fail:
	profile_free(p);
	return NULL;
}

struct profile *profile_open(const char *path)
{
	struct fmt_file f;
	char err[512];

	if (fmt_file_open(&f, path, err, sizeof(err)) < 0) {
		error("%s", err);
		return NULL;
	}
	struct profile *p = profile_parse(&f, err, sizeof(err));
	fmt_file_close(&f);
	if (!p)
		error("%s", err);
	return p;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nprocesses; i++)
		free(p->processes[i].path);
	free(p->processes);
	modmap_release(&p->modules);
	free(p->threads);
	free(p->nodes);
	free(p->path);
	free(p);
}

/* ---- merging ---- */

/* The parent of process q in the set: its pid, alive when q started. */
static const struct profile_process *parent_in(const struct profile *m,
					       const struct profile_process *q)
{
	for (size_t i = 0; i < m->nprocesses; i++) {
		const struct profile_process *r = &m->processes[i];
		if (r != q && r->pid == q->ppid && r->start_unix_ns <= q->start_unix_ns &&
		    q->start_unix_ns <= r->end_unix_ns)
			return r;
	}
	return NULL;
}

/* "prog, other" : the distinct programs, in the order they came. */
static void list_programs(struct profile *m)
{
	char *out = m->meta.program;
	size_t len = 0;

	out[0] = 0;
	for (size_t i = 0; i < m->nprocesses; i++) {
		const char *prog = m->processes[i].program;
		size_t k;
		for (k = 0; k < i; k++)
			if (!strcmp(m->processes[k].program, prog))
				break;
		if (k < i)
			continue;
		int n = snprintf(out + len, FMT_PROGRAM_MAX - len, "%s%s", len ? ", " : "",
				 *prog ? prog : "?");
		if (n < 0 || (size_t)n >= FMT_PROGRAM_MAX - len) {
			/* Too many to name: say so rather than cut a path. */
			snprintf(out + len, FMT_PROGRAM_MAX - len, "%s...", len ? ", " : "");
			out[FMT_PROGRAM_MAX - 1] = 0;
			return;
		}
		len += (size_t)n;
	}
}

struct profile *profile_merge(struct profile **ps, size_t n)
{
	struct profile *m = xcalloc(1, sizeof(*m));

	m->path = xstrfmt("%zu merged profiles", n);
	m->meta = ps[0]->meta;
	m->meta.dropped_nodes = m->meta.dropped_frames = m->meta.mismatched_exits = 0;
	m->meta.skipped_reentrant = m->meta.inherited_node = 0;
	m->meta.nthreads = 0;
	m->inner_s = ps[0]->inner_s;
	m->outer_s = ps[0]->outer_s;
	m->is_counts_only = 1;
	for (size_t k = 0; k < n; k++) {
		struct profile *p = ps[k];
		uint32_t base = (uint32_t)m->nnodes;
		size_t pbase = m->nprocesses;

		m->is_counts_only &= p->is_counts_only;
		m->nodes = xreallocarray(m->nodes, m->nnodes + p->nnodes, sizeof(*m->nodes));
		for (size_t i = 0; i < p->nnodes; i++) {
			m->nodes[base + i] = p->nodes[i];
			m->nodes[base + i].parent += base;
		}
		m->nnodes += p->nnodes;
		m->threads = xreallocarray(m->threads, m->nthreads + p->nthreads, sizeof(*m->threads));
		for (size_t i = 0; i < p->nthreads; i++) {
			struct profile_thread *t = &m->threads[m->nthreads++];
			*t = p->threads[i];
			t->root += base;
			t->process += (uint32_t)pbase;
		}
		m->processes = xreallocarray(m->processes, m->nprocesses + p->nprocesses,
					     sizeof(*m->processes));
		for (size_t i = 0; i < p->nprocesses; i++) {
			struct profile_process *pr = &m->processes[m->nprocesses++];
			*pr = p->processes[i];
			pr->path = p->processes[i].path;
			p->processes[i].path = NULL;
			if (pr->inherited_node != UINT32_MAX)
				pr->inherited_node += base;
		}
		place_nodes(m, base, m->nnodes, &p->modules, &m->modules);
		m->meta.dropped_nodes += p->meta.dropped_nodes;
		m->meta.dropped_frames += p->meta.dropped_frames;
		m->meta.mismatched_exits += p->meta.mismatched_exits;
		m->meta.skipped_reentrant += p->meta.skipped_reentrant;
		m->meta.nthreads += p->meta.nthreads;
		profile_free(p);
	}
	/* A forked child's open calls were entered in its parent: the
	 * parent counts them; the child's time in them still adds up. */
	for (size_t i = 0; i < m->nprocesses; i++) {
		const struct profile_process *q = &m->processes[i];
		if (q->inherited_node == UINT32_MAX || !parent_in(m, q))
			continue;
		for (uint32_t nd = q->inherited_node; m->nodes[nd].fn; nd = m->nodes[nd].parent)
			if (m->nodes[nd].calls) {
				m->nodes[nd].calls--;
				m->inherited_calls_removed++;
			}
	}
	list_programs(m);
	return m;
}

static int is_profile_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > 5 && !strcmp(name + n - 5, ".prof");
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* paths, a directory replaced by the .prof files in it (sorted); *from
 * says which path each came from (-1: found in a directory). */
static char **expand(char *const *paths, size_t n, size_t *count, long **from, int *is_usage)
{
	char **out = NULL;

	*from = NULL;

	*count = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		DIR *d;
		if (stat(paths[i], &st) < 0 || !S_ISDIR(st.st_mode) || !(d = opendir(paths[i]))) {
			out = xreallocarray(out, *count + 1, sizeof(*out));
			*from = xreallocarray(*from, *count + 1, sizeof(**from));
			(*from)[*count] = (long)i;
			out[(*count)++] = xstrdup(paths[i]);
			continue;
		}
		size_t first = *count;
		struct dirent *de;
		while ((de = readdir(d)))
			if (is_profile_name(de->d_name)) {
				out = xreallocarray(out, *count + 1, sizeof(*out));
				*from = xreallocarray(*from, *count + 1, sizeof(**from));
				(*from)[*count] = -1;
				out[(*count)++] = xstrfmt("%s%s%s", paths[i],
							  paths[i][strlen(paths[i]) - 1] == '/' ? "" : "/",
							  de->d_name);
			}
		closedir(d);
		if (*count == first) {
			error("no call profiles (*.prof) in the directory '%s'", paths[i]);
			*is_usage = 1;
			for (size_t k = 0; k < *count; k++)
				free(out[k]);
			free(out);
			free(*from);
			*from = NULL;
			return NULL;
		}
		qsort(out + first, *count - first, sizeof(*out), by_string);
	}
	return out;
}

struct profile *profile_open_set(char *const *paths, size_t n, struct fmt_file *read,
				 int *is_usage)
{
	size_t count = 0, opened = 0;
	long *from;
	char **files;
	struct profile **ps = NULL, *m = NULL;
	uint64_t total = 0, total_nodes = 0;

	*is_usage = 0;
	files = expand(paths, n, &count, &from, is_usage);
	if (!files)
		return NULL;
	ps = xcalloc(count, sizeof(*ps));
	for (; opened < count; opened++) {
		struct fmt_file f;
		char err[512];
		if (read && from[opened] >= 0 && read[from[opened]].data) {
			f = read[from[opened]];	/* already read: take it over */
			memset(&read[from[opened]], 0, sizeof(f));
		} else if (fmt_file_open(&f, files[opened], err, sizeof(err)) < 0) {
			error("%s", err);
			goto out;
		}
		if (f.header.kind == FMT_KIND_SNAPSHOT && count > 1) {
			fmt_file_close(&f);
			error("'%s' is a memory snapshot: only call profiles merge (leave it out)",
			      files[opened]);
			*is_usage = 1;
			goto out;
		}
		ps[opened] = profile_parse(&f, err, sizeof(err));
		fmt_file_close(&f);
		if (!ps[opened]) {
			error("%s", err);
			goto out;
		}
		for (size_t k = 0; k < opened; k++)
			if (ps[k]->meta.pid == ps[opened]->meta.pid &&
			    ps[k]->meta.start_unix_ns == ps[opened]->meta.start_unix_ns) {
				error("'%s' and '%s' are the same process's profile (give it once)",
				      files[k], files[opened]);
				*is_usage = 1;
				profile_free(ps[opened]);
				goto out;
			}
		/* Sums over the set must not wrap either, nor node indices. */
		total_nodes += ps[opened]->nnodes;
		if (total_nodes > UINT32_MAX) {
			error("'%s': the set holds more than 2^32 call-tree nodes (merge fewer files)",
			      files[opened]);
			profile_free(ps[opened]);
			goto out;
		}
		for (size_t i = 0; i < ps[opened]->nnodes; i++) {
			uint64_t c = ps[opened]->nodes[i].calls;
			if (c > UINT64_MAX - total) {
				error("'%s': the call counts of the set add up to more than 2^64",
				      files[opened]);
				profile_free(ps[opened]);
				goto out;
			}
			total += c;
		}
	}
	m = count == 1 ? ps[0] : profile_merge(ps, count);
	opened = 0;	/* consumed */
out:
	for (size_t k = 0; k < opened; k++)
		profile_free(ps[k]);
	for (size_t k = 0; k < count; k++)
		free(files[k]);
	free(files);
	free(from);
	free(ps);
	return m;
}
