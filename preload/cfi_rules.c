/*
 * A reader of x86-64 call-frame information (.eh_frame_hdr's search
 * table, then the FDE's and its CIE's DW_CFA program) for the three
 * columns a frame step needs: the CFA, the return address and rbp.
 *
 * Why by hand, not libdw (which the reporter uses): it runs inside the
 * profiled program. Loading libdw there adds its modules' TLS, and glibc
 * then allocates every new thread's TLS vector 32 bytes larger (measured
 * with mem_threads): the host's own allocations would change. This
 * reader needs no library, file, lock or allocation; only what the
 * loader already mapped. tests/unit/test_cfi.c compares it with libdw's
 * rules, address by address, over whole modules.
 */
#define _GNU_SOURCE
#include "cfi_rules.h"

#include <stddef.h>
#include <string.h>

/* DWARF's pointer encodings (DW_EH_PE_*) and call-frame instructions
 * (DW_CFA_*), as the .eh_frame format defines them. */
enum {
	PE_ABSPTR = 0x00, PE_ULEB128 = 0x01, PE_UDATA2 = 0x02, PE_UDATA4 = 0x03, PE_UDATA8 = 0x04,
	PE_SLEB128 = 0x09, PE_SDATA2 = 0x0a, PE_SDATA4 = 0x0b, PE_SDATA8 = 0x0c,
	PE_PCREL = 0x10, PE_DATAREL = 0x30, PE_INDIRECT = 0x80, PE_OMIT = 0xff,
};
enum {
	CFA_nop = 0x00, CFA_set_loc = 0x01, CFA_advance_loc1 = 0x02, CFA_advance_loc2 = 0x03,
	CFA_advance_loc4 = 0x04, CFA_offset_extended = 0x05, CFA_restore_extended = 0x06,
	CFA_undefined = 0x07, CFA_same_value = 0x08, CFA_register = 0x09,
	CFA_remember_state = 0x0a, CFA_restore_state = 0x0b, CFA_def_cfa = 0x0c,
	CFA_def_cfa_register = 0x0d, CFA_def_cfa_offset = 0x0e, CFA_def_cfa_expression = 0x0f,
	CFA_expression = 0x10, CFA_offset_extended_sf = 0x11, CFA_def_cfa_sf = 0x12,
	CFA_def_cfa_offset_sf = 0x13, CFA_val_offset = 0x14, CFA_val_offset_sf = 0x15,
	CFA_val_expression = 0x16, CFA_GNU_args_size = 0x2e,
	CFA_GNU_negative_offset_extended = 0x2f,
	CFA_advance_loc = 0x40, CFA_offset = 0x80, CFA_restore = 0xc0,
};
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16
#define STATES_REMEMBERED 8

int cfi_view_of(const struct dl_phdr_info *info, struct cfi_view *v)
{
	v->hdr = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
			v->hdr = (const uint8_t *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	/* What may be read: the file-backed part of the segment that holds
	 * the header (.eh_frame lies beside it). */
	for (int i = 0; i < info->dlpi_phnum && v->hdr; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (uintptr_t)v->hdr - a < ph->p_filesz) {
			v->lo = a;
			v->hi = a + ph->p_filesz;
			return 1;
		}
	}
	v->hdr = NULL;
	return 0;
}

/* ---- bounded reading ---- */

struct cursor {
	const uint8_t *p, *end;		/* end: the readable span's, or the entry's */
	int bad;			/* a read went past end: the result is CFI_NONE */
};

static int has(struct cursor *c, size_t n)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return 0;
	}
	return 1;
}

static uint64_t read_uint(struct cursor *c, size_t n)
{
	uint64_t v = 0;

	if (!has(c, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);	/* x86-64: little-endian */
	c->p += n;
	return v;
}

static uint64_t read_uleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (;;) {
		if (!has(c, 1))
			return 0;
		uint8_t b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
}

static int64_t read_sleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		if (!has(c, 1))
			return 0;
		b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return (int64_t)v;
}

/* A pointer in encoding enc; datarel is relative to base (the
 * .eh_frame_hdr). Indirect and aligned pointers are not taken. */
