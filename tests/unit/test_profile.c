/*
 * Loading call profiles (reporter/profile.c) from files crafted byte by
 * byte: every malformed count, index, size and calibration is refused with
 * one line; a valid file gives its exact node values back in seconds.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/format.h"
#include "../../reporter/profile.h"

static char tmpdir[64];
static char err[1024];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/cprof-test-profile-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tmpdir(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(profile, .init = make_tmpdir, .fini = rm_tmpdir);

/* ---- a file in memory, laid out as format.h says, independent of fmt_writer ---- */

struct buf {
	unsigned char *data;
	size_t len, cap;
	size_t section_at;
	uint32_t nsections;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->data = realloc(b->data, b->cap);
		cr_assert_not_null(b->data);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void header(struct buf *b, uint16_t kind, uint32_t features)
{
	struct fmt_header h = { .version = FMT_VERSION, .kind = kind, .features = features };

	memcpy(h.magic, FMT_MAGIC, FMT_MAGIC_LEN);
	memset(b, 0, sizeof(*b));
	put(b, &h, sizeof(h));
}

static void begin(struct buf *b, uint32_t type, uint32_t count)
{
	struct fmt_section s = { .type = type, .count = count };

	b->section_at = b->len;
	put(b, &s, sizeof(s));
}

static void end(struct buf *b)
{
	static const unsigned char zeros[8];
	uint64_t size = b->len - b->section_at - sizeof(struct fmt_section);

	memcpy(b->data + b->section_at + 8, &size, sizeof(size));
	put(b, zeros, (8 - size % 8) % 8);
	b->nsections++;
}

static void finish(struct buf *b)
{
	begin(b, FMT_SEC_END, b->nsections);
	b->nsections--;	/* END does not count itself */
	end(b);
}

#define NS_PER_TICK 0.5
#define INNER_TICKS 4.0
#define OUTER_TICKS 6.0

static struct fmt_meta default_meta(void)
{
	struct fmt_meta m = {
		.pid = 42,
		.ppid = 1,
		.elapsed_ticks = 10000,
		.ns_per_tick = NS_PER_TICK,
		.overhead_inner_ticks = INNER_TICKS,
		.overhead_outer_ticks = OUTER_TICKS,
		.nthreads = 1,
	};
	strcpy(m.program, "/bin/app");
	return m;
}

static void put_meta(struct buf *b, const struct fmt_meta *m, size_t size)
{
	unsigned char raw[sizeof(*m) + 64] = { 0 };

	memcpy(raw, m, sizeof(*m));
	begin(b, FMT_SEC_META, 1);
	put(b, raw, size);
	end(b);
}

/* One module: "/bin/app" at 0x1000..0x3000 with a 4-byte build-id. */
static void put_modules(struct buf *b)
{
	struct fmt_module m = {
		.start = 0x1000, .end = 0x3000, .bias = 0x1000, .build_id_len = 4, .path_len = 8,
		.build_id = { 0xde, 0xad, 0xbe, 0xef },
	};

	begin(b, FMT_SEC_MODULES, 1);
	put(b, &m, sizeof(m));
	put(b, "/bin/app", 8);
	end(b);
}

/* A thread section claiming nnodes, holding nodes[0..n). */
static void put_thread(struct buf *b, uint64_t tid, uint64_t nnodes, const struct fmt_node *nodes,
		       size_t n)
{
	struct fmt_thread t = { .tid = tid, .nnodes = nnodes };

	strcpy(t.name, "worker");
	begin(b, FMT_SEC_THREAD, 1);
	put(b, &t, sizeof(t));
	if (n)
		put(b, nodes, n * sizeof(*nodes));
	end(b);
}

/* root -> 0x1100 (1 call) -> 0x1200 (3 calls), in ticks. */
static const struct fmt_node good_nodes[3] = {
	{ .fn = 0, .parent = 0, .calls = 0, .incl_ticks = 2400, .self_ticks = 400 },
	{ .fn = 0x1100, .parent = 0, .calls = 1, .incl_ticks = 2000, .self_ticks = 500 },
	{ .fn = 0x1200, .parent = 1, .calls = 3, .incl_ticks = 1500, .self_ticks = 1500 },
};

/* A whole valid profile of one thread (tid 7) with these nodes. */
static void good_file(struct buf *b, const struct fmt_node *nodes, size_t n)
{
	struct fmt_meta m = default_meta();

	header(b, FMT_KIND_PROFILE, 0);
	put_meta(b, &m, sizeof(m));
	put_modules(b);
	put_thread(b, 7, n, nodes, n);
	finish(b);
}

/*
 * Container checks must pass (these tests are about the profile layer);
 * then profile_parse. Frees b's bytes. NULL with the message in err.
 */
static struct profile *load(struct buf *b)
{
	struct fmt_file f;
	unsigned char *copy = malloc(b->len);	/* exact size: ASan sees overreads */

