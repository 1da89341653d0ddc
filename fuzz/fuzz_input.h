/*
 * What the reader harnesses share: the fuzzer's bytes as a parsed file.
 * Header-only: each harness is built alone by fuzz/run.sh.
 */
#ifndef CPROF_FUZZ_INPUT_H
#define CPROF_FUZZ_INPUT_H

#include "../common/format.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 0: f holds the parsed bytes (close it with fmt_file_close); -1: refused
 * or out of memory. The bytes are an exact-size heap copy, so ASan sees
 * any read past the end; a refusal without a message traps. */
static inline int fuzz_input_parse(struct fmt_file *f, const uint8_t *data, size_t size,
				   const char *name, char *err, size_t errlen)
{
	unsigned char *copy = malloc(size ? size : 1);

	if (!copy)
		return -1;
	memcpy(copy, data, size);
	if (fmt_file_parse(f, copy, size, name, err, errlen) < 0) {
		if (!err[0])
			__builtin_trap();
		return -1;
	}
	return 0;
}

#endif
