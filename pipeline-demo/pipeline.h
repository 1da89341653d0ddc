/*
 * sensor-pipeline: a pull-based chain of stages (the C form of a chain of
 * generators), source -> parse -> validate -> normalize -> features -> sink,
 * and the measured-stage wrapper that gives per-stage metrics.
 * Single-threaded: one thread pulls the whole chain.
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <stdint.h>
#include <stdio.h>

/* ---- stages ----
 *
 * Every stage embeds struct stage first. next() returns one item or NULL
 * at the end of the stream; after NULL it is not called again. Items are
 * `struct line *` out of the source (owned by the source, valid until
 * its next call) and `struct record *` from parse on (the caller owns
 * them, but for the sink, which returns a record it still owns).
 */
struct stage {
	const char *name;
	struct stage *upstream;	/* what next() pulls from; NULL for the source */
	void *(*next)(struct stage *self);
	void (*free)(struct stage *self);	/* frees self, never upstream */
};

/* Frees a chain from its tail to its source; NULL does nothing. */
void stage_free_chain(struct stage *tail);

/* One raw input line, without its newline (nor a '\r' before it). */
struct line {
	const char *text;
	size_t len;
	long lineno;	/* 1-based line in the input file */
};

/* ---- records: two layouts of the same fields ----
 *
 * struct: one fixed struct per record, one malloc (the __slots__
 * counterpart: a typo in a field name does not compile).
 * dynamic: a list of key -> value fields, one malloc per field, added on
 * first set (the __dict__ counterpart: any key goes, each costs memory).
 */
enum field { F_TIME, F_SENSOR, F_VALUE, F_MEAN, F_VAR, F_MIN, F_MAX, NFIELDS };

struct record;

struct record_ops {
	const char *name;	/* "struct" or "dynamic" */
	struct record *(*new_record)(void);	/* NULL on OOM; free with free_record */
	void (*free_record)(struct record *r);	/* NULL does nothing */
	double (*get)(const struct record *r, enum field f);	/* NAN if unset */
	int (*set)(struct record *r, enum field f, double v);	/* -1 on OOM */
};

extern const struct record_ops record_struct_ops;
extern const struct record_ops record_dynamic_ops;

/* The ops named "struct" or "dynamic"; NULL for another name. */
const struct record_ops *record_ops_by_name(const char *name);

/* Bytes of the fixed record (what one record of the struct layout asks
 * malloc for). */
size_t record_struct_size(void);

/* ---- the stages themselves ---- */

struct source_config {
	uint64_t seed;
	long records;	/* synthetic readings to generate */
	unsigned sensors;
};

/* Synthetic readings as CSV lines: sensor i%K at t = (i/K) * 0.1 s, a
 * per-sensor level and drift, gaussian noise, and seeded faults:
 * dropouts ("nan"), out-of-range spikes, stuck runs. Deterministic for
 * a seed. NULL on OOM. */
struct stage *source_synthetic_new(const struct source_config *cfg);

/* Lines of an open CSV file (the stage never closes it). An optional
 * first line "timestamp,sensor,value" is skipped as a header. */
struct stage *source_csv_new(FILE *in);

/* CSV line -> record. Malformed lines are counted and skipped. */
struct reading {
	double t;
	unsigned sensor;
	double value;
};

/* Parses "timestamp,sensor,value" (NUL-terminated, no newline). Returns 0,
 * or -1 with why (lowercase, no final period) filled; sensor ids must be
 * below nsensors. nan/inf values parse (validation drops them). */
int parse_csv_line(const char *text, unsigned nsensors, struct reading *out, char *why,
		   size_t whysize);

struct parse_errors {
	long bad_lines;
	long first_lineno;	/* 0 when none */
	char first_reason[96];
};

struct stage *parse_new(struct stage *upstream, const struct record_ops *ops, unsigned nsensors);
const struct parse_errors *parse_errors(const struct stage *parse);

/* Drops dropouts (NaN), values out of [VALID_MIN, VALID_MAX] and stuck
 * readings: a value equal to its sensor's previous STUCK_LIMIT values. */
#define VALID_MIN (-40.0)
#define VALID_MAX 125.0
#define STUCK_LIMIT 3

struct validate_drops {
	long dropout, out_of_range, stuck;
};

struct stage *validate_new(struct stage *upstream, const struct record_ops *ops,
			   unsigned nsensors);
const struct validate_drops *validate_drops(const struct stage *validate);

/* Per-sensor calibration (gain, offset), then degrees Celsius -> kelvin. */
double normalize_value(unsigned sensor, double celsius);
struct stage *normalize_new(struct stage *upstream, const struct record_ops *ops);

/* ---- features: rolling mean, variance, min, max per sensor ----
 *
 * Over the last W values of a sensor (fewer until W have arrived).
 * Variance is the population variance of the window. The two
 * implementations agree within FEATURES_REL_TOL relative (mean,
 * variance; variance also within FEATURES_ABS_TOL absolute, for windows
 * of equal values); min and max are exact.
 */
