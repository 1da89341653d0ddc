/*
 * sensor-pipeline (pipeline-demo/): the two feature implementations
 * agree, the CSV parser names what is wrong with a line, the record
 * layouts hold the same values, and the measured stages count exactly.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../pipeline-demo/pipeline.h"

/* ---- features ---- */

static int close_enough(double a, double b, double abs_tol)
{
	return fabs(a - b) <= FEATURES_REL_TOL * fmax(fabs(a), fabs(b)) + abs_tol;
}

/* splitmix64, so the stream is the same everywhere. */
static double uniform(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

/* Kelvin-like values: level, slow drift, noise, constant runs (equal
 * values, variance 0) and steps of the level. */
static double stream_value(uint64_t *rng, long i, double *level, int *run_left, double *run_value)
{
	double u = uniform(rng);

	if (*run_left > 0) {
		--*run_left;
		return *run_value;
	}
	if (u < 0.002)
		*level += (uniform(rng) - 0.5) * 10;
	if (u > 0.995) {
		*run_left = 1 + (int)(uniform(rng) * 40);
		*run_value = *level;
	}
	return *level + 1e-4 * (double)i + (uniform(rng) - 0.5);
}

static void check_agreement(unsigned window, unsigned nsensors, long n)
{
	struct features *naive = features_new(FEATURES_NAIVE, nsensors, window);
	struct features *inc = features_new(FEATURES_INCREMENTAL, nsensors, window);
	uint64_t rng = window;
	double level[8], run_value[8];
	int run_left[8] = { 0 };

	cr_assert(naive && inc && nsensors <= 8);
	for (unsigned s = 0; s < nsensors; s++)
		level[s] = 280 + 5 * s;
	for (long i = 0; i < n; i++) {
		unsigned s = (unsigned)(i % nsensors);
		double x = stream_value(&rng, i, &level[s], &run_left[s], &run_value[s]);
		struct feature_values a, b;

		features_update(naive, s, x, &a);
		features_update(inc, s, x, &b);
		cr_assert(close_enough(a.mean, b.mean, 0), "W=%u record %ld: mean %.17g vs %.17g",
			  window, i, a.mean, b.mean);
		cr_assert(close_enough(a.var, b.var, FEATURES_ABS_TOL),
			  "W=%u record %ld: variance %.17g vs %.17g", window, i, a.var, b.var);
		cr_assert(a.min == b.min && a.max == b.max, "W=%u record %ld: min/max differ",
			  window, i);
	}
	features_free(naive);
	features_free(inc);
}

Test(features, naive_and_incremental_agree_small_windows)
{
	check_agreement(1, 3, 5000);
	check_agreement(2, 3, 5000);
	check_agreement(7, 5, 20000);
}

Test(features, naive_and_incremental_agree_large_windows)
{
	check_agreement(64, 4, 40000);
	check_agreement(500, 2, 40000);
	check_agreement(2500, 1, 20000);
}

/* W = 3 over 1, 2, 3, 4, 0: hand-computed. */
Test(features, exact_on_a_short_stream)
{
	static const double x[] = { 1, 2, 3, 4, 0 };
	static const struct feature_values want[] = {
		{ 1, 0, 1, 1 }, { 1.5, 0.25, 1, 2 }, { 2, 2.0 / 3, 1, 3 },
		{ 3, 2.0 / 3, 2, 4 }, { 7.0 / 3, 26.0 / 9, 0, 4 },
	};

	for (int k = 0; k < 2; k++) {
		struct features *f = features_new(k ? FEATURES_INCREMENTAL : FEATURES_NAIVE, 1, 3);

		for (int i = 0; i < 5; i++) {
			struct feature_values got;

			features_update(f, 0, x[i], &got);
			cr_assert(close_enough(got.mean, want[i].mean, 1e-15), "%d mean", i);
			cr_assert(close_enough(got.var, want[i].var, 1e-15), "%d var %g", i, got.var);
			cr_assert_eq(got.min, want[i].min);
			cr_assert_eq(got.max, want[i].max);
		}
		features_free(f);
	}
}

Test(features, sensors_keep_separate_windows)
{
	struct features *f = features_new(FEATURES_INCREMENTAL, 2, 2);
	struct feature_values v;

	features_update(f, 0, 10, &v);
	features_update(f, 1, 100, &v);
	features_update(f, 0, 20, &v);
	cr_assert_eq(v.mean, 15);
	cr_assert_eq(v.max, 20);
	features_update(f, 1, 50, &v);
	cr_assert_eq(v.mean, 75);
	cr_assert_eq(v.min, 50);
	features_free(f);
}

Test(features, refuses_zero_sizes)
{
	cr_assert_null(features_new(FEATURES_NAIVE, 0, 10));
	cr_assert_null(features_new(FEATURES_INCREMENTAL, 4, 0));
}

/* ---- CSV parser ---- */

/* Arrays, not pointers: Criterion runs each parameter in a fresh
 * process, where a pointer into this (PIE) binary would not hold. */
struct bad_line {
	char text[48];
	char why[48];
};

static const struct bad_line bad_lines[] = {
	{ "", "empty line" },
	{ "1.0,2", "expected 3 fields, found 2" },
	{ "1.0,2,3,4", "expected 3 fields, found 4" },
	{ "abc", "expected 3 fields, found 1" },
	{ "x,1,20.0", "bad timestamp 'x'" },
	{ ",1,20.0", "bad timestamp ''" },
	{ "nan,1,20.0", "bad timestamp 'nan'" },
	{ "1.0,,20.0", "bad sensor id ''" },
	{ "1.0,-1,20.0", "bad sensor id '-1'" },
	{ "1.0,1x,20.0", "bad sensor id '1x'" },
	{ "1.0, 1,20.0", "bad sensor id ' 1'" },
	{ "1.0,4,20.0", "sensor id 4 out of range (--sensors 4)" },
	{ "1.0,99999999999999999999,2", "bad sensor id '99999999999999999999'" },
	{ "1.0,1,", "bad value ''" },
	{ "1.0,1,20.0abc", "bad value '20.0abc'" },
	{ "1.0,1,abcdefghijklmnopqrstuvwxyz", "bad value 'abcdefghijklmnopqrstuvwx...'" },
};

ParameterizedTestParameters(parse, rejects_malformed_line_with_reason)
{
	return cr_make_param_array(struct bad_line, bad_lines,
				   sizeof(bad_lines) / sizeof(bad_lines[0]));
}

ParameterizedTest(const struct bad_line *b, parse, rejects_malformed_line_with_reason)
{
	struct reading r;
	char why[96] = "";

	cr_assert_eq(parse_csv_line(b->text, 4, &r, why, sizeof(why)), -1, "'%s' accepted",
		     b->text);
	cr_assert_str_eq(why, b->why, "'%s'", b->text);
}

Test(parse, accepts_readings)
{
	struct reading r;
	char why[96] = "";

	cr_assert_eq(parse_csv_line("12.5,3,-7.25", 4, &r, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(r.t, 12.5);
	cr_assert_eq(r.sensor, 3);
	cr_assert_eq(r.value, -7.25);
	/* A dropout is a well-formed line; validation drops it. */
	cr_assert_eq(parse_csv_line("0,0,nan", 4, &r, why, sizeof(why)), 0);
	cr_assert(isnan(r.value));
}

/* ---- record layouts ---- */

Test(record, layouts_hold_the_same_values)
{
	const struct record_ops *ops[] = { &record_struct_ops, &record_dynamic_ops };

	for (int k = 0; k < 2; k++) {
		struct record *r = ops[k]->new_record();

		cr_assert_not_null(r);
		cr_assert(isnan(ops[k]->get(r, F_MEAN)), "%s: unset field", ops[k]->name);
		for (int f = 0; f < NFIELDS; f++)
			cr_assert_eq(ops[k]->set(r, (enum field)f, 10.0 + f), 0);
		cr_assert_eq(ops[k]->set(r, F_VALUE, -1.5), 0);	/* overwrite */
		for (int f = 0; f < NFIELDS; f++)
			cr_assert_eq(ops[k]->get(r, (enum field)f), f == F_VALUE ? -1.5 : 10.0 + f,
				     "%s field %d", ops[k]->name, f);
		ops[k]->free_record(r);
	}
	cr_assert_eq(record_ops_by_name("dynamic"), &record_dynamic_ops);
	cr_assert_null(record_ops_by_name("slots"));
}

/* ---- measured stages on a known input ---- */

/* 17 lines after the header: 5 malformed (first at line 12), 12 parsed;
 * validation drops 1 dropout, 3 out of range, 1 stuck (the 4th 21.5 of
 * sensor 1 in a row); 7 records reach the sink. */
static const char known_csv[] =
	"timestamp,sensor,value\n"
	"0.0,0,20.0\n"
	"0.0,1,21.0\n"
	"0.1,0,nan\n"
	"0.1,1,21.5\n"
	"0.2,0,200\n"
	"0.2,1,21.5\n"
	"0.3,0,20.5\n"
	"0.3,1,21.5\n"
	"0.4,1,21.5\n"
	"0.4,0,-41\n"
	"0.5,x,1.0\n"
	"0.5,0\n"
	"0.5,7,20.0\n"
	"0.6,1,abc\n"
	"\n"
	"0.6,0,inf\n"
	"0.7,1,22.0\r\n";

static char csv_path[64];

static void write_known_csv(void)
{
	int fd;

	strcpy(csv_path, "/tmp/cprof-pipeline-XXXXXX");
	fd = mkstemp(csv_path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, known_csv, strlen(known_csv)), (ssize_t)strlen(known_csv));
	close(fd);
}

static void remove_known_csv(void)
{
	unlink(csv_path);
}

TestSuite(measured, .init = write_known_csv, .fini = remove_known_csv);

static void run_known(struct pipeline *p, const struct record_ops *layout,
		      enum features_kind kind)
{
	struct pipeline_options o = {
		.sensors = 2, .window = 3, .features = kind, .layout = layout,
		.input = csv_path, .hold = 4, .is_measured = 1,
	};

	cr_assert_eq(pipeline_build(p, &o), 0);
	cr_assert_eq(pipeline_run(p), 0);
}

/* A clock that moves one ns at each read: a measured call's self time is
 * then 1 for its own two reads plus 1 for each upstream call it made
 * (that call's own two reads, minus its time, which is excluded). */
static int64_t ticks_ns;

static int64_t ticking_now_ns(void)
{
	return ++ticks_ns;
}

Test(measured, counts_are_exact_on_a_known_input)
{
	static const long want[PIPELINE_NSTAGES][2] = {
		{ 17, 17 }, { 17, 12 }, { 12, 7 }, { 7, 7 }, { 7, 7 }, { 7, 7 },
	};

	for (int k = 0; k < 4; k++) {
		struct pipeline p;
		const struct parse_errors *pe;
		const struct validate_drops *d;

		pipeline_use_clock(ticking_now_ns);
		run_known(&p, k & 1 ? &record_dynamic_ops : &record_struct_ops,
			  k & 2 ? FEATURES_INCREMENTAL : FEATURES_NAIVE);
		pipeline_use_clock(NULL);
		cr_assert_eq(p.records_out, 7);
		for (int i = 0; i < PIPELINE_NSTAGES; i++) {
			const struct stage_metrics *m = measured_stage_metrics(p.stages[i]);

			cr_assert_not_null(m);
			cr_assert_str_eq(p.stages[i]->name, pipeline_stage_names[i]);
			cr_assert_eq(m->records_in, want[i][0], "%s in: %ld", pipeline_stage_names[i],
				     m->records_in);
			cr_assert_eq(m->records_out, want[i][1], "%s out: %ld",
				     pipeline_stage_names[i], m->records_out);
			cr_assert_eq(m->calls, m->records_out + 1, "%s calls",
				     pipeline_stage_names[i]);
			/* Stage i makes every call of stage i - 1. */
			long upstream_calls = i ? want[i - 1][1] + 1 : 0;
			cr_assert_eq(m->self_ns, m->calls + upstream_calls, "%s self %ld",
				     pipeline_stage_names[i], (long)m->self_ns);
			cr_assert_geq(m->wait_ns, 0);
		}
		cr_assert_eq(metrics_filter_ratio(measured_stage_metrics(p.stages[2])), 7.0 / 12);
		cr_assert_eq(metrics_filter_ratio(measured_stage_metrics(p.stages[1])), 12.0 / 17);
		cr_assert_eq(metrics_filter_ratio(measured_stage_metrics(p.stages[0])), 1.0);
		pe = parse_errors(p.parse);
		cr_assert_eq(pe->bad_lines, 5);
		cr_assert_eq(pe->first_lineno, 12);
		cr_assert_str_eq(pe->first_reason, "bad sensor id 'x'");
		d = validate_drops(p.validate);
		cr_assert_eq(d->dropout, 1);
		cr_assert_eq(d->out_of_range, 3);
		cr_assert_eq(d->stuck, 1);
		pipeline_release(&p);
	}
}

/* A stage that returns n items, each after spinning spin_ns. */
struct counter_stage {
	struct stage base;
	long left;
	int64_t spin_ns;
};

/* Time that only spin() moves: the wrapper's figures are then exact
 * whatever else the machine runs. */
static int64_t virtual_ns;

static int64_t virtual_now_ns(void)
{
	return virtual_ns;
}

static void spin(int64_t ns)
{
	virtual_ns += ns;
}

static void *counter_next(struct stage *st)
{
	struct counter_stage *c = (struct counter_stage *)st;

	if (st->upstream) {	/* a pass-through consumer */
		void *item = st->upstream->next(st->upstream);

		if (item)
			spin(c->spin_ns);
		return item;
	}
	if (c->left <= 0)
		return NULL;
	c->left--;
	spin(c->spin_ns);
	return c;
}

static void counter_free(struct stage *st)
{
	free(st);
}

static struct stage *counter_new(struct stage *upstream, long n, int64_t spin_ns)
{
	struct counter_stage *c = calloc(1, sizeof(*c));

	c->base = (struct stage){ .name = "counter", .upstream = upstream, .next = counter_next,
				  .free = counter_free };
	c->left = n;
	c->spin_ns = spin_ns;
	return &c->base;
}

/* Upstream spins 0.1 ms per item, downstream 1 ms (virtual time): the
 * upstream's self time excludes nothing, the downstream's excludes the
 * upstream's, and the upstream waits for the downstream (the chokepoint
 * effect). */
Test(measured, self_time_excludes_upstream_and_wait_shows_chokepoint)
{
	struct stage *up = measured_stage_wrap(counter_new(NULL, 20, 100000), "up");
	struct stage *down = measured_stage_wrap(counter_new(up, 0, 1000000), "down");
	const struct stage_metrics *mu = measured_stage_metrics(up);
	const struct stage_metrics *md = measured_stage_metrics(down);
	long n = 0;

	pipeline_use_clock(virtual_now_ns);
	while (down->next(down))
		n++;
	cr_assert_eq(n, 20);
	cr_assert_eq(mu->records_in, 20);
	cr_assert_eq(md->records_in, 20);
	cr_assert_eq(md->records_out, 20);
	pipeline_use_clock(NULL);
	cr_assert_eq(mu->self_ns, 20 * 100000, "up self %ld", (long)mu->self_ns);
	cr_assert_eq(md->self_ns, 20 * 1000000, "down self %ld", (long)md->self_ns);
	/* Each record of up is held by down for its 1 ms spin. */
	cr_assert_eq(mu->wait_ns, 20 * 1000000, "up wait %ld", (long)mu->wait_ns);
	cr_assert_eq(md->wait_ns, 0, "down wait %ld", (long)md->wait_ns);
	cr_assert_eq(md->last_ns - md->first_ns, 20 * 1100000, "down active time");
	stage_free_chain(down);
}

Test(measured, wrapper_size_is_small)
{
	cr_assert_leq(measured_stage_size(), 128);
	cr_assert_null(measured_stage_metrics(NULL));
}
