/*
 * Rolling features per sensor (mean, variance, min, max over the last W
 * values), naive and incremental, and the features stage around them.
 * Both implementations share the window ring; only the arithmetic differs.
 */
#include <math.h>
#include <stdlib.h>

#include "pipeline.h"

/* Deque of sequence numbers in window order, in a ring of capacity W. */
struct deque {
	long *seq;
	unsigned head, len;
};

struct sensor_window {
	double *ring;	/* the last n values; slot of value number k is k % W */
	unsigned n;
	long count;	/* values ever added to this sensor */
	/* incremental only */
	double ref;	/* shift that keeps s1, s2 well conditioned */
	double s1, s2;	/* sum of (x - ref) and of its square over the window */
	unsigned since_resync;
	struct deque dmin, dmax;	/* increasing / decreasing values */
};

struct features {
	enum features_kind kind;
	unsigned nsensors, window;
	void (*update)(struct features *f, struct sensor_window *w, double x,
		       struct feature_values *out);
	struct sensor_window *sw;
	double *rings;
	long *deques;
};

static void window_push(struct features *f, struct sensor_window *w, double x)
{
	w->ring[w->count % f->window] = x;
	w->count++;
	if (w->n < f->window)
		w->n++;
}

/* O(W) per record: the whole window is summed again, as sum(window) would.
 * Two passes, so the variance does not lose digits to cancellation. */
__attribute__((noinline)) static void features_naive_update(struct features *f,
							     struct sensor_window *w, double x,
							     struct feature_values *out)
{
	double sum = 0, ss = 0, mn = INFINITY, mx = -INFINITY, mean;
	unsigned n;

	window_push(f, w, x);
	n = w->n;
	for (unsigned i = 0; i < n; i++) {
		double v = w->ring[i];

		sum += v;
		if (v < mn)
			mn = v;
		if (v > mx)
			mx = v;
	}
	mean = sum / n;
	for (unsigned i = 0; i < n; i++) {
		double d = w->ring[i] - mean;

		ss += d * d;
	}
	out->mean = mean;
	out->var = ss / n;
	out->min = mn;
	out->max = mx;
}

static double deque_value(const struct features *f, const struct sensor_window *w,
			  const struct deque *d, unsigned i)
{
	return w->ring[d->seq[(d->head + i) % f->window] % f->window];
}

/* Monotonic deque step: drops the front if it left the window, drops
 * the values x makes irrelevant from the back (those not below it for
 * min, not above it for max), appends x. Amortized O(1). The expired
 * front goes first: its ring slot already holds x. */
static void deque_push(struct features *f, struct sensor_window *w, struct deque *d, long seq,
		       double x, int is_min)
{
	if (d->len && d->seq[d->head] <= seq - (long)f->window) {
		d->head = (d->head + 1) % f->window;
		d->len--;
	}
	while (d->len) {
		double back = deque_value(f, w, d, d->len - 1);

		if (is_min ? back < x : back > x)
			break;
		d->len--;
	}
	d->seq[(d->head + d->len) % f->window] = seq;
	d->len++;
}

/* Recomputes s1 and s2 around the current mean. Once every W values, so
 * rounding cannot drift for more than W steps: amortized O(1). */
static void window_resync(struct sensor_window *w)
{
	double sum = 0, s1 = 0, s2 = 0;

	for (unsigned i = 0; i < w->n; i++)
		sum += w->ring[i];
	w->ref = sum / w->n;
	for (unsigned i = 0; i < w->n; i++) {
		double d = w->ring[i] - w->ref;

		s1 += d;
		s2 += d * d;
	}
	w->s1 = s1;
	w->s2 = s2;
	w->since_resync = 0;
}

/* O(1) per record: running shifted sums over a ring, min and max from
 * monotonic deques. */
__attribute__((noinline)) static void features_incremental_update(struct features *f,
								   struct sensor_window *w,
								   double x,
								   struct feature_values *out)
{
	long seq = w->count;
	double var, m;

