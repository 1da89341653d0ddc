/*
 * The end-of-run stage table and its JSON form (--metrics-json). Reads
 * the measured stages' metrics and the stages' own counters; changes
 * nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline.h"

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

void pipeline_print_table(const struct pipeline *p, FILE *to)
{
	const struct validate_drops *d = validate_drops(p->validate);
	double bpr = sink_bytes_per_record(p->sink);
	int64_t self_total = 0;

	fprintf(to, "%-10s %9s %9s %7s %10s %6s %10s %11s\n", "stage", "in", "out", "out/in",
		"self ms", "self%", "wait ms", "records/s");
	for (int i = 0; i < PIPELINE_NSTAGES; i++) {
		const struct stage_metrics *m = measured_stage_metrics(p->stages[i]);

		self_total += m->self_ns;
		fprintf(to, "%-10s %9ld %9ld %7.3f %10.1f %5.1f%% %10.1f %11.0f\n",
			p->stages[i]->name, m->records_in, m->records_out,
			metrics_filter_ratio(m), ms(m->self_ns),
			p->wall_ns ? 100.0 * (double)m->self_ns / (double)p->wall_ns : 0.0,
			ms(m->wait_ns), metrics_throughput(m));
	}
	fprintf(to, "wall %.1f ms, stages' self time %.1f ms; self: inside next() minus "
		"upstream; wait: until downstream asks again\n",
		ms(p->wall_ns), ms(self_total));
	fprintf(to, "validate dropped %ld dropouts, %ld out of range, %ld stuck\n", d->dropout,
		d->out_of_range, d->stuck);
	fprintf(to, "measured-stage wrapper: %zu bytes per instance (sizeof), %d instances",
		measured_stage_size(), PIPELINE_NSTAGES);
	if (p->wrapper_traced_bytes)
		fprintf(to, ", %zu bytes traced by cprof", p->wrapper_traced_bytes);
	fputc('\n', to);
	if (bpr >= 0)
		fprintf(to, "record memory: %.1f bytes per record traced by cprof (sink hold)\n",
			bpr);
}

/* Bytes of the well-formed UTF-8 sequence at s (RFC 3629), 0 if none. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
	/* The second byte's range rules out overlong forms and surrogates. */
	unsigned lo = s[0] == 0xe0 ? 0xa0 : s[0] == 0xf0 ? 0x90 : 0x80;
	unsigned hi = s[0] == 0xed ? 0x9f : s[0] == 0xf4 ? 0x8f : 0xbf;

	if (n && (s[1] < lo || s[1] > hi))
		return 0;
	for (int i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string, escaped; NULL as null. A byte that is not UTF-8 (a
 * file name is any bytes) becomes U+FFFD, so the file stays JSON. */
static void json_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	while (*s) {
		unsigned char c = (unsigned char)*s;
		int n = c < 0x80 ? 1 : utf8_len((const unsigned char *)s);

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else if (n == 0)
			fputs("\\ufffd", f);
		else
			fwrite(s, 1, (size_t)n, f);
		s += n ? n : 1;
	}
	fputc('"', f);
}

static void write_json(FILE *f, const struct pipeline *p, const struct pipeline_options *o)
{
	const struct parse_errors *pe = parse_errors(p->parse);
	const struct validate_drops *d = validate_drops(p->validate);
	double bpr = sink_bytes_per_record(p->sink);

	fprintf(f, "{\n  \"config\": {\"records\": %ld, \"sensors\": %u, \"window\": %u, "
		"\"features\": \"%s\", \"layout\": \"%s\", \"seed\": %llu, \"input\": ",
		o->records, o->sensors, o->window,
		o->features == FEATURES_NAIVE ? "naive" : "incremental", o->layout->name,
		(unsigned long long)o->seed);
	json_string(f, o->input);
	fputs(", \"slow_stage\": ", f);
	json_string(f, o->slow_stage);
	fprintf(f, ", \"slow_usec\": %u, \"hold\": %u},\n", o->slow_usec, o->hold);
	fprintf(f, "  \"wall_seconds\": %.9f,\n  \"records_out\": %ld,\n  \"stages\": [\n",
		(double)p->wall_ns / 1e9, p->records_out);
	for (int i = 0; i < PIPELINE_NSTAGES; i++) {
		const struct stage_metrics *m = measured_stage_metrics(p->stages[i]);

		fprintf(f, "    {\"name\": \"%s\", \"calls\": %ld, \"records_in\": %ld, "
			"\"records_out\": %ld, \"filter_ratio\": %.17g, \"self_seconds\": %.9f, "
			"\"downstream_wait_seconds\": %.9f, \"throughput_rps\": %.6g}%s\n",
			p->stages[i]->name, m->calls, m->records_in, m->records_out,
			metrics_filter_ratio(m), (double)m->self_ns / 1e9,
			(double)m->wait_ns / 1e9, metrics_throughput(m),
			i + 1 < PIPELINE_NSTAGES ? "," : "");
	}
	fprintf(f, "  ],\n  \"bad_lines\": {\"count\": %ld, \"first_line\": %ld, "
		"\"first_reason\": ", pe->bad_lines, pe->first_lineno);
	json_string(f, pe->bad_lines ? pe->first_reason : NULL);
	fprintf(f, "},\n  \"dropped\": {\"dropout\": %ld, \"out_of_range\": %ld, "
		"\"stuck\": %ld},\n", d->dropout, d->out_of_range, d->stuck);
	fprintf(f, "  \"wrapper_bytes\": %zu,\n  \"wrapper_traced_bytes\": ",
		measured_stage_size());
	if (p->wrapper_traced_bytes)
		fprintf(f, "%zu", p->wrapper_traced_bytes);
	else
		fputs("null", f);
	fprintf(f, ",\n  \"record_struct_bytes\": %zu,\n  \"bytes_per_record_traced\": ",
		record_struct_size());
	if (bpr >= 0)
		fprintf(f, "%.3f", bpr);
	else
		fputs("null", f);
	fputs("\n}\n", f);
}

int pipeline_write_json(const struct pipeline *p, const struct pipeline_options *o,
			const char *path)
{
	size_t len = strlen(path);
	char *tmp = malloc(len + 16);
	FILE *f;
	int fd, err;

	if (!tmp)
		return -1;
	snprintf(tmp, len + 16, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);	/* O_CREAT | O_EXCL: never through a planted symlink */
	if (fd >= 0) {
		mode_t mask = umask(0);

		umask(mask);
		fchmod(fd, 0666 & ~mask);	/* mkstemp's 0600 would surprise */
	}
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		err = errno;
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		errno = err;
		return -1;
	}
	write_json(f, p, o);
	if (ferror(f) | fclose(f) || rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		free(tmp);
		errno = err;
		return -1;
	}
	free(tmp);
	return 0;
}