static uint64_t read_encoded(struct cursor *c, uint8_t enc, uintptr_t base)
{
	uintptr_t at = (uintptr_t)c->p;
	uint64_t v;

	switch (enc & 0x0f) {
	case PE_ABSPTR: v = read_uint(c, 8); break;
	case PE_ULEB128: v = read_uleb(c); break;
	case PE_UDATA2: v = read_uint(c, 2); break;
	case PE_UDATA4: v = read_uint(c, 4); break;
	case PE_UDATA8: v = read_uint(c, 8); break;
	case PE_SLEB128: v = (uint64_t)read_sleb(c); break;
	case PE_SDATA2: v = (uint64_t)(int64_t)(int16_t)read_uint(c, 2); break;
	case PE_SDATA4: v = (uint64_t)(int64_t)(int32_t)read_uint(c, 4); break;
	case PE_SDATA8: v = read_uint(c, 8); break;
	default: c->bad = 1; return 0;
	}
	switch (enc & 0x70) {
	case 0: break;
	case PE_PCREL: v += at; break;
	case PE_DATAREL: v += base; break;
	default: c->bad = 1; return 0;
	}
	if (enc & PE_INDIRECT)
		c->bad = 1;
	return v;
}

/* ---- the CFA program ---- */

enum col_rule { COL_SAME, COL_UNDEFINED, COL_OFFSET, COL_OTHER };

struct row {
	int cfa_reg;
	int64_t cfa_off;
	int cfa_is_expr;
	enum col_rule ra, rbp;
	int64_t ra_off, rbp_off;
};

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	int has_aug_data;
	const uint8_t *insns, *end;	/* its initial instructions */
};

static void set_col(struct row *r, uint64_t reg, enum col_rule rule, int64_t off)
{
	if (reg == REG_RBP) {
		r->rbp = rule;
		r->rbp_off = off;
	} else if (reg == REG_RA) {
		r->ra = rule;
		r->ra_off = off;
	}
}

static void restore_col(struct row *r, const struct row *initial, uint64_t reg)
{
	if (reg == REG_RBP)
		set_col(r, reg, initial->rbp, initial->rbp_off);
	else if (reg == REG_RA)
		set_col(r, reg, initial->ra, initial->ra_off);
}

/*
 * Runs insns on *r while the location (starting at loc) is at most
 * target; initial: the CIE's row (for DW_CFA_restore). 0, or -1 for an
 * instruction this reader does not know or a state stack overflow.
 */
