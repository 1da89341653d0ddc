/*
 * The program shape_exec runs through execv: image_work argv[1] times
 * (image_leaf twice each).
 */
#include <stdlib.h>

static volatile long sink;

__attribute__((noinline)) static void image_leaf(void)
{
	sink++;
}

__attribute__((noinline)) static void image_work(void)
{
	image_leaf();
	image_leaf();
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;

	for (int i = 0; i < n; i++)
		image_work();
	return 0;
}
