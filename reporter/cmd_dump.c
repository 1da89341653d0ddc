/*
 * `cprof dump FILE [--json]`: a file's header, sections and records with
 * their byte offsets, and the layout of every record, all taken from
 * common/format.h (offsetof, sizeof) so that tests and tools never
 * re-encode the format. Reads only; checks every length it follows.
 */
#include "cmds.h"
#include "util.h"

#include "../common/format.h"

#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char dump_usage[] =
	"usage: cprof dump FILE [--json]\n"
	"  prints the header, each section (type, count, size, byte offsets) and\n"
	"  each record's fields with its offset, then the layout of every record";

enum field_type { F_UINT, F_F64, F_CHARS, F_BYTES };

struct field {
	const char *name;
	size_t offset, size;
	enum field_type type;
};

#define FIELD(st, f, t) { #f, offsetof(struct st, f), sizeof(((struct st *)0)->f), t }

static const struct field header_fields[] = {
	FIELD(fmt_header, magic, F_BYTES),	FIELD(fmt_header, version, F_UINT),
	FIELD(fmt_header, kind, F_UINT),	FIELD(fmt_header, features, F_UINT),
	{ NULL, 0, 0, 0 },
};
static const struct field section_fields[] = {
	FIELD(fmt_section, type, F_UINT),
	FIELD(fmt_section, count, F_UINT),
	FIELD(fmt_section, size, F_UINT),
	{ NULL, 0, 0, 0 },
};
static const struct field meta_fields[] = {
	FIELD(fmt_meta, pid, F_UINT),
	FIELD(fmt_meta, ppid, F_UINT),
	FIELD(fmt_meta, start_unix_ns, F_UINT),
	FIELD(fmt_meta, end_unix_ns, F_UINT),
	FIELD(fmt_meta, elapsed_ticks, F_UINT),
	FIELD(fmt_meta, ns_per_tick, F_F64),
	FIELD(fmt_meta, overhead_inner_ticks, F_F64),
	FIELD(fmt_meta, overhead_outer_ticks, F_F64),
	FIELD(fmt_meta, dropped_nodes, F_UINT),
	FIELD(fmt_meta, dropped_frames, F_UINT),
	FIELD(fmt_meta, mismatched_exits, F_UINT),
	FIELD(fmt_meta, flags, F_UINT),
	FIELD(fmt_meta, nthreads, F_UINT),
	FIELD(fmt_meta, program, F_CHARS),
	FIELD(fmt_meta, label, F_CHARS),
	FIELD(fmt_meta, seq, F_UINT),
	FIELD(fmt_meta, skipped_reentrant, F_UINT),
	FIELD(fmt_meta, inherited_node, F_UINT),
	FIELD(fmt_meta, probe_inner_ticks, F_F64),
	FIELD(fmt_meta, probe_outer_ticks, F_F64),
	{ NULL, 0, 0, 0 },
};
static const struct field snap_info_fields[] = {
	FIELD(fmt_snap_info, current_bytes, F_UINT),
	FIELD(fmt_snap_info, current_blocks, F_UINT),
	FIELD(fmt_snap_info, peak_bytes, F_UINT),
	FIELD(fmt_snap_info, peak_ns, F_UINT),
	FIELD(fmt_snap_info, total_bytes, F_UINT),
	FIELD(fmt_snap_info, total_blocks, F_UINT),
	FIELD(fmt_snap_info, total_frees, F_UINT),
	FIELD(fmt_snap_info, dropped_allocs, F_UINT),
	FIELD(fmt_snap_info, dropped_traces, F_UINT),
	FIELD(fmt_snap_info, untraced_frees, F_UINT),
	FIELD(fmt_snap_info, max_frames, F_UINT),
	FIELD(fmt_snap_info, ntraces, F_UINT),
	FIELD(fmt_snap_info, corrupt_headers, F_UINT),
	FIELD(fmt_snap_info, libunwind_stacks, F_UINT),
	FIELD(fmt_snap_info, reserved, F_BYTES),
	{ NULL, 0, 0, 0 },
};
static const struct field trace_fields[] = {
	FIELD(fmt_trace, live_bytes, F_UINT),
	FIELD(fmt_trace, live_blocks, F_UINT),
	FIELD(fmt_trace, total_bytes, F_UINT),
	FIELD(fmt_trace, total_blocks, F_UINT),
	FIELD(fmt_trace, nframes, F_UINT),
	FIELD(fmt_trace, gen, F_UINT),
	FIELD(fmt_trace, temporary_blocks, F_UINT),
	FIELD(fmt_trace, peak_bytes, F_UINT),
	FIELD(fmt_trace, peak_blocks, F_UINT),
	FIELD(fmt_trace, reserved, F_UINT),
	{ NULL, 0, 0, 0 },
};
static const struct field trace_v1_fields[] = {
	FIELD(fmt_trace_v1, live_bytes, F_UINT),
	FIELD(fmt_trace_v1, live_blocks, F_UINT),
	FIELD(fmt_trace_v1, total_bytes, F_UINT),
	FIELD(fmt_trace_v1, total_blocks, F_UINT),
	FIELD(fmt_trace_v1, nframes, F_UINT),
	FIELD(fmt_trace_v1, gen, F_UINT),
	{ NULL, 0, 0, 0 },
};
static const struct field size_bucket_fields[] = {
	FIELD(fmt_size_bucket, total_blocks, F_UINT),
	FIELD(fmt_size_bucket, total_bytes, F_UINT),
	FIELD(fmt_size_bucket, live_blocks, F_UINT),
	FIELD(fmt_size_bucket, live_bytes, F_UINT),
	{ NULL, 0, 0, 0 },
};
static const struct field module_fields[] = {
	FIELD(fmt_module, start, F_UINT),
	FIELD(fmt_module, end, F_UINT),
	FIELD(fmt_module, bias, F_UINT),
	FIELD(fmt_module, build_id_len, F_UINT),
	FIELD(fmt_module, path_len, F_UINT),
	FIELD(fmt_module, unload_gen, F_UINT),
	FIELD(fmt_module, build_id, F_BYTES),
	{ NULL, 0, 0, 0 },
};
static const struct field thread_fields[] = {
	FIELD(fmt_thread, tid, F_UINT),
	FIELD(fmt_thread, name, F_CHARS),
	FIELD(fmt_thread, nnodes, F_UINT),
	{ NULL, 0, 0, 0 },
};
static const struct field node_fields[] = {
	FIELD(fmt_node, fn, F_UINT),
	FIELD(fmt_node, parent, F_UINT),
	FIELD(fmt_node, gen, F_UINT),
	FIELD(fmt_node, calls, F_UINT),
	FIELD(fmt_node, incl_ticks, F_UINT),
	FIELD(fmt_node, self_ticks, F_UINT),
	{ NULL, 0, 0, 0 },
};

