/*
 * The source stage: synthetic sensor readings from a seed, or the lines
 * of a CSV file. Both yield the same text lines, so parse sees one input
 * format. Never parses, never drops a line.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

#define PERIOD_S 0.1	/* each sensor reports at 10 Hz */
#define NOISE_C 0.5	/* gaussian noise, standard deviation */
#define P_DROPOUT 0.010
#define P_SPIKE 0.005
#define P_STUCK 0.002	/* chance per reading that a sensor sticks */
#define STUCK_MIN 8
#define STUCK_SPAN 24

struct sensor_sim {
	double level, drift_per_s;
	double stuck_value;
	int stuck_left;
};

struct synthetic {
	struct stage base;
	uint64_t rng;
	long records, emitted;
	unsigned sensors;
	struct sensor_sim *sim;
	char buf[96];
	struct line line;
};

/* splitmix64: small, seedable, the same stream on every machine. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_uniform(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static double rng_gauss(uint64_t *s)
{
	double u1 = rng_uniform(s), u2 = rng_uniform(s);

	return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

static double synth_value(struct synthetic *g, struct sensor_sim *s, double t)
{
	double u;

	if (s->stuck_left > 0) {
		s->stuck_left--;
		return s->stuck_value;
	}
	u = rng_uniform(&g->rng);
	if (u < P_DROPOUT)
		return NAN;
	if (u < P_DROPOUT + P_SPIKE)	/* an electrical spike, far out of range */
		return (rng_uniform(&g->rng) < 0.5 ? -1 : 1) * (300 + 100 * rng_uniform(&g->rng));
	double v = s->level + s->drift_per_s * t + NOISE_C * rng_gauss(&g->rng);
	if (u < P_DROPOUT + P_SPIKE + P_STUCK) {
		/* Round to what the line holds, so the repeats compare equal. */
		s->stuck_value = round(v * 1e4) / 1e4;
		s->stuck_left = STUCK_MIN + (int)(rng_next(&g->rng) % STUCK_SPAN);
		return s->stuck_value;
	}
	return v;
}

static void *synthetic_next(struct stage *st)
{
	struct synthetic *g = (struct synthetic *)st;
	unsigned sensor;
	double t;
	int n;

	if (g->emitted >= g->records)
		return NULL;
	sensor = (unsigned)(g->emitted % g->sensors);
	t = (double)(g->emitted / g->sensors) * PERIOD_S;
	n = snprintf(g->buf, sizeof(g->buf), "%.3f,%u,%.4f", t, sensor,
		     synth_value(g, &g->sim[sensor], t));
	g->emitted++;
	g->line.text = g->buf;
	g->line.len = (size_t)n;
	g->line.lineno = g->emitted;
	return &g->line;
}

static void synthetic_free(struct stage *st)
{
	struct synthetic *g = (struct synthetic *)st;

	if (!g)
		return;
	free(g->sim);
	free(g);
}

struct stage *source_synthetic_new(const struct source_config *cfg)
{
	struct synthetic *g = calloc(1, sizeof(*g));

	if (!g || !cfg->sensors || !(g->sim = calloc(cfg->sensors, sizeof(*g->sim)))) {
		free(g);
		return NULL;
	}
	g->base = (struct stage){ .name = "source", .next = synthetic_next, .free = synthetic_free };
	g->rng = cfg->seed;
	g->records = cfg->records;
	g->sensors = cfg->sensors;
	for (unsigned i = 0; i < cfg->sensors; i++) {
		g->sim[i].level = 5 + 30 * rng_uniform(&g->rng);	/* 5..35 C */
		g->sim[i].drift_per_s = (rng_uniform(&g->rng) - 0.5) * 0.02;
	}
	return &g->base;
}

/* ---- CSV file ---- */

#define CSV_HEADER "timestamp,sensor,value"

struct csv_source {
	struct stage base;
	FILE *in;
	char *buf;
	size_t cap;
	long lineno;
	struct line line;
};

static void *csv_next(struct stage *st)
{
	struct csv_source *c = (struct csv_source *)st;
	ssize_t n;

	for (;;) {
		n = getline(&c->buf, &c->cap, c->in);
		if (n < 0)
			return NULL;
		c->lineno++;
		if (n > 0 && c->buf[n - 1] == '\n')
			c->buf[--n] = '\0';
		if (n > 0 && c->buf[n - 1] == '\r')
			c->buf[--n] = '\0';
		/* By length, not strcmp: a first line with a NUL after the header
		 * text is a bad line to count, not a header to skip. */
		if (c->lineno == 1 && (size_t)n == sizeof(CSV_HEADER) - 1 &&
		    memcmp(c->buf, CSV_HEADER, (size_t)n) == 0)
			continue;
		c->line.text = c->buf;
		c->line.len = (size_t)n;
		c->line.lineno = c->lineno;
		return &c->line;
	}
}

static void csv_free(struct stage *st)
{
	struct csv_source *c = (struct csv_source *)st;

	if (!c)
		return;
	free(c->buf);
	free(c);
}

struct stage *source_csv_new(FILE *in)
{
	struct csv_source *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->base = (struct stage){ .name = "source", .next = csv_next, .free = csv_free };
	c->in = in;
	return &c->base;
}
