/*
 * `cprof stats SNAPSHOT`: tracemalloc's Snapshot.statistics() over a
 * memory snapshot, as text or JSON, plus the leaks view (what is still
 * live at exit, by site). Also the option parsing and printing that
 * `cprof diff` shares for snapshots (cmd_diff_snap.c).
 */
#define _GNU_SOURCE
#include "cmd_stats.h"
#include "cmds.h"
#include "loaded.h"
#include "snapshot.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *key_names[] = { "lineno", "filename", "function", "traceback" };
#define SORT_NAMES "size, count, allocated_size, allocated_count or temporary_count"

void cmd_stats_options_release(struct stats_options *o)
{
	free(o->filter.include);
	free(o->filter.exclude);
	free(o->fail_over);
	memset(o, 0, sizeof(*o));
}

/* The by-site option --sizes was given with, or NULL (before --limit's
 * default is set). */
static const char *sizes_conflict(const struct stats_options *o)
{
	if (!o->is_sizes)
		return NULL;
	return o->has_by ? "--by"
	       : o->filter.at_peak ? "--peak"
	       : o->is_leaks ? "--leaks"
	       : o->filter.sort ? "--sort"
	       : o->filter.ninclude ? "--include"
	       : o->filter.nexclude ? "--exclude"
	       : o->filter.all_frames ? "--all-frames"
	       : o->limit >= 0 ? "--limit" : NULL;
}