static const struct field timeline_fields[] = {
	FIELD(fmt_timeline, interval_ns, F_UINT),
	FIELD(fmt_timeline, base_interval_ns, F_UINT),
	FIELD(fmt_timeline, nsamples, F_UINT),
	FIELD(fmt_timeline, decimations, F_UINT),
	FIELD(fmt_timeline, reserved, F_BYTES),
	{ NULL, 0, 0, 0 },
};
static const struct field timeline_sample_fields[] = {
	FIELD(fmt_timeline_sample, t_ns, F_UINT),
	FIELD(fmt_timeline_sample, traced_bytes, F_UINT),
	FIELD(fmt_timeline_sample, rss_bytes, F_UINT),
	{ NULL, 0, 0, 0 },
};

static const struct record_type {
	const char *name;
	size_t size;
	const struct field *fields;
} records[] = {
#define RECORD(st, fields) { #st, sizeof(struct st), fields }
	RECORD(fmt_header, header_fields),	 RECORD(fmt_section, section_fields),
	RECORD(fmt_meta, meta_fields),		 RECORD(fmt_snap_info, snap_info_fields),
	RECORD(fmt_module, module_fields),	 RECORD(fmt_thread, thread_fields),
	RECORD(fmt_node, node_fields),		 RECORD(fmt_trace, trace_fields),
	RECORD(fmt_trace_v1, trace_v1_fields), RECORD(fmt_size_bucket, size_bucket_fields),
	RECORD(fmt_timeline, timeline_fields), RECORD(fmt_timeline_sample, timeline_sample_fields),
#undef RECORD
};
enum { R_HEADER, R_SECTION, R_META, R_SNAP_INFO, R_MODULE, R_THREAD, R_NODE, R_TRACE,
       R_TRACE_V1, R_SIZE_BUCKET, R_TIMELINE, R_TIMELINE_SAMPLE };

