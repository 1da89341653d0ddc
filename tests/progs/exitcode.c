/*
 * Exit status and stdout forwarding: echoes its arguments and stdin to
 * stdout byte for byte, then exits with the status given as argv[1].
 */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static int copy_stdin(void)
{
	int c, n = 0;
	while ((c = getchar()) != EOF) {
		putchar(c);
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		printf("%s\n", argv[i]);
	copy_stdin();
	return argc > 1 ? atoi(argv[1]) : 0;
}
