/*
 * pprof export: a perftools.profiles.Profile built with protobuf-c (code
 * generated at build time from pprof's profile.proto, see reporter/pprof.mk), gzipped
 * with zlib. Samples are streamed as further Profile messages appended
 * to the first (protobuf merges concatenated messages, repeated fields
 * concatenate), so a huge tree is never held whole in memory.
 * Also owns the node walk and per-node rounding the speedscope writer shares.
 */
#include "export.h"
#include "hashmap.h"
#include "stacks.h"
#include "util.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile PbProfile;
typedef Perftools__Profiles__ValueType PbValueType;
typedef Perftools__Profiles__Sample PbSample;
typedef Perftools__Profiles__Mapping PbMapping;
typedef Perftools__Profiles__Location PbLocation;
typedef Perftools__Profiles__Line PbLine;
typedef Perftools__Profiles__Function PbFunction;

enum { SAMPLE_CHUNK = 1024 };

/* ---- the profile being built ---- */

struct builder {
	PbProfile pb;
	struct hashmap strings;	/* id = index + 1 */
	struct hashmap funcs;	/* "name\x1ffile\x1fline" -> function id */
	struct hashmap locs;	/* address (snapshots) -> location id */
	size_t cap_strings, cap_funcs, cap_locs;
	/* the current chunk of samples */
	PbSample *samples;
	PbSample **sample_ptrs;
	uint64_t *loc_ids;	/* SAMPLE_CHUNK x EXPORT_MAX_FRAMES */
	int64_t *values;	/* SAMPLE_CHUNK x nvalues */
	size_t nvalues;
	uint64_t outer_loc;	/* the "[outer frames]" location, 0 until needed */
	/* output */
	ProtobufCBuffer base_buf;
	z_stream z;
	FILE *out;
	unsigned char zout[1 << 16];
};

static int64_t str_id(struct builder *b, const char *s)
{
	uint64_t id = hashmap_str(&b->strings, s, b->pb.n_string_table + 1);

	if (id == b->pb.n_string_table + 1) {
		if (b->pb.n_string_table == b->cap_strings) {
			b->cap_strings = b->cap_strings ? b->cap_strings * 2 : 64;
			b->pb.string_table = xreallocarray(b->pb.string_table, b->cap_strings,
							   sizeof(char *));
		}
		b->pb.string_table[b->pb.n_string_table++] = xstrdup(s);
	}
	return (int64_t)id - 1;
}

static PbValueType *value_type(struct builder *b, const char *type, const char *unit)
{
	PbValueType *v = xmalloc(sizeof(*v));

	perftools__profiles__value_type__init(v);
	v->type = str_id(b, type);
	v->unit = str_id(b, unit);
	return v;
}

static void builder_init(struct builder *b, FILE *out, const char *const *types, size_t ntypes,
			 const struct modmap *mods)
{
	memset(b, 0, sizeof(*b));
	perftools__profiles__profile__init(&b->pb);
	hashmap_init(&b->strings, 1);
	hashmap_init(&b->funcs, 1);
	hashmap_init(&b->locs, 0);
	str_id(b, "");	/* string_table[0] must be "" */
	b->out = out;
	b->nvalues = ntypes / 2;
	b->pb.sample_type = xcalloc(b->nvalues, sizeof(*b->pb.sample_type));
	for (size_t i = 0; i < b->nvalues; i++)
		b->pb.sample_type[b->pb.n_sample_type++] = value_type(b, types[2 * i], types[2 * i + 1]);
	b->samples = xcalloc(SAMPLE_CHUNK, sizeof(*b->samples));
	b->sample_ptrs = xcalloc(SAMPLE_CHUNK, sizeof(*b->sample_ptrs));
	b->loc_ids = xcalloc((size_t)SAMPLE_CHUNK * EXPORT_MAX_FRAMES, sizeof(*b->loc_ids));
	b->values = xcalloc((size_t)SAMPLE_CHUNK * b->nvalues, sizeof(*b->values));

	b->pb.mapping = xcalloc(mods->count ? mods->count : 1, sizeof(*b->pb.mapping));
	for (size_t i = 0; i < mods->count; i++) {
		const struct modmap_entry *e = &mods->entries[i];
		char hex[2 * FMT_BUILD_ID_MAX + 1];
		PbMapping *m = xmalloc(sizeof(*m));
		perftools__profiles__mapping__init(m);
		m->id = i + 1;
		m->memory_start = e->start;
		m->memory_limit = e->end;
		m->file_offset = 0;	/* the first PT_LOAD maps the file's start */
		m->filename = str_id(b, e->path);
		modmap_build_id_hex(e->build_id, e->build_id_len, hex);
		m->build_id = str_id(b, hex);
		m->has_functions = m->has_filenames = m->has_line_numbers = 1;
		m->has_inline_frames = 1;
		b->pb.mapping[b->pb.n_mapping++] = m;
	}
}

