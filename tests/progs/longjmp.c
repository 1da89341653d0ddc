/*
 * longjmp out of 10 instrumented frames, 100 times, then normal calls:
 * the shadow stack must recover (no negative or runaway times, exact
 * counts afterwards). dive: 100 x 10 entries; after_jump: 100 calls, all
 * from main.
 */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf env;
static volatile int sink;

__attribute__((noinline)) static void dive(int depth)
{
	char pad[64];

	pad[depth % 64] = (char)depth;
	sink += pad[depth % 64];
	if (depth == 0)
		longjmp(env, 1);
	dive(depth - 1);
}

__attribute__((noinline)) static void after_jump(void)
{
	sink++;
}

int main(void)
{
	for (int i = 0; i < 100; i++) {
		if (!setjmp(env))
			dive(9);
		after_jump();
	}
	printf("jumped\n");
	return 0;
}
