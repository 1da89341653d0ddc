/*
 * The shim's call-frame reader (preload/cfi_rules.c) against libdw's: for
 * every FDE of every module loaded here (this test, libc, libdw, libelf,
 * Criterion, ...), at its addresses up to the next FDE (each of the first
 * 256 bytes, then every 7th), the same kind of rule, CFA register and offset, and rbp
 * rule. A reader that says "none" where libdw has a rule fails as surely
 * as one that reads a rule wrong. Then the reader on corrupted copies of
 * libc's tables: never a read outside them (ASan under SAN=), never a
 * crash.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../preload/cfi_rules.h"

/* libdw's rule at addr (a file address), in the reader's terms. */
static struct cfi_rule libdw_rule(Dwarf_CFI *cfi, Dwarf_Addr addr)
{
	struct cfi_rule none = { CFI_NONE, 0, 0, 0, 0 }, r = none;
	Dwarf_Frame *frame;
	Dwarf_Addr start, end;
	Dwarf_Op mem[3], *ops, *cfa;
	size_t nops, ncfa;
	bool is_signal;

	if (dwarf_cfi_addrframe(cfi, addr, &frame) != 0)
		return none;
	if (dwarf_frame_info(frame, &start, &end, &is_signal) != 16 || is_signal ||
	    dwarf_frame_register(frame, 16, mem, &ops, &nops) != 0)
		goto out;
	if (nops == 0 && ops == mem) {
		r.kind = CFI_OUTERMOST;
		goto out;
	}
	if (nops != 2 || ops[0].atom != DW_OP_call_frame_cfa || ops[1].atom != DW_OP_plus_uconst ||
	    (int64_t)ops[1].number != -8)
		goto out;
	if (dwarf_frame_cfa(frame, &cfa, &ncfa) != 0 || ncfa != 1 || cfa[0].atom != DW_OP_bregx ||
	    (cfa[0].number != 6 && cfa[0].number != 7))
		goto out;
	if (dwarf_frame_register(frame, 6, mem, &ops, &nops) != 0)
		goto out;
	struct cfi_rule step = { CFI_STEP, cfa[0].number == 6, (int64_t)cfa[0].number2, 0, 0 };
	if (nops == 0 && !ops) {
		r = step;	/* rbp: the same value */
	} else if ((nops == 1 || (nops == 2 && ops[1].atom == DW_OP_plus_uconst)) &&
		   ops[0].atom == DW_OP_call_frame_cfa) {
		step.rbp_saved = 1;
		step.rbp_off = nops == 2 ? (int64_t)ops[1].number : 0;
		r = step;
	}
out:
	free(frame);
	return r;
}

struct module {
	char path[4096];
	uintptr_t bias;
	struct cfi_view view;
};

struct modules {
	struct module m[64];
	int n;
};

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct modules *ms = arg;
	struct module *m = &ms->m[ms->n];

	(void)size;
	if (ms->n == 64 || !cfi_view_of(info, &m->view))
		return 0;
	if ((!info->dlpi_name[0] && ms->n) || strstr(info->dlpi_name, "vdso"))
		return 0;	/* the program's has no name; the vdso has no file */
	snprintf(m->path, sizeof(m->path), "%s", info->dlpi_name[0] ? info->dlpi_name : "/proc/self/exe");
	m->bias = info->dlpi_addr;
	ms->n++;
	return 0;
}

/* The FDEs' start addresses, from the header's search table (binutils
 * and lld write it as pcrel eh_frame_ptr, udata4 count, datarel sdata4
 * pairs). */
static int32_t *fde_starts(const struct cfi_view *v, uint32_t *count)
{
	const uint8_t *h = v->hdr;

	cr_assert_eq(h[0], 1, "eh_frame_hdr version");
	cr_assert_eq(h[1], 0x1b, "eh_frame_ptr encoding (4 bytes: the count is at 8)");
	cr_assert_eq(h[2], 0x03, "fde_count encoding");
	cr_assert_eq(h[3], 0x3b, "table encoding");
	memcpy(count, h + 8, 4);
	int32_t *starts = malloc(*count * sizeof(*starts));
	for (uint32_t i = 0; i < *count; i++)
		memcpy(&starts[i], h + 12 + 8 * i, 4);
	return starts;
}

