/*
 * Loading .snap files and tracemalloc-style statistics over them. The
 * container is checked by common/format.c, the snapshot's own sections
 * here (sizes, counts, frame counts, counters that cannot be). Never
 * writes to stdout.
 */
#define _GNU_SOURCE
#include "snapshot.h"
#include "hashmap.h"
#include "util.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- loading ---- */

static int parse_traces(struct snapshot *s, const struct fmt_file_section *sec, int has_totals,
			const char *path, char *err, size_t errlen)
{
	size_t off = 0, nframes_all = 0;
	/* Older files: the shorter record, temporaries unknown (read as 0). */
	size_t rec = has_totals ? sizeof(struct fmt_trace) : sizeof(struct fmt_trace_v1);
	uint64_t total_bytes_sum = 0, total_blocks_sum = 0;	/* bounds every sum below */

	/* Each record is at least a header: bounds the allocation below. */
	if (sec->count > sec->size / rec) {
		snprintf(err, errlen, "'%s' is corrupt: %u traces cannot fit in %llu bytes", path,
			 sec->count, (unsigned long long)sec->size);
		return -1;
	}
	s->traces = xcalloc(sec->count ? sec->count : 1, sizeof(*s->traces));
	s->frames = xreallocarray(NULL, sec->size / sizeof(uint64_t) + 1, sizeof(uint64_t));
	for (uint32_t i = 0; i < sec->count; i++) {
		struct fmt_trace t = { 0 };

		if (sec->size - off < rec)
			goto corrupt;
		memcpy(&t, sec->payload + off, rec);
		off += rec;
		/* Statistics add live counts up as signed 64-bit numbers (a diff
		 * is negative): a file whose sums cannot fit is corrupt. */
		if (t.nframes > FMT_FRAMES_MAX || (uint64_t)t.nframes * 8 > sec->size - off ||
		    t.live_blocks > t.total_blocks || t.live_bytes > t.total_bytes ||
		    t.temporary_blocks > t.total_blocks || t.peak_blocks > t.total_blocks ||
		    t.peak_bytes > t.total_bytes || (t.peak_blocks == 0 && t.peak_bytes != 0) ||
		    (t.live_blocks == 0 && t.live_bytes != 0) ||
		    t.total_bytes > (uint64_t)INT64_MAX - total_bytes_sum ||
		    t.total_blocks > (uint64_t)INT64_MAX - total_blocks_sum)
			goto corrupt;
		total_bytes_sum += t.total_bytes;
		total_blocks_sum += t.total_blocks;
		struct snap_trace *d = &s->traces[i];
		d->live_bytes = t.live_bytes;
		d->live_blocks = t.live_blocks;
		d->total_bytes = t.total_bytes;
		d->total_blocks = t.total_blocks;
		d->temporary_blocks = t.temporary_blocks;
		d->peak_bytes = t.peak_bytes;
		d->peak_blocks = t.peak_blocks;
		d->nframes = t.nframes;
		d->gen = t.gen;
		memcpy(s->frames + nframes_all, sec->payload + off, (size_t)t.nframes * 8);
		d->frames = NULL;	/* set below, once frames stops moving */
		nframes_all += t.nframes;
		off += (size_t)t.nframes * 8;
		s->ntraces++;
	}
	if (off != sec->size) {
		snprintf(err, errlen, "'%s' is corrupt: %zu stray bytes after its traces", path,
			 (size_t)sec->size - off);
		return -1;
	}
	nframes_all = 0;
	for (size_t i = 0; i < s->ntraces; i++) {
		s->traces[i].frames = s->frames + nframes_all;
		nframes_all += s->traces[i].nframes;
	}
	return 0;
corrupt:
	snprintf(err, errlen, "'%s' is corrupt: bad trace record %zu", path, s->ntraces);
	return -1;
}

/* The size histogram: at most FMT_SIZE_BUCKETS records, each live count
 * within its total (as a trace's), the totals' sums within 64 bits. */