	if (w->count == 0)
		w->ref = x;
	if (w->n == f->window) {	/* the oldest value leaves the window */
		double d = w->ring[seq % f->window] - w->ref;

		w->s1 -= d;
		w->s2 -= d * d;
	}
	window_push(f, w, x);
	w->s1 += x - w->ref;
	w->s2 += (x - w->ref) * (x - w->ref);
	if (++w->since_resync >= f->window)
		window_resync(w);
	deque_push(f, w, &w->dmin, seq, x, 1);
	deque_push(f, w, &w->dmax, seq, x, 0);

	m = w->s1 / w->n;
	var = w->s2 / w->n - m * m;
	out->mean = w->ref + m;
	out->var = var > 0 ? var : 0;
	out->min = deque_value(f, w, &w->dmin, 0);
	out->max = deque_value(f, w, &w->dmax, 0);
}

struct features *features_new(enum features_kind kind, unsigned nsensors, unsigned window)
{
	struct features *f;
	size_t cells = (size_t)nsensors * window;

	if (!nsensors || !window)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->kind = kind;
	f->nsensors = nsensors;
	f->window = window;
	f->update = kind == FEATURES_NAIVE ? features_naive_update : features_incremental_update;
	f->sw = calloc(nsensors, sizeof(*f->sw));
	f->rings = calloc(cells, sizeof(*f->rings));
	if (kind == FEATURES_INCREMENTAL)
		f->deques = calloc(2 * cells, sizeof(*f->deques));
	if (!f->sw || !f->rings || (kind == FEATURES_INCREMENTAL && !f->deques)) {
		features_free(f);
		return NULL;
	}
	for (unsigned s = 0; s < nsensors; s++) {
		f->sw[s].ring = f->rings + (size_t)s * window;
		if (f->deques) {
			f->sw[s].dmin.seq = f->deques + 2 * (size_t)s * window;
			f->sw[s].dmax.seq = f->sw[s].dmin.seq + window;
		}
	}
	return f;
}

void features_free(struct features *f)
{
	if (!f)
		return;
	free(f->deques);
	free(f->rings);
	free(f->sw);
	free(f);
}

void features_update(struct features *f, unsigned sensor, double x, struct feature_values *out)
{
	f->update(f, &f->sw[sensor], x, out);
}

/* ---- the stage ---- */

struct features_stage {
	struct stage base;
	const struct record_ops *ops;
	struct features *f;
};

static void *features_next(struct stage *st)
{
	struct features_stage *fs = (struct features_stage *)st;
	struct record *r;
	struct feature_values fv;

	while ((r = st->upstream->next(st->upstream))) {
		features_update(fs->f, (unsigned)fs->ops->get(r, F_SENSOR),
				fs->ops->get(r, F_VALUE), &fv);
		if (fs->ops->set(r, F_MEAN, fv.mean) == 0 && fs->ops->set(r, F_VAR, fv.var) == 0 &&
		    fs->ops->set(r, F_MIN, fv.min) == 0 && fs->ops->set(r, F_MAX, fv.max) == 0)
			return r;
		/* Out of memory for a field: the record cannot carry its
		 * features; drop it rather than pass it on half-filled. */
		fs->ops->free_record(r);
	}
	return NULL;
}

static void features_stage_free(struct stage *st)
{
	struct features_stage *fs = (struct features_stage *)st;

	if (!fs)
		return;
	features_free(fs->f);
	free(fs);
}

struct stage *features_stage_new(struct stage *upstream, const struct record_ops *ops,
				 enum features_kind kind, unsigned nsensors, unsigned window)
{
	struct features_stage *fs = calloc(1, sizeof(*fs));

	if (!fs || !(fs->f = features_new(kind, nsensors, window))) {
		free(fs);
		return NULL;
	}
	fs->base = (struct stage){ .name = "features", .upstream = upstream,
				   .next = features_next, .free = features_stage_free };
	fs->ops = ops;
	return &fs->base;
}