static const char *section_name(uint32_t type)
{
	switch (type) {
	case FMT_SEC_META: return "meta";
	case FMT_SEC_MODULES: return "modules";
	case FMT_SEC_THREAD: return "thread";
	case FMT_SEC_SNAP_INFO: return "snap_info";
	case FMT_SEC_TRACES: return "traces";
	case FMT_SEC_SIZES: return "sizes";
	case FMT_SEC_TIMELINE: return "timeline";
	case FMT_SEC_END: return "end";
	}
	return "unknown";
}

struct dumper {
	const struct fmt_file *f;
	FILE *out;
	int is_json;
	int nrecords;		/* printed in the current section (JSON commas) */
};

static uint64_t read_uint(const unsigned char *p, size_t size)
{
	uint64_t v = 0;
	memcpy(&v, p, size);	/* little-endian, as format.h says */
	return v;
}

static void print_bytes_hex(FILE *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", p[i]);
}

/* A char array that need not be NUL-terminated in a damaged file. */
static void print_chars(const struct dumper *d, const unsigned char *p, size_t n)
{
	char buf[FMT_PROGRAM_MAX + 1];
	size_t len = strnlen((const char *)p, n < FMT_PROGRAM_MAX ? n : FMT_PROGRAM_MAX);

	memcpy(buf, p, len);
	buf[len] = 0;
	if (d->is_json)
		util_json_string(d->out, buf);
	else
		fprintf(d->out, "'%s'", buf);
}

static void print_value(const struct dumper *d, const struct field *fl, const unsigned char *rec)
{
	const unsigned char *p = rec + fl->offset;
	double v;

	switch (fl->type) {
	case F_UINT:
		fprintf(d->out, "%llu", (unsigned long long)read_uint(p, fl->size));
		break;
	case F_F64:
		memcpy(&v, p, sizeof(v));
		if (isfinite(v))
			fprintf(d->out, "%.17g", v);
		else
			fputs(d->is_json ? "null" : "nan", d->out);	/* JSON has no inf/nan */
		break;
	case F_CHARS:
		print_chars(d, p, fl->size);
		break;
	case F_BYTES:
		fputs(d->is_json ? "\"" : "", d->out);
		print_bytes_hex(d->out, p, fl->size);
		fputs(d->is_json ? "\"" : "", d->out);
		break;
	}
}

/* One record at data + offset; extra (JSON members, or text lines) is
 * printed after its fields when not NULL. */