int cmd_stats_parse_options(int argc, char **argv, struct stats_options *o, int nfiles,
			    int allow_leaks)
{
	static const struct option all[] = {
		{ "by", required_argument, NULL, 'b' },
		{ "limit", required_argument, NULL, 'l' },
		{ "include", required_argument, NULL, 'i' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "all-frames", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "fail-over", required_argument, NULL, 'f' },
		{ "leaks", optional_argument, NULL, 'L' },
		{ "sort", required_argument, NULL, 's' },
		{ "peak", no_argument, NULL, 'P' },
		{ "sizes", no_argument, NULL, 'S' },
		{ "timeline", no_argument, NULL, 'T' },
	};
	struct option longopts[sizeof(all) / sizeof(all[0]) + 1] = { { 0 } };
	size_t nopts = 0;
	int c;

	/* --fail-over is diff's; --leaks, --sizes and --timeline stats': the
	 * other one's is unknown. */
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if ((all[i].val != 'f' || nfiles == 2) &&
		    ((all[i].val != 'L' && all[i].val != 'S' && all[i].val != 'T') || allow_leaks))
			longopts[nopts++] = all[i];

	memset(o, 0, sizeof(*o));
	o->key = SNAP_BY_LINENO;
	o->limit = -1;
	o->filter.include = xcalloc((size_t)argc + 1, sizeof(char *));
	o->filter.exclude = xcalloc((size_t)argc + 1, sizeof(char *));
	o->fail_over = xcalloc((size_t)argc + 1, sizeof(char *));
	optind = 1;
	opterr = 0;
	/* ':' first: a missing value is told apart from an unknown option. */
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		const char *val = optarg;
		switch (c) {
		case 'b':
			if ((o->key = snapshot_parse_key(val)) < 0)
				return error("%s: --by takes lineno, filename, function or traceback (not '%s')",
					     argv[0], val);
			o->has_by = 1;
			break;
		case 'l':
			if ((o->limit = util_parse_count(val)) < 0)
				return error("%s: --limit takes a number of entries (0 = all)", argv[0]);
			break;
		case 'i':
			o->filter.include[o->filter.ninclude++] = val;
			break;
		case 'x':
			o->filter.exclude[o->filter.nexclude++] = val;
			break;
		case 'a':
			o->filter.all_frames = 1;
			break;
		case 'j':
			o->is_json = 1;
			break;
		case 'P':
			o->filter.at_peak = 1;
			break;
		case 'S':
			o->is_sizes = 1;
			break;
		case 'T':
			o->is_timeline = 1;
			break;
		case 's':
			if ((o->filter.sort = snapshot_parse_sort(val)) < 0)
				return error("%s: --sort takes %s (not '%s')", argv[0], SORT_NAMES, val);
			break;
		case 'f':
			o->fail_over[o->nfail_over++] = val;
			break;
		case 'L':
			if (val && strcmp(val, "all") != 0)
				return error("%s: --leaks takes no value but 'all' (not '%s')", argv[0],
					     val);
			o->is_leaks = 1;
			o->filter.hide_libc_kept = !val;	/* --leaks=all keeps libc's own */
			break;
		case ':':
			switch (optopt) {
			case 'b':
				return error("%s: --by takes lineno, filename, function or traceback",
					     argv[0]);
			case 'l':
				return error("%s: --limit takes a number of entries (0 = all)", argv[0]);
			case 's':
				return error("%s: --sort takes %s", argv[0], SORT_NAMES);
			case 'f':
				return error("%s: --fail-over takes PERCENT or SITE=PERCENT (e.g. 5%%)",
					     argv[0]);
			default:
				return error("%s: %s takes a glob (e.g. '*features.c')", argv[0],
					     optopt == 'i' ? "--include" : "--exclude");
			}
		default:
			return error("%s: unknown option '%s' (see 'cprof %s --help')", argv[0],
				     argv[optind - 1], argv[0]);
		}
	}
	for (int i = optind; i < argc; i++) {
		if (o->nfiles == nfiles)
			return error("%s: too many files ('%s'): give %s", argv[0], argv[i],
				     nfiles == 1 ? "one snapshot" : "two snapshots, OLD and NEW");
		o->files[o->nfiles++] = argv[i];
	}
	if (o->nfiles != nfiles)
		return error("%s: give %s", argv[0],
			     nfiles == 1 ? "a snapshot file (.snap)" : "two snapshot files, OLD and NEW");
	if (o->is_sizes && o->is_timeline)
		return error("%s: --sizes and --timeline are two views of the snapshot: give one", argv[0]);
	if (sizes_conflict(o))
		return error("%s: --sizes is one histogram of every allocation, not by site: give it without %s",
			     argv[0], sizes_conflict(o));
	if (o->limit < 0)
		o->limit = o->is_json ? 0 : 10;	/* text: the top 10; JSON: everything */
	if (o->is_timeline && !o->is_json)
		return error("%s: --timeline prints its samples as JSON: add --json (or see the chart in 'cprof html')",
			     argv[0]);
	if (o->is_timeline && (o->is_leaks || o->filter.at_peak))
		return error("%s: --timeline prints memory over time, not sites: leave out --leaks and --peak",
			     argv[0]);
	if (o->is_leaks && o->filter.at_peak)
		return error("%s: --leaks is what is live at exit, --peak what was live at the peak: give one",
			     argv[0]);
	return 0;
}

int cmd_stats_check_peak(const struct snapshot *s, const struct stats_options *o)
{
	if (o->filter.at_peak && !s->has_peak)
		return error("'%s' was written by an older cprof that did not record what was live at the peak (take a new snapshot for --peak)",
			     s->path);
	return 0;
}

static void size_text(char *out, size_t cap, int64_t bytes, int with_sign)
{
	util_format_bytes(out, cap, (double)bytes, with_sign);
}

/* "features.c:88", "features.c", "features.c:80(make_table)" */
static void print_where(const struct snap_stat *st, enum snap_key key)
{
	switch (key) {
	case SNAP_BY_FILENAME:
		printf("%s", st->file);
		break;
	case SNAP_BY_FUNCTION:
		printf("%s:%d(%s)", st->file, st->line, st->function);
		break;
	default:
		printf("%s:%d", st->file, st->line);
	}
}

/* Python's traceback order: the innermost frame last. */
static void print_frames(const struct snap_stat *st)
{
	for (int i = st->nframes - 1; i >= 0; i--) {
		const struct sym_frame *f = &st->frames[i];
		printf("  File \"%s\", line %d, in %s%s\n", f->file, f->line, f->function,
		       f->is_inlined ? " (inlined)" : "");
	}
}