	memcpy(copy, b->data, b->len);
	free(b->data);
	b->data = NULL;
	cr_assert_eq(fmt_file_parse(&f, copy, b->len, "x.prof", err, sizeof(err)), 0,
		     "the container is refused: %s", err);
	err[0] = 0;
	struct profile *p = profile_parse(&f, err, sizeof(err));
	fmt_file_close(&f);
	if (!p)
		cr_assert_neq(err[0], 0, "refused without a message");
	return p;
}

static void assert_refused(struct buf *b, const char *expect)
{
	struct profile *p = load(b);

	cr_assert_null(p, "accepted, expected: %s", expect);
	cr_assert_str_eq(err, expect);
}

/* ---- accepted ---- */

Test(profile, accepts_minimal_profile_with_exact_values)
{
	struct buf b;

	good_file(&b, good_nodes, 3);
	struct profile *p = load(&b);
	cr_assert_not_null(p, "%s", err);

	cr_assert_str_eq(p->path, "x.prof");
	cr_assert_eq(p->meta.pid, 42);
	cr_assert_str_eq(p->meta.program, "/bin/app");
	cr_assert_eq(p->is_counts_only, 0);
	/* ticks * ns_per_tick / 1e9 */
	cr_assert_float_eq(p->inner_s, 4 * 0.5 / 1e9, 1e-24);
	cr_assert_float_eq(p->outer_s, 6 * 0.5 / 1e9, 1e-24);

	cr_assert_eq(p->modules.count, 1);
	cr_assert_str_eq(p->modules.entries[0].path, "/bin/app");
	cr_assert_eq(p->modules.entries[0].start, 0x1000);
	cr_assert_eq(p->modules.entries[0].end, 0x3000);
	cr_assert_eq(p->modules.entries[0].build_id_len, 4);
	cr_assert_eq(p->modules.entries[0].build_id[3], 0xef);

	cr_assert_eq(p->nthreads, 1);
	cr_assert_eq(p->threads[0].tid, 7);
	cr_assert_str_eq(p->threads[0].name, "worker");
	cr_assert_eq(p->threads[0].root, 0);
	cr_assert_eq(p->threads[0].nnodes, 3);

	cr_assert_eq(p->nnodes, 3);
	static const struct {
		uint64_t fn;
		uint32_t parent;
		uint64_t calls;
		double incl_s, self_s;
	} want[] = {
		{ 0, 0, 0, 1.2e-6, 2e-7 },
		{ 0x1100, 0, 1, 1e-6, 2.5e-7 },
		{ 0x1200, 1, 3, 7.5e-7, 7.5e-7 },
	};
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(p->nodes[i].fn, want[i].fn, "node %zu", i);
		cr_assert_eq(p->nodes[i].parent, want[i].parent, "node %zu", i);
		cr_assert_eq(p->nodes[i].calls, want[i].calls, "node %zu", i);
		cr_assert_float_eq(p->nodes[i].incl_s, want[i].incl_s, 1e-20, "node %zu incl %.17g",
				   i, p->nodes[i].incl_s);
		cr_assert_float_eq(p->nodes[i].self_s, want[i].self_s, 1e-20, "node %zu self %.17g",
				   i, p->nodes[i].self_s);
	}
	profile_free(p);
}