static int parse_sizes(struct snapshot *s, const struct fmt_file_section *sec, const char *path,
		       char *err, size_t errlen)
{
	if (sec->count > FMT_SIZE_BUCKETS ||
	    sec->size != (uint64_t)sec->count * sizeof(struct fmt_size_bucket)) {
		snprintf(err, errlen, "'%s' is corrupt: its size histogram has %u buckets in %llu bytes (at most %d buckets of %zu bytes)",
			 path, sec->count, (unsigned long long)sec->size, FMT_SIZE_BUCKETS,
			 sizeof(struct fmt_size_bucket));
		return -1;
	}
	uint64_t blocks_sum = 0, bytes_sum = 0;	/* the totals printed must not wrap */
	memcpy(s->sizes, sec->payload, sec->size);
	for (uint32_t k = 0; k < sec->count; k++) {
		const struct fmt_size_bucket *b = &s->sizes[k];
		if (b->live_blocks > b->total_blocks || b->live_bytes > b->total_bytes ||
		    (b->live_blocks == 0 && b->live_bytes != 0) ||
		    b->total_blocks > UINT64_MAX - blocks_sum || b->total_bytes > UINT64_MAX - bytes_sum) {
			snprintf(err, errlen, "'%s' is corrupt: bad size histogram bucket %u", path, k);
			return -1;
		}
		blocks_sum += b->total_blocks;
		bytes_sum += b->total_bytes;
	}
	s->has_sizes = 1;
	return 0;
}

/* Memory over time: a header, then its samples, in time order. */
static int parse_timeline(struct snapshot *s, const struct fmt_file_section *sec, const char *path,
			  char *err, size_t errlen)
{
	struct fmt_timeline *h = &s->timeline;
	const size_t one = sizeof(struct fmt_timeline_sample);

	if (sec->size < sizeof(*h) || (sec->size - sizeof(*h)) / one != sec->count ||
	    (sec->size - sizeof(*h)) % one != 0) {
		snprintf(err, errlen, "'%s' is corrupt: its timeline's size does not match its %u samples",
			 path, sec->count);
		return -1;
	}
	memcpy(h, sec->payload, sizeof(*h));
	if (h->nsamples != sec->count || h->base_interval_ns == 0 || h->decimations > 32 ||
	    h->interval_ns != h->base_interval_ns << h->decimations ||
	    h->base_interval_ns > UINT64_MAX >> 32) {
		snprintf(err, errlen, "'%s' is corrupt: its timeline's header is inconsistent", path);
		return -1;
	}
	s->samples = xcalloc(sec->count ? sec->count : 1, one);
	memcpy(s->samples, sec->payload + sizeof(*h), (size_t)sec->count * one);
	for (uint32_t i = 1; i < sec->count; i++)
		if (s->samples[i].t_ns < s->samples[i - 1].t_ns) {
			snprintf(err, errlen, "'%s' is corrupt: its timeline goes back in time at sample %u",
				 path, i);
			return -1;
		}
	s->has_timeline = 1;
	return 0;
}

/*
 * After a dlclose several modules may cover one address: each frame is
 * looked up at its trace's load generation (the library mapped there
 * then), and every module gets its own range, the frames moved with it;
 * a library loaded at several places is one. Then every address names
 * one function.
 */
static void place_modules(struct snapshot *s)
{
	struct modmap out = { 0 };
	int64_t *delta = xcalloc(s->modules.count + 1, sizeof(*delta));
	size_t at = 0;

	for (size_t i = 0; i < s->modules.count; i++)
		if (modmap_place(&out, &s->modules.entries[i], 1, &delta[i]) < 0) {
			error("out of memory placing modules");
			exit(EXIT_ERROR);
		}
	for (size_t i = 0; i < s->ntraces; i++)
		for (uint32_t k = 0; k < s->traces[i].nframes; k++, at++) {
			uint64_t a = s->frames[at];
			/* A return address: the call is the byte before. */
			const struct modmap_entry *m =
				a ? modmap_find_gen(&s->modules, a - 1, s->traces[i].gen) : NULL;
			if (m)
				s->frames[at] = a + (uint64_t)delta[m - s->modules.entries];
		}
	modmap_release(&s->modules);
	s->modules = out;
	free(delta);
}

struct snapshot *snapshot_parse(const struct fmt_file *f, char *err, size_t errlen)
{
	const struct fmt_file_section *meta, *mods, *info, *traces;
	struct snapshot *s;