#define FEATURES_REL_TOL 1e-9
#define FEATURES_ABS_TOL 1e-12

enum features_kind { FEATURES_NAIVE, FEATURES_INCREMENTAL };

struct feature_values {
	double mean, var, min, max;
};

struct features;

/* NULL on OOM or a zero size; caller frees with features_free(). */
struct features *features_new(enum features_kind kind, unsigned nsensors, unsigned window);
void features_free(struct features *f);
/* Adds x to the sensor's window and computes the window's features. */
void features_update(struct features *f, unsigned sensor, double x, struct feature_values *out);

struct stage *features_stage_new(struct stage *upstream, const struct record_ops *ops,
				 enum features_kind kind, unsigned nsensors, unsigned window);

/* Writes CSV (header, then one line per record) to out if not NULL, and
 * keeps per-sensor totals for the summary either way. The last `hold`
 * records stay alive in the sink (a batch writer's buffer), so their
 * bytes per record can be measured. */
struct stage *sink_new(struct stage *upstream, const struct record_ops *ops, FILE *out,
		       unsigned nsensors, unsigned hold);
void sink_print_summary(const struct stage *sink, FILE *to);
/* Traced bytes per held record (cprof's memory profiler), or a negative
 * value when it was not loaded or the hold never filled. */
double sink_bytes_per_record(const struct stage *sink);
/* 0, or -1 if writing the CSV failed (errno set). */
int sink_write_error(const struct stage *sink);

/* Busy-waits usec after each item inner returns: a deliberately slow
 * stage, for showing a chokepoint. Takes inner (frees it). */
struct stage *delay_stage_wrap(struct stage *inner, unsigned usec);

/* ---- measured stages ----
 *
 * measured_stage_wrap() returns a stage that forwards to inner and
 * measures it; it takes inner (frees it with itself). Wrap every stage
 * of a chain: records in and self time are counted through the measured
 * stages a stage pulls from.
 */
struct stage_metrics {
	long calls;	/* next() calls, the final one returning NULL included */
	long records_in;	/* records pulled from upstream (the source: = out) */
	long records_out;	/* records returned */
	int64_t self_ns;	/* inside next(), minus the time inside upstream */
	int64_t wait_ns;	/* from returning a record to the next call: the
				 * time downstream holds it (a chokepoint shows
				 * up here, upstream of the slow stage) */
	int64_t first_ns, last_ns;	/* first call, the end returned */
};

struct stage *measured_stage_wrap(struct stage *inner, const char *name);
/* NULL if s is not a measured stage. */
const struct stage_metrics *measured_stage_metrics(const struct stage *s);
/* Bytes of one wrapper instance. */
size_t measured_stage_size(void);

/* records_out / records_in; 1 for a stage with nothing in. */
double metrics_filter_ratio(const struct stage_metrics *m);
/* records_out / the stage's active time (first call to end), records/s. */
double metrics_throughput(const struct stage_metrics *m);

int64_t pipeline_now_ns(void);
/* Tests only: read time from now_ns instead of CLOCK_MONOTONIC (NULL
 * restores it), so that timing assertions are exact under any load. */
void pipeline_use_clock(int64_t (*now_ns)(void));

/* ---- the whole pipeline ---- */

#define PIPELINE_NSTAGES 6

struct pipeline_options {
	long records;
	unsigned sensors;
	unsigned window;
	enum features_kind features;
	const struct record_ops *layout;
	const char *input;	/* NULL: synthetic source */
	const char *output;	/* NULL: summary on stdout */
	uint64_t seed;
	const char *metrics_json;
	const char *slow_stage;	/* NULL or one of pipeline_stage_names */
	unsigned slow_usec;
	unsigned hold;
	int is_measured;	/* 0: no wrappers (to measure their overhead) */
};

extern const char *const pipeline_stage_names[PIPELINE_NSTAGES];

struct pipeline {
	struct stage *stages[PIPELINE_NSTAGES];	/* as pulled, source first */
	struct stage *parse, *validate, *sink;	/* unwrapped, for their counters */
	FILE *in, *out;
	int64_t wall_ns;
	long records_out;
	size_t wrapper_traced_bytes;	/* 0 without cprof's memory profiler */
};

/* 0, or -1 with one line on stderr (what failed, the object in quotes). */
int pipeline_build(struct pipeline *p, const struct pipeline_options *o);
/* Pulls the sink until the end. 0, or -1 when writing the output failed. */
int pipeline_run(struct pipeline *p);
void pipeline_release(struct pipeline *p);

void pipeline_print_table(const struct pipeline *p, FILE *to);
/* 0, or -1 with errno set. Written to a temporary name, then renamed. */
int pipeline_write_json(const struct pipeline *p, const struct pipeline_options *o,
			const char *path);

#endif
