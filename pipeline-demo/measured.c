/*
 * The measured-stage wrapper: forwards next() to the stage it wraps and
 * counts records and time around it. Chosen at construction, so an
 * unmeasured pipeline pays nothing per record. Never prints.
 */
#include <stdlib.h>
#include <time.h>

#include "pipeline.h"

struct measured {
	struct stage base;
	struct stage *inner;
	int is_holding;	/* a record returned, next() not called since */
	int64_t returned_ns;
	struct stage_metrics met;
};

/* What the measured stages called inside the current next() did: their
 * inclusive time and the records they returned. Saved and restored
 * around each call, like a profiler's shadow stack one level deep.
 * Per thread, so pipelines in different threads do not mix. */
static __thread struct {
	int64_t nested_ns;
	long nested_out;
} tl;

static int64_t (*clock_override)(void);

void pipeline_use_clock(int64_t (*now_ns)(void))
{
	clock_override = now_ns;
}

int64_t pipeline_now_ns(void)
{
	struct timespec ts;

	if (clock_override)
		return clock_override();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *measured_next(struct stage *st)
{
	struct measured *m = (struct measured *)st;
	int64_t saved_ns = tl.nested_ns, t0, t1;
	long saved_out = tl.nested_out;
	void *item;

	t0 = pipeline_now_ns();
	if (m->is_holding) {
		m->met.wait_ns += t0 - m->returned_ns;
		m->is_holding = 0;
	}
	if (m->met.calls++ == 0)
		m->met.first_ns = t0;
	tl.nested_ns = 0;
	tl.nested_out = 0;

	item = m->inner->next(m->inner);

	t1 = pipeline_now_ns();
	m->met.self_ns += (t1 - t0) - tl.nested_ns;
	m->met.records_in += m->inner->upstream ? tl.nested_out : (item != NULL);
	tl.nested_ns = saved_ns + (t1 - t0);
	tl.nested_out = saved_out + (item != NULL);
	if (item) {
		m->met.records_out++;
		m->returned_ns = t1;
		m->is_holding = 1;
	} else {
		m->met.last_ns = t1;
	}
	return item;
}

static void measured_free(struct stage *st)
{
	struct measured *m = (struct measured *)st;

	if (!m)
		return;
	m->inner->free(m->inner);
	free(m);
}

struct stage *measured_stage_wrap(struct stage *inner, const char *name)
{
	struct measured *m;

	if (!inner)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		inner->free(inner);
		return NULL;
	}
	m->base = (struct stage){ .name = name, .upstream = inner->upstream,
				  .next = measured_next, .free = measured_free };
	m->inner = inner;
	return &m->base;
}

const struct stage_metrics *measured_stage_metrics(const struct stage *s)
{
	if (!s || s->next != measured_next)
		return NULL;
	return &((const struct measured *)s)->met;
}

size_t measured_stage_size(void)
{
	return sizeof(struct measured);
}

double metrics_filter_ratio(const struct stage_metrics *m)
{
	return m->records_in ? (double)m->records_out / (double)m->records_in : 1.0;
}

double metrics_throughput(const struct stage_metrics *m)
{
	int64_t active = m->last_ns - m->first_ns;

	return active > 0 ? (double)m->records_out * 1e9 / (double)active : 0.0;
}