static int run(struct cursor *c, const struct cie *cie, struct row *r, const struct row *initial,
	       uint64_t loc, uint64_t target)
{
	struct row saved[STATES_REMEMBERED];
	int nsaved = 0;

	while (c->p < c->end && !c->bad) {
		uint8_t op = *c->p++;
		uint64_t reg, delta = 0;
		switch (op & 0xc0) {
		case CFA_advance_loc:
			delta = op & 0x3f;
			goto advance;
		case CFA_offset:
			set_col(r, op & 0x3f, COL_OFFSET, (int64_t)read_uleb(c) * cie->data_align);
			continue;
		case CFA_restore:
			restore_col(r, initial, op & 0x3f);
			continue;
		}
		switch (op) {
		case CFA_nop:
			break;
		case CFA_set_loc:
			loc = read_encoded(c, cie->fde_enc, 0);
			if (loc > target)
				return 0;
			break;
		case CFA_advance_loc1: delta = read_uint(c, 1); goto advance;
		case CFA_advance_loc2: delta = read_uint(c, 2); goto advance;
		case CFA_advance_loc4: delta = read_uint(c, 4); goto advance;
		case CFA_offset_extended:
			reg = read_uleb(c);
			set_col(r, reg, COL_OFFSET, (int64_t)read_uleb(c) * cie->data_align);
			break;
		case CFA_offset_extended_sf:
			reg = read_uleb(c);
			set_col(r, reg, COL_OFFSET, read_sleb(c) * cie->data_align);
			break;
		case CFA_GNU_negative_offset_extended:
			reg = read_uleb(c);
			set_col(r, reg, COL_OFFSET, -(int64_t)read_uleb(c) * cie->data_align);
			break;
		case CFA_restore_extended:
			restore_col(r, initial, read_uleb(c));
			break;
		case CFA_undefined:
			set_col(r, read_uleb(c), COL_UNDEFINED, 0);
			break;
		case CFA_same_value:
			set_col(r, read_uleb(c), COL_SAME, 0);
			break;
		case CFA_register:	/* another register, or the CFA plus an offset */
		case CFA_val_offset:
			reg = read_uleb(c);
			read_uleb(c);
			set_col(r, reg, COL_OTHER, 0);
			break;
		case CFA_val_offset_sf:
			reg = read_uleb(c);
			read_sleb(c);
			set_col(r, reg, COL_OTHER, 0);
			break;
		case CFA_expression:
		case CFA_val_expression:
			reg = read_uleb(c);
			delta = read_uleb(c);	/* the expression's length: skipped */
			if (has(c, delta))
				c->p += delta;
			set_col(r, reg, COL_OTHER, 0);
			break;
		case CFA_remember_state:
			if (nsaved == STATES_REMEMBERED)
				return -1;
			saved[nsaved++] = *r;
			break;
		case CFA_restore_state:
			if (nsaved == 0)
				return -1;
			*r = saved[--nsaved];
			break;
		case CFA_def_cfa:
			r->cfa_reg = (int)read_uleb(c);
			r->cfa_off = (int64_t)read_uleb(c);
			r->cfa_is_expr = 0;
			break;
		case CFA_def_cfa_sf:
			r->cfa_reg = (int)read_uleb(c);
			r->cfa_off = read_sleb(c) * cie->data_align;
			r->cfa_is_expr = 0;
			break;
		case CFA_def_cfa_register:
			r->cfa_reg = (int)read_uleb(c);
			r->cfa_is_expr = 0;
			break;
		case CFA_def_cfa_offset:
			r->cfa_off = (int64_t)read_uleb(c);
			break;
		case CFA_def_cfa_offset_sf:
			r->cfa_off = read_sleb(c) * cie->data_align;
			break;
		case CFA_def_cfa_expression:
			delta = read_uleb(c);
			if (has(c, delta))
				c->p += delta;
			r->cfa_is_expr = 1;
			break;
		case CFA_GNU_args_size:
			read_uleb(c);
			break;
		default:
			return -1;
		}
		continue;
advance:
		loc += delta * cie->code_align;
		if (loc > target)
			return 0;
	}
	return c->bad ? -1 : 0;
}

/* ---- CIE and FDE ---- */

/* The CIE at p (within the span c allows). 0, or -1 if this reader does
 * not take it (a signal frame's 'S' among them). */
static int cie_read(const struct cursor *span, const uint8_t *p, struct cie *cie)
{
	struct cursor c = { p, span->end, 0 };
	uint64_t len = read_uint(&c, 4);

	if (len == 0 || len == 0xffffffffu || !has(&c, len))
		return -1;
	c.end = c.p + len;
	if (read_uint(&c, 4) != 0)	/* a CIE's id in .eh_frame */
		return -1;
	uint8_t version = (uint8_t)read_uint(&c, 1);
	if (version != 1 && version != 3)
		return -1;
	const char *aug = (const char *)c.p;
	size_t alen = strnlen(aug, (size_t)(c.end - c.p));
	if (!has(&c, alen + 1))
		return -1;
	c.p += alen + 1;
	cie->code_align = read_uleb(&c);
	cie->data_align = read_sleb(&c);
	cie->ra_reg = version == 1 ? read_uint(&c, 1) : read_uleb(&c);
	cie->fde_enc = PE_ABSPTR;
	cie->has_aug_data = aug[0] == 'z';
	if (cie->has_aug_data) {
		uint64_t dlen = read_uleb(&c);
		if (!has(&c, dlen))
			return -1;
		const uint8_t *data_end = c.p + dlen;
		for (size_t i = 1; i < alen; i++) {
			uint8_t enc;
			switch (aug[i]) {
			case 'R':
				cie->fde_enc = (uint8_t)read_uint(&c, 1);
				break;
			case 'L':
				read_uint(&c, 1);
				break;
			case 'P':
				enc = (uint8_t)read_uint(&c, 1);
				read_encoded(&c, enc & (uint8_t)~PE_INDIRECT, 0);
				break;
			default:	/* 'S' (a signal frame), or unknown */
				return -1;
			}
		}
		c.p = data_end;
	} else if (alen) {
		return -1;
	}
	cie->insns = c.p;
	cie->end = c.end;
	return c.bad ? -1 : 0;
}

/* The FDE table's entry for addr: the last whose start is at or below
 * it; NULL if none. Only the usual datarel sdata4 table is taken. */