Test(profile, second_thread_indexes_follow_the_first)
{
	struct buf b;
	struct fmt_meta m = default_meta();
	static const struct fmt_node two[4] = {
		{ .fn = 0 },
		{ .fn = 0x1300, .parent = 0, .calls = 2 },
		{ .fn = 0x1400, .parent = 1, .calls = 5 },
		{ .fn = 0x1500, .parent = 1, .calls = 6 },
	};

	header(&b, FMT_KIND_PROFILE, 0);
	put_meta(&b, &m, sizeof(m));
	put_modules(&b);
	put_thread(&b, 7, 3, good_nodes, 3);
	put_thread(&b, 8, 4, two, 4);
	finish(&b);
	struct profile *p = load(&b);
	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(p->nthreads, 2);
	cr_assert_eq(p->nnodes, 7);
	cr_assert_eq(p->threads[1].tid, 8);
	cr_assert_eq(p->threads[1].root, 3);
	cr_assert_eq(p->threads[1].nnodes, 4);
	static const uint32_t parents[7] = { 0, 0, 1, 3, 3, 4, 4 };
	for (size_t i = 0; i < 7; i++)
		cr_assert_eq(p->nodes[i].parent, parents[i], "node %zu: parent %u", i,
			     p->nodes[i].parent);
	cr_assert_eq(p->nodes[6].calls, 6);
	profile_free(p);
}

Test(profile, counts_only_profile_has_zero_times)
{
	struct buf b;
	struct fmt_meta m = default_meta();

	header(&b, FMT_KIND_PROFILE, FMT_FEAT_COUNTS_ONLY);
	put_meta(&b, &m, sizeof(m));
	put_modules(&b);
	put_thread(&b, 7, 3, good_nodes, 3);
	finish(&b);
	struct profile *p = load(&b);
	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(p->is_counts_only, 1);
	cr_assert_eq(p->inner_s, 0);
	cr_assert_eq(p->outer_s, 0);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(p->nodes[i].incl_s, 0);
		cr_assert_eq(p->nodes[i].self_s, 0);
		cr_assert_eq(p->nodes[i].calls, good_nodes[i].calls);
	}
	profile_free(p);
}

Test(profile, unterminated_strings_are_cut)
{
	struct buf b;
	struct fmt_meta m = default_meta();
	struct fmt_thread t = { .tid = 9, .nnodes = 1 };
	struct fmt_node root = { 0 };

	memset(m.program, 'p', sizeof(m.program));
	memset(m.label, 'l', sizeof(m.label));
	memset(t.name, 'n', sizeof(t.name));
	header(&b, FMT_KIND_PROFILE, 0);
	put_meta(&b, &m, sizeof(m));
	put_modules(&b);
	begin(&b, FMT_SEC_THREAD, 1);
	put(&b, &t, sizeof(t));
	put(&b, &root, sizeof(root));
	end(&b);
	finish(&b);
	struct profile *p = load(&b);
	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(strlen(p->meta.program), FMT_PROGRAM_MAX - 1);
	cr_assert_eq(strlen(p->meta.label), FMT_LABEL_MAX - 1);
	cr_assert_eq(strlen(p->threads[0].name), FMT_THREAD_NAME_MAX);
	profile_free(p);
}

/* ---- refused ---- */

Test(profile, rejects_memory_snapshot_naming_it)
{
	struct buf b;
	struct fmt_meta m = default_meta();

	header(&b, FMT_KIND_SNAPSHOT, 0);
	put_meta(&b, &m, sizeof(m));
	put_modules(&b);
	finish(&b);
	assert_refused(&b, "'x.prof' is a memory snapshot, not a call profile "
			   "(use 'cprof stats' or compare it with another snapshot)");
}

Test(profile, rejects_node_0_that_is_not_root)
{
	struct buf b;
	struct fmt_node nodes[3];

	memcpy(nodes, good_nodes, sizeof(nodes));
	nodes[0].fn = 0x1100;
	good_file(&b, nodes, 3);
	assert_refused(&b, "'x.prof' is corrupt: node 0 of thread 7 has a bad root");
}

Test(profile, rejects_second_root_inside_tree)
{
	struct buf b;
	struct fmt_node nodes[3];

	memcpy(nodes, good_nodes, sizeof(nodes));
	nodes[2].fn = 0;
	good_file(&b, nodes, 3);
	assert_refused(&b, "'x.prof' is corrupt: node 2 of thread 7 has a bad parent or function");
}

/* Parents must point backwards: own index, forwards, far away. */
ParameterizedTestParameters(profile, rejects_parent_cycle)
{
	static uint32_t parents[] = { 2, 3, 4, 1000, UINT32_MAX };
	return cr_make_param_array(uint32_t, parents, sizeof(parents) / sizeof(parents[0]));
}

