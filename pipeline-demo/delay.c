/*
 * A deliberately slow stage: busy-waits a fixed time after each item the
 * wrapped stage returns (--slow-stage), so a chokepoint can be shown and
 * tested. Spins rather than sleeps: the delay is CPU time, as slow code is.
 */
#include <stdlib.h>

#include "pipeline.h"

struct delay {
	struct stage base;
	struct stage *inner;
	int64_t delay_ns;
};

static void *delay_next(struct stage *st)
{
	struct delay *d = (struct delay *)st;
	void *item = d->inner->next(d->inner);
	int64_t until;

	if (item) {
		until = pipeline_now_ns() + d->delay_ns;
		while (pipeline_now_ns() < until)
			;
	}
	return item;
}

static void delay_free(struct stage *st)
{
	struct delay *d = (struct delay *)st;

	if (!d)
		return;
	d->inner->free(d->inner);
	free(d);
}

struct stage *delay_stage_wrap(struct stage *inner, unsigned usec)
{
	struct delay *d;

	if (!inner)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d) {
		inner->free(inner);
		return NULL;
	}
	d->base = (struct stage){ .name = inner->name, .upstream = inner->upstream,
				  .next = delay_next, .free = delay_free };
	d->inner = inner;
	d->delay_ns = (int64_t)usec * 1000;
	return &d->base;
}
