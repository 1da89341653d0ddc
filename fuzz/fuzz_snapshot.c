/*
 * libFuzzer target for the .snap reader: container checks, snapshot
 * parsing, and the grouping, filtering and comparison built on whatever
 * it accepts. Must never crash, leak, or fail without saying why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/format.h"
#include "fuzz_input.h"
#include "../reporter/html.h"
#include "../reporter/snapshot.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a stand-in symbolizer ----
 * The real one opens the modules the file names (any path an input
 * chooses) with libdw; this one derives 1-3 inline frames from the
 * address alone, so grouping sees equal and distinct keys, empty and
 * missing strings, without touching the file system. */
struct symbolizer {
	int unused;
};

static const char *const functions[] = { "main", "leaf", "0x1234", "", "a;b(c)" };
static const char *const files[] = { "/src/a.c", "b.c", "/usr/lib/libc.so.6", "", "dir/" };
static const char *const modules[] = { "/bin/prog", "?", "/lib/x86_64-linux-gnu/libc.so.6" };

struct symbolizer *symbolizer_new(const struct modmap *map)
{
	(void)map;
	return calloc(1, sizeof(struct symbolizer));
}

void symbolizer_free(struct symbolizer *s)
{
	free(s);
}

int symbolize_code(struct symbolizer *s, uint64_t addr, struct sym_frame *out, int max)
{
	int n = 1 + (int)(addr % 3);

	(void)s;
	if (n > max)
		n = max;
	for (int i = 0; i < n; i++) {
		uint64_t a = addr >> (8 * i);
		out[i] = (struct sym_frame){
			.function = a & 0x100 ? NULL : functions[a % 5],
			.file = a & 0x200 ? NULL : files[(a >> 3) % 5],
			.line = (int)((a >> 6) % 100),
			.decl_line = (int)((a >> 9) % 100),
			.module = modules[(a >> 12) % 3],
			.is_inlined = i + 1 < n,
		};
		/* The real symbolizer never returns NULL strings. */
		if (!out[i].function)
			out[i].function = "??";
		if (!out[i].file)
			out[i].file = "?";
	}
	return n;
}

/* ---- checks on the statistics ---- */

/* Sorted by a total, groups with nothing live are listed too. */
static void check_stats_by(const struct snap_stats *st, int is_diff, int is_by_total)
{
	int64_t size = 0, count = 0, size_diff = 0, count_diff = 0;

	for (size_t i = 0; i < st->nstats; i++) {
		const struct snap_stat *g = &st->stats[i];
		if (!g->key || g->count < 0 || g->size < 0 ||
		    (!is_diff && !is_by_total && g->count == 0) ||
		    (is_by_total && !g->count && !g->total_count && !g->count_diff &&
		     !g->total_count_diff))
			__builtin_trap();
		size += g->size;
		count += g->count;
		size_diff += g->size_diff;
		count_diff += g->count_diff;
	}
	if (size != st->size || count != st->count || size_diff != st->size_diff ||
	    count_diff != st->count_diff)
		__builtin_trap();
}

static void check_stats(const struct snap_stats *st, int is_diff)
{
	check_stats_by(st, is_diff, 0);
}

/* The size histogram as read: each bucket's live counts within its
 * totals, and nothing past it when the file has none. */
static void check_sizes(const struct snapshot *s)
{
	uint64_t blocks = 0;

	for (int k = 0; k < FMT_SIZE_BUCKETS; k++) {
		const struct fmt_size_bucket *b = &s->sizes[k];
		if (b->live_blocks > b->total_blocks || b->live_bytes > b->total_bytes ||
		    (!b->live_blocks && b->live_bytes) || blocks + b->total_blocks < blocks)
			__builtin_trap();
		blocks += b->total_blocks;
	}
	if (!s->has_sizes && blocks)
		__builtin_trap();
}

static void exercise(const struct snapshot *s)
{
	static const char *include[] = { "*.c", "libc*", "[" };
	static const char *exclude[] = { "b.c", "/bin/*" };
	struct snap_filter filters[] = {
		{ include, 1, NULL, 0, 0 },
		{ include, 3, exclude, 2, 1 },
		{ NULL, 0, exclude, 1, 0 },
	};
	struct symbolizer *sym = symbolizer_new(&s->modules);
	struct snap_stats st;
	int64_t live = 0;

	check_sizes(s);
	if (!sym)
		return;
	for (size_t i = 0; i < s->ntraces; i++)
		live += (int64_t)s->traces[i].live_bytes;
	for (int key = SNAP_BY_LINENO; key <= SNAP_BY_TRACEBACK; key++) {
		snapshot_statistics(s, sym, key, NULL, &st);
		check_stats(&st, 0);
		if (st.size != live)	/* no filter: every live byte is in a group */
			__builtin_trap();
		snapshot_stats_release(&st);

		snapshot_compare(s, sym, s, sym, key, NULL, &st);
		check_stats(&st, 1);
		if (st.size_diff || st.count_diff)	/* a snapshot against itself */
			__builtin_trap();
		snapshot_stats_release(&st);

		/* By each total: groups with nothing live too; against itself
		 * every total's change is 0. */
		for (int sort = SNAP_SORT_COUNT; sort <= SNAP_SORT_TEMPORARY_COUNT; sort++) {
			struct snap_filter by = { .sort = sort, .at_peak = sort & 1 };
			uint64_t temps = 0;
			snapshot_statistics(s, sym, key, &by, &st);
			check_stats_by(&st, 0, snapshot_sort_is_total(sort));
			for (size_t i = 0; i < st.nstats; i++)
				temps += st.stats[i].temp_count;
			if (temps != st.temp_count || st.temp_count > st.total_count)
				__builtin_trap();
			snapshot_stats_release(&st);
			snapshot_compare(s, sym, s, sym, key, &by, &st);
			check_stats_by(&st, 1, snapshot_sort_is_total(sort));
			if (st.total_size_diff || st.total_count_diff || st.temp_count_diff)
				__builtin_trap();
			snapshot_stats_release(&st);
		}

		for (size_t f = 0; f < sizeof(filters) / sizeof(filters[0]); f++) {
			snapshot_statistics(s, sym, key, &filters[f], &st);
			check_stats(&st, 0);
			snapshot_stats_release(&st);
		}
	}
	symbolizer_free(sym);
}

/* The timeline the reader accepted is in time order, and the html chart
 * draws whatever it holds (huge values, one sample, none). */
static void exercise_timeline(struct snapshot *s)
{
	if (!s->has_timeline)
		return;
	for (uint32_t i = 1; i < s->timeline.nsamples; i++)
		if (s->samples[i].t_ns < s->samples[i - 1].t_ns)
			__builtin_trap();
	FILE *sink = fopen("/dev/null", "w");
	if (!sink)
		return;
	struct loaded in[2] = { { .path = "fuzz.snap", .s = s }, { .path = "fuzz.snap", .s = s } };
	html_timeline_write(sink, in, 2, 0);
	fclose(sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fmt_file f;
	char err[512] = "";

	if (fuzz_input_parse(&f, data, size, "fuzz.snap", err, sizeof(err)) < 0)
		return 0;
	struct snapshot *s = snapshot_parse(&f, err, sizeof(err));
	if (!s) {
		if (!err[0])
			__builtin_trap();
	} else {
		exercise(s);
		exercise_timeline(s);
		snapshot_free(s);
	}
	fmt_file_close(&f);
	return 0;
}
