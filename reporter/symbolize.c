/*
 * Symbolization with elfutils libdw, offline: each module of the file's
 * module map is reported to one Dwfl at the address it had in the
 * profiled process, on first use, and indexed (symindex.c) so that each
 * lookup is a binary search. Results are cached per address.
 * Warns once per module (missing, changed build-id, no debug info).
 */
#define _GNU_SOURCE
#include "symbolize.h"
#include "hashmap.h"
#include "symindex.h"
#include "util.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum mod_state { MOD_UNSEEN, MOD_READY, MOD_MISSING };

struct cache_entry {
	int nframes;
	struct sym_frame *frames;
};

struct symbolizer {
	const struct modmap *map;
	Dwfl *dwfl;
	enum mod_state *states;	/* per map entry */
	struct symindex **index;	/* per map entry, once MOD_READY */
	size_t nmods;		/* map->count: the map may go before us */
	struct cache_entry *cache;	/* in the order made */
	size_t ncache, cache_cap;
	struct hashmap functions, code;	/* address -> index + 1 into cache */
	char **strings;		/* every string handed out, freed at the end */
	size_t nstrings, strings_cap;
};

static char *debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

struct symbolizer *symbolizer_new(const struct modmap *map)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));

	s->map = map;
	s->dwfl = dwfl_begin(&offline_callbacks);
	s->states = xcalloc(map->count ? map->count : 1, sizeof(*s->states));
	s->index = xcalloc(map->count ? map->count : 1, sizeof(*s->index));
	s->nmods = map->count;
	hashmap_init(&s->functions, 0);
	hashmap_init(&s->code, 0);
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++)
		symindex_free(s->index[i]);
	free(s->index);
	if (s->dwfl)
		dwfl_end(s->dwfl);
	for (size_t i = 0; i < s->ncache; i++)
		free(s->cache[i].frames);
	hashmap_release(&s->functions);
	hashmap_release(&s->code);
	for (size_t i = 0; i < s->nstrings; i++)
		free(s->strings[i]);
	free(s->strings);
	free(s->cache);
	free(s->states);
	free(s);
}

