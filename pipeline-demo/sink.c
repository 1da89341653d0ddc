/*
 * The sink stage: writes records as CSV or folds them into a per-sensor
 * summary, and holds the last N records alive to measure their memory.
 * Owns every record it returned; frees a record when it leaves the hold.
 */
#include <cprof.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "pipeline.h"

struct sensor_total {
	long records;
	double sum, min, max;
	struct feature_values last;
};

struct sink {
	struct stage base;
	const struct record_ops *ops;
	FILE *out;
	int write_errno;	/* of the first failed write; 0 if none */
	unsigned nsensors;
	struct sensor_total *tot;
	struct record **held;
	unsigned hold, nheld, next_slot;
	size_t traced_at_one, traced_at_full;	/* cprof's traced bytes */
	int is_hold_measured;
};

static void write_csv(struct sink *s, const struct record *r)
{
	const struct record_ops *o = s->ops;

	if (fprintf(s->out, "%.17g,%u,%.17g,%.17g,%.17g,%.17g,%.17g\n", o->get(r, F_TIME),
		    (unsigned)o->get(r, F_SENSOR), o->get(r, F_VALUE), o->get(r, F_MEAN),
		    o->get(r, F_VAR), o->get(r, F_MIN), o->get(r, F_MAX)) < 0 && !s->write_errno)
		s->write_errno = errno ? errno : EIO;
}

static void add_to_summary(struct sink *s, const struct record *r)
{
	const struct record_ops *o = s->ops;
	unsigned sensor = (unsigned)o->get(r, F_SENSOR);
	double x = o->get(r, F_VALUE);
	struct sensor_total *t;

	if (sensor >= s->nsensors)
		return;
	t = &s->tot[sensor];
	if (t->records++ == 0)
		t->min = t->max = x;
	t->sum += x;
	if (x < t->min)
		t->min = x;
	if (x > t->max)
		t->max = x;
	t->last.mean = o->get(r, F_MEAN);
	t->last.var = o->get(r, F_VAR);
	t->last.min = o->get(r, F_MIN);
	t->last.max = o->get(r, F_MAX);
}

/* Keeps r among the last `hold` records, freeing the one it replaces.
 * The traced memory with one record held and with the hold full gives
 * the bytes per record; the snapshot lets `cprof stats` show by line. */
static void hold_record(struct sink *s, struct record *r)
{
	size_t cur, peak;

	if (!s->hold) {
		s->ops->free_record(r);
		return;
	}
	s->ops->free_record(s->held[s->next_slot]);
	s->held[s->next_slot] = r;
	s->next_slot = (s->next_slot + 1) % s->hold;
	if (s->nheld == s->hold)
		return;
	s->nheld++;
	if (s->nheld == 1 || s->nheld == s->hold) {
		cprof_traced_memory(&cur, &peak);
		if (s->nheld == 1) {
			s->traced_at_one = cur;
		} else {
			s->traced_at_full = cur;
			s->is_hold_measured = cur > 0;
			cprof_snapshot("sink-hold-full");
		}
	}
}

static void *sink_next(struct stage *st)
{
	struct sink *s = (struct sink *)st;
	struct record *r = st->upstream->next(st->upstream);

	if (!r)
		return NULL;
	if (s->out)
		write_csv(s, r);
	add_to_summary(s, r);
	hold_record(s, r);
	return r;
}

static void sink_free(struct stage *st)
{
	struct sink *s = (struct sink *)st;

	if (!s)
		return;
	for (unsigned i = 0; s->held && i < s->hold; i++)
		s->ops->free_record(s->held[i]);
	free(s->held);
	free(s->tot);
	free(s);
}

struct stage *sink_new(struct stage *upstream, const struct record_ops *ops, FILE *out,
		       unsigned nsensors, unsigned hold)
{
	struct sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base = (struct stage){ .name = "sink", .upstream = upstream, .next = sink_next,
				  .free = sink_free };
	s->ops = ops;
	s->out = out;
	s->nsensors = nsensors;
	s->hold = hold;
	s->tot = calloc(nsensors ? nsensors : 1, sizeof(*s->tot));
	s->held = hold ? calloc(hold, sizeof(*s->held)) : NULL;
	if (!s->tot || (hold && !s->held)) {
		sink_free(&s->base);
		return NULL;
	}
	if (out && fprintf(out, "timestamp,sensor,value,mean,variance,min,max\n") < 0)
		s->write_errno = errno ? errno : EIO;
	return &s->base;
}

#define SUMMARY_SENSORS 8

void sink_print_summary(const struct stage *st, FILE *to)
{
	const struct sink *s = (const struct sink *)st;
	unsigned shown = s->nsensors < SUMMARY_SENSORS ? s->nsensors : SUMMARY_SENSORS;

	fprintf(to, "%6s %9s %10s %10s %10s  %s\n", "sensor", "records", "mean K", "min K",
		"max K", "last window: mean K, variance K^2");
	for (unsigned i = 0; i < shown; i++) {
		const struct sensor_total *t = &s->tot[i];

		if (!t->records) {
			fprintf(to, "%6u %9d %10s %10s %10s  -\n", i, 0, "-", "-", "-");
			continue;
		}
		fprintf(to, "%6u %9ld %10.3f %10.3f %10.3f  %.3f, %.4f\n", i, t->records,
			t->sum / (double)t->records, t->min, t->max, t->last.mean, t->last.var);
	}
	if (shown < s->nsensors)
		fprintf(to, "%6s (%u more sensors)\n", "...", s->nsensors - shown);
}

double sink_bytes_per_record(const struct stage *st)
{
	const struct sink *s = (const struct sink *)st;

	if (!s->is_hold_measured || s->hold < 2)
		return -1;
	return ((double)s->traced_at_full - (double)s->traced_at_one) / (s->hold - 1);
}

int sink_write_error(const struct stage *st)
{
	const struct sink *s = (const struct sink *)st;

	if (!s->out)
		return 0;
	errno = 0;
	if (fflush(s->out) == EOF || s->write_errno || ferror(s->out)) {
		/* The first failure's errno; parse resets errno per line. */
		errno = s->write_errno ? s->write_errno : errno ? errno : EIO;
		return -1;
	}
	return 0;
}
