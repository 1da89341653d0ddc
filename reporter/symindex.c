/*
 * The symbolizer's per-module index. libdw's own lookups scan: CUs
 * through .debug_aranges (which clang does not emit), DIEs of a whole CU
 * per address (dwarf_getscopes), the symbol table per address
 * (dwfl_module_addrname). Here each is read once into address-sorted
 * spans and searched: a CU's functions when an address first falls in it.
 */
#define _GNU_SOURCE
#include "symindex.h"
#include "util.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

/* An address range [lo, hi) of one item. max_hi is the largest hi of
 * this span and every one sorted before it: scanning back from the last
 * span starting at or below an address can stop once max_hi is below it. */
struct span {
	uint64_t lo, hi, max_hi;
	uint32_t item;
	uint32_t depth;		/* nesting: an inner function beats its parent */
};

struct spans {
	struct span *v;
	size_t n, cap;
};

struct cu_info {
	Dwarf_Die die;
	int is_read;		/* its functions are in fns */
	struct spans fns;	/* items index fn_dies */
	Dwarf_Die *fn_dies;
	size_t nfn, fn_cap;
};

/* A sized ELF symbol, as libdwfl's address search sees it. */
struct elf_sym {
	uint64_t lo, size;
	const char *name;
	int ndx;		/* symbol table order: ties go to the first */
	int binding;		/* global 3 > weak 2 > local 1, as libdwfl ranks */
	int is_global_tier;	/* searched before the locals */
};

struct symindex {
	Dwfl_Module *m;
	Dwarf *dw;		/* NULL: no debug info */
	Dwarf_Addr bias;
	struct cu_info *cus;
	size_t ncus;
	struct spans cu_spans;	/* items index cus */
	int syms_read;
	struct elf_sym *syms;
	size_t nsyms;
	struct spans sym_spans;	/* items index syms */
	uint64_t *sizeless_globals;	/* sorted addresses */
	size_t nsizeless;
	int has_sizeless;	/* of any binding */
};

static void spans_add(struct spans *t, uint64_t lo, uint64_t hi, size_t item, uint32_t depth)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n++] = (struct span){ .lo = lo, .hi = hi, .item = (uint32_t)item, .depth = depth };
}

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->item < y->item ? -1 : x->item > y->item;
}

static void spans_sort(struct spans *t)
{
	uint64_t max_hi = 0;

	if (t->n)	/* v is NULL when nothing was added (a module without debug info) */
		qsort(t->v, t->n, sizeof(*t->v), span_cmp);
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].hi > max_hi)
			max_hi = t->v[i].hi;
		t->v[i].max_hi = max_hi;
	}
}

/* One past the last span with lo <= addr; spans that contain addr are
 * found scanning down from there while max_hi > addr. */
static size_t spans_upper(const struct spans *t, uint64_t addr)
{
	size_t l = 0, u = t->n;

	while (l < u) {
		size_t mid = l + (u - l) / 2;
		if (t->v[mid].lo <= addr)
			l = mid + 1;
		else
			u = mid;
	}
	return l;
}

/* Each range of die, biased, into t as item. */
static void add_ranges(struct spans *t, Dwarf_Die *die, Dwarf_Addr bias, size_t item,
		       uint32_t depth)
{
	Dwarf_Addr base, start, end;
	ptrdiff_t off = 0;

	/* Address 0 is where linkers leave discarded (gc'd) code's ranges. */
	while ((off = dwarf_ranges(die, off, &base, &start, &end)) > 0)
		if (end > start && start != 0)
			spans_add(t, start + bias, end + bias, item, depth);
}

struct symindex *symindex_new(Dwfl_Module *m)
{
	struct symindex *x = xcalloc(1, sizeof(*x));
	Dwarf_CU *cu = NULL;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie, subdie;
	size_t cap = 0;

	x->m = m;
	x->dw = dwfl_module_getdwarf(m, &x->bias);
	while (x->dw && dwarf_get_units(x->dw, cu, &cu, &version, &unit_type, &cudie, &subdie) == 0) {
		if (unit_type == DW_UT_skeleton)
			cudie = subdie;	/* split DWARF: the code is described there */
		else if (unit_type != DW_UT_compile && unit_type != DW_UT_partial)
			continue;
		if (x->ncus == cap) {
			cap = cap ? cap * 2 : 64;
			x->cus = xreallocarray(x->cus, cap, sizeof(*x->cus));
		}
		memset(&x->cus[x->ncus], 0, sizeof(x->cus[x->ncus]));
		x->cus[x->ncus].die = cudie;
		add_ranges(&x->cu_spans, &cudie, x->bias, x->ncus, 0);
		x->ncus++;
	}
	spans_sort(&x->cu_spans);
	return x;
}

