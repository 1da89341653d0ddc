/*
 * One module's address index for the symbolizer: compile units by their
 * address ranges, functions by theirs (DWARF subprograms, read once per
 * CU when an address first falls in it), ELF symbols as the fallback.
 * Lookups are binary searches; nothing here formats or prints.
 */
#ifndef CPROF_REPORTER_SYMINDEX_H
#define CPROF_REPORTER_SYMINDEX_H

#include <elfutils/libdwfl.h>
#include <stdint.h>

struct symindex;

/* An index of m (borrowed: the Dwfl must outlive it). Building it reads
 * only the CU headers; caller frees with symindex_free(). */
struct symindex *symindex_new(Dwfl_Module *m);
void symindex_free(struct symindex *x);

/*
 * The DWARF scopes of a code address (a Dwfl address, bias included):
 * into *out (malloc'd, caller frees) the inlined_subroutine DIEs that
 * contain it, innermost first, then the subprogram containing them.
 * *cu is set to the address's compile unit whenever one covers it.
 * Returns the number of DIEs: 0 when no function covers addr.
 * Returns -1 when no compile unit does either (cu untouched).
 */
int symindex_scopes(struct symindex *x, uint64_t addr, Dwarf_Die *cu, Dwarf_Die **out);

/* The innermost subprogram containing addr into *fn; 0 if none. */
int symindex_function(struct symindex *x, uint64_t addr, Dwarf_Die *fn);

/* The ELF symbol name libdwfl's dwfl_module_addrname gives addr, found
 * by binary search; NULL if none. Points into the module's ELF data. */
const char *symindex_elf_name(struct symindex *x, uint64_t addr);

/* The DWARF bias of the module: DWARF address + bias = Dwfl address. */
uint64_t symindex_bias(const struct symindex *x);

#endif