/* ", calls=N, allocated=SIZE, temporary=N", with the changes in a diff. */
static void print_totals(uint64_t calls, uint64_t bytes, uint64_t temps, int64_t calls_diff,
			 int64_t bytes_diff, int64_t temps_diff, int is_diff)
{
	char a[32], b[32];

	size_text(a, sizeof(a), (int64_t)bytes, 0);
	if (!is_diff) {
		printf(", calls=%llu, allocated=%s, temporary=%llu", (unsigned long long)calls, a,
		       (unsigned long long)temps);
		return;
	}
	size_text(b, sizeof(b), bytes_diff, 1);
	printf(", calls=%llu (%+lld), allocated=%s (%s), temporary=%llu (%+lld)",
	       (unsigned long long)calls, (long long)calls_diff, a, b, (unsigned long long)temps,
	       (long long)temps_diff);
}

void cmd_stats_print_text(const struct snap_stats *st, const struct stats_options *o, int is_diff)
{
	char a[32], b[32], c[32];
	int by_total = snapshot_sort_is_total(o->filter.sort);
	size_t n = o->limit && (size_t)o->limit < st->nstats ? (size_t)o->limit : st->nstats;

	for (size_t i = 0; i < n; i++) {
		const struct snap_stat *s = &st->stats[i];
		print_where(s, o->key);
		size_text(a, sizeof(a), s->size, 0);
		if (is_diff) {
			size_text(b, sizeof(b), s->size_diff, 1);
			printf(": size=%s (%s), count=%lld (%+lld)", a, b, (long long)s->count,
			       (long long)s->count_diff);
		} else {
			printf(": size=%s, count=%lld", a, (long long)s->count);
		}
		if (s->count) {
			size_text(c, sizeof(c), s->size / s->count, 0);
			printf(", average=%s", c);
		}
		if (by_total)
			print_totals(s->total_count, s->total_size, s->temp_count, s->total_count_diff,
				     s->total_size_diff, s->temp_count_diff, is_diff);
		putchar('\n');
		if (o->key == SNAP_BY_TRACEBACK)
			print_frames(s);
	}
	if (n < st->nstats)
		printf("... %zu more (--limit 0 shows all)\n", st->nstats - n);
	size_text(a, sizeof(a), st->size, 0);
	if (is_diff) {
		size_text(b, sizeof(b), st->size_diff, 1);
		printf("Total: size=%s (%s), count=%lld (%+lld)", a, b, (long long)st->count,
		       (long long)st->count_diff);
	} else {
		printf("Total: size=%s, count=%lld", a, (long long)st->count);
	}
	if (by_total)
		print_totals(st->total_count, st->total_size, st->temp_count, st->total_count_diff,
			     st->total_size_diff, st->temp_count_diff, is_diff);
	putchar('\n');
}

