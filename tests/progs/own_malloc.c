/*
 * A program with its own instrumented allocator (malloc, calloc, realloc
 * and free over a static arena), so every allocation in the process,
 * ld.so's and libc's included, is a call the call profiler sees. main
 * allocates once and frees once; nothing else in the program allocates
 * (write(2), no stdio). The runtimes' own work (the memory runtime loads
 * libunwind and starts a thread) must not show as calls: malloc 1 and
 * free 1, with or without the memory runtime.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define NO_HOOKS __attribute__((noinline, no_instrument_function))
#define ARENA (64u << 20)

static _Alignas(16) char arena[ARENA];
static size_t arena_used;

/* Bump allocation with the size kept in front; never reused. */
NO_HOOKS static void *bump(size_t size)
{
	size_t need = (size + 16 + 15) & ~(size_t)15;
	size_t at = __atomic_fetch_add(&arena_used, need, __ATOMIC_RELAXED);

	if (at + need > ARENA)
		return NULL;
	*(size_t *)(arena + at) = size;
	return arena + at + 16;
}

NO_HOOKS static size_t size_of(void *p)
{
	return *(size_t *)((char *)p - 16);
}

void *malloc(size_t size)
{
	return bump(size);
}

void free(void *p)
{
	(void)p;
}

void *calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return bump(n * size);	/* the arena is zeroed, never reused */
}

void *realloc(void *p, size_t size)
{
	void *q = bump(size);

	if (p && q)
		memcpy(q, p, size_of(p) < size ? size_of(p) : size);
	return q;
}

static char *volatile kept;	/* the block escapes: no call elided */

__attribute__((noinline)) static void work(void)
{
	kept = malloc(100);
	memset(kept, 1, 100);
	free(kept);
}

int main(void)
{
	work();
	return write(1, "done\n", 5) == 5 ? 0 : 1;
}
