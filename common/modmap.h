/*
 * The module map: which ELF file (path, build-id) is mapped where, so a
 * file written on one machine can be symbolized on another. Collected in
 * the profiled process, parsed by the reporter.
 */
#ifndef CPROF_COMMON_MODMAP_H
#define CPROF_COMMON_MODMAP_H

#include "format.h"

#include <stdatomic.h>

/*
 * Writes the modules loaded now, and those a dlclose() unloaded before
 * (see modmap_dlclose), as a FMT_SEC_MODULES section. Uses
 * dl_iterate_phdr (takes the loader's lock: never from a signal handler)
 * and no malloc.
 */
void modmap_write(struct fmt_writer *w);
/*
 * For a runtime's dlclose() interposer: calls real_dlclose(handle) and
 * keeps the modules it unloaded (their code is gone, their addresses
 * stay in the profile), so that modmap_write still names them. Returns
 * what real_dlclose returned. Thread-safe, no malloc, no lock.
 */
int modmap_dlclose(void *handle, int (*real_dlclose)(void *));

/*
 * The load generation: how many dlclose()s unloaded something so far.
 * A runtime records it with each call-tree node or trace it makes, so
 * an address is named after the library mapped there at the time (see
 * fmt_module.unload_gen). Read with a relaxed load.
 */
extern _Atomic uint32_t modmap_generation;

struct modmap_entry {
	uint64_t start, end, bias;
	uint32_t unload_gen;	/* 0: loaded at the end (see fmt_module) */
	unsigned build_id_len;
	uint8_t build_id[FMT_BUILD_ID_MAX];
	char *path;		/* owned by the map */
};

struct modmap {
	struct modmap_entry *entries;
	size_t count;
};

/*
 * Parses a FMT_SEC_MODULES section. Returns 0, or -1 with one line in err.
 * Caller frees with modmap_release().
 */
int modmap_parse(struct modmap *map, const struct fmt_file_section *sec, const char *file,
		 char *err, size_t errlen);
void modmap_release(struct modmap *map);
/* The module whose address range holds addr, or NULL. */
const struct modmap_entry *modmap_find(const struct modmap *map, uint64_t addr);
/* The module that held addr at load generation gen (see fmt_module), or
 * NULL. */
const struct modmap_entry *modmap_find_gen(const struct modmap *map, uint64_t addr, uint32_t gen);
/*
 * Reader side: the entry of out standing for module m, added if new;
 * *delta is what to add to an address in m. With is_folded, a file
 * already in out (a library loaded again elsewhere, the same program in
 * another process) is that entry: a function is one row, as pstats keys
 * rows by file:line(function). A new one that overlaps a module of out
 * (another library at the same address after a dlclose, another
 * process's layout) is moved above everything in out, keeping its
 * offsets. 0, or -1 when out of memory (out unchanged).
 */
int modmap_place(struct modmap *out, const struct modmap_entry *m, int is_folded, int64_t *delta);
/* Hex text of a build-id into out (2*len+1 bytes). */
void modmap_build_id_hex(const uint8_t *id, unsigned len, char *out);

#endif
