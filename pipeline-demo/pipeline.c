/*
 * Builds the chain source -> parse -> validate -> normalize -> features
 * -> sink from the options, wrapping each stage once (slow, measured),
 * runs it and takes it down. Opens and closes the input and output files.
 */
#include <cprof.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

const char *const pipeline_stage_names[PIPELINE_NSTAGES] = {
	"source", "parse", "validate", "normalize", "features", "sink",
};

void stage_free_chain(struct stage *tail)
{
	while (tail) {
		struct stage *up = tail->upstream;

		tail->free(tail);
		tail = up;
	}
}

/* Wraps stage number i as the options ask; on failure frees it. */
static struct stage *wrap(struct pipeline *p, const struct pipeline_options *o, int i,
			  struct stage *s)
{
	size_t before, after, peak;

	if (s && o->slow_stage && strcmp(o->slow_stage, pipeline_stage_names[i]) == 0)
		s = delay_stage_wrap(s, o->slow_usec);
	if (s && o->is_measured) {
		cprof_traced_memory(&before, &peak);
		s = measured_stage_wrap(s, pipeline_stage_names[i]);
		cprof_traced_memory(&after, &peak);
		p->wrapper_traced_bytes += after - before;
	}
	p->stages[i] = s;
	return s;
}

int pipeline_build(struct pipeline *p, const struct pipeline_options *o)
{
	struct stage *s;
	struct source_config sc = { .seed = o->seed, .records = o->records,
				    .sensors = o->sensors };

	memset(p, 0, sizeof(*p));
	if (o->input && !(p->in = fopen(o->input, "r"))) {
		fprintf(stderr, "sensor-pipeline: cannot open '%s': %s\n", o->input,
			strerror(errno));
		return -1;
	}
	if (o->output && !(p->out = fopen(o->output, "w"))) {
		fprintf(stderr, "sensor-pipeline: cannot create '%s': %s\n", o->output,
			strerror(errno));
		pipeline_release(p);
		return -1;
	}
	/* Each constructor takes the chain built so far; on failure the
	 * chain is still whole and freed below through p->stages[i - 1]. */
	s = wrap(p, o, 0, p->in ? source_csv_new(p->in) : source_synthetic_new(&sc));
	if (s)
		s = wrap(p, o, 1, p->parse = parse_new(s, o->layout, o->sensors));
	if (s)
		s = wrap(p, o, 2, p->validate = validate_new(s, o->layout, o->sensors));
	if (s)
		s = wrap(p, o, 3, normalize_new(s, o->layout));
	if (s)
		s = wrap(p, o, 4, features_stage_new(s, o->layout, o->features, o->sensors,
						     o->window));
	if (s)
		s = wrap(p, o, 5, p->sink = sink_new(s, o->layout, p->out, o->sensors, o->hold));
	if (!s) {
		fprintf(stderr, "sensor-pipeline: out of memory building the pipeline "
				"(try a smaller --window or --sensors)\n");
		for (int i = PIPELINE_NSTAGES - 1; i >= 0; i--) {
			if (p->stages[i]) {
				stage_free_chain(p->stages[i]);
				break;
			}
		}
		memset(p->stages, 0, sizeof(p->stages));
		pipeline_release(p);
		return -1;
	}
	return 0;
}

int pipeline_run(struct pipeline *p)
{
	struct stage *tail = p->stages[PIPELINE_NSTAGES - 1];
	int64_t t0 = pipeline_now_ns();

	while (tail->next(tail))
		p->records_out++;
	p->wall_ns = pipeline_now_ns() - t0;
	return sink_write_error(p->sink);
}

void pipeline_release(struct pipeline *p)
{
	stage_free_chain(p->stages[PIPELINE_NSTAGES - 1]);
	memset(p->stages, 0, sizeof(p->stages));
	if (p->in)
		fclose(p->in);
	if (p->out)
		fclose(p->out);
	p->in = p->out = NULL;
}
