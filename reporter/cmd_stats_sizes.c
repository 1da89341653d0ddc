/*
 * `cprof stats SNAPSHOT --sizes`: the snapshot's allocation-size
 * histogram (power-of-two buckets of the requested size, common/format.h),
 * over the run and live now, as text rows with a bar or as JSON. Prints
 * only; the snapshot was checked when it was read (snapshot.c).
 */
#include "cmd_stats.h"
#include "util.h"

#include <math.h>
#include <stdio.h>

#define BAR_WIDTH 30

/* 2^n bytes exactly: "16 B", "4 KiB", "1 GiB" (n < 64). */
static void power_text(char *out, size_t cap, unsigned n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

	snprintf(out, cap, "%llu %s", 1ull << (n % 10), units[n / 10]);
}

/* "0 B" for bucket 0, else "[2^(k-1), 2^k)": min <= size < max + 1. */
static void range_text(char *out, size_t cap, unsigned k)
{
	char lo[16], hi[16];

	if (k == 0) {
		snprintf(out, cap, "0 B");
		return;
	}
	power_text(lo, sizeof(lo), k - 1);
	power_text(hi, sizeof(hi), k);
	snprintf(out, cap, "[%s, %s)", lo, hi);
}

static void print_json(const struct snapshot *s, const struct fmt_size_bucket *total)
{
	int n = 0;

	printf("{");
	cmd_stats_print_json_snapshot("snapshot", s);
	printf(",\"allocated_count\":%llu,\"allocated_size\":%llu,\"count\":%llu,\"size\":%llu,"
	       "\"sizes\":[",
	       (unsigned long long)total->total_blocks, (unsigned long long)total->total_bytes,
	       (unsigned long long)total->live_blocks, (unsigned long long)total->live_bytes);
	for (unsigned k = 0; k < FMT_SIZE_BUCKETS; k++) {
		const struct fmt_size_bucket *b = &s->sizes[k];
		if (!b->total_blocks)
			continue;
		printf("%s\n{\"min\":%llu,\"max\":%llu,\"allocated_count\":%llu,"
		       "\"allocated_size\":%llu,\"count\":%llu,\"size\":%llu}",
		       n++ ? "," : "", (unsigned long long)fmt_size_bucket_min(k),
		       (unsigned long long)fmt_size_bucket_max(k),
		       (unsigned long long)b->total_blocks, (unsigned long long)b->total_bytes,
		       (unsigned long long)b->live_blocks, (unsigned long long)b->live_bytes);
	}
	printf("]}\n");
}

static void print_text(const struct snapshot *s, const struct fmt_size_bucket *total,
		       uint64_t most_calls)
{
	char range[40], a[32], b[32];

	cmd_stats_print_header(s);
	printf("Allocation sizes (requested bytes; [a, b): a <= size < b), over the run and live now:\n");
	printf("%-20s %12s %10s %10s %10s\n", "size", "calls", "allocated", "live", "live size");
	for (unsigned k = 0; k < FMT_SIZE_BUCKETS; k++) {
		const struct fmt_size_bucket *z = &s->sizes[k];
		if (!z->total_blocks)
			continue;
		range_text(range, sizeof(range), k);
		util_format_bytes(a, sizeof(a), (double)z->total_bytes, 0);
		util_format_bytes(b, sizeof(b), (double)z->live_bytes, 0);
		/* Calls, to scale; any call at all shows one mark. */
		int bar = (int)ceil((double)BAR_WIDTH * (double)z->total_blocks / (double)most_calls);
		printf("%-20s %12llu %10s %10llu %10s  %.*s\n", range,
		       (unsigned long long)z->total_blocks, a, (unsigned long long)z->live_blocks, b,
		       bar, "##############################");
	}
	util_format_bytes(a, sizeof(a), (double)total->total_bytes, 0);
	util_format_bytes(b, sizeof(b), (double)total->live_bytes, 0);
	printf("Total: calls=%llu, allocated=%s, live=%llu, live size=%s\n",
	       (unsigned long long)total->total_blocks, a, (unsigned long long)total->live_blocks,
	       b);
}

int cmd_stats_print_sizes(const struct snapshot *s, int is_json)
{
	struct fmt_size_bucket total = { 0 };
	uint64_t most_calls = 0;

	if (!s->has_sizes)
		return error("'%s': this snapshot has no size histogram (written by an older cprof; take a new snapshot for --sizes)",
			     s->path);
	/* Sums within 64 bits: snapshot.c checked the totals' (live <= total). */
	for (unsigned k = 0; k < FMT_SIZE_BUCKETS; k++) {
		const struct fmt_size_bucket *z = &s->sizes[k];
		total.total_blocks += z->total_blocks;
		total.total_bytes += z->total_bytes;
		total.live_blocks += z->live_blocks;
		total.live_bytes += z->live_bytes;
		if (z->total_blocks > most_calls)
			most_calls = z->total_blocks;
	}
	if (is_json)
		print_json(s, &total);
	else
		print_text(s, &total, most_calls);
	return 0;
}
