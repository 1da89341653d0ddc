/*
 * The container format (common/format.c): files written by fmt_writer read
 * back byte for byte; the reader refuses every damaged or foreign file with
 * one line naming it; the writer never writes through a planted symlink.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/format.h"

static char tmpdir[64];
static struct fmt_writer w;	/* 64 KiB buffer: too big for a test's stack frame */
static char err[1024];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/cprof-test-format-XXXXXX");
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
	chmod(tmpdir, 0700);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(format, .init = make_tmpdir, .fini = rm_tmpdir);

static char *in_tmp(const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static void put_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0, "open '%s': %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The whole file in a buffer of exactly its size (malloc'ed, caller frees). */
static unsigned char *get_file(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0, "open '%s': %s", path, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	unsigned char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	cr_assert_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/*
 * A small valid file: sections of 5 bytes (3 of padding), 0 bytes and 8
 * bytes, then END. 16 + (16 + 8) + 16 + (16 + 8) + 16 = 96 bytes.
 */
#define SMALL_SIZE 96

static void write_small(const char *dir, const char *name)
{
	uint64_t word = 0x1122334455667788ull;

	cr_assert_eq(fmt_writer_open(&w, dir, name, FMT_KIND_PROFILE, 0), 0, "%s",
		     strerror(errno));
	fmt_writer_begin(&w, FMT_SEC_META, 1);
	fmt_writer_put(&w, "hello", 5);
	fmt_writer_end(&w);
	fmt_writer_begin(&w, FMT_SEC_MODULES, 0);
	fmt_writer_end(&w);
	fmt_writer_begin(&w, FMT_SEC_THREAD, 2);
	fmt_writer_put(&w, &word, sizeof(word));
	fmt_writer_end(&w);
	cr_assert_eq(fmt_writer_commit(&w), 0, "commit: %s", strerror(errno));
}

static unsigned char *small_bytes(size_t *len)
{
	write_small(tmpdir, "small.prof");
	unsigned char *data = get_file(in_tmp("small.prof"), len);
	cr_assert_eq(*len, SMALL_SIZE);
	return data;
}

/* fmt_file_parse on an exact-size heap copy of data[0..len). */
static int parse_copy(const unsigned char *data, size_t len)
{
	struct fmt_file f;
	unsigned char *copy = malloc(len ? len : 1);

	memcpy(copy, data, len);
	err[0] = 0;
	int rc = fmt_file_parse(&f, copy, len, "x.prof", err, sizeof(err));
	if (rc == 0)
		fmt_file_close(&f);
	else
		cr_assert_neq(err[0], 0, "refused without a message");
	return rc;
}

static void assert_refused(const unsigned char *data, size_t len, const char *expect)
{
	cr_assert_eq(parse_copy(data, len), -1, "accepted, expected: %s", expect);
	cr_assert_str_eq(err, expect);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- round trip ---- */

Test(format, round_trip_keeps_every_section_and_byte)
{
	enum { BIG = 70000 };	/* more than FMT_WRITER_BUF: flushes mid-section */
	static unsigned char big[BIG];
	uint64_t word = 42;
	struct fmt_file f;

	for (size_t i = 0; i < BIG; i++)
		big[i] = (unsigned char)(i * 7 + 3);
	cr_assert_eq(fmt_writer_open(&w, tmpdir, "rt.prof", FMT_KIND_PROFILE,
				     FMT_FEAT_COUNTS_ONLY),
		     0);
	fmt_writer_begin(&w, FMT_SEC_META, 1);
	fmt_writer_put(&w, "hello", 5);
	fmt_writer_end(&w);
	fmt_writer_begin(&w, FMT_SEC_MODULES, 3);
	fmt_writer_end(&w);
	fmt_writer_begin(&w, FMT_SEC_THREAD, 9);
	for (size_t i = 0; i < BIG; i += 1000)
		fmt_writer_put(&w, big + i, 1000);
	fmt_writer_end(&w);
	fmt_writer_begin(&w, FMT_SEC_TRACES, 1);
	fmt_writer_put(&w, &word, sizeof(word));
	fmt_writer_end(&w);
	cr_assert_eq(fmt_writer_commit(&w), 0, "commit: %s", strerror(errno));
	cr_assert_eq(w.fd, -1);

	cr_assert_eq(fmt_file_open(&f, in_tmp("rt.prof"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(f.size, 16 + (16 + 8) + 16 + (16 + BIG) + (16 + 8) + 16);
	cr_assert_eq(memcmp(f.header.magic, FMT_MAGIC, FMT_MAGIC_LEN), 0);
	cr_assert_eq(f.header.version, FMT_VERSION);
	cr_assert_eq(f.header.kind, FMT_KIND_PROFILE);
	cr_assert_eq(f.header.features, FMT_FEAT_COUNTS_ONLY);
	cr_assert_eq(f.nsections, 5);

	static const struct {
		uint32_t type, count;
		uint64_t size;
	} expect[] = {
		{ FMT_SEC_META, 1, 5 },
		{ FMT_SEC_MODULES, 3, 0 },
		{ FMT_SEC_THREAD, 9, BIG },
		{ FMT_SEC_TRACES, 1, 8 },
		{ FMT_SEC_END, 4, 0 },
	};
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq(f.sections[i].type, expect[i].type, "section %zu", i);
		cr_assert_eq(f.sections[i].count, expect[i].count, "section %zu", i);
		cr_assert_eq(f.sections[i].size, expect[i].size, "section %zu", i);
		cr_assert_eq((size_t)(f.sections[i].payload - f.data) % 8, 0, "section %zu", i);
	}
	cr_assert_eq(memcmp(f.sections[0].payload, "hello\0\0\0", 8), 0,
		     "payload and zero padding");
	cr_assert_eq(memcmp(f.sections[2].payload, big, BIG), 0);
	cr_assert_eq(memcmp(f.sections[3].payload, &word, 8), 0);
	cr_assert_eq(fmt_file_find(&f, FMT_SEC_THREAD), &f.sections[2]);
	cr_assert_null(fmt_file_find(&f, FMT_SEC_SNAP_INFO));
	fmt_file_close(&f);
	cr_assert_null(f.data);
	cr_assert_null(f.sections);

	cr_assert_eq(count_entries(tmpdir), 1, "the temporary file is gone");
}

Test(format, writer_creates_missing_output_directory)
{
	struct stat st;
	struct fmt_file f;

	write_small(in_tmp("out"), "a.prof");
	cr_assert_eq(stat(in_tmp("out"), &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(fmt_file_open(&f, in_tmp("out/a.prof"), err, sizeof(err)), 0, "%s", err);
	fmt_file_close(&f);
}

Test(format, writer_abort_removes_temporary)
{
	cr_assert_eq(fmt_writer_open(&w, tmpdir, "gone.prof", FMT_KIND_PROFILE, 0), 0);
	fmt_writer_begin(&w, FMT_SEC_META, 1);
	fmt_writer_put(&w, "x", 1);
	fmt_writer_abort(&w);
	cr_assert_eq(w.fd, -1);
	cr_assert_eq(count_entries(tmpdir), 0);
}

Test(format, names_each_kind)
{
	cr_assert_str_eq(fmt_kind_name(FMT_KIND_PROFILE), "call profile");
	cr_assert_str_eq(fmt_kind_name(FMT_KIND_SNAPSHOT), "memory snapshot");
	cr_assert_str_eq(fmt_kind_name(77), "unknown kind of cprof file");
}

/* ---- files the reader refuses ---- */

Test(format, rejects_missing_file)
{
	struct fmt_file f;
	char expect[512];
	const char *path = in_tmp("nope.prof");

	cr_assert_eq(fmt_file_open(&f, path, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "cannot open '%s': No such file or directory", path);
	cr_assert_str_eq(err, expect);
}

Test(format, rejects_directory)
{
	struct fmt_file f;
	char expect[512];

	cr_assert_eq(fmt_file_open(&f, tmpdir, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "'%s' is not a regular file", tmpdir);
	cr_assert_str_eq(err, expect);
}

Test(format, rejects_empty_file)
{
	struct fmt_file f;
	char expect[512];
	const char *path = in_tmp("empty.prof");

	put_file(path, "", 0);
	cr_assert_eq(fmt_file_open(&f, path, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect),
		 "'%s' is empty (the run may have been killed before writing it)", path);
	cr_assert_str_eq(err, expect);
}

Test(format, rejects_foreign_file)
{
	static const char *foreign[] = {
		"hello, world: not a profile at all\n",
		"\x7f" "ELF\2\1\1\0\0\0\0\0\0\0\0\0\3\0>\0",
		"CPROF\0\r",	/* a magic one byte short */
		"CPROF\0\n\r" "\1\0\1\0\0\0\0\0",	/* line ends swapped: text-mode mangling */
	};
	static const size_t lens[] = { 35, 20, 7, 16 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		assert_refused((const unsigned char *)foreign[i], lens[i],
			       "'x.prof' is not a cprof file (expected a .prof or .snap written by cprof)");
}

Test(format, rejects_future_version_naming_it)
{
	size_t len;
	unsigned char *data = small_bytes(&len);
	uint16_t version = 2;

	memcpy(data + 8, &version, 2);
	assert_refused(data, len,
		       "'x.prof' has format version 2; this cprof reads version 1 (use the cprof that wrote it)");
	version = 0;
	memcpy(data + 8, &version, 2);
	assert_refused(data, len,
		       "'x.prof' has format version 0; this cprof reads version 1 (use the cprof that wrote it)");
	free(data);
}

Test(format, rejects_unknown_feature_bit)
{
	size_t len;

	cr_assert_eq(fmt_writer_open(&w, tmpdir, "feat.prof", FMT_KIND_PROFILE,
				     FMT_FEAT_COUNTS_ONLY | 1u << 7),
		     0);
	cr_assert_eq(fmt_writer_commit(&w), 0);
	unsigned char *data = get_file(in_tmp("feat.prof"), &len);
	assert_refused(data, len,
		       "'x.prof' uses features 0x80 this cprof does not know (use a newer cprof)");
	free(data);
}

Test(format, rejects_unknown_kind)
{
	size_t len;
	unsigned char *data = small_bytes(&len);

	data[10] = 9;
	assert_refused(data, len, "'x.prof' is corrupt: unknown file kind 9");
	free(data);
}

Test(format, rejects_truncation_at_every_length)
{
	size_t len;
	unsigned char *data = small_bytes(&len);

	cr_assert_eq(parse_copy(data, len), 0, "the whole file: %s", err);
	for (size_t n = 0; n < len; n++) {
		cr_assert_eq(parse_copy(data, n), -1, "accepted the first %zu of %zu bytes", n,
			     len);
		const char *want = n == 0  ? "is empty"
				 : n < 16 ? "is not a cprof file"
					  : "is truncated";
		cr_assert_not_null(strstr(err, want), "%zu bytes: '%s' lacks '%s'", n, err, want);
	}
	free(data);
}

Test(format, truncation_message_names_file_and_offset)
{
	size_t len;
	unsigned char *data = small_bytes(&len);
	struct fmt_file f;
	char expect[512];
	const char *path = in_tmp("cut.prof");

	/* Cut 4 bytes into the first section's payload. */
	put_file(path, data, 36);
	cr_assert_eq(fmt_file_open(&f, path, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect),
		 "'%s' is truncated at byte 32 (section 1 needs 5 bytes, 4 left)", path);
	cr_assert_str_eq(err, expect);
	/* Cut at a section boundary: complete sections, but no END. */
	assert_refused(data, 56,
		       "'x.prof' is truncated (no end marker after 2 sections; the writer was interrupted)");
	/* Cut inside a section header. */
	assert_refused(data, 60, "'x.prof' is truncated at byte 56 (inside a section header)");
	free(data);
}

Test(format, rejects_section_larger_than_file)
{
	size_t len;
	unsigned char *data = small_bytes(&len);
	uint64_t huge = UINT64_MAX - 3;	/* would wrap if added to an offset */

	memcpy(data + 16 + 8, &huge, 8);
	assert_refused(data, len,
		       "'x.prof' is truncated at byte 32 (section 1 needs 18446744073709551612 bytes, 64 left)");
	free(data);
}

Test(format, rejects_stray_bytes_after_end)
{
	size_t len;
	unsigned char *data = small_bytes(&len);
	unsigned char *longer = calloc(1, len + 8);

	memcpy(longer, data, len);
	assert_refused(longer, len + 8, "'x.prof' is corrupt: 8 stray bytes after its end marker");
	assert_refused(longer, len + 3, "'x.prof' is corrupt: 3 stray bytes after its end marker");
	free(longer);
	free(data);
}

Test(format, rejects_end_count_mismatch)
{
	size_t len;
	unsigned char *data = small_bytes(&len);
	uint32_t count;
	uint64_t size = 0;

	memcpy(&count, data + len - 12, 4);
	cr_assert_eq(count, 3, "END counts the 3 sections before it");
	for (uint32_t wrong = 0; wrong < 6; wrong++) {
		if (wrong == 3)
			continue;
		memcpy(data + len - 12, &wrong, 4);
		assert_refused(data, len,
			       "'x.prof' is corrupt: its end marker does not match its sections");
	}
	memcpy(data + len - 12, &count, 4);
	cr_assert_eq(parse_copy(data, len), 0, "%s", err);

	/* An END with a payload is no END. */
	unsigned char *longer = calloc(1, len + 8);
	memcpy(longer, data, len);
	size = 8;
	memcpy(longer + len - 8, &size, 8);
	assert_refused(longer, len + 8,
		       "'x.prof' is corrupt: its end marker does not match its sections");
	free(longer);
	free(data);
}

/* ---- where the writer writes ---- */

static const char victim_text[] = "precious: must never change\n";

static void assert_victim_untouched(const char *path)
{
	size_t len;
	unsigned char *now = get_file(path, &len);

	cr_assert_eq(len, sizeof(victim_text) - 1, "the symlink's target was written");
	cr_assert_eq(memcmp(now, victim_text, len), 0, "the symlink's target was written");
	free(now);
}

static void assert_regular_profile(const char *path)
{
	struct stat st;
	struct fmt_file f;

	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode), "'%s' is not a regular file", path);
	cr_assert_eq(fmt_file_open(&f, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(f.size, SMALL_SIZE);
	fmt_file_close(&f);
}

Test(format, writer_never_follows_symlink_at_temporary_name)
{
	char tmpname[64];
	struct stat st;
	const char *victim = in_tmp("victim");

	put_file(victim, victim_text, sizeof(victim_text) - 1);
	snprintf(tmpname, sizeof(tmpname), ".app.prof.tmp%ld", (long)getpid());
	const char *planted = in_tmp(tmpname);
	cr_assert_eq(symlink(victim, planted), 0, "%s", strerror(errno));

	write_small(tmpdir, "app.prof");
	assert_victim_untouched(victim);
	assert_regular_profile(in_tmp("app.prof"));
	cr_assert_eq(lstat(planted, &st), -1, "the planted link is still there");
	cr_assert_eq(count_entries(tmpdir), 2);
}

Test(format, writer_replaces_symlink_at_final_name)
{
	struct stat st;
	const char *victim = in_tmp("victim");
	const char *final = in_tmp("app.prof");

	put_file(victim, victim_text, sizeof(victim_text) - 1);
	cr_assert_eq(symlink(victim, final), 0, "%s", strerror(errno));

	write_small(tmpdir, "app.prof");
	assert_victim_untouched(victim);
	cr_assert_eq(lstat(final, &st), 0);
	cr_assert(!S_ISLNK(st.st_mode), "the link was followed instead of replaced");
	assert_regular_profile(final);

	/* A dangling link at the final name creates nothing at its target. */
	cr_assert_eq(unlink(final), 0);
	cr_assert_eq(symlink(in_tmp("elsewhere"), final), 0);
	write_small(tmpdir, "app.prof");
	cr_assert_eq(lstat(in_tmp("elsewhere"), &st), -1);
	assert_regular_profile(final);
}

Test(format, writer_fails_in_unwritable_directory)
{
	const char *ro = in_tmp("ro");

	cr_assert_eq(mkdir(ro, 0555), 0);
	/* Root ignores mode bits: take an unprivileged effective uid for
	 * the call (this test runs in its own process), keep the saved one. */
	int was_root = geteuid() == 0;
	if (was_root) {
		cr_assert_eq(chmod(tmpdir, 0755), 0);
		cr_assert_eq(setresuid((uid_t)-1, 65534, 0), 0, "%s", strerror(errno));
	}
	errno = 0;
	int rc = fmt_writer_open(&w, ro, "x.prof", FMT_KIND_PROFILE, 0);
	int saved = errno;
	if (was_root)
		cr_assert_eq(seteuid(0), 0);
	cr_assert_eq(rc, -1);
	cr_assert_eq(saved, EACCES, "errno %d (%s)", saved, strerror(saved));
	cr_assert_eq(w.fd, -1);
	cr_assert_eq(count_entries(ro), 0);
}

Test(format, writer_fails_when_parent_directory_is_missing)
{
	errno = 0;
	cr_assert_eq(fmt_writer_open(&w, in_tmp("a/b"), "x.prof", FMT_KIND_PROFILE, 0), -1);
	cr_assert_eq(errno, ENOENT, "errno %d (%s)", errno, strerror(errno));
}

Test(format, commit_failure_removes_temporary)
{
	/* rename() of a file over a directory fails with EISDIR. */
	cr_assert_eq(mkdir(in_tmp("taken.prof"), 0755), 0);
	cr_assert_eq(fmt_writer_open(&w, tmpdir, "taken.prof", FMT_KIND_PROFILE, 0), 0);
	fmt_writer_begin(&w, FMT_SEC_META, 1);
	fmt_writer_put(&w, "x", 1);
	fmt_writer_end(&w);
	errno = 0;
	cr_assert_eq(fmt_writer_commit(&w), -1);
	cr_assert_eq(errno, EISDIR, "errno %d (%s)", errno, strerror(errno));
	cr_assert_eq(w.fd, -1);
	cr_assert_eq(count_entries(tmpdir), 1, "only the directory is left");
}

/* The histogram's buckets (FMT_SEC_SIZES): 0 alone, then [2^(k-1), 2^k). */
static const struct {
	uint64_t size;
	unsigned bucket;
} size_buckets[] = {
	{ 0, 0 },	     { 1, 1 },		{ 2, 2 },	       { 3, 2 },
	{ 4, 3 },	     { 15, 4 },		{ 16, 5 },	       { 24, 5 },
	{ 31, 5 },	     { 32, 6 },		{ 1023, 10 },	       { 1024, 11 },
	{ 4096, 13 },	     { 8191, 13 },	{ 100000, 17 },	       { (1ull << 40) - 1, 40 },
	{ 1ull << 40, 41 },  { (1ull << 62) - 1, 62 }, { 1ull << 62, 63 }, { INT64_MAX, 63 },
};

Test(format, size_bucket_is_the_bit_length)
{
	for (size_t i = 0; i < sizeof(size_buckets) / sizeof(size_buckets[0]); i++) {
		uint64_t size = size_buckets[i].size;
		unsigned k = fmt_size_bucket_of(size);
		cr_assert_eq(k, size_buckets[i].bucket, "size %llu: bucket %u, not %u",
			     (unsigned long long)size, k, size_buckets[i].bucket);
		cr_assert(k < FMT_SIZE_BUCKETS);
		cr_assert(fmt_size_bucket_min(k) <= size && size <= fmt_size_bucket_max(k),
			  "size %llu outside bucket %u [%llu, %llu]", (unsigned long long)size, k,
			  (unsigned long long)fmt_size_bucket_min(k),
			  (unsigned long long)fmt_size_bucket_max(k));
	}
}

Test(format, size_buckets_tile_every_size_below_2_63)
{
	cr_assert_eq(fmt_size_bucket_min(0), 0);
	cr_assert_eq(fmt_size_bucket_max(0), 0);
	for (unsigned k = 1; k < FMT_SIZE_BUCKETS; k++) {
		cr_assert_eq(fmt_size_bucket_min(k), fmt_size_bucket_max(k - 1) + 1, "bucket %u", k);
		cr_assert_eq(fmt_size_bucket_of(fmt_size_bucket_min(k)), k);
		cr_assert_eq(fmt_size_bucket_of(fmt_size_bucket_max(k)), k);
	}
	cr_assert_eq(fmt_size_bucket_max(FMT_SIZE_BUCKETS - 1), (uint64_t)INT64_MAX);
}
