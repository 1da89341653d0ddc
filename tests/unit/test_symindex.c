/*
 * The symbolizer's index (reporter/symindex.c) against libdw's own linear
 * lookups on real modules: ELF names as dwfl_module_addrname gives them
 * (this test binary and libc), and the function and inline chain that
 * dwarf_getscopes plus dwarf_getscopes_die find for addresses across
 * every function of this gcc -O2 binary.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../reporter/symindex.h"

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

static Dwfl_Module *open_module(Dwfl **dwfl, const char *path)
{
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "cannot open %s", path);
	*dwfl = dwfl_begin(&callbacks);
	dwfl_report_begin(*dwfl);
	Dwfl_Module *m = dwfl_report_elf(*dwfl, "m", path, fd, 0, false);
	dwfl_report_end(*dwfl, NULL, NULL);
	cr_assert_not_null(m, "cannot report %s: %s", path, dwfl_errmsg(-1));
	return m;
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (strstr(info->dlpi_name, "/libc.so")) {
		*(const char **)data = info->dlpi_name;
		return 1;
	}
	return 0;
}

static void check_names(const char *path)
{
	Dwfl *dwfl;
	Dwfl_Module *m = open_module(&dwfl, path);
	struct symindex *x = symindex_new(m);
	int n = dwfl_module_getsymtab(m);
	int checked = 0;

	cr_assert_gt(n, 10, "%s: no symbol table", path);
	/* libdwfl's search is linear: a sample of symbols keeps this quick. */
	for (int i = 1; i < n; i += n > 4000 ? 7 : 1) {
		GElf_Sym sym;
		GElf_Addr value;
		if (!dwfl_module_getsym_info(m, i, &sym, &value, NULL, NULL, NULL) || value == 0)
			continue;
		GElf_Addr probes[] = { value, value + sym.st_size / 2, value + sym.st_size,
				       value - 1 };
		for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
			const char *want = dwfl_module_addrname(m, probes[k]);
			const char *got = symindex_elf_name(x, probes[k]);
			cr_assert(want == got || (want && got && strcmp(want, got) == 0),
				  "%s at %#lx: libdwfl says %s, the index %s", path,
				  (unsigned long)probes[k], want ? want : "(none)", got ? got : "(none)");
			checked++;
		}
	}
	cr_assert_gt(checked, 40);
	symindex_free(x);
	dwfl_end(dwfl);
}

Test(symindex, elf_names_as_libdwfl_gives_them_in_this_binary)
{
	check_names("/proc/self/exe");
}

Test(symindex, elf_names_as_libdwfl_gives_them_in_libc)
{
	const char *libc = NULL;
	dl_iterate_phdr(find_libc, &libc);
	cr_assert_not_null(libc, "libc not among the loaded objects");
	check_names(libc);
}

/*
 * The function chain at pc (a DWARF address in cu) as libdw gives it:
 * dwarf_getscopes, then, from its innermost inlined_subroutine (after
 * which dwarf_getscopes goes to the inline's abstract origin, not to the
 * function it is inlined into), dwarf_getscopes_die. Offsets innermost
 * first; the count is returned (0: none).
 */
static int libdw_chain(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Off *out, int max)
{
	Dwarf_Die *scopes = NULL, *outer = NULL;
	int n = dwarf_getscopes(cu, pc, &scopes), k = 0;

	for (int i = 0; i < n; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_subprogram) {
			out[k++] = dwarf_dieoffset(&scopes[i]);
			break;
		}
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		int nouter = dwarf_getscopes_die(&scopes[i], &outer);
		for (int j = 0; j < nouter && k < max; j++) {
			tag = dwarf_tag(&outer[j]);
			if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram)
				out[k++] = dwarf_dieoffset(&outer[j]);
			if (tag == DW_TAG_subprogram)
				break;
		}
		break;
	}
	free(outer);
	free(scopes);
	return k;
}

/* Every function of path, at its first, middle and last address. */
static void check_functions(const char *path, int min_checked, int min_inlined)
{
	Dwfl *dwfl;
	Dwfl_Module *m = open_module(&dwfl, path);
	struct symindex *x = symindex_new(m);
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(m, &bias);
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie, fn;
	int checked = 0, inlined = 0;

	cr_assert_not_null(dw, "%s has no debug info", path);
	while (dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL) == 0) {
		if (dwarf_child(&cudie, &fn) != 0)
			continue;
		do {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			if (dwarf_tag(&fn) != DW_TAG_subprogram)
				continue;
			while ((off = dwarf_ranges(&fn, off, &base, &lo, &hi)) > 0) {
				Dwarf_Addr probes[] = { lo, lo + (hi - lo) / 2, hi - 1 };
				for (int k = 0; k < 3; k++) {
					Dwarf_Addr pc = probes[k] + bias;
					Dwarf_Die got, *scopes;
					Dwarf_Die cu_of;
					Dwarf_Off want[64];
					int nwant = libdw_chain(&cudie, probes[k], want, 64);
					cr_assert(symindex_function(x, pc, &got), "no function at %#lx",
						  (unsigned long)pc);
					cr_assert_gt(nwant, 0);
					cr_assert_eq(dwarf_dieoffset(&got), want[nwant - 1],
						     "%s at %#lx", dwarf_diename(&fn), (unsigned long)pc);
					int n = symindex_scopes(x, pc, &cu_of, &scopes);
					cr_assert_eq(n, nwant, "inline depth at %#lx", (unsigned long)pc);
					for (int i = 0; i < n; i++)
						cr_assert_eq(dwarf_dieoffset(&scopes[i]), want[i]);
					cr_assert_eq(dwarf_dieoffset(&cu_of), dwarf_dieoffset(&cudie));
					free(scopes);
					checked++;
					inlined += n > 1;
				}
			}
		} while (dwarf_siblingof(&fn, &fn) == 0);
	}
	cr_assert_geq(checked, min_checked, "%s: only %d addresses checked", path, checked);
	cr_assert_geq(inlined, min_inlined, "%s: only %d addresses inside inlined code", path,
		      inlined);
	symindex_free(x);
	dwfl_end(dwfl);
}

Test(symindex, functions_as_libdw_finds_them_in_this_gcc_binary)
{
	check_functions("/proc/self/exe", 300, 10);
}

/* clang's DWARF 5 (no .debug_aranges): the Makefile's progs-clang. */
Test(symindex, functions_as_libdw_finds_them_in_a_clang_binary)
{
	const char *o = getenv("O") ? getenv("O") : "build";
	char path[4096];

	snprintf(path, sizeof(path), "%s/tests/progs-clang/mem_inline", o);
	cr_assert_eq(access(path, R_OK), 0, "missing %s (make %s)", path, path);
	check_functions(path, 9, 1);
}
