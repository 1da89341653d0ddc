/*
 * Offline symbolization with elfutils libdw: a runtime address plus the
 * module map recorded in the file become function, definition file and
 * line, and for allocation sites the source line with its inline chain.
 * Never writes to stdout; warns once per module on stderr.
 */
#ifndef CPROF_REPORTER_SYMBOLIZE_H
#define CPROF_REPORTER_SYMBOLIZE_H

#include <stdint.h>

#include "../common/modmap.h"

struct symbolizer;

/* One frame: a function, with where it is defined and, for a code
 * address inside it, the line being executed. Strings are owned by the
 * symbolizer and valid until symbolizer_free(). */
struct sym_frame {
	const char *function;	/* "fn" or "0x1234" when unknown */
	const char *file;	/* display path, or the module's path if no debug info */
	int line;		/* executing line (code addresses), 0 if unknown */
	int decl_line;		/* line of the function's definition, 0 if unknown */
	const char *module;	/* module path, or "?" */
	int is_inlined;		/* an inline frame inside the next outer one */
};

/* map is borrowed: it must outlive the symbolizer. */
struct symbolizer *symbolizer_new(const struct modmap *map);
void symbolizer_free(struct symbolizer *s);

/* A function entry address (from the call profiler): name, definition
 * file and line. Cached; never NULL. */
const struct sym_frame *symbolize_function(struct symbolizer *s, uint64_t fn_addr);

/*
 * A code address (a return address from a stack trace): the inline chain
 * at that address, innermost first, into out (up to max); returns how
 * many frames (>= 1). Callers pass return addresses as-is: this looks up
 * addr - 1 so the call instruction, not the next line, is reported.
 */
int symbolize_code(struct symbolizer *s, uint64_t addr, struct sym_frame *out, int max);

#endif
