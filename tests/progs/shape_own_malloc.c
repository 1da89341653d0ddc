/*
 * The program defines its own instrumented malloc family (a bump
 * allocator over a static arena, each block after a 16-byte header that
 * holds its size; free does nothing): main 1 -> use_heap 1 -> malloc 1,
 * free 1. Whatever else calls malloc (libc, a runtime starting up) shows
 * up in its count. The arena is large enough for uftrace's own stacks.
 * Single-threaded: no lock.
 */
#include <malloc.h>
#include <stddef.h>
#include <string.h>

static _Alignas(16) char arena[256 << 20];
static size_t used;

void *malloc(size_t size)
{
	size_t at = used;

	if (size > sizeof arena - at - 16)
		return NULL;
	*(size_t *)(arena + at) = size;
	used = at + 16 + ((size + 15) & ~(size_t)15);
	return arena + at + 16;
}

void free(void *p)
{
	(void)p;
}

void *calloc(size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size)
		return NULL;
	return malloc(n * size); /* the arena is never reused: still zero */
}

void *realloc(void *p, size_t size)
{
	void *q = malloc(size);

	if (p && q) {
		/* A block from libc's memalign family has no header of ours. */
		int ours = (char *)p > arena && (char *)p < arena + sizeof arena;
		size_t old = ours ? *(size_t *)((char *)p - 16) : malloc_usable_size(p);
		memcpy(q, p, old < size ? old : size);
	}
	return q;
}

__attribute__((noinline)) static void use_heap(void)
{
	char *volatile p = malloc(100);

	p[0] = 1;
	free(p);
}

int main(void)
{
	use_heap();
	return 0;
}
