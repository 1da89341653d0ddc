/*
 * The validate stage: drops dropouts (NaN), readings out of the sensor's
 * physical range and stuck readings, counting each reason. Frees what
 * it drops; never changes a record it passes on.
 */
#include <math.h>
#include <stdlib.h>

#include "pipeline.h"

struct stuck_state {
	double last;
	unsigned repeats;	/* readings in a row equal to last; 0 before the first */
};

struct validate {
	struct stage base;
	const struct record_ops *ops;
	unsigned nsensors;
	struct stuck_state *stuck;
	struct validate_drops drops;
};

/* Which rule drops r, or NULL if it passes. Updates the stuck state. */
static long *drop_reason(struct validate *v, struct record *r)
{
	double x = v->ops->get(r, F_VALUE);
	unsigned sensor = (unsigned)v->ops->get(r, F_SENSOR);
	struct stuck_state *s;

	if (isnan(x))
		return &v->drops.dropout;
	if (!(x >= VALID_MIN && x <= VALID_MAX))
		return &v->drops.out_of_range;
	if (sensor >= v->nsensors)	/* parse checked it; keep the table safe anyway */
		return &v->drops.out_of_range;
	s = &v->stuck[sensor];
	if (s->repeats && x == s->last) {
		if (++s->repeats > STUCK_LIMIT)
			return &v->drops.stuck;
	} else {
		s->last = x;
		s->repeats = 1;
	}
	return NULL;
}

static void *validate_next(struct stage *st)
{
	struct validate *v = (struct validate *)st;
	struct record *r;
	long *reason;

	while ((r = st->upstream->next(st->upstream))) {
		reason = drop_reason(v, r);
		if (!reason)
			return r;
		++*reason;
		v->ops->free_record(r);
	}
	return NULL;
}

static void validate_free(struct stage *st)
{
	struct validate *v = (struct validate *)st;

	if (!v)
		return;
	free(v->stuck);
	free(v);
}

struct stage *validate_new(struct stage *upstream, const struct record_ops *ops,
			   unsigned nsensors)
{
	struct validate *v = calloc(1, sizeof(*v));

	if (!v || !nsensors || !(v->stuck = calloc(nsensors, sizeof(*v->stuck)))) {
		free(v);
		return NULL;
	}
	v->base = (struct stage){ .name = "validate", .upstream = upstream,
				  .next = validate_next, .free = validate_free };
	v->ops = ops;
	v->nsensors = nsensors;
	return &v->base;
}

const struct validate_drops *validate_drops(const struct stage *st)
{
	return &((const struct validate *)st)->drops;
}