static void print_record(struct dumper *d, int type, size_t offset, const char *extra)
{
	const struct record_type *r = &records[type];
	const unsigned char *rec = d->f->data + offset;

	if (d->is_json) {
		fprintf(d->out, "%s\n      {\"record\": \"%s\", \"offset\": %zu, \"fields\": {",
			d->nrecords++ ? "," : "", r->name, offset);
		for (const struct field *fl = r->fields; fl->name; fl++) {
			fprintf(d->out, "%s\"%s\": ", fl == r->fields ? "" : ", ", fl->name);
			print_value(d, fl, rec);
		}
		fprintf(d->out, "}%s}", extra ? extra : "");
		return;
	}
	fprintf(d->out, "  %s @%zu\n", r->name, offset);
	for (const struct field *fl = r->fields; fl->name; fl++) {
		fprintf(d->out, "    %-22s ", fl->name);
		print_value(d, fl, rec);
		fputc('\n', d->out);
	}
	if (extra)
		fputs(extra, d->out);
}

/* Walks one section's records, checking each length before following it
 * (the container is checked by fmt_file_open, the records are not). */
static int dump_records(struct dumper *d, const struct fmt_file_section *s)
{
	size_t base = (size_t)(s->payload - d->f->data), off = 0;
	const char *name = section_name(s->type);

#define NEED(n, what)                                                                        \
	do {                                                                                   \
		if ((n) > s->size - off)                                                       \
			return error("'%s' is corrupt: %s section at byte %zu ends inside %s", \
				     d->f->path, name, base, what);                             \
	} while (0)

	switch (s->type) {
	case FMT_SEC_META:
		NEED(sizeof(struct fmt_meta), "fmt_meta");
		print_record(d, R_META, base, NULL);
		break;
	case FMT_SEC_SNAP_INFO:
		NEED(sizeof(struct fmt_snap_info), "fmt_snap_info");
		print_record(d, R_SNAP_INFO, base, NULL);
		break;
	case FMT_SEC_MODULES:
		for (uint32_t i = 0; i < s->count; i++) {
			struct fmt_module m;
			NEED(sizeof(m), "a fmt_module");
			memcpy(&m, s->payload + off, sizeof(m));
			size_t padded = m.path_len + (8u - m.path_len % 8u) % 8u;
			NEED(sizeof(m) + padded, "a module path");
			char path[UINT16_MAX + 1];
			memcpy(path, s->payload + off + sizeof(m), m.path_len);
			path[m.path_len] = 0;
			char *extra;
			if (d->is_json) {
				/* util_json_string writes to a FILE: build the member in memory. */
				size_t len;
				FILE *mem = open_memstream(&extra, &len);
				if (!mem)
					return error("out of memory dumping '%s'", d->f->path);
				fputs(", \"path\": ", mem);
				util_json_string(mem, path);
				fclose(mem);
			} else {
				extra = xstrfmt("    %-22s '%s'\n", "(path)", path);
			}
			print_record(d, R_MODULE, base + off, extra);
			free(extra);
			off += sizeof(m) + padded;
		}
		break;
	case FMT_SEC_THREAD: {
		struct fmt_thread t;
		NEED(sizeof(t), "fmt_thread");
		memcpy(&t, s->payload, sizeof(t));
		print_record(d, R_THREAD, base, NULL);
		off = sizeof(t);
		if (t.nnodes > (s->size - off) / sizeof(struct fmt_node))
			return error("'%s' is corrupt: thread section at byte %zu is too short "
				     "for its %llu nodes", d->f->path, base,
				     (unsigned long long)t.nnodes);
		for (uint64_t i = 0; i < t.nnodes; i++, off += sizeof(struct fmt_node))
			print_record(d, R_NODE, base + off, NULL);
		break;
	}
	case FMT_SEC_SIZES:
		/* Record k is bucket k: sizes [min, max] (common/format.h). */
		for (uint32_t k = 0; k < s->count; k++, off += sizeof(struct fmt_size_bucket)) {
			NEED(sizeof(struct fmt_size_bucket), "a fmt_size_bucket");
			if (k >= FMT_SIZE_BUCKETS) {	/* past the last bucket: no range */
				print_record(d, R_SIZE_BUCKET, base + off, NULL);
				continue;
			}
			unsigned long long lo = fmt_size_bucket_min(k), hi = fmt_size_bucket_max(k);
			char *extra = d->is_json
					      ? xstrfmt(", \"min\": %llu, \"max\": %llu", lo, hi)
					      : xstrfmt("    %-22s %llu..%llu\n", "(sizes)", lo, hi);
			print_record(d, R_SIZE_BUCKET, base + off, extra);
			free(extra);
		}
		break;
	case FMT_SEC_TRACES: {
		/* Files without FMT_FEAT_TRACE_TOTALS hold the shorter record. */
		int type = d->f->header.features & FMT_FEAT_TRACE_TOTALS ? R_TRACE : R_TRACE_V1;
		size_t rec = records[type].size;
		for (uint32_t i = 0; i < s->count; i++) {
			struct fmt_trace t = { 0 };
			NEED(rec, type == R_TRACE ? "a fmt_trace" : "a fmt_trace_v1");
			memcpy(&t, s->payload + off, rec);
			if (t.nframes > FMT_FRAMES_MAX)
				return error("'%s' is corrupt: a trace at byte %zu has %u frames (at most %d)",
					     d->f->path, base + off, t.nframes, FMT_FRAMES_MAX);
			NEED(rec + 8u * t.nframes, "a trace's frames");
			char *extra;
			size_t len;
			FILE *mem = open_memstream(&extra, &len);
			if (!mem)
				return error("out of memory dumping '%s'", d->f->path);
			fputs(d->is_json ? ", \"frames\": [" : "    (frames)              ", mem);
			for (uint32_t k = 0; k < t.nframes; k++) {
				uint64_t pc;
				memcpy(&pc, s->payload + off + rec + 8u * k, sizeof(pc));
				fprintf(mem, d->is_json ? "%s%llu" : "%s%#llx", k ? ", " : "",
					(unsigned long long)pc);
			}
			fputs(d->is_json ? "]" : "\n", mem);
			fclose(mem);
			print_record(d, type, base + off, extra);
			free(extra);
			off += rec + 8u * t.nframes;
		}
		break;
	}
	case FMT_SEC_TIMELINE:
		NEED(sizeof(struct fmt_timeline), "fmt_timeline");
		print_record(d, R_TIMELINE, base, NULL);
		off = sizeof(struct fmt_timeline);
		for (uint32_t i = 0; i < s->count; i++, off += sizeof(struct fmt_timeline_sample)) {
			NEED(sizeof(struct fmt_timeline_sample), "a fmt_timeline_sample");
			print_record(d, R_TIMELINE_SAMPLE, base + off, NULL);
		}
		break;
	}
#undef NEED
	return 0;
}

