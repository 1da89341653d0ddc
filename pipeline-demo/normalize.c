/*
 * The normalize stage: per-sensor calibration, then Celsius to kelvin.
 * The calibration table is a fixed function of the sensor id, so a CSV
 * input and the synthetic source are normalized alike.
 */
#include <assert.h>
#include <stdlib.h>

#include "pipeline.h"

double normalize_value(unsigned sensor, double celsius)
{
	double gain = 1.0 + 0.002 * (double)(sensor % 7);
	double offset = 0.05 * (double)(sensor % 5);

	return (celsius - offset) * gain + 273.15;
}

struct normalize {
	struct stage base;
	const struct record_ops *ops;
};

static void *normalize_next(struct stage *st)
{
	struct normalize *n = (struct normalize *)st;
	struct record *r = st->upstream->next(st->upstream);

	if (!r)
		return NULL;
	/* F_VALUE exists since parse, so set() cannot need memory. */
	int rc = n->ops->set(r, F_VALUE, normalize_value((unsigned)n->ops->get(r, F_SENSOR),
							n->ops->get(r, F_VALUE)));
	assert(rc == 0);
	(void)rc;
	return r;
}

static void normalize_free(struct stage *st)
{
	free(st);
}

struct stage *normalize_new(struct stage *upstream, const struct record_ops *ops)
{
	struct normalize *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->base = (struct stage){ .name = "normalize", .upstream = upstream,
				  .next = normalize_next, .free = normalize_free };
	n->ops = ops;
	return &n->base;
}
