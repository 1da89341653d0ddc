/*
 * The parse stage: one CSV line "timestamp,sensor,value" into a record.
 * Owns the bad-line count and the first bad line's reason; a malformed
 * line is never dropped without being counted.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

/* Copies at most 24 bytes of a field into a quoted excerpt for a message. */
static void excerpt(char *dst, size_t size, const char *field, size_t len)
{
	if (len > 24)
		snprintf(dst, size, "'%.24s...'", field);
	else
		snprintf(dst, size, "'%.*s'", (int)len, field);
}

int parse_csv_line(const char *text, unsigned nsensors, struct reading *out, char *why,
		   size_t whysize)
{
	const char *field[3];
	size_t flen[3];
	const char *p = text, *comma;
	unsigned nf = 0;
	char *end, ex[40];
	double t, v;
	unsigned long sensor;

	if (*text == '\0') {
		snprintf(why, whysize, "empty line");
		return -1;
	}
	for (;;) {
		comma = strchr(p, ',');
		if (nf < 3) {
			field[nf] = p;
			flen[nf] = comma ? (size_t)(comma - p) : strlen(p);
		}
		nf++;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (nf != 3) {
		snprintf(why, whysize, "expected 3 fields, found %u", nf);
		return -1;
	}

	errno = 0;
	t = strtod(field[0], &end);
	if (flen[0] == 0 || end != field[0] + flen[0] || errno || !isfinite(t)) {
		excerpt(ex, sizeof(ex), field[0], flen[0]);
		snprintf(why, whysize, "bad timestamp %s", ex);
		return -1;
	}
	if (field[1][0] < '0' || field[1][0] > '9') {	/* no sign, no space, not empty */
		excerpt(ex, sizeof(ex), field[1], flen[1]);
		snprintf(why, whysize, "bad sensor id %s", ex);
		return -1;
	}
	errno = 0;
	sensor = strtoul(field[1], &end, 10);
	if (end != field[1] + flen[1] || errno) {
		excerpt(ex, sizeof(ex), field[1], flen[1]);
		snprintf(why, whysize, "bad sensor id %s", ex);
		return -1;
	}
	if (sensor >= nsensors) {
		snprintf(why, whysize, "sensor id %lu out of range (--sensors %u)", sensor, nsensors);
		return -1;
	}
	errno = 0;
	v = strtod(field[2], &end);
	/* ERANGE on underflow still gives a usable value; overflow gives inf,
	 * which validation drops as out of range. */
	if (flen[2] == 0 || end != field[2] + flen[2]) {
		excerpt(ex, sizeof(ex), field[2], flen[2]);
		snprintf(why, whysize, "bad value %s", ex);
		return -1;
	}
	out->t = t;
	out->sensor = (unsigned)sensor;
	out->value = v;
	return 0;
}

struct parse {
	struct stage base;
	const struct record_ops *ops;
	unsigned nsensors;
	struct parse_errors err;
};

static void note_bad_line(struct parse *ps, long lineno, const char *why)
{
	if (ps->err.bad_lines++ == 0) {
		ps->err.first_lineno = lineno;
		snprintf(ps->err.first_reason, sizeof(ps->err.first_reason), "%s", why);
	}
}

static void *parse_next(struct stage *st)
{
	struct parse *ps = (struct parse *)st;
	const struct line *ln;
	struct reading rd;
	struct record *r;
	char why[96];

	while ((ln = st->upstream->next(st->upstream))) {
		if (strlen(ln->text) != ln->len) {
			note_bad_line(ps, ln->lineno, "line holds a NUL byte");
			continue;
		}
		if (parse_csv_line(ln->text, ps->nsensors, &rd, why, sizeof(why)) < 0) {
			note_bad_line(ps, ln->lineno, why);
			continue;
		}
		r = ps->ops->new_record();
		if (!r || ps->ops->set(r, F_TIME, rd.t) < 0 ||
		    ps->ops->set(r, F_SENSOR, rd.sensor) < 0 ||
		    ps->ops->set(r, F_VALUE, rd.value) < 0) {
			ps->ops->free_record(r);
			note_bad_line(ps, ln->lineno, "out of memory");
			continue;
		}
		return r;
	}
	return NULL;
}

static void parse_free(struct stage *st)
{
	free(st);
}

struct stage *parse_new(struct stage *upstream, const struct record_ops *ops, unsigned nsensors)
{
	struct parse *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	ps->base = (struct stage){ .name = "parse", .upstream = upstream, .next = parse_next,
				   .free = parse_free };
	ps->ops = ops;
	ps->nsensors = nsensors;
	return &ps->base;
}

const struct parse_errors *parse_errors(const struct stage *st)
{
	return &((const struct parse *)st)->err;
}