static const char *keep(struct symbolizer *s, char *owned)
{
	if (s->nstrings == s->strings_cap) {
		s->strings_cap = s->strings_cap ? s->strings_cap * 2 : 256;
		s->strings = xreallocarray(s->strings, s->strings_cap, sizeof(*s->strings));
	}
	s->strings[s->nstrings++] = owned;
	return owned;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* The index of addr's module, reporting and indexing it on first use. */
static struct symindex *module_of(struct symbolizer *s, uint64_t addr,
				  const struct modmap_entry **entry)
{
	const struct modmap_entry *e = modmap_find(s->map, addr);

	*entry = e;
	if (!e || !s->dwfl)
		return NULL;
	size_t i = (size_t)(e - s->map->entries);
	if (s->states[i] == MOD_UNSEEN) {
		s->states[i] = MOD_MISSING;
		/* The path comes from the file: a FIFO or a device there would
		 * block open() or read forever. Only a regular file goes on. */
		int fd = open(e->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		const char *why = fd < 0 ? strerror(errno) : NULL;
		struct stat st;
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			close(fd);
			fd = -1;
			why = "not a regular file";
		}
		if (fd < 0) {
			warning("cannot read '%s' (%s): its functions are shown as addresses",
				e->path, why);
			return NULL;
		}
		dwfl_report_begin_add(s->dwfl);
		/* On success libdwfl owns fd; on failure it is still ours. */
		Dwfl_Module *m = dwfl_report_elf(s->dwfl, base_name(e->path), e->path, fd, e->bias,
						 false);
		dwfl_report_end(s->dwfl, NULL, NULL);
		if (!m) {
			close(fd);
			warning("cannot read '%s' (%s): its functions are shown as addresses",
				e->path, dwfl_errmsg(-1));
			return NULL;
		}
		const unsigned char *id;
		GElf_Addr id_vaddr;
		int len = dwfl_module_build_id(m, &id, &id_vaddr);
		if (e->build_id_len &&
		    (len != (int)e->build_id_len || memcmp(id, e->build_id, e->build_id_len) != 0))
			warning("'%s' changed since it was profiled (build-id differs): names may be wrong",
				e->path);
		Dwarf_Addr bias;
		if (!dwfl_module_getdwarf(m, &bias))
			warning("'%s' has no debug info: no file and line for its functions (build with -g)",
				e->path);
		s->index[i] = symindex_new(m);
		s->states[i] = MOD_READY;
	}
	return s->states[i] == MOD_READY ? s->index[i] : NULL;
}

/* The cache entry of addr in m (functions or code); *is_new when it
 * was just made, empty. Valid until the next call. */
static struct cache_entry *cache_entry_of(struct symbolizer *s, struct hashmap *m, uint64_t addr,
					  int *is_new)
{
	size_t known = m->count;
	size_t i = (size_t)hashmap_u64(m, addr, s->ncache + 1) - 1;

	*is_new = m->count > known;
	if (*is_new) {
		if (s->ncache == s->cache_cap) {
			s->cache_cap = s->cache_cap ? s->cache_cap * 2 : 1024;
			s->cache = xreallocarray(s->cache, s->cache_cap, sizeof(*s->cache));
		}
		memset(&s->cache[s->ncache++], 0, sizeof(*s->cache));
	}
	return &s->cache[i];
}

/* A source path as shown to the user: relative names are joined to
 * their CU's compilation directory, then shown relative to the cwd. */
static const char *source_path(struct symbolizer *s, Dwarf_Die *die, const char *f)
{
	Dwarf_Die cu;
	Dwarf_Attribute a;
	const char *comp_dir;

	if (!f)
		return NULL;
	/* Some line tables already hold the directory (glibc's: "./locale/x.c"
	 * with comp_dir "./locale"): join only when it is not there. */
	if (f[0] != '/' && dwarf_diecu(die, &cu, NULL, NULL) &&
	    (comp_dir = dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &a))) &&
	    strncmp(f, comp_dir, strlen(comp_dir)) != 0) {
		char *full = xstrfmt("%s/%s", comp_dir, f);
		const char *shown = keep(s, xstrdup(util_display_path(full)));
		free(full);
		return shown;
	}
	return keep(s, xstrdup(util_display_path(f)));
}

/* DW_AT_decl_file of die (or of its abstract origin). Not
 * dwarf_decl_file(): libdw 0.188 refuses index 0, which DWARF 5 makes
 * the primary source file and which clang uses for every function. */
static const char *decl_file(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	Dwarf_Word idx;
	Dwarf_Die cu;
	Dwarf_Half version;
	Dwarf_Files *files;
	size_t nfiles;

	if (!dwarf_attr_integrate(die, DW_AT_decl_file, &a) || dwarf_formudata(&a, &idx) != 0 ||
	    !dwarf_cu_die(a.cu, &cu, &version, NULL, NULL, NULL, NULL, NULL) ||
	    (idx == 0 && version < 5) || dwarf_getsrcfiles(&cu, &files, &nfiles) != 0 ||
	    idx >= nfiles)
		return NULL;
	return dwarf_filesrc(files, idx, NULL, NULL);
}

static const char *die_file(struct symbolizer *s, Dwarf_Die *die)
{
	return source_path(s, die, decl_file(die));
}

/* A frame as known without DWARF: named after dwarf_name if there is
 * one, else the ELF symbol, else the address; the module as its file. */
static void fill_unknown(struct symbolizer *s, struct sym_frame *f, uint64_t addr,
			 const struct modmap_entry *e, struct symindex *x,
			 const char *dwarf_name)
{
	const char *name = dwarf_name ? dwarf_name : x ? symindex_elf_name(x, addr) : NULL;

	f->function = name ? keep(s, xstrdup(name)) : keep(s, xstrfmt("0x%" PRIx64, addr));
	f->module = e ? e->path : "?";
	f->file = e ? keep(s, xstrdup(util_display_path(e->path))) : "?";
	f->line = 0;
	f->decl_line = 0;
	f->is_inlined = 0;
}

