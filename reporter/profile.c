/*
 * Loading .prof files: container checks come from common/format.c, the
 * profile's own sections are checked here (sizes, node counts, parent
 * indices that only point backwards, so no cycle can be read).
 */
#include "profile.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		d->calls = n.calls;
		d->incl_s = (double)n.incl_ticks * tick_s;
		d->self_s = (double)n.self_ticks * tick_s;
	}
	p->nnodes += th.nnodes;
	return 0;
}

/*
 * A library unloaded and loaded again elsewhere has its functions at two
 * addresses: file each under the first listed load's address, so that a
 * function is one row, as pstats keys rows by file:line(function).
 */
static void merge_reloaded(struct profile *p)
{
	for (size_t i = 0; i < p->nnodes; i++) {
		uint64_t fn = p->nodes[i].fn;
		const struct modmap_entry *m = fn ? modmap_find(&p->modules, fn) : NULL;

		for (size_t k = 0; m && k < p->modules.count; k++) {
			const struct modmap_entry *first = &p->modules.entries[k];
			if (first == m)
				break;
			if (first->build_id_len == m->build_id_len &&
			    !memcmp(first->build_id, m->build_id, m->build_id_len) &&
			    !strcmp(first->path, m->path)) {
				p->nodes[i].fn = fn - m->bias + first->bias;
				break;
			}
		}
	}
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
	/* Finite in seconds too: an overhead of +inf s would zero every
	 * compensated time without a word. */
	if (!(npt > 0 && npt < 1e6) || !isfinite(p->meta.overhead_inner_ticks * npt) ||
	    !isfinite(p->meta.overhead_outer_ticks * npt) || p->meta.overhead_inner_ticks < 0 ||
	    p->meta.overhead_outer_ticks < 0) {
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
	merge_reloaded(p);
	/* The runtime writes at least the main thread: a profile without one
	 * is a foreign or mislabelled file, not an empty run. */
	if (p->nthreads == 0) {
		snprintf(err, errlen, "'%s' is corrupt: it holds no thread's calls", f->path);
		goto fail;
	}
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
	modmap_release(&p->modules);
	free(p->threads);
	free(p->nodes);
	free(p->path);
	free(p);
}
