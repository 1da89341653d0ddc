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

/* A quoted excerpt of a field for a message: at most 24 characters, "..."
 * when cut. Bytes outside printable ASCII are shown as \xHH: the reason
 * goes to a terminal and into a JSON string (--metrics-json), where raw
 * control or non-UTF-8 bytes from a hostile file would do harm. */
static void excerpt(char *dst, size_t size, const char *field, size_t len)
{
	char shown[24 + 1];
	size_t n = 0, i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)field[i];
		int is_plain = c >= 0x20 && c <= 0x7e;

		if (n + (is_plain ? 1 : 4) > sizeof(shown) - 1)
			break;
		if (is_plain)
			shown[n++] = (char)c;
		else
			n += (size_t)snprintf(shown + n, sizeof(shown) - n, "\\x%02x", c);
	}
	shown[n] = 0;
	snprintf(dst, size, "'%s%s'", shown, i < len ? "..." : "");
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
