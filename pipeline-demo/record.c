/*
 * The two record layouts: a fixed struct (one malloc per record) and a
 * dynamic key -> value list (one malloc per field), chosen once at
 * pipeline construction through struct record_ops.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

/* ---- struct layout: the __slots__ counterpart ---- */

struct fixed_record {
	double t;
	double value;
	double mean, var, min, max;
	unsigned sensor;
};

static struct record *fixed_new(void)
{
	struct fixed_record *r = malloc(sizeof(*r));

	if (!r)
		return NULL;
	r->t = r->value = r->mean = r->var = r->min = r->max = NAN;
	r->sensor = 0;
	return (struct record *)r;
}

static void fixed_free(struct record *r)
{
	free(r);
}

static double fixed_get(const struct record *rec, enum field f)
{
	const struct fixed_record *r = (const struct fixed_record *)rec;

	switch (f) {
	case F_TIME: return r->t;
	case F_SENSOR: return r->sensor;
	case F_VALUE: return r->value;
	case F_MEAN: return r->mean;
	case F_VAR: return r->var;
	case F_MIN: return r->min;
	case F_MAX: return r->max;
	default: return NAN;
	}
}

static int fixed_set(struct record *rec, enum field f, double v)
{
	struct fixed_record *r = (struct fixed_record *)rec;

	switch (f) {
	case F_TIME: r->t = v; break;
	case F_SENSOR: r->sensor = (unsigned)v; break;
	case F_VALUE: r->value = v; break;
	case F_MEAN: r->mean = v; break;
	case F_VAR: r->var = v; break;
	case F_MIN: r->min = v; break;
	case F_MAX: r->max = v; break;
	default: return -1;
	}
	return 0;
}

const struct record_ops record_struct_ops = {
	.name = "struct",
	.new_record = fixed_new,
	.free_record = fixed_free,
	.get = fixed_get,
	.set = fixed_set,
};

size_t record_struct_size(void)
{
	return sizeof(struct fixed_record);
}

/* ---- dynamic layout: the __dict__ counterpart ----
 *
 * Keys are shared constant strings (like interned attribute names) and
 * looked up by comparing them, as a dict would hash them; each field is
 * its own allocation, made the first time the field is set.
 */

static const char *const field_keys[NFIELDS] = {
	[F_TIME] = "timestamp", [F_SENSOR] = "sensor", [F_VALUE] = "value",
	[F_MEAN] = "mean", [F_VAR] = "variance", [F_MIN] = "min", [F_MAX] = "max",
};

struct dyn_field {
	struct dyn_field *next;
	const char *key;
	double value;
};

struct dyn_record {
	struct dyn_field *fields;
	size_t nfields;
};

static struct record *dyn_new(void)
{
	struct dyn_record *r = calloc(1, sizeof(*r));

	return (struct record *)r;
}

static void dyn_free(struct record *rec)
{
	struct dyn_record *r = (struct dyn_record *)rec;

	if (!r)
		return;
	for (struct dyn_field *f = r->fields, *next; f; f = next) {
		next = f->next;
		free(f);
	}
	free(r);
}

static struct dyn_field *dyn_find(const struct dyn_record *r, const char *key)
{
	for (struct dyn_field *f = r->fields; f; f = f->next)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

static double dyn_get(const struct record *rec, enum field f)
{
	const struct dyn_field *fld;

	if ((unsigned)f >= NFIELDS)
		return NAN;
	fld = dyn_find((const struct dyn_record *)rec, field_keys[f]);
	return fld ? fld->value : NAN;
}

static int dyn_set(struct record *rec, enum field f, double v)
{
	struct dyn_record *r = (struct dyn_record *)rec;
	struct dyn_field *fld;

	if ((unsigned)f >= NFIELDS)
		return -1;
	fld = dyn_find(r, field_keys[f]);
	if (!fld) {
		fld = malloc(sizeof(*fld));
		if (!fld)
			return -1;
		fld->key = field_keys[f];
		fld->next = r->fields;
		r->fields = fld;
		r->nfields++;
	}
	fld->value = v;
	return 0;
}

const struct record_ops record_dynamic_ops = {
	.name = "dynamic",
	.new_record = dyn_new,
	.free_record = dyn_free,
	.get = dyn_get,
	.set = dyn_set,
};

const struct record_ops *record_ops_by_name(const char *name)
{
	if (strcmp(name, record_struct_ops.name) == 0)
		return &record_struct_ops;
	if (strcmp(name, record_dynamic_ops.name) == 0)
		return &record_dynamic_ops;
	return NULL;
}