ParameterizedTest(uint32_t *parent, profile, rejects_parent_cycle)
{
	struct buf b;
	struct fmt_node nodes[4];

	memcpy(nodes, good_nodes, sizeof(good_nodes));
	nodes[3] = (struct fmt_node){ .fn = 0x1300, .parent = 0, .calls = 1 };
	nodes[2].parent = *parent;
	good_file(&b, nodes, 4);
	assert_refused(&b, "'x.prof' is corrupt: node 2 of thread 7 has a bad parent or function");
}

struct count_row {
	uint64_t claimed;	/* fmt_thread.nnodes */
	uint32_t present;	/* node records that follow */
};

ParameterizedTestParameters(profile, rejects_node_count_not_matching_section)
{
	static struct count_row rows[] = {
		{ 4, 3 },			/* overflowing the section */
		{ 2, 3 },			/* short of it */
		{ 0, 0 },			/* no root */
		{ 0, 1 },
		{ UINT32_MAX, 3 },
		{ UINT64_MAX, 3 },		/* huge */
		{ (1ull << 32) + 3, 3 },	/* 3 in 32 bits */
		{ (1ull << 61) + 3, 3 },	/* times 40 wraps to exactly 3 records */
	};
	return cr_make_param_array(struct count_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct count_row *row, profile, rejects_node_count_not_matching_section)
{
	struct buf b;
	struct fmt_meta m = default_meta();
	char expect[256];
	size_t bytes = sizeof(struct fmt_thread) + row->present * sizeof(struct fmt_node);

	header(&b, FMT_KIND_PROFILE, 0);
	put_meta(&b, &m, sizeof(m));
	put_modules(&b);
	put_thread(&b, 7, row->claimed, good_nodes, row->present);
	finish(&b);
	snprintf(expect, sizeof(expect),
		 "'x.prof' is corrupt: thread 7 claims %llu nodes in %zu bytes",
		 (unsigned long long)row->claimed, bytes);
	assert_refused(&b, expect);
}

Test(profile, rejects_thread_record_too_short)
{
	struct buf b;
	struct fmt_meta m = default_meta();

	header(&b, FMT_KIND_PROFILE, 0);
	put_meta(&b, &m, sizeof(m));
	put_modules(&b);
	begin(&b, FMT_SEC_THREAD, 1);
	put(&b, "0123456789abcdefghijklmnopqrstu", sizeof(struct fmt_thread) - 1);
	end(&b);
	finish(&b);
	assert_refused(&b, "'x.prof' is corrupt: thread record too short");
}

ParameterizedTestParameters(profile, rejects_meta_of_wrong_size)
{
	static size_t sizes[] = { 0, 8, sizeof(struct fmt_meta) - 8, sizeof(struct fmt_meta) - 1,
				  sizeof(struct fmt_meta) + 1, sizeof(struct fmt_meta) + 8 };
	return cr_make_param_array(size_t, sizes, sizeof(sizes) / sizeof(sizes[0]));
}

ParameterizedTest(size_t *size, profile, rejects_meta_of_wrong_size)
{
	struct buf b;
	struct fmt_meta m = default_meta();

	header(&b, FMT_KIND_PROFILE, 0);
	put_meta(&b, &m, *size);
	put_modules(&b);
	put_thread(&b, 7, 3, good_nodes, 3);
	finish(&b);
	assert_refused(&b, "'x.prof' is corrupt: its meta section is missing or malformed");
}

Test(profile, rejects_missing_meta)
{
	struct buf b;

	header(&b, FMT_KIND_PROFILE, 0);
	put_modules(&b);
	put_thread(&b, 7, 3, good_nodes, 3);
	finish(&b);
	assert_refused(&b, "'x.prof' is corrupt: its meta section is missing or malformed");
}

Test(profile, rejects_missing_module_map)
{
	struct buf b;
	struct fmt_meta m = default_meta();

	header(&b, FMT_KIND_PROFILE, 0);
	put_meta(&b, &m, sizeof(m));
	put_thread(&b, 7, 3, good_nodes, 3);
	finish(&b);
	assert_refused(&b, "'x.prof' is corrupt: its module map section is missing or malformed");
}

struct module_row {
	uint32_t count;		/* the section's record count */
	uint64_t start, end;
	uint16_t build_id_len, path_len;
	char path[16];		/* bytes put after the record (path_len of them, padded) */
	char expect[96];
};

ParameterizedTestParameters(profile, rejects_bad_module_map)
{
	static struct module_row rows[] = {
		{ 1, 0x1000, 0x2000, 4, 0, "", "bad module map entry 0" },
		{ 1, 0x2000, 0x2000, 4, 4, "/lib", "bad module map entry 0" },
		{ 1, 0x3000, 0x2000, 4, 4, "/lib", "bad module map entry 0" },
		{ 1, 0x1000, 0x2000, FMT_BUILD_ID_MAX + 1, 4, "/lib", "bad module map entry 0" },
		/* a path running past the section's end */
		{ 1, 0x1000, 0x2000, 4, 9, "/lib/x", "bad module map entry 0" },
		{ 1, 0x1000, 0x2000, 4, 4, "/l\0b", "bad module map entry 0" },	/* NUL inside */
		{ 2, 0x1000, 0x2000, 4, 4, "/lib", "module map claims 2 modules in 72 bytes" },
		{ 0x7fffffff, 0x1000, 0x2000, 4, 4, "/lib",
		  "module map claims 2147483647 modules in 72 bytes" },
	};
	return cr_make_param_array(struct module_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct module_row *row, profile, rejects_bad_module_map)
{
	struct buf b;
	struct fmt_meta m = default_meta();
	struct fmt_module mod = {
		.start = row->start, .end = row->end, .build_id_len = row->build_id_len,
		.path_len = row->path_len,
	};
	char padded[8] = { 0 };
	char expect[256];

	header(&b, FMT_KIND_PROFILE, 0);
	put_meta(&b, &m, sizeof(m));
	begin(&b, FMT_SEC_MODULES, row->count);
	put(&b, &mod, sizeof(mod));
	memcpy(padded, row->path, sizeof(padded));
	put(&b, padded, 8);	/* at most 8 path bytes, so 72 bytes in all */
	end(&b);
	put_thread(&b, 7, 3, good_nodes, 3);
	finish(&b);
	snprintf(expect, sizeof(expect), "'x.prof' is corrupt: %s", row->expect);
	assert_refused(&b, expect);
}

struct calib_row {
	double ns_per_tick, inner_ticks, outer_ticks;
};

ParameterizedTestParameters(profile, rejects_clock_calibration_out_of_range)
{
	static struct calib_row rows[] = {
		{ NAN, 4, 6 },
		{ 0, 4, 6 },
		{ -0.0, 4, 6 },
		{ -1, 4, 6 },
		{ 1e6, 4, 6 },
		{ INFINITY, 4, 6 },
		{ -INFINITY, 4, 6 },
		{ 0.5, NAN, 6 },
		{ 0.5, -1, 6 },
		{ 0.5, INFINITY, 6 },
		{ 0.5, 4, NAN },
		{ 0.5, 4, -0.5 },
		{ 0.5, 4, -INFINITY },
		{ 1e5, 1e308, 6 },	/* finite in ticks, +inf in seconds */
		{ 1e5, 4, 1e308 },
		{ 0.5, 2e6, 6 },	/* a millisecond a call: no hook costs that */
		{ 0.5, 4, 2e6 },
		{ 0.3, 1e308, 6 },	/* finite in seconds too, absurd all the same */
	};
	return cr_make_param_array(struct calib_row, rows, sizeof(rows) / sizeof(rows[0]));
}

ParameterizedTest(struct calib_row *row, profile, rejects_clock_calibration_out_of_range)
{
	struct buf b;
	struct fmt_meta m = default_meta();

	m.ns_per_tick = row->ns_per_tick;
	m.overhead_inner_ticks = row->inner_ticks;
	m.overhead_outer_ticks = row->outer_ticks;
	header(&b, FMT_KIND_PROFILE, 0);
	put_meta(&b, &m, sizeof(m));
	put_modules(&b);
	put_thread(&b, 7, 3, good_nodes, 3);
	finish(&b);
	assert_refused(&b, "'x.prof' is corrupt: its clock calibration is out of range");
}

Test(profile, accepts_calibration_at_its_limits)
{
	static const struct calib_row rows[] = {
		{ 1e-9, 0, 0 },
		{ 999999.0, 0, 0 },
		{ 0.3, 3.3e6, 3.3e6 },	/* 0.99 ms a call */
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct buf b;
		struct fmt_meta m = default_meta();
		m.ns_per_tick = rows[i].ns_per_tick;
		m.overhead_inner_ticks = rows[i].inner_ticks;
		m.overhead_outer_ticks = rows[i].outer_ticks;
		header(&b, FMT_KIND_PROFILE, 0);
		put_meta(&b, &m, sizeof(m));
		put_modules(&b);
		put_thread(&b, 7, 3, good_nodes, 3);
		finish(&b);
		struct profile *p = load(&b);
		cr_assert_not_null(p, "row %zu: %s", i, err);
		cr_assert_float_eq(p->inner_s, rows[i].inner_ticks * rows[i].ns_per_tick / 1e9,
				   1e-15);
		profile_free(p);
	}
}

/*
 * Found by fuzz/fuzz_profile.c (kept as fuzz/corpus/regress-calls-wrap.prof):
 * call counts that add up past 2^64 wrapped the report's sums, showing
 * more primitive calls than calls. Now refused, also across threads.
 */
Test(profile, rejects_call_counts_that_wrap)
{
	struct buf b;
	struct fmt_meta m = default_meta();
	struct fmt_node nodes[3];

	memcpy(nodes, good_nodes, sizeof(nodes));
	nodes[1].calls = 1ull << 63;
	nodes[2].calls = 1ull << 63;
	good_file(&b, nodes, 3);
	assert_refused(&b, "'x.prof' is corrupt: its call counts add up to more than 2^64");

	nodes[2].calls = (1ull << 63) - 1;	/* UINT64_MAX in all: still fits */
	good_file(&b, nodes, 3);
	struct profile *p = load(&b);
	cr_assert_not_null(p, "%s", err);
	profile_free(p);

	nodes[2].calls = 1;
	header(&b, FMT_KIND_PROFILE, 0);
	put_meta(&b, &m, sizeof(m));
	put_modules(&b);
	put_thread(&b, 7, 3, nodes, 3);
	put_thread(&b, 8, 3, nodes, 3);
	finish(&b);
	assert_refused(&b, "'x.prof' is corrupt: its call counts add up to more than 2^64");
}

/* ---- profile_open: one line on stderr ---- */

static const char *write_tmp(const char *name, struct buf *b)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b->data, b->len), (ssize_t)b->len);
	close(fd);
	free(b->data);
	b->data = NULL;
	return path;
}