Test(cfi, same_rules_as_libdw)
{
	struct modules ms = { .n = 0 };
	long compared = 0, libc_steps = 0, outermost = 0;
	int saw_libc = 0;

	elf_version(EV_CURRENT);
	dl_iterate_phdr(collect, &ms);
	cr_assert_gt(ms.n, 3, "modules with .eh_frame_hdr: %d", ms.n);
	for (int i = 0; i < ms.n; i++) {
		struct module *m = &ms.m[i];
		int fd = open(m->path, O_RDONLY);
		cr_assert_geq(fd, 0, "open %s", m->path);
		Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		Dwarf_CFI *cfi = elf ? dwarf_getcfi_elf(elf) : NULL;
		cr_assert(cfi, "libdw reads no CFI from %s", m->path);
		int is_libc = strstr(m->path, "libc.so") != NULL;
		saw_libc |= is_libc;
		uint32_t count;
		int32_t *starts = fde_starts(&m->view, &count);
		for (uint32_t f = 0; f < count; f++) {
			/* Up to the next FDE (the table is sorted): gaps between
			 * functions too, where neither may find a rule. */
			Dwarf_Addr start = (uintptr_t)m->view.hdr + starts[f] - m->bias;
			Dwarf_Addr end = f + 1 < count ? (uintptr_t)m->view.hdr + starts[f + 1] - m->bias
						       : start + 4096;
			if (end - start > 65536)
				end = start + 65536;
			for (Dwarf_Addr a = start; a < end; a += a - start < 256 ? 1 : 7) {
				struct cfi_rule want = libdw_rule(cfi, a);
				struct cfi_rule got = cfi_rule_at(&m->view, a + m->bias);
				cr_assert(want.kind == got.kind && want.cfa_is_rbp == got.cfa_is_rbp &&
						  want.cfa_off == got.cfa_off &&
						  want.rbp_saved == got.rbp_saved &&
						  want.rbp_off == got.rbp_off,
					  "%s+%#lx: libdw kind %d cfa %s%+ld rbp %d@%ld, "
					  "cprof kind %d cfa %s%+ld rbp %d@%ld",
					  m->path, (unsigned long)a, want.kind, want.cfa_is_rbp ? "rbp" : "rsp",
					  (long)want.cfa_off, want.rbp_saved, (long)want.rbp_off, got.kind,
					  got.cfa_is_rbp ? "rbp" : "rsp", (long)got.cfa_off, got.rbp_saved,
					  (long)got.rbp_off);
				compared++;
				libc_steps += is_libc && got.kind == CFI_STEP;
				outermost += got.kind == CFI_OUTERMOST;
			}
		}
		cr_assert_eq(cfi_rule_at(&m->view, 0).kind, CFI_NONE, "%s: address 0", m->path);
		free(starts);
		dwarf_cfi_end(cfi);
		elf_end(elf);
		close(fd);
	}
	cr_assert(saw_libc, "libc.so is among the modules");
	/* libc alone has thousands of FDEs: most addresses step. */
	cr_assert_gt(libc_steps, 50000, "libc addresses with a step rule: %ld", libc_steps);
	cr_assert_gt(outermost, 0, "no outermost frame (_start, clone) seen");
	cr_assert_gt(compared, 100000, "addresses compared: %ld", compared);
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (!strstr(info->dlpi_name, "libc.so"))
		return 0;
	return cfi_view_of(info, arg);
}

Test(cfi, corrupt_tables_are_refused_not_followed)
{
	struct cfi_view libc, copy;

	cr_assert(dl_iterate_phdr(find_libc, &libc), "libc's tables");
	size_t size = libc.hi - libc.lo;
	uint8_t *buf = malloc(size);
	memcpy(buf, (const void *)libc.lo, size);
	/* Offsets in the tables are relative: the copy reads as the original. */
	copy.lo = (uintptr_t)buf;
	copy.hi = (uintptr_t)buf + size;
	copy.hdr = buf + ((uintptr_t)libc.hdr - libc.lo);
	uint32_t count;
	int32_t *starts = fde_starts(&copy, &count);
	uintptr_t first = (uintptr_t)copy.hdr + starts[0];
	uintptr_t last = (uintptr_t)copy.hdr + starts[count - 1];
	int steps = 0;
	for (uintptr_t a = first; a < last; a += 97)
		steps += cfi_rule_at(&copy, a).kind == CFI_STEP;
	cr_assert_gt(steps, 100, "the intact copy reads");

	/* Flip bytes in the header, the table and .eh_frame; look up at
	 * random addresses after each. */
	srand(12345);
	size_t from = (uintptr_t)copy.hdr - copy.lo;
	for (int round = 0; round < 20000; round++) {
		size_t at = from + (size_t)rand() % (size - from);
		buf[at] ^= (uint8_t)(1u << (rand() % 8));
		uintptr_t a = first + (uintptr_t)rand() % (last - first + 1);
		struct cfi_rule r = cfi_rule_at(&copy, a);
		cr_assert(r.kind == CFI_STEP || r.kind == CFI_OUTERMOST || r.kind == CFI_NONE);
	}
	/* A view whose header lies outside it is refused outright. */
	copy.hdr = buf - 1;
	cr_assert_eq(cfi_rule_at(&copy, first).kind, CFI_NONE);
	free(starts);
	free(buf);
}
