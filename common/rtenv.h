/*
 * What both runtimes need at start-up and when they must speak: messages
 * on stderr without stdio (the host may hold its locks), environment
 * values checked once (a bad one is said and the default used), and the
 * wall clock. Never called from a hook's hot path.
 */
#ifndef CPROF_COMMON_RTENV_H
#define CPROF_COMMON_RTENV_H

#include <stdint.h>

/* getenv(), also before libc has set up environ (a hook run from
 * .preinit_array): then from the environment the process started with.
 * Names that start with CPROF_ only. */
const char *rtenv_get(const char *name);
/* "cprof: " + the non-NULL parts + "\n" on stderr, in one writev. */
void rtenv_say(const char *a, const char *b, const char *c, const char *d, const char *e);
/* NAME as a decimal in [lo, hi]; def when unset, or when bad (said once). */
uint32_t rtenv_count(const char *name, uint32_t def, uint32_t lo, uint32_t hi);
/* NAME as bytes, a decimal with an optional K, M, G or T (powers of
 * 1024), at least lo; def when unset, or when bad (said once). */
uint64_t rtenv_bytes(const char *name, uint64_t def, uint64_t lo);
/* NAME as 0 or 1; unset is 0, anything else is said and read as 0. */
int rtenv_flag(const char *name);
/* CLOCK_REALTIME in ns since the epoch (file metadata). */
uint64_t rtenv_unix_ns(void);

#endif
