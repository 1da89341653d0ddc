/*
 * The snapshot reader (reporter/snapshot.c): refuses truncated, corrupt
 * and foreign files with one line, and aggregates exactly. Snapshots are
 * written here with the runtimes' own writer (common/format.c), with
 * frames that are addresses inside this test binary.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "modmap.h"
#include "snapshot.h"

static char dir[] = "/tmp/cprof-test-snapshot.XXXXXX";
static struct fmt_writer writer;

static void make_tmpdir(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmpdir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(snapshot, .init = make_tmpdir, .fini = rm_tmpdir);

/* Two functions whose addresses stand for allocation sites. */
__attribute__((noinline)) static int site_a(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) static int site_b(int x)
{
	return x * 5 + 2;
}

struct trace_row {
	uint64_t live_bytes, live_blocks, total_bytes, total_blocks;
	uint32_t nframes;
	uint64_t frames[4];
};

enum corruption {
	NONE, BAD_NFRAMES, COUNT_MISMATCH, LIVE_OVER_TOTAL, NO_INFO, STRAY_BYTES, SUMS_OVERFLOW
};

static const char *write_snapshot(const char *name, uint16_t kind, const struct trace_row *rows,
				  uint32_t n, enum corruption how)
{
	struct fmt_meta meta = { .pid = 42, .seq = 1, .ns_per_tick = 1.0 };
	struct fmt_snap_info info = { .max_frames = 16, .ntraces = n };
	static char path[512];

	strcpy(meta.program, "/bin/test-program");
	strcpy(meta.label, "exit");
	for (uint32_t i = 0; i < n; i++) {
		info.current_bytes += rows[i].live_bytes;
		info.current_blocks += rows[i].live_blocks;
	}
	if (how == COUNT_MISMATCH)
		info.ntraces = n + 1;
	cr_assert_eq(fmt_writer_open(&writer, dir, name, kind,
				     kind == FMT_KIND_SNAPSHOT ? FMT_FEAT_TRACE_TOTALS | FMT_FEAT_TRACE_PEAK : 0),
		     0);
	fmt_writer_begin(&writer, FMT_SEC_META, 1);
	fmt_writer_put(&writer, &meta, sizeof(meta));
	fmt_writer_end(&writer);
	modmap_write(&writer);
	if (how != NO_INFO) {
		fmt_writer_begin(&writer, FMT_SEC_SNAP_INFO, 1);
		fmt_writer_put(&writer, &info, sizeof(info));
		fmt_writer_end(&writer);
	}
	fmt_writer_begin(&writer, FMT_SEC_TRACES, n);
	for (uint32_t i = 0; i < n; i++) {
		struct fmt_trace t = {
			.live_bytes = rows[i].live_bytes, .live_blocks = rows[i].live_blocks,
			.total_bytes = rows[i].total_bytes, .total_blocks = rows[i].total_blocks,
			.nframes = rows[i].nframes,
		};
		if (how == BAD_NFRAMES && i == 0)
			t.nframes = FMT_FRAMES_MAX + 1;
		if (how == LIVE_OVER_TOTAL && i == 0)
			t.live_blocks = t.total_blocks + 1;
		/* found by fuzz_snapshot: counts past INT64_MAX once summed */
		if (how == SUMS_OVERFLOW && i == 1)
			t.total_blocks = (uint64_t)INT64_MAX;
		fmt_writer_put(&writer, &t, sizeof(t));
		fmt_writer_put(&writer, rows[i].frames, rows[i].nframes * sizeof(uint64_t));
	}
	if (how == STRAY_BYTES)
		fmt_writer_put(&writer, "12345678", 8);
	fmt_writer_end(&writer);
	cr_assert_eq(fmt_writer_commit(&writer), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* Return addresses a little past each function's entry. */
#define A ((uint64_t)(uintptr_t)site_a + 4)
#define B ((uint64_t)(uintptr_t)site_b + 4)

static const struct trace_row rows[] = {
	/* site_a reached from two callers: one line, two tracebacks */
	{ 1000, 10, 5000, 50, 2, { A, B } },
	{ 300, 3, 300, 3, 2, { A, A } },
	{ 64, 1, 64, 1, 1, { B } },
	{ 0, 0, 777, 7, 1, { B } },	/* all freed: not in statistics */
	{ 5, 1, 5, 1, 0, { 0 } },	/* stack unknown */
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static struct snapshot *parse_path(const char *path, char *err, size_t errlen)
{
	struct fmt_file f;

	if (fmt_file_open(&f, path, err, errlen) < 0)
		return NULL;
	struct snapshot *s = snapshot_parse(&f, err, errlen);
	fmt_file_close(&f);
	return s;
}

Test(snapshot, loads_every_trace)
{
	char err[512] = "";
	struct snapshot *s = parse_path(write_snapshot("a.snap", FMT_KIND_SNAPSHOT, rows, NROWS, NONE),
					err, sizeof(err));

	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(s->ntraces, NROWS);
	cr_assert_str_eq(s->meta.label, "exit");
	cr_assert_eq(s->info.current_bytes, 1369);
	cr_assert_eq(s->traces[0].nframes, 2);
	cr_assert_eq(s->traces[0].frames[1], B);
	cr_assert_eq(s->traces[4].nframes, 0);
	snapshot_free(s);
}

Test(snapshot, aggregates_by_line_exactly)
{
	char err[512] = "";
	struct snapshot *s = parse_path(write_snapshot("a.snap", FMT_KIND_SNAPSHOT, rows, NROWS, NONE),
					err, sizeof(err));
	struct snap_stats st;

	cr_assert_not_null(s, "%s", err);
	struct symbolizer *sym = symbolizer_new(&s->modules);
	snapshot_statistics(s, sym, SNAP_BY_LINENO, NULL, &st);
	cr_assert_eq(st.nstats, 3, "site_a, site_b, unknown: got %zu", st.nstats);
	cr_assert_eq(st.stats[0].size, 1300);
	cr_assert_eq(st.stats[0].count, 13);
	cr_assert_str_eq(st.stats[0].function, "site_a");
	cr_assert(strstr(st.stats[0].file, "test_snapshot.c"), "%s", st.stats[0].file);
	cr_assert_eq(st.stats[1].size, 64);
	cr_assert_str_eq(st.stats[1].function, "site_b");
	cr_assert_eq(st.stats[2].size, 5);
	cr_assert_str_eq(st.stats[2].file, "<unknown>");
	cr_assert_eq(st.size, 1369);
	cr_assert_eq(st.count, 15);
	snapshot_stats_release(&st);

	snapshot_statistics(s, sym, SNAP_BY_TRACEBACK, NULL, &st);
	cr_assert_eq(st.nstats, 4, "each stack its own entry: got %zu", st.nstats);
	cr_assert_eq(st.stats[0].size, 1000);
	cr_assert_eq(st.stats[0].total_count, 50);
	cr_assert_eq(st.stats[0].nframes, 2);
	cr_assert_str_eq(st.stats[0].frames[1].function, "site_b");
	snapshot_stats_release(&st);

	snapshot_statistics(s, sym, SNAP_BY_FILENAME, NULL, &st);
	cr_assert_eq(st.nstats, 2);
	cr_assert_eq(st.stats[0].size, 1364);
	snapshot_stats_release(&st);
	symbolizer_free(sym);
	snapshot_free(s);
}

Test(snapshot, filters_and_compares)
{
	static const struct trace_row older[] = {
		{ 100, 1, 100, 1, 1, { A } },
		{ 64, 1, 64, 1, 1, { B } },
	};
	char err[512] = "";
	struct snapshot *o = parse_path(write_snapshot("o.snap", FMT_KIND_SNAPSHOT, older, 2, NONE),
					err, sizeof(err));
	struct snapshot *n = parse_path(write_snapshot("n.snap", FMT_KIND_SNAPSHOT, rows, NROWS, NONE),
					err, sizeof(err));
	struct snap_stats st;
	const char *exclude[] = { "<unknown>" };
	struct snap_filter f = { .exclude = exclude, .nexclude = 1 };

	cr_assert(o && n, "%s", err);
	struct symbolizer *os = symbolizer_new(&o->modules), *ns = symbolizer_new(&n->modules);
	snapshot_compare(o, os, n, ns, SNAP_BY_LINENO, &f, &st);
	cr_assert_eq(st.nstats, 2, "unknown excluded, site_b unchanged but live: %zu", st.nstats);
	cr_assert_str_eq(st.stats[0].function, "site_a");
	cr_assert_eq(st.stats[0].size_diff, 1200);
	cr_assert_eq(st.stats[0].count_diff, 12);
	cr_assert_eq(st.stats[1].size_diff, 0);
	cr_assert_eq(st.size_diff, 1200);
	snapshot_stats_release(&st);
	/* Reversed: site_a shrinks, sorted by the absolute difference. */
	snapshot_compare(n, ns, o, os, SNAP_BY_LINENO, NULL, &st);
	cr_assert_eq(st.stats[0].size_diff, -1200);
	cr_assert_eq(st.stats[0].size, 100);
	cr_assert_eq(st.stats[1].size_diff, -5, "the unknown site went away");
	cr_assert_eq(st.stats[1].count, 0);
	snapshot_stats_release(&st);
	symbolizer_free(os);
	symbolizer_free(ns);
	snapshot_free(o);
	snapshot_free(n);
}

struct bad_case {
	enum corruption how;
	const char *message;
};

Test(snapshot, rejects_corrupt_records)
{
	static const struct bad_case cases[] = {
		{ BAD_NFRAMES, "bad trace record 0" },
		{ COUNT_MISMATCH, "does not match its traces" },
		{ LIVE_OVER_TOTAL, "bad trace record 0" },
		{ NO_INFO, "snapshot info section is missing" },
		{ STRAY_BYTES, "stray bytes after its traces" },
		{ SUMS_OVERFLOW, "bad trace record 1" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "", name[32];
		snprintf(name, sizeof(name), "bad%zu.snap", i);
		struct snapshot *s = parse_path(
			write_snapshot(name, FMT_KIND_SNAPSHOT, rows, NROWS, cases[i].how), err,
			sizeof(err));
		cr_assert_null(s, "case %zu accepted", i);
		cr_assert(strstr(err, cases[i].message), "case %zu: '%s'", i, err);
		cr_assert_null(strchr(err, '\n'), "one line");
	}
}

Test(snapshot, rejects_a_call_profile)
{
	char err[512] = "";
	struct snapshot *s = parse_path(write_snapshot("x.prof", FMT_KIND_PROFILE, rows, NROWS, NONE),
					err, sizeof(err));

	cr_assert_null(s);
	cr_assert(strstr(err, "is a call profile, not a memory snapshot"), "%s", err);
}

/* Parses a copy of the first len bytes; NULL with err set on refusal. */
static struct snapshot *parse_bytes(const unsigned char *data, size_t len, char *err,
				    size_t errlen)
{
	struct fmt_file f;
	unsigned char *copy = malloc(len ? len : 1);

	cr_assert_not_null(copy);
	memcpy(copy, data, len);
	if (fmt_file_parse(&f, copy, len, "x.snap", err, errlen) < 0)
		return NULL;
	struct snapshot *s = snapshot_parse(&f, err, errlen);
	fmt_file_close(&f);
	return s;
}

static size_t read_snapshot(const char *name, unsigned char *data, size_t cap)
{
	const char *path = write_snapshot(name, FMT_KIND_SNAPSHOT, rows, NROWS, NONE);
	FILE *in = fopen(path, "rb");

	cr_assert_not_null(in);
	size_t size = fread(data, 1, cap, in);
	fclose(in);
	cr_assert(size > 100 && size < cap, "snapshot of %zu bytes", size);
	return size;
}

Test(snapshot, rejects_every_truncation)
{
	static unsigned char data[1 << 16];
	size_t size = read_snapshot("t.snap", data, sizeof(data));
	char err[512];
	struct snapshot *whole = parse_bytes(data, size, err, sizeof(err));

	cr_assert_not_null(whole, "the whole file: %s", err);
	snapshot_free(whole);
	for (size_t len = 0; len < size; len++) {
		err[0] = 0;
		cr_assert_null(parse_bytes(data, len, err, sizeof(err)), "accepted %zu of %zu bytes",
			       len, size);
		const char *want = len == 0 ? "is empty"
				 : len < sizeof(struct fmt_header) ? "is not a cprof file"
								    : "is truncated";
		cr_assert_not_null(strstr(err, want), "%zu bytes: '%s' lacks '%s'", len, err, want);
	}
}

/* Fields of s that differ from orig (meta, info, each trace and frame). */
static int fields_changed(const struct snapshot *orig, const struct snapshot *s)
{
	int n = memcmp(&orig->meta, &s->meta, sizeof(s->meta)) != 0;

	n += memcmp(&orig->info, &s->info, sizeof(s->info)) != 0;
	for (size_t i = 0; i < s->ntraces; i++) {
		const struct snap_trace *a = &orig->traces[i], *b = &s->traces[i];
		n += (a->live_bytes != b->live_bytes) + (a->live_blocks != b->live_blocks) +
		     (a->total_bytes != b->total_bytes) + (a->total_blocks != b->total_blocks) +
		     (a->nframes != b->nframes) + (a->gen != b->gen);
		for (uint32_t k = 0; k < a->nframes && a->nframes == b->nframes; k++)
			n += a->frames[k] != b->frames[k];
	}
	return n;
}

/*
 * One flipped byte changes one field. The reader either refuses the file
 * with a line naming it, or reads every trace, each checked as the reader
 * promises (live within total, frames within bounds), with at most that
 * one field different from the intact file's.
 */
Test(snapshot, survives_flipped_bytes)
{
	static unsigned char data[1 << 16];
	size_t size = read_snapshot("f.snap", data, sizeof(data));
	char err[512];
	struct snapshot *orig = parse_bytes(data, size, err, sizeof(err));
	int accepted = 0, refused = 0;

	cr_assert_not_null(orig, "%s", err);
	srand(1);
	for (int round = 0; round < 300; round++) {
		size_t at = (size_t)rand() % size;
		unsigned char saved = data[at];
		data[at] ^= (unsigned char)(1 + rand() % 255);
		err[0] = 0;
		struct snapshot *s = parse_bytes(data, size, err, sizeof(err));
		if (!s) {
			refused++;
			cr_assert(strncmp(err, "'x.snap' ", 9) == 0, "byte %zu: error '%s'", at, err);
		} else {
			accepted++;
			cr_assert_eq(s->ntraces, NROWS, "byte %zu", at);
			for (size_t i = 0; i < s->ntraces; i++) {
				cr_assert_leq(s->traces[i].live_blocks, s->traces[i].total_blocks);
				cr_assert_leq(s->traces[i].nframes, FMT_FRAMES_MAX);
			}
			cr_assert_leq(fields_changed(orig, s), 1, "byte %zu changed %d fields", at,
				      fields_changed(orig, s));
			snapshot_free(s);
		}
		data[at] = saved;
	}
	cr_assert(accepted > 0 && refused > 0, "accepted %d, refused %d", accepted, refused);
	snapshot_free(orig);
}

Test(snapshot, sorts_by_a_total_over_the_run)
{
	char err[512] = "";
	struct snapshot *s = parse_path(write_snapshot("a.snap", FMT_KIND_SNAPSHOT, rows, NROWS, NONE),
					err, sizeof(err));
	struct snap_filter by = { .sort = SNAP_SORT_ALLOCATED_SIZE };
	struct snap_stats st;

	cr_assert_not_null(s, "%s", err);
	struct symbolizer *sym = symbolizer_new(&s->modules);
	snapshot_statistics(s, sym, SNAP_BY_LINENO, &by, &st);
	cr_assert_eq(st.nstats, 3);
	cr_assert_eq(st.stats[0].total_size, 5300);
	cr_assert_eq(st.stats[1].total_size, 841, "site_b's freed trace counts: %llu",
		     (unsigned long long)st.stats[1].total_size);
	cr_assert_eq(st.stats[1].total_count, 8);
	cr_assert_eq(st.stats[2].total_size, 5);
	cr_assert_eq(st.total_count, 62);
	snapshot_stats_release(&st);
	/* By live count: site_a first. */
	by.sort = SNAP_SORT_COUNT;
	snapshot_statistics(s, sym, SNAP_BY_LINENO, &by, &st);
	cr_assert_eq(st.stats[0].count, 13);
	snapshot_stats_release(&st);
	symbolizer_free(sym);
	snapshot_free(s);
}