static int dump_sections(struct dumper *d)
{
	const struct fmt_file *f = d->f;

	for (size_t i = 0; i < f->nsections; i++) {
		const struct fmt_file_section *s = &f->sections[i];
		size_t payload = (size_t)(s->payload - f->data);
		size_t at = payload - sizeof(struct fmt_section);
		size_t end = payload + s->size + (8 - s->size % 8) % 8;
		if (d->is_json)
			fprintf(d->out, "%s\n    {\"type\": %u, \"name\": \"%s\", \"offset\": %zu, \"count\": %u, "
			       "\"size\": %llu, \"payload\": %zu, \"end\": %zu, \"records\": [",
			       i ? "," : "", s->type, section_name(s->type), at, s->count,
			       (unsigned long long)s->size, payload, end);
		else
			fprintf(d->out, "section %zu: %s (type %#x) @%zu, count %u, size %llu, payload @%zu, next @%zu\n",
			       i, section_name(s->type), s->type, at, s->count,
			       (unsigned long long)s->size, payload, end);
		d->nrecords = 0;
		if (dump_records(d, s) < 0)
			return -1;
		if (d->is_json)
			fprintf(d->out, "]}");
	}
	return 0;
}

static void dump_layout(const struct dumper *d)
{
	const char *types[] = { [F_F64] = "f64", [F_CHARS] = "chars", [F_BYTES] = "bytes" };
	size_t n = sizeof(records) / sizeof(records[0]);

	fputs(d->is_json ? ",\n  \"layout\": {" : "layout (offset size type):\n", d->out);
	for (size_t i = 0; i < n; i++) {
		const struct record_type *r = &records[i];
		if (d->is_json)
			fprintf(d->out, "%s\n    \"%s\": {\"size\": %zu, \"fields\": {", i ? "," : "", r->name,
			       r->size);
		else
			fprintf(d->out, "  %s: %zu bytes\n", r->name, r->size);
		for (const struct field *fl = r->fields; fl->name; fl++) {
			char type[16];
			if (fl->type == F_UINT)
				snprintf(type, sizeof(type), "u%zu", 8 * fl->size);
			else
				snprintf(type, sizeof(type), "%s", types[fl->type]);
			if (d->is_json)
				fprintf(d->out, "%s\"%s\": {\"offset\": %zu, \"size\": %zu, \"type\": \"%s\"}",
				       fl == r->fields ? "" : ", ", fl->name, fl->offset, fl->size, type);
			else
				fprintf(d->out, "    %-22s %4zu %4zu %s\n", fl->name, fl->offset, fl->size, type);
		}
		if (d->is_json)
			fprintf(d->out, "}}");
	}
	if (d->is_json)
		fputs("\n  }\n}\n", d->out);
}

