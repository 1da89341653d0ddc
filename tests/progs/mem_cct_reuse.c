/*
 * CPROF_UNWIND=cct's kept stacks must never be reused for another one:
 * the same functions at the same depths entered again, in turn, from
 * different lines (only the outermost call differs); a call that
 * allocates itself before calling what it called from another line
 * before; and a longjmp that leaves a call behind on the shadow stack
 * and a new call of the same function at its depth from another line;
 * a longjmp over two calls, then an allocation from a function without
 * hooks, so that no hook runs between the jump and the allocation.
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

static jmp_buf jump2;

__attribute__((noinline)) static void deep_jump(void)
{
	longjmp(jump2, 1);
}

__attribute__((noinline)) static void over_two(void)
{
	deep_jump();
}

/* No hooks: its malloc is the first hook after the jump, while the two
 * calls jumped over are still on the shadow stack. */
__attribute__((noinline, no_instrument_function)) static void *plain_alloc(int size)
{
	void *volatile p = malloc(size); /* SITE_PLAIN */
	return p;	/* not a tail call: its frame stays */
}

__attribute__((noinline)) static void jumps_over(void)
{
	for (int i = 0; i < 5; i++) {
		if (!setjmp(jump2))
			over_two();
		else
			keep(plain_alloc(340)); /* CALL_PLAIN_ALLOC */
	}
}

static jmp_buf jump3;

/* Allocates (so that this chain is checked, for the stacks made here),
 * then jumps back over two calls. */
__attribute__((noinline)) static void far_b(void)
{
	keep(malloc(360)); /* SITE_FAR_B */
	longjmp(jump3, 1);
}

/* A large frame: far_b's lies below what the hooks of the allocation
 * after the jump write, so its return address is still in its slot. */
__attribute__((noinline)) static void far_a(void)
{
	volatile char pad[4096];

	pad[0] = 0;
	far_b(); /* CALL_FAR_B */
	pad[1] = pad[0];
}

__attribute__((noinline)) static void jumps_far(void)
{
	for (int i = 0; i < 5; i++) {
		if (!setjmp(jump3))
			far_a(); /* CALL_FAR_A */
		else
			keep(plain_alloc(370)); /* CALL_PLAIN_ALLOC_FAR */
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
	jumps_over(); /* CALL_JUMPS_OVER */
	jumps_far(); /* CALL_JUMPS_FAR */
	puts("done");
	return 0;
}
