/*
 * libFuzzer target for sensor-pipeline's input (--input FILE): the CSV
 * line parser, and the whole pipeline reading the input as main() builds
 * it. Must never crash, leak, or lose a line without counting it.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../pipeline-demo/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSENSORS 4	/* small, so ids out of range are easy to reach */
#define HEADER "timestamp,sensor,value"

static int input_fd = -1;	/* a memfd the pipeline opens by its /proc path */
static char input_path[64];
static char json_dir[64], json_path[64 + 16];	/* where --metrics-json goes */
static FILE *devnull;

static void cleanup(void)
{
	unlink(json_path);
	rmdir(json_dir);
}

static void setup(void)
{
	input_fd = memfd_create("fuzz.csv", MFD_CLOEXEC);
	devnull = fopen("/dev/null", "w");
	/* tmpfs first: on ext4 each rename over the last file starts a
	 * writeback, which made every run ten times slower. */
	snprintf(json_dir, sizeof(json_dir), "/dev/shm/fuzz-csv-XXXXXX");
	if (!mkdtemp(json_dir)) {
		snprintf(json_dir, sizeof(json_dir), "/tmp/fuzz-csv-XXXXXX");
		if (!mkdtemp(json_dir))
			abort();
	}
	if (input_fd < 0 || !devnull)
		abort();
	snprintf(input_path, sizeof(input_path), "/proc/self/fd/%d", input_fd);
	snprintf(json_path, sizeof(json_path), "%s/metrics.json", json_dir);
	atexit(cleanup);
}

/* What the pipeline must find, from parse_csv_line() called on each line
 * split the way the CSV source splits them (getline, then "\n" and "\r"
 * taken off, a first line equal to the header skipped). */
struct expect {
	long lines;	/* lines handed to parse */
	long good;	/* lines parse accepts */
	long first_bad;	/* line number of the first bad line, 0 if none */
};

static void check_line(const char *text, size_t len, struct expect *e, long lineno)
{
	char *line, why[96];
	struct reading rd;

	e->lines++;
	if (memchr(text, 0, len)) {	/* parse refuses it without parsing */
		if (!e->first_bad)
			e->first_bad = lineno;
		return;
	}
	line = strndup(text, len);
	if (!line)
		abort();
	why[0] = 0;
	if (parse_csv_line(line, NSENSORS, &rd, why, sizeof(why)) == 0) {
		if (rd.sensor >= NSENSORS || !isfinite(rd.t))
			__builtin_trap();
		e->good++;
	} else {
		if (!why[0])
			__builtin_trap();	/* refused without a reason */
		/* The reason reaches a terminal and a JSON string: printable ASCII only. */
		for (const char *c = why; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				__builtin_trap();
		if (!e->first_bad)
			e->first_bad = lineno;
	}
	/* A buffer too small for any reason only cuts it short. */
	char tiny[4] = "xxx";
	parse_csv_line(line, NSENSORS, &rd, tiny, sizeof(tiny));
	if (strnlen(tiny, sizeof(tiny)) == sizeof(tiny))
		__builtin_trap();
	free(line);
}

static void expect_lines(const uint8_t *data, size_t size, struct expect *e)
{
	size_t off = 0;
	long lineno = 0;

	memset(e, 0, sizeof(*e));
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t end = nl ? (size_t)(nl - data) + 1 : size, len = end - off;
		const char *text = (const char *)data + off;

		off = end;
		lineno++;
		if (len && text[len - 1] == '\n')
			len--;
		if (len && text[len - 1] == '\r')
			len--;
		if (lineno == 1 && len == strlen(HEADER) && !memcmp(text, HEADER, len))
			continue;
		check_line(text, len, e, lineno);
	}
}

/* Runs the pipeline over the input once; returns its records out. */
static long run_pipeline(const struct pipeline_options *o, const struct expect *e)
{
	struct pipeline p;

	if (pipeline_build(&p, o) < 0)
		abort();	/* the input exists: only OOM gets here */
	if (pipeline_run(&p) < 0)
		__builtin_trap();
	const struct parse_errors *pe = parse_errors(p.parse);
	const struct stage_metrics *in = measured_stage_metrics(p.stages[0]);
	const struct stage_metrics *parsed = measured_stage_metrics(p.stages[1]);
	const struct stage_metrics *valid = measured_stage_metrics(p.stages[2]);
	const struct validate_drops *d = validate_drops(p.validate);

	/* Every line is either a record or a counted bad line; every record
	 * either passes validation or is counted as dropped. */
	if (in->records_out != e->lines || parsed->records_out != e->good ||
	    pe->bad_lines != e->lines - e->good || pe->first_lineno != e->first_bad ||
	    valid->records_out + d->dropout + d->out_of_range + d->stuck != e->good ||
	    p.records_out != valid->records_out)
		__builtin_trap();
	sink_print_summary(p.sink, devnull);
	pipeline_print_table(&p, devnull);
	if (pipeline_write_json(&p, o, json_path) < 0)
		abort();
	long out = p.records_out;
	pipeline_release(&p);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct expect e;

	if (input_fd < 0)
		setup();
	if (ftruncate(input_fd, 0) < 0 || pwrite(input_fd, data, size, 0) != (ssize_t)size)
		abort();
	expect_lines(data, size, &e);

	/* Both layouts and both feature kinds: they keep and drop the same
	 * records, so they must agree on the count. */
	struct pipeline_options o = {
		.sensors = NSENSORS, .window = 3, .features = FEATURES_NAIVE,
		.layout = &record_struct_ops, .input = input_path, .hold = 2, .is_measured = 1,
	};
	long a = run_pipeline(&o, &e);
	o.window = 5;
	o.features = FEATURES_INCREMENTAL;
	o.layout = &record_dynamic_ops;
	o.hold = 0;
	if (run_pipeline(&o, &e) != a)
		__builtin_trap();
	return 0;
}
