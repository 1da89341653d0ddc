/*
 * sensor-pipeline: options, the run, and what is printed at the end.
 * Exit status 0 ok, 1 runtime error (a file), 2 usage. Errors are one
 * line on stderr; bad input lines are counted and reported, not fatal.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

/* Defaults chosen by measurement on the 2-core Debian VM (see
 * pipeline-demo/README.md): 1.5 s plain, 1.9 s under `cprof run`, where
 * the naive features take 67% of the profile (>60% wanted). */
#define DEFAULT_RECORDS 300000
#define DEFAULT_SENSORS 16
#define DEFAULT_WINDOW 2500
#define DEFAULT_HOLD 1000
#define MAX_CELLS (1L << 22)	/* sensors x window: 32 MiB of window ring */

static const char usage[] =
	"usage: sensor-pipeline [options]\n"
	"  a pull-based pipeline source -> parse -> validate -> normalize -> features -> sink\n"
	"  with per-stage metrics printed at the end\n"
	"\n"
	"  --records N        synthetic readings to generate (default %d)\n"
	"  --sensors K        sensors; ids in a CSV input must be below K (default %d)\n"
	"  --window W         rolling window, in readings per sensor (default %d)\n"
	"  --features naive|incremental   O(W) or O(1) per record (default naive)\n"
	"  --layout struct|dynamic        fixed record or one malloc per field (default struct)\n"
	"  --input FILE       read \"timestamp,sensor,value\" lines instead of generating\n"
	"  --output FILE      write records with features as CSV (default: a summary)\n"
	"  --seed S           seed of the synthetic readings (default 1)\n"
	"  --metrics-json FILE  write the stage table as JSON\n"
	"  --slow-stage NAME:USEC  busy-wait USEC after each record of stage NAME\n"
	"                     (source, parse, validate, normalize, features, sink)\n"
	"  --hold N           records the sink keeps alive, to measure bytes per record\n"
	"                     under cprof (default %d, 0 = none)\n"
	"  --no-measure       build the pipeline without the measured-stage wrappers\n"
	"  --help             this text\n";

static int usage_error(const char *fmt, const char *arg)
{
	fputs("sensor-pipeline: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see --help)\n", stderr);
	return 2;
}

/* A whole number in [lo, hi], or -1. */
static long parse_count(const char *s, long lo, long hi)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return -1;
	return v;
}

static int parse_slow_stage(struct pipeline_options *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	long usec;

	if (!colon)
		return -1;
	for (int i = 0; i < PIPELINE_NSTAGES; i++) {
		const char *name = pipeline_stage_names[i];

		if (strlen(name) == (size_t)(colon - arg) && !strncmp(name, arg, strlen(name))) {
			usec = parse_count(colon + 1, 0, 1000000);
			if (usec < 0)
				return -1;
			o->slow_stage = name;
			o->slow_usec = (unsigned)usec;
			return 0;
		}
	}
	return -1;
}

enum { O_RECORDS = 256, O_SENSORS, O_WINDOW, O_FEATURES, O_LAYOUT, O_INPUT, O_OUTPUT,
       O_SEED, O_JSON, O_SLOW, O_HOLD, O_NO_MEASURE, O_HELP };

static const struct option longopts[] = {
	{ "records", required_argument, NULL, O_RECORDS },
	{ "sensors", required_argument, NULL, O_SENSORS },
	{ "window", required_argument, NULL, O_WINDOW },
	{ "features", required_argument, NULL, O_FEATURES },
	{ "layout", required_argument, NULL, O_LAYOUT },
	{ "input", required_argument, NULL, O_INPUT },
	{ "output", required_argument, NULL, O_OUTPUT },
	{ "seed", required_argument, NULL, O_SEED },
	{ "metrics-json", required_argument, NULL, O_JSON },
	{ "slow-stage", required_argument, NULL, O_SLOW },
	{ "hold", required_argument, NULL, O_HOLD },
	{ "no-measure", no_argument, NULL, O_NO_MEASURE },
	{ "help", no_argument, NULL, O_HELP },
	{ 0 },
};