void cmd_stats_print_json_entries(const struct snap_stats *st, const struct stats_options *o,
				  int is_diff)
{
	size_t n = o->limit && (size_t)o->limit < st->nstats ? (size_t)o->limit : st->nstats;

	printf("\"by\":\"%s\",\"peak\":%s,\"sort\":\"%s\",\"total_size\":%lld,\"total_count\":%lld,"
	       "\"allocated_size\":%llu,\"allocated_count\":%llu,\"temporary_count\":%llu,",
	       key_names[o->key], o->filter.at_peak ? "true" : "false", snapshot_sort_name((enum snap_sort)o->filter.sort),
	       (long long)st->size, (long long)st->count, (unsigned long long)st->total_size,
	       (unsigned long long)st->total_count, (unsigned long long)st->temp_count);
	if (is_diff)
		printf("\"total_size_diff\":%lld,\"total_count_diff\":%lld,"
		       "\"allocated_size_diff\":%lld,\"allocated_count_diff\":%lld,"
		       "\"temporary_count_diff\":%lld,",
		       (long long)st->size_diff, (long long)st->count_diff,
		       (long long)st->total_size_diff, (long long)st->total_count_diff,
		       (long long)st->temp_count_diff);
	printf("\"entries\":[");
	for (size_t i = 0; i < n; i++) {
		const struct snap_stat *s = &st->stats[i];
		printf("%s\n{\"file\":", i ? "," : "");
		util_json_string(stdout, s->file);
		printf(",\"line\":%d,\"function\":", s->line);
		util_json_string(stdout, o->key == SNAP_BY_FILENAME ? "" : s->function);
		printf(",\"size\":%lld,\"count\":%lld,\"average\":%lld", (long long)s->size,
		       (long long)s->count, (long long)(s->count ? s->size / s->count : 0));
		printf(",\"allocated_size\":%llu,\"allocated_count\":%llu,\"temporary_count\":%llu",
		       (unsigned long long)s->total_size, (unsigned long long)s->total_count,
		       (unsigned long long)s->temp_count);
		if (is_diff)
			printf(",\"size_diff\":%lld,\"count_diff\":%lld,\"allocated_size_diff\":%lld,"
			       "\"allocated_count_diff\":%lld,\"temporary_count_diff\":%lld",
			       (long long)s->size_diff, (long long)s->count_diff,
			       (long long)s->total_size_diff, (long long)s->total_count_diff,
			       (long long)s->temp_count_diff);
		if (o->key == SNAP_BY_TRACEBACK) {
			printf(",\"traceback\":[");
			for (int f = 0; f < s->nframes; f++) {
				printf("%s{\"file\":", f ? "," : "");
				util_json_string(stdout, s->frames[f].file);
				printf(",\"line\":%d,\"function\":", s->frames[f].line);
				util_json_string(stdout, s->frames[f].function);
				printf(",\"inlined\":%s}", s->frames[f].is_inlined ? "true" : "false");
			}
			printf("]");
		}
		printf("}");
	}
	printf("]");
}

void cmd_stats_print_json_snapshot(const char *name, const struct snapshot *s)
{
	const struct fmt_snap_info *in = &s->info;

	printf("\"%s\":{\"file\":", name);
	util_json_string(stdout, s->path);
	printf(",\"program\":");
	util_json_string(stdout, s->meta.program);
	printf(",\"pid\":%llu,\"label\":", (unsigned long long)s->meta.pid);
	util_json_string(stdout, s->meta.label);
	printf(",\"seq\":%llu,\"traced_size\":%llu,\"traced_count\":%llu,\"peak_size\":%llu,"
	       "\"peak_time\":%.6f,\"allocated_size\":%llu,\"allocated_count\":%llu,"
	       "\"freed_count\":%llu,\"dropped_allocs\":%llu,\"dropped_traces\":%llu,"
	       "\"untraced_frees\":%llu,\"corrupt_headers\":%llu,\"libunwind_stacks\":%llu,"
	       "\"frames\":%u,\"traces\":%u}",
	       (unsigned long long)s->meta.seq, (unsigned long long)in->current_bytes,
	       (unsigned long long)in->current_blocks, (unsigned long long)in->peak_bytes,
	       (double)in->peak_ns / 1e9, (unsigned long long)in->total_bytes,
	       (unsigned long long)in->total_blocks, (unsigned long long)in->total_frees,
	       (unsigned long long)in->dropped_allocs, (unsigned long long)in->dropped_traces,
	       (unsigned long long)in->untraced_frees, (unsigned long long)in->corrupt_headers,
	       (unsigned long long)in->libunwind_stacks, in->max_frames, in->ntraces);
}

static const char *base_name(const char *p)
{
	const char *slash = strrchr(p, '/');

	return slash ? slash + 1 : p;
}

