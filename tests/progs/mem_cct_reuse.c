/*
 * CPROF_UNWIND=cct's kept stacks must never be reused for another one:
 * the same functions at the same depths entered again, in turn, from
 * different lines (only the outermost call differs); a call that
 * allocates itself before calling what it called from another line
 * before; and a longjmp that leaves a call behind on the shadow stack
 * and a new call of the same function at its depth from another line.
 * Each size is one site and one stack; every block stays live until
 * exit. Prints "done".
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile kept[100];
static int nkept;

static void keep(void *p)
{
	kept[nkept++] = p;
}

__attribute__((noinline)) static void leaf(int size)
{
	keep(malloc(size)); /* SITE_LEAF */
}

__attribute__((noinline)) static void mid(int size)
{
	leaf(size); /* CALL_LEAF */
}

/* Called from two lines: the calls above it are the same each time. */
__attribute__((noinline)) static void via(int size)
{
	mid(size); /* CALL_MID */
}

__attribute__((noinline)) static void via_other(int size)
{
	mid(size); /* CALL_MID_OTHER */
}

__attribute__((noinline)) static void inner(int size)
{
	keep(malloc(size)); /* SITE_INNER */
}

/* From its second line, outer is read (for its own block) before inner
 * is called again, as it was from the first line. */
__attribute__((noinline)) static void outer(int size, int first)
{
	if (first)
		keep(malloc(size)); /* SITE_OUTER */
	inner(size + 1); /* CALL_INNER */
}

static jmp_buf jump;

/* Allocates, then jumps back over its own frame when asked. */
__attribute__((noinline)) static void maybe_jump(int size, int jumps)
{
	keep(malloc(size)); /* SITE_JUMP */
	if (jumps)
		longjmp(jump, 1);
}

__attribute__((noinline)) static void jumps(void)
{
	for (int i = 0; i < 5; i++) {
		if (!setjmp(jump))
			maybe_jump(320, 1); /* CALL_JUMP_A */
		/* maybe_jump's frame is still on the shadow stack here: this
		 * call replaces it at the same depth. */
		maybe_jump(330, 0); /* CALL_JUMP_B */
	}
}

int main(void)
{
	for (int i = 0; i < 5; i++) {
		via(100); /* CALL_VIA_A */
		via(200); /* CALL_VIA_B */
		via_other(250); /* CALL_VIA_OTHER */
	}
	for (int i = 0; i < 5; i++) {
		outer(400, 0); /* CALL_OUTER_A */
		outer(410, 1); /* CALL_OUTER_B */
	}
	jumps(); /* CALL_JUMPS */
	puts("done");
	return 0;
}