/* 0 to run, 1 after --help, or exit status 2 after a usage error. */
static int parse_options(int argc, char **argv, struct pipeline_options *o)
{
	long v;
	int c;

	*o = (struct pipeline_options){ .records = DEFAULT_RECORDS, .sensors = DEFAULT_SENSORS,
					.window = DEFAULT_WINDOW, .features = FEATURES_NAIVE,
					.layout = &record_struct_ops, .seed = 1,
					.hold = DEFAULT_HOLD, .is_measured = 1 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		const char *arg = optarg;

		switch (c) {
		case O_RECORDS:
			if ((v = parse_count(arg, 0, 1000000000)) < 0)
				return usage_error("--records needs a whole number from 0 to 1e9, not '%s'", arg);
			o->records = v;
			break;
		case O_SENSORS:
			if ((v = parse_count(arg, 1, 65536)) < 0)
				return usage_error("--sensors needs a whole number from 1 to 65536, not '%s'", arg);
			o->sensors = (unsigned)v;
			break;
		case O_WINDOW:
			if ((v = parse_count(arg, 1, 1000000)) < 0)
				return usage_error("--window needs a whole number from 1 to 1000000, not '%s'", arg);
			o->window = (unsigned)v;
			break;
		case O_FEATURES:
			if (!strcmp(arg, "naive"))
				o->features = FEATURES_NAIVE;
			else if (!strcmp(arg, "incremental"))
				o->features = FEATURES_INCREMENTAL;
			else
				return usage_error("--features must be naive or incremental, not '%s'", arg);
			break;
		case O_LAYOUT:
			if (!(o->layout = record_ops_by_name(arg)))
				return usage_error("--layout must be struct or dynamic, not '%s'", arg);
			break;
		case O_INPUT:
			o->input = arg;
			break;
		case O_OUTPUT:
			o->output = arg;
			break;
		case O_SEED: {
			char *end;

			errno = 0;
			o->seed = strtoull(arg, &end, 0);
			if (*arg < '0' || *arg > '9' || *end || errno)
				return usage_error("--seed needs a whole number, not '%s'", arg);
			break;
		}
		case O_JSON:
			o->metrics_json = arg;
			break;
		case O_SLOW:
			if (parse_slow_stage(o, arg) < 0)
				return usage_error("--slow-stage needs NAME:USEC, NAME a stage and "
						   "USEC up to 1000000, not '%s'", arg);
			break;
		case O_HOLD:
			if ((v = parse_count(arg, 0, 1000000)) < 0)
				return usage_error("--hold needs a whole number from 0 to 1000000, not '%s'", arg);
			o->hold = (unsigned)v;
			break;
		case O_NO_MEASURE:
			o->is_measured = 0;
			break;
		case O_HELP:
			printf(usage, DEFAULT_RECORDS, DEFAULT_SENSORS, DEFAULT_WINDOW, DEFAULT_HOLD);
			return 1;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if ((long)o->sensors * o->window > MAX_CELLS)
		return usage_error("--sensors x --window must stay below 4194304%s", "");
	if (o->metrics_json && !o->is_measured)
		return usage_error("--metrics-json needs the measured stages, drop %s", "--no-measure");
	return 0;
}

int main(int argc, char **argv)
{
	struct pipeline_options o;
	struct pipeline p;
	const struct parse_errors *pe;
	int rc = parse_options(argc, argv, &o), status = 0;

	if (rc)
		return rc == 1 ? 0 : rc;
	if (pipeline_build(&p, &o) < 0)
		return 1;
	if (pipeline_run(&p) < 0) {
		fprintf(stderr, "sensor-pipeline: cannot write '%s': %s\n", o.output,
			strerror(errno));
		status = 1;
	}

	if (o.input)
		printf("sensor-pipeline: '%s', ", o.input);
	else
		printf("sensor-pipeline: %ld synthetic readings (seed %llu), ", o.records,
		       (unsigned long long)o.seed);
	printf("%u sensors, window %u, features %s, layout %s: %ld records out\n", o.sensors,
	       o.window, o.features == FEATURES_NAIVE ? "naive" : "incremental", o.layout->name,
	       p.records_out);
	if (!o.output)
		sink_print_summary(p.sink, stdout);
	if (o.is_measured) {
		putchar('\n');
		pipeline_print_table(&p, stdout);
	} else {
		printf("wall %.1f ms (no measured stages)\n", (double)p.wall_ns / 1e6);
	}
	fflush(stdout);
	pe = parse_errors(p.parse);
	if (pe->bad_lines)
		fprintf(stderr, "sensor-pipeline: %ld bad line%s skipped (first at line %ld: %s)\n",
			pe->bad_lines, pe->bad_lines == 1 ? "" : "s", pe->first_lineno,
			pe->first_reason);
	if (o.metrics_json && pipeline_write_json(&p, &o, o.metrics_json) < 0) {
		fprintf(stderr, "sensor-pipeline: cannot write '%s': %s\n", o.metrics_json,
			strerror(errno));
		status = 1;
	}
	pipeline_release(&p);
	return status;
}