const struct sym_frame *symbolize_function(struct symbolizer *s, uint64_t fn_addr)
{
	int is_new;
	struct cache_entry *c = cache_entry_of(s, &s->functions, fn_addr, &is_new);
	const struct modmap_entry *e;

	if (!is_new)
		return c->frames;
	c->nframes = 1;
	c->frames = xcalloc(1, sizeof(*c->frames));

	struct sym_frame *f = c->frames;
	struct symindex *x = module_of(s, fn_addr, &e);
	Dwarf_Die fn;
	int has_fn = x && symindex_function(x, fn_addr, &fn);
	fill_unknown(s, f, fn_addr, e, x, has_fn ? dwarf_diename(&fn) : NULL);
	if (has_fn) {
		const char *file = die_file(s, &fn);
		if (file)
			f->file = file;
		dwarf_decl_line(&fn, &f->decl_line);
		f->line = f->decl_line;
	}
	return f;
}

/* The file name of a CU's file-table index (DW_AT_call_file). */
static const char *cu_file(struct symbolizer *s, Dwarf_Die *die, Dwarf_Word idx)
{
	Dwarf_Die cu;
	Dwarf_Files *files;
	size_t nfiles;

	if (!dwarf_diecu(die, &cu, NULL, NULL) || dwarf_getsrcfiles(&cu, &files, &nfiles) != 0 ||
	    idx >= nfiles)
		return NULL;
	return source_path(s, die, dwarf_filesrc(files, idx, NULL, NULL));
}

int symbolize_code(struct symbolizer *s, uint64_t addr, struct sym_frame *out, int max)
{
	uint64_t pc = addr ? addr - 1 : 0;	/* the call, not the return point */
	int is_new;
	struct cache_entry *c = cache_entry_of(s, &s->code, pc, &is_new);
	const struct modmap_entry *e;

	if (is_new) {
		struct symindex *x = module_of(s, pc, &e);
		Dwarf_Die *scopes = NULL, cu;
		/* One frame per inlined_subroutine plus the subprogram. */
		int n = x ? symindex_scopes(x, pc, &cu, &scopes) : -1;
		c->nframes = n > 0 ? n : 1;
		c->frames = xcalloc((size_t)c->nframes, sizeof(*c->frames));
		fill_unknown(s, &c->frames[0], pc, e, x, n > 0 ? dwarf_diename(&scopes[0]) : NULL);
		if (n >= 0) {
			/* libdw reads a CU's line table once and keeps it. */
			Dwarf_Line *line = dwarf_getsrc_die(&cu, pc - symindex_bias(x));
			int lineno = 0;
			const char *src = line ? dwarf_linesrc(line, NULL, NULL) : NULL;
			if (line)
				dwarf_lineno(line, &lineno);
			c->frames[0].line = lineno;
			if (src)
				c->frames[0].file = source_path(s, &cu, src);
		}
		/* Outer frames start as copies; their lines come from the
		 * DW_AT_call_line of the inlined frame inside them. */
		for (int i = 1; i < c->nframes; i++) {
			c->frames[i] = c->frames[0];
			c->frames[i].line = 0;
		}
		int k = 0;
		for (int i = 0; i < n && k < c->nframes; i++) {
			int tag = dwarf_tag(&scopes[i]);
			if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
				continue;
			struct sym_frame *f = &c->frames[k];
			const char *name = dwarf_diename(&scopes[i]);
			if (name)
				f->function = keep(s, xstrdup(name));
			dwarf_decl_line(&scopes[i], &f->decl_line);
			f->is_inlined = tag == DW_TAG_inlined_subroutine;
			if (tag == DW_TAG_inlined_subroutine && k + 1 < c->nframes) {
				/* The caller's frame executes the call site. */
				Dwarf_Attribute a;
				Dwarf_Word call_file = 0, call_line = 0;
				if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &a),
						    &call_line) == 0)
					c->frames[k + 1].line = (int)call_line;
				if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &a),
						    &call_file) == 0) {
					const char *cf = cu_file(s, &scopes[i], call_file);
					if (cf)
						c->frames[k + 1].file = cf;
				}
			}
			k++;
		}
		free(scopes);
	}
	int n = c->nframes < max ? c->nframes : max;
	memcpy(out, c->frames, (size_t)n * sizeof(*out));
	return n;
}
