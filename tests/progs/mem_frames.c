/*
 * Frames whose CFA is not a fixed offset from rsp, for the malloc shim's
 * cfi walk (tests/e2e/test_memengine.py compares its tracebacks with
 * libunwind's): alloca and a variable-length array (the CFA is then
 * rbp-based), recursion through both, and the same sites reached again
 * from other call sites and depths (the walk's memory of its last stack
 * must not answer for them). Exact counts; prints "done".
 */
#include <alloca.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *kept[64];
static int nkept;
static volatile unsigned sink;

/* Reads a buffer, so that the compiler keeps it on the stack. */
__attribute__((noinline)) static size_t use(const char *buf, size_t len)
{
	unsigned sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += (unsigned char)buf[i];
	sink = sum;
	return 0;
}

__attribute__((noinline)) static void keep(void *p)
{
	if (nkept < 64)
		kept[nkept++] = p;
}

__attribute__((noinline)) static void leaf(size_t size)
{
	keep(malloc(size)); /* SITE_LEAF */
}

/* alloca: rsp moves by a runtime amount, so the CFA is rbp + 16. */
__attribute__((noinline)) static void with_alloca(int n, size_t size)
{
	size_t len = (size_t)n * 24 + 8;
	char *scratch = alloca(len);
	memset(scratch, n, len);
	leaf(size + use(scratch, len)); /* CALL_LEAF_ALLOCA */
}

/* A variable-length array, recursing through with_alloca. */
__attribute__((noinline)) static void with_vla(int depth, size_t size)
{
	char vla[depth * 40 + 16];
	memset(vla, depth, sizeof(vla));
	if (depth > 0)
		with_vla(depth - 1, size); /* CALL_VLA */
	else
		with_alloca(3, size); /* CALL_ALLOCA */
	use(vla, sizeof(vla));	/* after the call: the array lives across it */
}

__attribute__((noinline)) static void site_a(void)
{
	with_vla(2, 100); /* CALL_A */
}

__attribute__((noinline)) static void site_b(void)
{
	with_vla(25, 200); /* CALL_B */
}

int main(void)
{
	for (int i = 0; i < 3; i++) {
		site_a(); /* CALL_MAIN_A */
		site_b(); /* CALL_MAIN_B */
		with_alloca(i + 1, 300); /* CALL_MAIN_ALLOCA */
		leaf(400); /* CALL_MAIN_LEAF */
	}
	puts("done");
	return 0;
}
