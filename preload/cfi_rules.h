/*
 * The unwind rule of one return address, read from a loaded module's
 * .eh_frame_hdr and .eh_frame in memory (cfi_rules.c). Used by the
 * shim's walk (cfi.c) and checked against libdw by tests/unit/test_cfi.c.
 */
#ifndef CPROF_PRELOAD_CFI_RULES_H
#define CPROF_PRELOAD_CFI_RULES_H

#include <link.h>	/* struct dl_phdr_info: define _GNU_SOURCE first */
#include <stdint.h>

/* What a module offers the reader: its .eh_frame_hdr, and the mapped,
 * readable span that must hold it and every CIE and FDE it points to. */
struct cfi_view {
	const uint8_t *hdr;
	uintptr_t lo, hi;
};

/* The view of the module info describes (a dl_iterate_phdr entry): 1,
 * or 0 when it has no .eh_frame_hdr. */
int cfi_view_of(const struct dl_phdr_info *info, struct cfi_view *v);

enum cfi_kind {
	CFI_STEP,	/* the rule below gives the caller's frame */
	CFI_OUTERMOST,	/* the return address is undefined: no caller */
	CFI_NONE,	/* no FDE, or a rule the walk does not take */
};

/* x86-64: the CFA is rsp or rbp plus an offset; the return address is
 * at CFA - 8; the caller's rbp is the same register or saved at CFA +
 * rbp_off. */
struct cfi_rule {
	enum cfi_kind kind;
	int cfa_is_rbp;
	int64_t cfa_off;
	int rbp_saved;
	int64_t rbp_off;
};

/*
 * The rule in effect at addr (a return address minus 1: inside the
 * call), for the module whose view is v. Never allocates, locks or
 * reads outside [v->lo, v->hi): a malformed table gives CFI_NONE.
 */
struct cfi_rule cfi_rule_at(const struct cfi_view *v, uintptr_t addr);

#endif