static uint64_t mapping_id(const struct modmap *mods, uint64_t addr)
{
	const struct modmap_entry *e = modmap_find(mods, addr);
	return e ? (uint64_t)(e - mods->entries) + 1 : 0;
}

static uint64_t function_id(struct builder *b, const struct sym_frame *fr)
{
	char *key = xstrfmt("%s\x1f%s\x1f%d", fr->function, fr->file, fr->decl_line);
	uint64_t id = hashmap_str(&b->funcs, key, b->pb.n_function + 1);

	free(key);
	if (id == b->pb.n_function + 1) {
		PbFunction *f = xmalloc(sizeof(*f));
		perftools__profiles__function__init(f);
		f->id = id;
		f->name = f->system_name = str_id(b, fr->function);
		f->filename = str_id(b, fr->file);
		f->start_line = fr->decl_line;
		if (b->pb.n_function == b->cap_funcs) {
			b->cap_funcs = b->cap_funcs ? b->cap_funcs * 2 : 64;
			b->pb.function = xreallocarray(b->pb.function, b->cap_funcs,
						       sizeof(*b->pb.function));
		}
		b->pb.function[b->pb.n_function++] = f;
	}
	return id;
}

/* A new location at addr with the lines of frames (innermost first). */
static uint64_t add_location(struct builder *b, uint64_t mapping, uint64_t addr,
			     const struct sym_frame *frames, int nframes)
{
	PbLocation *l = xmalloc(sizeof(*l));

	perftools__profiles__location__init(l);
	l->id = b->pb.n_location + 1;
	l->mapping_id = mapping;
	l->address = addr;
	l->line = xcalloc(nframes ? (size_t)nframes : 1, sizeof(*l->line));
	for (int i = 0; i < nframes; i++) {
		PbLine *ln = xmalloc(sizeof(*ln));
		perftools__profiles__line__init(ln);
		ln->function_id = function_id(b, &frames[i]);
		ln->line = frames[i].line;
		l->line[l->n_line++] = ln;
	}
	if (b->pb.n_location == b->cap_locs) {
		b->cap_locs = b->cap_locs ? b->cap_locs * 2 : 64;
		b->pb.location = xreallocarray(b->pb.location, b->cap_locs, sizeof(*b->pb.location));
	}
	b->pb.location[b->pb.n_location++] = l;
	return l->id;
}

static uint64_t outer_location(struct builder *b)
{
	if (!b->outer_loc) {
		struct sym_frame fr = { .function = EXPORT_OUTER_FRAMES, .file = "", .module = "?" };
		b->outer_loc = add_location(b, 0, 0, &fr, 1);
	}
	return b->outer_loc;
}

/* ---- gzip output through a ProtobufCBuffer ---- */

static void gz_write(struct builder *b, int flush)
{
	int rc;

	do {
		b->z.next_out = b->zout;
		b->z.avail_out = sizeof(b->zout);
		rc = deflate(&b->z, flush);
		size_t have = sizeof(b->zout) - b->z.avail_out;
		if (have)
			fwrite(b->zout, 1, have, b->out);
	} while (b->z.avail_out == 0 && rc != Z_STREAM_END);
}

static void gz_append(ProtobufCBuffer *buf, size_t len, const uint8_t *data)
{
	struct builder *b = (struct builder *)((char *)buf - offsetof(struct builder, base_buf));

	b->z.next_in = (Bytef *)data;
	b->z.avail_in = (uInt)len;
	gz_write(b, Z_NO_FLUSH);
}