void cmd_stats_print_header(const struct snapshot *s)
{
	char cur[32], peak[32];

	util_format_bytes(cur, sizeof(cur), (double)s->info.current_bytes, 0);
	util_format_bytes(peak, sizeof(peak), (double)s->info.peak_bytes, 0);
	printf("Snapshot %llu '%s' of %s (pid %llu): %s in %llu blocks traced, peak %s at %.3f s\n",
	       (unsigned long long)s->meta.seq, s->meta.label, base_name(s->meta.program),
	       (unsigned long long)s->meta.pid, cur, (unsigned long long)s->info.current_blocks,
	       peak, (double)s->info.peak_ns / 1e9);
	if (s->info.dropped_allocs || s->info.dropped_traces)
		printf("Dropped: %llu allocations not traced (table full), %llu filed without a stack (trace table full; raise CPROF_MAX_TRACES)\n",
		       (unsigned long long)s->info.dropped_allocs,
		       (unsigned long long)s->info.dropped_traces);
	if (s->info.corrupt_headers)
		printf("Overwritten: %llu blocks freed with their cprof header overwritten (a write before the block's start); their bytes stay counted live\n",
		       (unsigned long long)s->info.corrupt_headers);
}

/* {"timeline":{...,"samples":[{"t":s,"traced":B,"rss":B},...]},"peak":{...}} */
static int print_timeline_json(const struct snapshot *s)
{
	const struct fmt_timeline *h = &s->timeline;

	if (!s->has_timeline)
		return error("'%s' has no timeline (written by an older cprof, or with CPROF_TIMELINE=0)",
			     s->path);
	printf("{");
	cmd_stats_print_json_snapshot("snapshot", s);
	printf(",\"timeline\":{\"interval_ms\":%.6g,\"base_interval_ms\":%.6g,\"decimations\":%u,"
	       "\"samples\":[",
	       (double)h->interval_ns / 1e6, (double)h->base_interval_ns / 1e6, h->decimations);
	for (uint32_t i = 0; i < h->nsamples; i++) {
		const struct fmt_timeline_sample *x = &s->samples[i];
		printf("%s\n{\"t\":%.9f,\"traced\":%llu,\"rss\":%llu}", i ? "," : "",
		       (double)x->t_ns / 1e9, (unsigned long long)x->traced_bytes,
		       (unsigned long long)x->rss_bytes);
	}
	printf("]},\"peak\":{\"t\":%.9f,\"traced\":%llu}}\n", (double)s->info.peak_ns / 1e9,
	       (unsigned long long)s->info.peak_bytes);
	return 0;
}

static void usage(void)
{
	printf("usage: cprof stats SNAPSHOT [--by lineno|filename|function|traceback] [--limit N]\n"
	       "                  [--sort size|count|allocated_size|allocated_count|temporary_count] [--peak]\n"
	       "                  [--include GLOB] [--exclude GLOB] [--all-frames] [--leaks[=all]] [--json]\n"
	       "       cprof stats SNAPSHOT --sizes [--json]\n\n"
	       "       cprof stats SNAPSHOT --timeline --json\n\n"
	       "Live memory of a snapshot by allocation site, largest first (tracemalloc's\n"
	       "Snapshot.statistics). --by traceback prints each site's stack with the\n"
	       "innermost frame last, as Python tracebacks do. --include/--exclude match the\n"
	       "innermost frame's source file or module (any frame with --all-frames).\n"
	       "--leaks: what is still live in the 'exit' snapshot, by site, less the blocks\n"
	       "the C library keeps for the process's life (stdio buffers, locale, loader:\n"
	       "valgrind frees those before counting); --leaks=all keeps them. Text shows the\n"
	       "top 10 (--limit 0: all); JSON shows all unless --limit is given.\n"
	       "--sort: live size (default) or count, or a total over the run: bytes and calls\n"
	       "allocated, or temporaries (blocks freed as their thread's next allocation event,\n"
	       "heaptrack's definition). Sorted by a total, each line adds calls=, allocated=\n"
	       "and temporary=, and sites with nothing live are listed too.\n"
	       "--peak: what was live at the moment the traced bytes peaked (the header's\n"
	       "peak), by site, instead of what is live in the snapshot.\n"
	       "--sizes: a histogram of the requested sizes in power-of-two buckets (0 B,\n"
	       "[1 B, 2 B), [2 B, 4 B), ...): allocation calls and bytes over the run, blocks\n"
	       "and bytes live in the snapshot (a realloc counts as an allocation of its new\n"
	       "size); JSON: a \"sizes\" array of non-empty buckets.\n"
	       "--timeline --json: memory over time, the traced bytes and RSS sampled every\n"
	       "CPROF_TIMELINE ms up to the snapshot (t in seconds after start), and the\n"
	       "exact peak; 'cprof html' draws it.\n");
}