Test(profile, open_reads_a_valid_file)
{
	struct buf b;

	good_file(&b, good_nodes, 3);
	const char *path = write_tmp("ok.prof", &b);
	struct profile *p = profile_open(path);
	cr_assert_not_null(p);
	cr_assert_str_eq(p->path, path);
	cr_assert_eq(p->nnodes, 3);
	cr_assert_eq(p->nodes[2].calls, 3);
	profile_free(p);
	profile_free(NULL);
}

Test(profile, open_reports_snapshot_on_one_line, .init = cr_redirect_stderr)
{
	struct buf b;
	char expect[512];
	struct fmt_meta m = default_meta();

	header(&b, FMT_KIND_SNAPSHOT, 0);
	put_meta(&b, &m, sizeof(m));
	finish(&b);
	const char *path = write_tmp("old.snap", &b);
	cr_assert_null(profile_open(path));
	snprintf(expect, sizeof(expect),
		 "cprof: '%s' is a memory snapshot, not a call profile "
		 "(use 'cprof stats' or compare it with another snapshot)\n",
		 path);
	fflush(stderr);
	cr_assert_stderr_eq_str(expect);
}

Test(profile, open_reports_missing_file_on_one_line, .init = cr_redirect_stderr)
{
	char expect[512];

	snprintf(expect, sizeof(expect),
		 "cprof: cannot open '%s/none.prof': No such file or directory\n", tmpdir);
	char path[128];
	snprintf(path, sizeof(path), "%s/none.prof", tmpdir);
	cr_assert_null(profile_open(path));
	fflush(stderr);
	cr_assert_stderr_eq_str(expect);
}
