/*
 * cprof's optional public API. Every call is a no-op when the program
 * runs without cprof: the runtimes' entry points are weak references, so
 * a program built against this header links and runs without them.
 *
 *   cprof_enable(), cprof_disable()   bracket what the call profiler
 *                                     counts (Profile.enable/disable)
 *   cprof_snapshot("label")           memory snapshot now
 *   cprof_traced_memory(&cur, &peak)  traced bytes now and at the peak
 *   cprof_reset_peak()                peak := current
 *
 * Thread-safe. Not async-signal-safe, except cprof_traced_memory().
 */
#ifndef CPROF_H
#define CPROF_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defined by libcprof-instrument.so and libcprof-malloc.so. */
extern void cprof_rt_enable(void) __attribute__((weak));
extern void cprof_rt_disable(void) __attribute__((weak));
extern int cprof_rt_snapshot(const char *label) __attribute__((weak));
extern void cprof_rt_traced_memory(size_t *current, size_t *peak) __attribute__((weak));
extern void cprof_rt_reset_peak(void) __attribute__((weak));

#define CPROF_API_ static inline __attribute__((no_instrument_function, unused))

/* Starts counting calls in every thread (from the next call on). */
CPROF_API_ void cprof_enable(void)
{
	if (cprof_rt_enable)
		cprof_rt_enable();
}

/* Stops counting; calls still open in this thread are closed now. */
CPROF_API_ void cprof_disable(void)
{
	if (cprof_rt_disable)
		cprof_rt_disable();
}

/* Writes a memory snapshot labelled label. 0 on success, -1 if the
 * memory profiler is not loaded or the file could not be written. */
CPROF_API_ int cprof_snapshot(const char *label)
{
	return cprof_rt_snapshot ? cprof_rt_snapshot(label) : -1;
}

/* Traced memory in bytes: now and at the peak; 0 and 0 without cprof. */
CPROF_API_ void cprof_traced_memory(size_t *current, size_t *peak)
{
	if (cprof_rt_traced_memory) {
		cprof_rt_traced_memory(current, peak);
	} else {
		*current = 0;
		*peak = 0;
	}
}

/* Sets the peak to the current traced memory. */
CPROF_API_ void cprof_reset_peak(void)
{
	if (cprof_rt_reset_peak)
		cprof_rt_reset_peak();
}

#ifdef __cplusplus
}
#endif
#endif