static int gz_open(struct builder *b)
{
	b->base_buf.append = gz_append;
	/* windowBits 15 + 16: the gzip wrapper pprof expects */
	if (deflateInit2(&b->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return error("cannot start zlib compression");
	return 0;
}

/* Writes the samples gathered so far as one more Profile message. */
static void flush_samples(struct builder *b)
{
	PbProfile chunk = PERFTOOLS__PROFILES__PROFILE__INIT;

	if (!b->pb.n_sample)
		return;
	chunk.n_sample = b->pb.n_sample;
	chunk.sample = b->sample_ptrs;
	protobuf_c_message_pack_to_buffer(&chunk.base, &b->base_buf);
	b->pb.n_sample = 0;
}

/* The next sample's slot; its location ids go in s->location_id. */
static PbSample *new_sample(struct builder *b)
{
	if (b->pb.n_sample == SAMPLE_CHUNK)
		flush_samples(b);
	size_t k = b->pb.n_sample++;
	PbSample *s = &b->samples[k];
	perftools__profiles__sample__init(s);
	s->location_id = b->loc_ids + k * EXPORT_MAX_FRAMES;
	s->value = b->values + k * b->nvalues;
	s->n_value = b->nvalues;
	b->sample_ptrs[k] = s;
	return s;
}

/* Everything but the samples, first; then the samples, in chunks. */
static int finish(struct builder *b)
{
	flush_samples(b);
	b->z.next_in = NULL;
	b->z.avail_in = 0;
	gz_write(b, Z_FINISH);
	deflateEnd(&b->z);
	return 0;	/* a failed fwrite stays in ferror: output_close() */
}

static void builder_release(struct builder *b)
{
	b->pb.n_sample = 0;
	b->pb.sample = NULL;
	/* every message and string below pb was malloc'ed one by one */
	for (size_t i = 0; i < b->pb.n_sample_type; i++)
		free(b->pb.sample_type[i]);
	free(b->pb.sample_type);
	free(b->pb.period_type);
	for (size_t i = 0; i < b->pb.n_mapping; i++)
		free(b->pb.mapping[i]);
	free(b->pb.mapping);
	for (size_t i = 0; i < b->pb.n_location; i++) {
		for (size_t j = 0; j < b->pb.location[i]->n_line; j++)
			free(b->pb.location[i]->line[j]);
		free(b->pb.location[i]->line);
		free(b->pb.location[i]);
	}
	free(b->pb.location);
	for (size_t i = 0; i < b->pb.n_function; i++)
		free(b->pb.function[i]);
	free(b->pb.function);
	for (size_t i = 0; i < b->pb.n_string_table; i++)
		free(b->pb.string_table[i]);
	free(b->pb.string_table);
	free(b->pb.comment);
	hashmap_release(&b->strings);
	hashmap_release(&b->funcs);
	hashmap_release(&b->locs);
	free(b->samples);
	free(b->sample_ptrs);
	free(b->loc_ids);
	free(b->values);
}

/* Packs the header (all but samples) into the gzip stream. */
static int write_header(struct builder *b, const struct fmt_meta *meta, const char *period_type,
			const char *period_unit, const char *default_type, const char *comment,
			const char *note)
{
	size_t n = b->pb.n_sample;

	if (gz_open(b) < 0)
		return -1;
	b->pb.period_type = value_type(b, period_type, period_unit);
	b->pb.period = 1;
	b->pb.time_nanos = (int64_t)meta->start_unix_ns;
	if (meta->end_unix_ns > meta->start_unix_ns)
		b->pb.duration_nanos = (int64_t)(meta->end_unix_ns - meta->start_unix_ns);
	b->pb.default_sample_type = str_id(b, default_type);
	b->pb.comment = xcalloc(3, sizeof(*b->pb.comment));
	b->pb.comment[b->pb.n_comment++] = str_id(b, "cprof " CPROF_VERSION);
	b->pb.comment[b->pb.n_comment++] = str_id(b, comment);
	if (note)
		b->pb.comment[b->pb.n_comment++] = str_id(b, note);
	b->pb.n_sample = 0;	/* samples follow as separate messages */
	protobuf_c_message_pack_to_buffer(&b->pb.base, &b->base_buf);
	b->pb.n_sample = n;
	return 0;
}

/* ---- call profiles ---- */

struct prof_ctx {
	struct builder *b;
	const struct profile *p;
	const uint64_t *node_ns;
};

static void add_node_sample(void *ctx, uint32_t node, const uint32_t *funcs, int depth)
{
	struct prof_ctx *c = ctx;
	uint64_t calls = c->p->nodes[node].calls;
	uint64_t ns = c->p->is_counts_only ? 0 : c->node_ns[node];

	if (!calls && !ns)
		return;
	PbSample *s = new_sample(c->b);
	int keep = depth > EXPORT_MAX_FRAMES ? EXPORT_MAX_FRAMES - 1 : depth;
	for (int k = 0; k < keep; k++)	/* leaf first; location id = function index + 1 */
		s->location_id[s->n_location_id++] = funcs[depth - 1 - k] + 1;
	if (keep < depth)
		s->location_id[s->n_location_id++] = outer_location(c->b);
	s->value[0] = (int64_t)calls;
	s->value[1] = (int64_t)ns;
}

static void note_depth(void *ctx, uint32_t node, const uint32_t *funcs, int depth)
{
	int *max_depth = ctx;

	(void)node;
	(void)funcs;
	if (depth > *max_depth)
		*max_depth = depth;
}

int export_pprof_profile(FILE *out, struct loaded *in)
{
	const struct profile *p = in->p;
	const struct callstats *cs = &in->cs;
	static const char *const types[] = { "calls", "count", "cpu", "nanoseconds" };
	struct builder *b = xmalloc(sizeof(*b));

	builder_init(b, out, types, 4, &p->modules);
	/* Location i + 1 is function i's entry, its line the definition's. */
	for (size_t f = 0; f < cs->nfuncs; f++) {
		struct sym_frame fr = *in->syms[f];
		fr.line = fr.decl_line;
		add_location(b, mapping_id(&p->modules, cs->funcs[f].fn), cs->funcs[f].fn, &fr, 1);
	}
	int max_depth = 0;
	stacks_walk_profile(p, cs, note_depth, &max_depth);
	if (max_depth > EXPORT_MAX_FRAMES)
		outer_location(b);	/* the header must hold every location */
	char *comment = xstrfmt("%s (pid %llu)", p->meta.program, (unsigned long long)p->meta.pid);
	char *note = callstats_range_note(cs);
	int rc = write_header(b, &p->meta, "cpu", "nanoseconds",
			      p->is_counts_only ? "calls" : "cpu", comment, note);
	free(comment);
	free(note);
	if (rc == 0) {
		struct prof_ctx c = { b, p, stacks_node_ns(p, cs) };
		stacks_walk_profile(p, cs, add_node_sample, &c);
		free((void *)c.node_ns);
		rc = finish(b);
	}
	builder_release(b);
	free(b);
	return rc;
}

/* ---- memory snapshots ---- */

int export_pprof_snapshot(FILE *out, struct loaded *in)
{
	const struct snapshot *s = in->s;
	struct symbolizer *sym = in->sym;
	enum { INLINE_MAX = 16 };
	static const char *const types[] = { "alloc_objects", "count", "alloc_space", "bytes",
					     "inuse_objects", "count", "inuse_space", "bytes" };
	struct builder *b = xmalloc(sizeof(*b));

	builder_init(b, out, types, 8, &s->modules);
	/* Every location first: the header message holds them all. */
	for (size_t i = 0; i < s->ntraces; i++) {
		if (s->traces[i].nframes > EXPORT_MAX_FRAMES)
			outer_location(b);
		for (uint32_t k = 0; k < s->traces[i].nframes; k++) {
			uint64_t addr = s->traces[i].frames[k];
			if (hashmap_u64(&b->locs, addr, 0))
				continue;
			struct sym_frame fr[INLINE_MAX];
			int nf = symbolize_code(sym, addr, fr, INLINE_MAX);
			uint64_t id = add_location(b, mapping_id(&s->modules, addr), addr, fr, nf);
			hashmap_u64(&b->locs, addr, id);
		}
	}
	char *comment = xstrfmt("%s (pid %llu), snapshot %llu '%s'", s->meta.program,
				(unsigned long long)s->meta.pid, (unsigned long long)s->meta.seq,
				s->meta.label);
	int rc = write_header(b, &s->meta, "space", "bytes", "inuse_space", comment, NULL);
	free(comment);
	for (size_t i = 0; rc == 0 && i < s->ntraces; i++) {
		const struct snap_trace *t = &s->traces[i];
		if (!t->total_blocks && !t->live_blocks)
			continue;
		PbSample *smp = new_sample(b);
		uint32_t keep = t->nframes > EXPORT_MAX_FRAMES ? EXPORT_MAX_FRAMES - 1 : t->nframes;
		for (uint32_t k = 0; k < keep; k++)	/* innermost first, as stored */
			smp->location_id[smp->n_location_id++] =
				hashmap_u64(&b->locs, t->frames[k], 0);
		if (keep < t->nframes)
			smp->location_id[smp->n_location_id++] = outer_location(b);
		smp->value[0] = (int64_t)t->total_blocks;
		smp->value[1] = (int64_t)t->total_bytes;
		smp->value[2] = (int64_t)t->live_blocks;
		smp->value[3] = (int64_t)t->live_bytes;
	}
	if (rc == 0)
		rc = finish(b);
	builder_release(b);
	free(b);
	return rc;
}