static const uint8_t *fde_find(const struct cfi_view *v, struct cursor *c, uintptr_t addr)
{
	uint8_t version = (uint8_t)read_uint(c, 1), ptr_enc = (uint8_t)read_uint(c, 1);
	uint8_t count_enc = (uint8_t)read_uint(c, 1), table_enc = (uint8_t)read_uint(c, 1);

	if (version != 1 || table_enc != (PE_DATAREL | PE_SDATA4) || count_enc == PE_OMIT)
		return NULL;
	read_encoded(c, ptr_enc, (uintptr_t)v->hdr);
	uint64_t count = read_encoded(c, count_enc, (uintptr_t)v->hdr);
	if (c->bad || count == 0 || count > (uint64_t)(c->end - c->p) / 8)
		return NULL;
	const uint8_t *table = c->p;
	uint64_t lo = 0, hi = count;	/* the answer is below hi */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct cursor e = { table + mid * 8, c->end, 0 };
		if ((uintptr_t)v->hdr + (uint64_t)read_encoded(&e, table_enc, 0) <= addr)
			lo = mid;
		else
			hi = mid;
	}
	struct cursor e = { table + lo * 8, c->end, 0 };
	uintptr_t start = (uintptr_t)v->hdr + read_encoded(&e, table_enc, 0);
	uintptr_t fde = (uintptr_t)v->hdr + read_encoded(&e, table_enc, 0);
	if (e.bad || start > addr || fde < v->lo || fde >= v->hi)
		return NULL;
	return (const uint8_t *)fde;
}

struct cfi_rule cfi_rule_at(const struct cfi_view *v, uintptr_t addr)
{
	struct cfi_rule none = { CFI_NONE, 0, 0, 0, 0 };
	struct cursor span = { (const uint8_t *)v->lo, (const uint8_t *)v->hi, 0 };

	if ((uintptr_t)v->hdr < v->lo || (uintptr_t)v->hdr >= v->hi)
		return none;
	struct cursor c = { v->hdr, span.end, 0 };
	const uint8_t *fde = fde_find(v, &c, addr);
	if (!fde)
		return none;

	/* The FDE: its CIE, its range (which must hold addr), its program. */
	c.p = fde;
	c.end = span.end;
	uint64_t len = read_uint(&c, 4);
	if (len == 0 || len == 0xffffffffu || !has(&c, len))
		return none;
	c.end = c.p + len;
	const uint8_t *id_at = c.p;
	uint64_t cie_off = read_uint(&c, 4);
	struct cie cie;
	if (cie_off == 0 || cie_off > (uintptr_t)id_at - v->lo ||
	    cie_read(&span, id_at - cie_off, &cie) != 0)
		return none;
	uint64_t start = read_encoded(&c, cie.fde_enc, 0);
	uint64_t range = read_encoded(&c, cie.fde_enc & 0x0f, 0);
	if (c.bad || addr < start || addr - start >= range)
		return none;
	if (cie.has_aug_data) {
		uint64_t dlen = read_uleb(&c);
		if (!has(&c, dlen))
			return none;
		c.p += dlen;
	}
	if (cie.ra_reg != REG_RA)
		return none;

	/* What is not set is the same as the caller's (rbp, callee-saved
	 * in the x86-64 ABI); the return address must be set. */
	struct row row = { REG_RSP, 8, 0, COL_OTHER, COL_SAME, 0, 0 }, initial;
	struct cursor ci = { cie.insns, cie.end, 0 };
	if (run(&ci, &cie, &row, &row, 0, UINT64_MAX) != 0)
		return none;
	initial = row;
	if (run(&c, &cie, &row, &initial, start, addr) != 0)
		return none;

	if (row.ra == COL_UNDEFINED)
		return (struct cfi_rule){ CFI_OUTERMOST, 0, 0, 0, 0 };
	if (row.cfa_is_expr || (row.cfa_reg != REG_RSP && row.cfa_reg != REG_RBP) ||
	    row.ra != COL_OFFSET || row.ra_off != -8 ||
	    (row.rbp != COL_SAME && row.rbp != COL_OFFSET))
		return none;
	return (struct cfi_rule){ CFI_STEP, row.cfa_reg == REG_RBP, row.cfa_off,
				  row.rbp == COL_OFFSET, row.rbp_off };
}