int cmd_stats(int argc, char **argv)
{
	struct stats_options o;
	struct snap_stats st;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return EXIT_OK;
		}
	if (cmd_stats_parse_options(argc, argv, &o, 1, 1) < 0) {
		cmd_stats_options_release(&o);
		return EXIT_USAGE;
	}
	struct loaded l;
	if (loaded_open_snapshot(&l, o.files[0]) < 0) {
		loaded_close(&l);
		cmd_stats_options_release(&o);
		return EXIT_ERROR;
	}
	const struct snapshot *s = l.s;
	if (o.is_sizes) {
		int r = cmd_stats_print_sizes(s, o.is_json);
		loaded_close(&l);
		cmd_stats_options_release(&o);
		return r < 0 ? EXIT_ERROR : fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
	}
	if (cmd_stats_check_peak(s, &o) < 0) {
		loaded_close(&l);
		cmd_stats_options_release(&o);
		return EXIT_ERROR;
	}
	if (o.is_timeline) {
		int r = print_timeline_json(s);
		loaded_close(&l);
		cmd_stats_options_release(&o);
		return r < 0 ? EXIT_ERROR : fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
	}
	if (o.is_leaks && strcmp(s->meta.label, "exit") != 0)
		warning("'%s' is labelled '%s', not 'exit': showing what was live when it was taken",
			o.files[0], s->meta.label);
	if (o.filter.sort == SNAP_SORT_TEMPORARY_COUNT && !s->has_totals)
		warning("'%s' was written by an older cprof that did not count temporaries: they show as 0",
			o.files[0]);
	snapshot_statistics(s, l.sym, (enum snap_key)o.key, &o.filter, &st);
	if (o.is_json) {
		printf("{");
		cmd_stats_print_json_snapshot("snapshot", s);
		printf(",\"leaks\":%s,", o.is_leaks ? "true" : "false");
		if (o.is_leaks)
			printf("\"libc_kept_size\":%lld,\"libc_kept_count\":%lld,",
			       (long long)st.hidden_size, (long long)st.hidden_count);
		cmd_stats_print_json_entries(&st, &o, 0);
		printf("}\n");
	} else {
		cmd_stats_print_header(s);
		if (o.filter.at_peak) {
			char sz[32];
			util_format_bytes(sz, sizeof(sz), (double)s->info.peak_bytes, 0);
			printf("Live at the peak (%s at %.3f s), by site:\n", sz,
			       (double)s->info.peak_ns / 1e9);
		}
		if (o.is_leaks) {
			char sz[32];
			util_format_bytes(sz, sizeof(sz), (double)st.size, 0);
			printf("Leaked at exit: %s in %lld blocks from %zu %s\n", sz,
			       (long long)st.count, st.nstats,
			       o.key == SNAP_BY_TRACEBACK ? "stacks" : "sites");
			if (st.hidden_count) {
				util_format_bytes(sz, sizeof(sz), (double)st.hidden_size, 0);
				printf("Left out: %s in %lld blocks the C library keeps until exit "
				       "(stdio buffers, locale, loader; --leaks=all shows them)\n",
				       sz, (long long)st.hidden_count);
			}
		}
		cmd_stats_print_text(&st, &o, 0);
	}
	snapshot_stats_release(&st);
	loaded_close(&l);
	cmd_stats_options_release(&o);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
}