void symindex_free(struct symindex *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->ncus; i++) {
		free(x->cus[i].fns.v);
		free(x->cus[i].fn_dies);
	}
	free(x->cus);
	free(x->cu_spans.v);
	free(x->syms);
	free(x->sym_spans.v);
	free(x->sizeless_globals);
	free(x);
}

uint64_t symindex_bias(const struct symindex *x)
{
	return x->bias;
}

/* Every subprogram with code below parent, nested ones one deeper. */
static void read_functions(struct symindex *x, struct cu_info *c, Dwarf_Die *parent,
			   uint32_t depth)
{
	Dwarf_Die child;

	if (dwarf_child(parent, &child) != 0)
		return;
	do {
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
			if (c->nfn == c->fn_cap) {
				c->fn_cap = c->fn_cap ? c->fn_cap * 2 : 16;
				c->fn_dies = xreallocarray(c->fn_dies, c->fn_cap, sizeof(*c->fn_dies));
			}
			c->fn_dies[c->nfn] = child;
			add_ranges(&c->fns, &child, x->bias, c->nfn, depth);
			c->nfn++;
			read_functions(x, c, &child, depth + 1);	/* GNU C nested functions */
			break;
		case DW_TAG_lexical_block:
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
			read_functions(x, c, &child, depth);
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* The innermost function of c containing addr; NULL if none. */
static Dwarf_Die *cu_function(struct symindex *x, struct cu_info *c, uint64_t addr)
{
	if (!c->is_read) {
		c->is_read = 1;
		read_functions(x, c, &c->die, 0);
		spans_sort(&c->fns);
	}
	const struct span *best = NULL;
	for (size_t i = spans_upper(&c->fns, addr); i > 0 && c->fns.v[i - 1].max_hi > addr; i--) {
		const struct span *s = &c->fns.v[i - 1];
		if (s->hi > addr && (!best || s->depth > best->depth ||
				     (s->depth == best->depth && s->item < best->item)))
			best = s;
	}
	return best ? &c->fn_dies[best->item] : NULL;
}

/* The CU of a DIE found some other way, among ours; NULL if not. */
static struct cu_info *cu_by_die(struct symindex *x, Dwarf_Die *cudie)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);

	for (size_t i = 0; i < x->ncus; i++)
		if (dwarf_dieoffset(&x->cus[i].die) == off)
			return &x->cus[i];
	return NULL;
}

/* The function containing addr and its CU; *cu NULL when no CU covers it. */
static Dwarf_Die *find_function(struct symindex *x, uint64_t addr, struct cu_info **cu)
{
	*cu = NULL;
	for (size_t i = spans_upper(&x->cu_spans, addr);
	     i > 0 && x->cu_spans.v[i - 1].max_hi > addr; i--) {
		const struct span *s = &x->cu_spans.v[i - 1];
		if (s->hi <= addr)
			continue;
		struct cu_info *c = &x->cus[s->item];
		Dwarf_Die *fn = cu_function(x, c, addr);
		if (!*cu || fn)
			*cu = c;
		if (fn)
			return fn;
	}
	if (*cu || !x->dw)
		return NULL;
	/* A CU with no ranges of its own may still be in .debug_aranges. */
	Dwarf_Addr bias;
	Dwarf_Die *cudie = dwfl_module_addrdie(x->m, addr, &bias);
	*cu = cudie ? cu_by_die(x, cudie) : NULL;
	return *cu ? cu_function(x, *cu, addr) : NULL;
}

int symindex_function(struct symindex *x, uint64_t addr, Dwarf_Die *fn)
{
	struct cu_info *cu;
	Dwarf_Die *d = find_function(x, addr, &cu);

	if (d)
		*fn = *d;
	return d != NULL;
}

static int has_pc_attrs(Dwarf_Die *die)
{
	return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
}

enum { INLINE_DEPTH_MAX = 256 };

/* The inlined_subroutines below parent containing pc, outermost first,
 * appended to chain from n; returns the new count. */
