/*
 * libcprof-malloc.so: the memory profiler's runtime. Preloaded into any
 * dynamically linked program, it interposes the whole allocation family,
 * records each live block with the stack that allocated it, and writes
 * snapshots DIR/PROG.PID.SEQ.snap (the last one labelled "exit").
 *
 * Environment (read once at start-up; a bad value is said once on
 * stderr and the default used):
 *   CPROF_OUTPUT=DIR            where snapshots go (default ./cprof-out)
 *   CPROF_FRAMES=N              stack depth of allocation sites (1..256,
 *                               default 16: see runtime.c)
 *   CPROF_UNWIND=auto|cfi|libunwind|fp|cct
 *                               how stacks are taken: cfi, the shim's
 *                               own walk of .eh_frame (cfi.c: any program,
 *                               libunwind's frames; libunwind takes the
 *                               stacks it cannot walk, counted in the
 *                               snapshot); libunwind's unw_backtrace; fp, the
 *                               frame-pointer chain (programs built with
 *                               -fno-omit-frame-pointer; libunwind is not
 *                               loaded). fp stops at the first frame
 *                               without a frame pointer (the next one not
 *                               above the current, not 16-aligned or off
 *                               the thread's stack), so frames past such
 *                               code (e.g. libc's) are cut, never invented;
 *                               cct, the call runtime's shadow stack (it
 *                               must be loaded; see cct_stack in hooks.c),
 *                               down to the outermost instrumented call,
 *                               unwinding with cfi where it cannot
 *                               vouch for a caller; auto (default): cct
 *                               when the call runtime is loaded, else
 *                               cfi
 *   CPROF_INTERVAL=SEC          a snapshot every SEC seconds (0 = off)
 *   CPROF_SNAPSHOT_SIGNAL=SIG   signal that takes a snapshot (default
 *                               SIGUSR2; "none" = off). Installed only if
 *                               the program has no handler for it yet.
 *   CPROF_MAX_TRACES=N          distinct stacks kept (default 1M); more
 *                               are counted as dropped, their bytes kept
 *   CPROF_HEADERS=0|1           1 (default): blocks of malloc, calloc and
 *                               realloc carry a 16-byte header with their
 *                               size and site (malloc_usable_size is 16 less
 *                               than glibc's); used only when the allocator
 *                               next is glibc's. 0: every block in the live
 *                               table (slower; for an allocator cprof should
 *                               not wrap). The aligned family always uses
 *                               the table. A block freed with its header
 *                               overwritten (a write before its start) is
 *                               counted in the snapshot's corrupt_headers
 *
 * A single-threaded program stays single-threaded: its hooks sample the
 * timeline and the signal's handler writes the snapshot (or, inside a
 * hook, leaves it to the next one). The helper thread that serves
 * signal and interval snapshots and the timeline runs only for
 * CPROF_INTERVAL or once the program has a second thread (see
 * snapshot.c): a forked child starts it at its first allocation call if
 * it needs it; unshare() and setns() (exported) stop it for the call,
 * since a user namespace refuses a multi-threaded caller, and it
 * restarts at the next allocation call.
 *
 * Exported: the allocation family below and the cprof_rt_* API that
 * include/cprof.h calls through weak references. Everything else is
 * hidden, including the statically linked libunwind, so the host's own
 * backtrace() and _Unwind_Backtrace stay glibc's and libgcc's.
 */
#ifndef CPROF_PRELOAD_H
#define CPROF_PRELOAD_H

#include <stddef.h>

/* The interposers: exactly glibc's results, errno and alignment. */
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void *reallocarray(void *p, size_t n, size_t size);
void free(void *p);
int posix_memalign(void **out, size_t align, size_t size);
void *aligned_alloc(size_t align, size_t size);
void *memalign(size_t align, size_t size);
void *valloc(size_t size);
void *pvalloc(size_t size);
size_t malloc_usable_size(void *p);
int unshare(int flags);
int setns(int fd, int nstype);

/* Writes a snapshot labelled label now: 0, or -1 (not tracing, or the
 * file could not be written; said once on stderr). Thread-safe; not
 * async-signal-safe (use CPROF_SNAPSHOT_SIGNAL from a handler). */
int cprof_rt_snapshot(const char *label);
/* Traced bytes now and at the peak. Async-signal-safe. */
void cprof_rt_traced_memory(size_t *current, size_t *peak);
/* peak := current. */
void cprof_rt_reset_peak(void);

#endif