/* The dump goes to a buffer first: a record found corrupt halfway leaves
 * stdout empty, as every other refusal does. */
int cmd_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dumper d = { 0 };
	struct fmt_file f;
	char err[PATH_MAX + 256], *buf = NULL;
	size_t len = 0;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'j')
			d.is_json = 1;
		else if (c == 'h')
			return puts(dump_usage), EXIT_OK;
		else
			return usage_error("dump: unknown option '%s' (see 'cprof dump --help')",
					   argv[optind - 1]);
	}
	if (argc - optind != 1)
		return usage_error("dump takes one file (see 'cprof dump --help')");
	if (fmt_file_open(&f, argv[optind], err, sizeof(err)) < 0)
		return error("%s", err), EXIT_ERROR;
	d.f = &f;
	d.out = open_memstream(&buf, &len);
	if (!d.out) {
		fmt_file_close(&f);
		return error("out of memory dumping '%s'", argv[optind]), EXIT_ERROR;
	}
	if (d.is_json) {
		fprintf(d.out, "{\n  \"path\": ");
		util_json_string(d.out, f.path);
		fprintf(d.out, ",\n  \"size\": %zu,\n  \"kind\": \"%s\",\n  \"header\": {", f.size,
			fmt_kind_name(f.header.kind));
		fprintf(d.out, "\"record\": \"fmt_header\", \"offset\": 0, \"fields\": {");
		for (const struct field *fl = header_fields; fl->name; fl++) {
			fprintf(d.out, "%s\"%s\": ", fl == header_fields ? "" : ", ", fl->name);
			print_value(&d, fl, f.data);
		}
		fprintf(d.out, "}},\n  \"sections\": [");
	} else {
		fprintf(d.out, "'%s': %zu bytes, %s\n", f.path, f.size,
			fmt_kind_name(f.header.kind));
		print_record(&d, R_HEADER, 0, NULL);
	}
	int status = dump_sections(&d);
	if (status == 0) {
		if (d.is_json)
			fputs("\n  ]", d.out);
		dump_layout(&d);
	}
	fclose(d.out);
	fmt_file_close(&f);
	if (status == 0 && fwrite(buf, 1, len, stdout) == len && fflush(stdout) == 0)
		status = EXIT_OK;
	else if (status == 0)
		status = (error("cannot write the dump to stdout: %m"), EXIT_ERROR);
	else
		status = EXIT_ERROR;
	free(buf);
	return status;
}