	if (f->header.kind != FMT_KIND_SNAPSHOT) {
		snprintf(err, errlen, "'%s' is a %s, not a memory snapshot (use 'cprof report %s', or give a .snap file)",
			 f->path, fmt_kind_name(f->header.kind), f->path);
		return NULL;
	}
	meta = fmt_file_find(f, FMT_SEC_META);
	mods = fmt_file_find(f, FMT_SEC_MODULES);
	info = fmt_file_find(f, FMT_SEC_SNAP_INFO);
	traces = fmt_file_find(f, FMT_SEC_TRACES);
	/* Meta and snapshot info hold one record each: another count is corrupt. */
	int is_bad_meta = !meta || meta->size != sizeof(struct fmt_meta) || meta->count != 1;
	if (is_bad_meta || !mods || !info || info->size != sizeof(struct fmt_snap_info) ||
	    info->count != 1 || !traces) {
		snprintf(err, errlen, "'%s' is corrupt: its %s section is missing or malformed", f->path,
			 is_bad_meta ? "meta"
			 : !mods ? "module map"
			 : !traces ? "traces" : "snapshot info");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(f->path);
	memcpy(&s->meta, meta->payload, sizeof(s->meta));
	s->meta.program[FMT_PROGRAM_MAX - 1] = 0;
	s->meta.label[FMT_LABEL_MAX - 1] = 0;
	memcpy(&s->info, info->payload, sizeof(s->info));
	if (s->info.ntraces != traces->count || s->info.max_frames > FMT_FRAMES_MAX) {
		snprintf(err, errlen, "'%s' is corrupt: its snapshot info does not match its traces",
			 f->path);
		goto fail;
	}
	if (modmap_parse(&s->modules, mods, f->path, err, errlen) < 0)
		goto fail;
	s->has_totals = (f->header.features & FMT_FEAT_TRACE_TOTALS) != 0;
	/* The peak's fields are in the longer record only. */
	s->has_peak = s->has_totals && (f->header.features & FMT_FEAT_TRACE_PEAK);
	if (parse_traces(s, traces, s->has_totals, f->path, err, errlen) < 0)
		goto fail;
	/* Older files have no histogram: read, and --sizes says so. */
	const struct fmt_file_section *sizes = fmt_file_find(f, FMT_SEC_SIZES);
	if (sizes && parse_sizes(s, sizes, f->path, err, errlen) < 0)
		goto fail;
	const struct fmt_file_section *timeline = fmt_file_find(f, FMT_SEC_TIMELINE);
	if (timeline && parse_timeline(s, timeline, f->path, err, errlen) < 0)
		goto fail;
	place_modules(s);
	return s;
fail:
	snapshot_free(s);
	return NULL;
}

void snapshot_use_peak(struct snapshot *s)
{
	s->info.current_bytes = s->info.peak_bytes;
	s->info.current_blocks = 0;
	for (size_t i = 0; i < s->ntraces; i++) {
		s->traces[i].live_bytes = s->traces[i].peak_bytes;
		s->traces[i].live_blocks = s->traces[i].peak_blocks;
		s->info.current_blocks += s->traces[i].peak_blocks;
	}
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	modmap_release(&s->modules);
	free(s->traces);
	free(s->frames);
	free(s->samples);
	free(s->path);
	free(s);
}

int snapshot_parse_key(const char *s)
{
	static const char *names[] = { "lineno", "filename", "function", "traceback" };

	for (int i = 0; i < 4; i++)
		if (s && strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* ---- statistics ---- */

static const char *const sort_names[] = { "size", "count", "allocated_size", "allocated_count",
					  "temporary_count" };

int snapshot_parse_sort(const char *s)
{
	for (int i = 0; i < (int)(sizeof(sort_names) / sizeof(sort_names[0])); i++)
		if (s && strcmp(s, sort_names[i]) == 0)
			return i;
	return -1;
}

const char *snapshot_sort_name(enum snap_sort sort)
{
	return sort_names[sort];
}

#define MAX_INLINE 16

/* The groups in the order they were met, indexed by their text. */
struct group_map {
	struct snap_stat *stats;
	size_t n, cap;
	struct hashmap index;	/* key -> index + 1 into stats */
};

/* The group for key (created empty if new); takes ownership of key. */
static struct snap_stat *map_get(struct group_map *m, char *key, int *is_new)
{
	if (!m->index.cap)
		hashmap_init(&m->index, 1);
	size_t i = (size_t)hashmap_str(&m->index, key, m->n + 1) - 1;
	*is_new = i == m->n;
	if (!*is_new) {
		free(key);
		return &m->stats[i];
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->stats = xreallocarray(m->stats, m->cap, sizeof(*m->stats));
	}
	struct snap_stat *st = &m->stats[m->n++];
	memset(st, 0, sizeof(*st));
	st->key = key;
	return st;
}

static const char *base_of(const char *p)
{
	const char *slash = p ? strrchr(p, '/') : NULL;

	return slash ? slash + 1 : p ? p : "";
}

static int frame_matches(const struct sym_frame *f, const char *glob)
{
	const char *file = f->file ? f->file : "", *module = f->module ? f->module : "";

	return fnmatch(glob, file, 0) == 0 || fnmatch(glob, base_of(file), 0) == 0 ||
	       fnmatch(glob, module, 0) == 0 || fnmatch(glob, base_of(module), 0) == 0;
}

static int any_match(const struct sym_frame *frames, int n, const char **globs, size_t nglobs)
{
	for (int i = 0; i < n; i++)
		for (size_t g = 0; g < nglobs; g++)
			if (frame_matches(&frames[i], globs[g]))
				return 1;
	return 0;
}

/* The trace's frames, inline-expanded, innermost first. An unknown stack
 * is one frame "<unknown>". Returns the count (<= max). */
static int expand(struct symbolizer *sym, const struct snap_trace *t, struct sym_frame *out,
		  int max)
{
	int n = 0;

	for (uint32_t i = 0; i < t->nframes && n < max; i++)
		n += symbolize_code(sym, t->frames[i], out + n, max - n);
	if (n == 0) {
		out[0] = (struct sym_frame){ .function = "<unknown>", .file = "<unknown>",
					     .module = "?" };
		n = 1;
	}
	return n;
}

static int is_kept(const struct sym_frame *frames, int n, const struct snap_filter *f)
{
	int scope = f && f->all_frames ? n : 1;

	if (!f)
		return 1;
	if (f->ninclude && !any_match(frames, scope, f->include, f->ninclude))
		return 0;
	if (f->nexclude && any_match(frames, scope, f->exclude, f->nexclude))
		return 0;
	return 1;
}

static char *make_key(enum snap_key key, const struct sym_frame *frames, int n)
{
	const struct sym_frame *f = &frames[0];

	switch (key) {
	case SNAP_BY_LINENO:
		return xstrfmt("%s:%d", f->file, f->line);
	case SNAP_BY_FILENAME:
		return xstrdup(f->file);
	case SNAP_BY_FUNCTION:
		return xstrfmt("%s:%d(%s)", f->file, f->decl_line, f->function);
	case SNAP_BY_TRACEBACK:
		break;
	}
	size_t len = 1;
	char **parts = xcalloc((size_t)n, sizeof(*parts));
	for (int i = 0; i < n; i++) {
		parts[i] = xstrfmt("%s:%d(%s)", frames[i].file, frames[i].line, frames[i].function);
		len += strlen(parts[i]) + 1;
	}
	char *out = xmalloc(len), *p = out;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);
		memcpy(p, parts[i], l);
		p += l;
		*p++ = i + 1 < n ? ';' : 0;
		free(parts[i]);
	}
	if (n == 0)
		*p = 0;
	free(parts);
	return out;
}

/*
 * Blocks the C library allocates for itself and keeps until the process
 * ends: stdio buffers, atexit records, locale and iconv data, time-zone
 * data, NSS caches, the dynamic loader's structures. valgrind frees them
 * (__libc_freeres) before it counts leaks; here they are told by who
 * asked: a function of this list in the frames inside libc or ld.so
 * above the allocation, before the first frame of the program. So
 * strdup's block is the program's; stdout's buffer is libc's.
 */
static const char *const libc_kept[] = {
	"_IO_file_doallocate", "__new_exitfn", "_nl_", "setlocale", "__libc_setlocale",
	"new_composite_name", "__gconv", "__tzfile_", "tzset", "__tzstring", "__nss_",
	"nss_", "__libc_dlopen", "_dl_",
};

static int is_libc_module(const char *module)
{
	const char *base = base_of(module);

	return strncmp(base, "libc.so", 7) == 0 || strncmp(base, "ld-linux", 8) == 0;
}

static int frames_are_libc_kept(const struct sym_frame *frames, int n)
{
	for (int i = 0; i < n && frames[i].module && is_libc_module(frames[i].module); i++)
		for (size_t k = 0; k < sizeof(libc_kept) / sizeof(libc_kept[0]); k++)
			if (strncmp(frames[i].function, libc_kept[k], strlen(libc_kept[k])) == 0)
				return 1;
	return 0;
}

int snapshot_is_libc_kept(struct symbolizer *sym, const struct snap_trace *t)
{
	int max = FMT_FRAMES_MAX * MAX_INLINE;
	struct sym_frame *frames = xcalloc((size_t)max, sizeof(*frames));
	int is_kept_by_libc = frames_are_libc_kept(frames, expand(sym, t, frames, max));

	free(frames);
	return is_kept_by_libc;
}

/* Adds s's traces into m, with sign +1 (new or plain) or -1 (old). */
static void accumulate(struct group_map *m, const struct snapshot *s, struct symbolizer *sym,
		       enum snap_key key, const struct snap_filter *filter, int sign,
		       struct snap_stats *totals)
{
	int max = FMT_FRAMES_MAX * MAX_INLINE;
	struct sym_frame *frames = xcalloc((size_t)max, sizeof(*frames));

