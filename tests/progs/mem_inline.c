/*
 * Allocations made inside two levels of inlined code, for the inline
 * chain of tracebacks: make() is inlined into wrap(), wrap() into the
 * out-of-line outer() (always_inline: inlined even under -fno-inline).
 *   SITE_MAKE:  the malloc in make(), 3 x 48 bytes via outer(), leaked
 *   CALL_WRAP:  make()'s call site in wrap()
 *   CALL_OUTER: wrap()'s call site in outer()
 *   CALL_MAIN:  outer()'s call site in main()
 */
#include <stdlib.h>

static void *volatile kept[3];

static inline __attribute__((always_inline)) void *make(size_t n)
{
	void *p = malloc(n); /* SITE_MAKE */
	return p;
}

static inline __attribute__((always_inline)) void *wrap(size_t n)
{
	return make(n * 2); /* CALL_WRAP */
}

__attribute__((noinline)) void *outer(size_t n)
{
	void *p = wrap(n); /* CALL_OUTER */
	return p;
}

int main(void)
{
	for (int i = 0; i < 3; i++)
		kept[i] = outer(24); /* CALL_MAIN */
	kept[0] = kept[1] = kept[2] = 0;	/* lost: valgrind reports them */
	return 0;
}