static int inline_path(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *chain, int n)
{
	Dwarf_Die child;

	if (n >= INLINE_DEPTH_MAX || dwarf_child(parent, &child) != 0)
		return n;
	do {
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_inlined_subroutine && dwarf_haspc(&child, pc) == 1) {
			chain[n] = child;
			return inline_path(&child, pc, chain, n + 1);
		}
		if (tag == DW_TAG_lexical_block) {
			int in_block = dwarf_haspc(&child, pc) == 1;
			if (in_block || !has_pc_attrs(&child)) {
				int found = inline_path(&child, pc, chain, n);
				if (found > n || in_block)
					return found;
			}
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return n;
}

int symindex_scopes(struct symindex *x, uint64_t addr, Dwarf_Die *cu, Dwarf_Die **out)
{
	struct cu_info *c;
	Dwarf_Die *fn = find_function(x, addr, &c);

	*out = NULL;
	if (!c)
		return -1;
	*cu = c->die;
	if (!fn)
		return 0;
	Dwarf_Die chain[INLINE_DEPTH_MAX];
	int n = inline_path(fn, addr - x->bias, chain, 0);
	*out = xcalloc((size_t)n + 1, sizeof(**out));
	for (int i = 0; i < n; i++)
		(*out)[i] = chain[n - 1 - i];
	(*out)[n] = *fn;
	return n + 1;
}

/* ---- ELF symbols ---- */

static int binding_rank(int bind)
{
	return bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : bind == STB_LOCAL ? 1 : 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The symbols libdwfl's address search considers, read once. */
static void read_symbols(struct symindex *x)
{
	int n = dwfl_module_getsymtab(x->m);
	int first_global = dwfl_module_getsymtab_first_global(x->m);
	size_t cap = 0, sizeless_cap = 0;

	x->syms_read = 1;
	if (n < 0 || first_global < 0)
		return;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr value;
		const char *name = dwfl_module_getsym_info(x->m, i, &sym, &value, NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !name[0] || sym.st_shndx == SHN_UNDEF || type == STT_SECTION ||
		    type == STT_FILE || type == STT_TLS)
			continue;
		int is_global_tier = first_global == 0 || i >= first_global;
		if (sym.st_size == 0) {
			x->has_sizeless = 1;
			if (!is_global_tier)
				continue;
			if (x->nsizeless == sizeless_cap) {
				sizeless_cap = sizeless_cap ? sizeless_cap * 2 : 64;
				x->sizeless_globals = xreallocarray(x->sizeless_globals, sizeless_cap,
								    sizeof(*x->sizeless_globals));
			}
			x->sizeless_globals[x->nsizeless++] = value;
			continue;
		}
		if (x->nsyms == cap) {
			cap = cap ? cap * 2 : 256;
			x->syms = xreallocarray(x->syms, cap, sizeof(*x->syms));
		}
		x->syms[x->nsyms] = (struct elf_sym){
			.lo = value, .size = sym.st_size, .name = name, .ndx = i,
			.binding = binding_rank(GELF_ST_BIND(sym.st_info)),
			.is_global_tier = is_global_tier,
		};
		spans_add(&x->sym_spans, value, value + sym.st_size, x->nsyms, 0);
		x->nsyms++;
	}
	spans_sort(&x->sym_spans);
	if (x->nsizeless)	/* NULL when there is none */
		qsort(x->sizeless_globals, x->nsizeless, sizeof(*x->sizeless_globals), u64_cmp);
}

static int sym_ndx_cmp(const void *a, const void *b)
{
	const struct elf_sym *x = *(const struct elf_sym *const *)a;
	const struct elf_sym *y = *(const struct elf_sym *const *)b;
	return x->ndx - y->ndx;
}

/* libdwfl's choice among sized symbols containing the address, taken
 * in symbol table order: the closest start, then the stronger binding,
 * then the smaller size, then the first. */
static const struct elf_sym *pick(const struct elf_sym **cands, size_t n)
{
	const struct elf_sym *best = NULL;

	qsort(cands, n, sizeof(*cands), sym_ndx_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct elf_sym *c = cands[i];
		if (!best || best->lo < c->lo || best->binding < c->binding)
			best = c;
		else if (best->lo == c->lo &&
			 ((best->size > c->size && best->binding <= c->binding) ||
			  (best->size >= c->size && best->binding < c->binding)))
			best = c;
	}
	return best;
}

const char *symindex_elf_name(struct symindex *x, uint64_t addr)
{
	if (!x->syms_read)
		read_symbols(x);
	const struct elf_sym *globals[64], *locals[64];
	size_t ng = 0, nl = 0;
	int overflow = 0;
	for (size_t i = spans_upper(&x->sym_spans, addr);
	     i > 0 && x->sym_spans.v[i - 1].max_hi > addr; i--) {
		const struct span *s = &x->sym_spans.v[i - 1];
		if (s->hi <= addr)
			continue;
		const struct elf_sym *sym = &x->syms[s->item];
		if (sym->is_global_tier ? ng == 64 : nl == 64)
			overflow = 1;
		else if (sym->is_global_tier)
			globals[ng++] = sym;
		else
			locals[nl++] = sym;
	}
	if (!overflow && ng)
		return pick(globals, ng)->name;
	/* libdwfl skips the locals when a sizeless global sits exactly at
	 * the address; what it then picks among sizeless symbols depends on
	 * sections: leave those rare cases to it. */
	int sizeless_here = x->nsizeless && bsearch(&addr, x->sizeless_globals, x->nsizeless,
						    sizeof(*x->sizeless_globals), u64_cmp) != NULL;
	if (!overflow && nl && !sizeless_here)
		return pick(locals, nl)->name;
	if (!overflow && !x->has_sizeless)
		return NULL;	/* what libdwfl would find: nothing */
	return dwfl_module_addrname(x->m, addr);
}