	for (size_t i = 0; i < s->ntraces; i++) {
		const struct snap_trace *t = &s->traces[i];
		int is_new;

		int by_total = filter && snapshot_sort_is_total(filter->sort);
		int at_peak = filter && filter->at_peak;
		uint64_t live_bytes = at_peak ? t->peak_bytes : t->live_bytes;
		uint64_t live_blocks = at_peak ? t->peak_blocks : t->live_blocks;
		if (live_blocks == 0 && !(by_total && t->total_blocks))
			continue;	/* statistics are about live blocks, or totals */
		int n = expand(sym, t, frames, max);
		if (!is_kept(frames, n, filter))
			continue;
		if (filter && filter->hide_libc_kept && frames_are_libc_kept(frames, n)) {
			totals->hidden_size += (int64_t)live_bytes;
			totals->hidden_count += (int64_t)live_blocks;
			continue;
		}
		struct snap_stat *st = map_get(m, make_key(key, frames, n), &is_new);
		if (is_new) {
			st->file = frames[0].file;
			st->function = frames[0].function;
			st->line = key == SNAP_BY_FILENAME ? 0
				   : key == SNAP_BY_FUNCTION ? frames[0].decl_line
							     : frames[0].line;
			if (key == SNAP_BY_TRACEBACK) {
				st->frames = xcalloc((size_t)n, sizeof(*st->frames));
				memcpy(st->frames, frames, (size_t)n * sizeof(*frames));
				st->nframes = n;
			}
		}
		int64_t bytes = (int64_t)live_bytes, blocks = (int64_t)live_blocks;
		if (sign > 0) {
			st->size += bytes;
			st->count += blocks;
			st->total_size += t->total_bytes;
			st->total_count += t->total_blocks;
			st->temp_count += t->temporary_blocks;
			totals->size += bytes;
			totals->count += blocks;
			totals->total_size += t->total_bytes;
			totals->total_count += t->total_blocks;
			totals->temp_count += t->temporary_blocks;
		}
		/* The loader bounds every sum of totals by INT64_MAX. */
		st->total_size_diff += sign * (int64_t)t->total_bytes;
		st->total_count_diff += sign * (int64_t)t->total_blocks;
		st->temp_count_diff += sign * (int64_t)t->temporary_blocks;
		totals->total_size_diff += sign * (int64_t)t->total_bytes;
		totals->total_count_diff += sign * (int64_t)t->total_blocks;
		totals->temp_count_diff += sign * (int64_t)t->temporary_blocks;
		st->size_diff += sign * bytes;
		st->count_diff += sign * blocks;
		totals->size_diff += sign * bytes;
		totals->count_diff += sign * blocks;
	}
	free(frames);
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

static int by_size(const void *a, const void *b)
{
	const struct snap_stat *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int by_diff(const void *a, const void *b)
{
	const struct snap_stat *x = a, *y = b;

	if (abs64(x->size_diff) != abs64(y->size_diff))
		return abs64(x->size_diff) > abs64(y->size_diff) ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if (abs64(x->count_diff) != abs64(y->count_diff))
		return abs64(x->count_diff) > abs64(y->count_diff) ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* The total of st that sort names, and its difference. */
static void total_of(const struct snap_stat *st, enum snap_sort sort, uint64_t *value,
		     int64_t *diff)
{
	switch (sort) {
	case SNAP_SORT_ALLOCATED_SIZE:
		*value = st->total_size, *diff = st->total_size_diff;
		break;
	case SNAP_SORT_ALLOCATED_COUNT:
		*value = st->total_count, *diff = st->total_count_diff;
		break;
	default:
		*value = st->temp_count, *diff = st->temp_count_diff;
	}
}

/* qsort_r's comparators: sort points to the enum snap_sort. */
static int by_total(const void *a, const void *b, void *sort)
{
	const struct snap_stat *x = a, *y = b;
	uint64_t vx, vy;
	int64_t dx, dy;

	total_of(x, *(enum snap_sort *)sort, &vx, &dx);
	total_of(y, *(enum snap_sort *)sort, &vy, &dy);
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return by_size(a, b);
}

static int by_total_diff(const void *a, const void *b, void *sort)
{
	const struct snap_stat *x = a, *y = b;
	uint64_t vx, vy;
	int64_t dx, dy;

	total_of(x, *(enum snap_sort *)sort, &vx, &dx);
	total_of(y, *(enum snap_sort *)sort, &vy, &dy);
	if (abs64(dx) != abs64(dy))
		return abs64(dx) > abs64(dy) ? -1 : 1;
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return by_diff(a, b);
}

static int by_size_r(const void *a, const void *b, void *sort)
{
	(void)sort;
	return by_size(a, b);
}

static int by_diff_r(const void *a, const void *b, void *sort)
{
	(void)sort;
	return by_diff(a, b);
}

static int by_count(const void *a, const void *b, void *sort)
{
	(void)sort;
	const struct snap_stat *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return by_size(a, b);
}

static int by_count_diff(const void *a, const void *b, void *sort)
{
	(void)sort;
	const struct snap_stat *x = a, *y = b;

	if (abs64(x->count_diff) != abs64(y->count_diff))
		return abs64(x->count_diff) > abs64(y->count_diff) ? -1 : 1;
	return by_diff(a, b);
}

static void finish(struct group_map *m, struct snap_stats *out, int is_diff, int sort)
{
	size_t kept = 0;
	int (*cmp)(const void *, const void *, void *) = is_diff ? by_diff_r : by_size_r;

	for (size_t i = 0; i < m->n; i++) {
		struct snap_stat *st = &m->stats[i];
		int is_total_kept = snapshot_sort_is_total(sort) &&
				    (st->total_count || (is_diff && st->total_count_diff));
		/* Plain statistics list what is live; a diff also what went away. */
		if (st->count || (is_diff && st->count_diff) || is_total_kept) {
			m->stats[kept++] = *st;
		} else {
			free(st->key);
			free(st->frames);
		}
	}
	if (sort == SNAP_SORT_COUNT)
		cmp = is_diff ? by_count_diff : by_count;
	else if (snapshot_sort_is_total(sort))
		cmp = is_diff ? by_total_diff : by_total;
	enum snap_sort key = (enum snap_sort)sort;
	if (kept)	/* stats is NULL when no trace made a group */
		qsort_r(m->stats, kept, sizeof(*m->stats), cmp, &key);
	out->stats = m->stats;
	out->nstats = kept;
	hashmap_release(&m->index);
}

void snapshot_statistics(const struct snapshot *s, struct symbolizer *sym, enum snap_key key,
			 const struct snap_filter *filter, struct snap_stats *out)
{
	struct group_map m = { 0 };

	memset(out, 0, sizeof(*out));
	accumulate(&m, s, sym, key, filter, +1, out);
	finish(&m, out, 0, filter ? filter->sort : SNAP_SORT_SIZE);
	for (size_t i = 0; i < out->nstats; i++) {
		struct snap_stat *st = &out->stats[i];
		st->size_diff = st->count_diff = 0;
		st->total_size_diff = st->total_count_diff = st->temp_count_diff = 0;
	}
	out->size_diff = out->count_diff = 0;
	out->total_size_diff = out->total_count_diff = out->temp_count_diff = 0;
}

void snapshot_compare(const struct snapshot *old_snap, struct symbolizer *old_sym,
		      const struct snapshot *new_snap, struct symbolizer *new_sym,
		      enum snap_key key, const struct snap_filter *filter, struct snap_stats *out)
{
	struct group_map m = { 0 };

	memset(out, 0, sizeof(*out));
	accumulate(&m, new_snap, new_sym, key, filter, +1, out);
	accumulate(&m, old_snap, old_sym, key, filter, -1, out);
	finish(&m, out, 1, filter ? filter->sort : SNAP_SORT_SIZE);
}

void snapshot_stats_release(struct snap_stats *st)
{
	for (size_t i = 0; i < st->nstats; i++) {
		free(st->stats[i].key);
		free(st->stats[i].frames);
	}
	free(st->stats);
	memset(st, 0, sizeof(*st));
}
