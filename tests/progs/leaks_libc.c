/*
 * Two leaks of the program's own among blocks the C library allocates
 * for itself and keeps until exit: stdout's buffer, locale data, the
 * time zone, atexit records. `cprof stats --leaks` must show exactly the
 * program's two, as valgrind does after freeing libc's (__libc_freeres).
 *   SITE_STRDUP: strdup of 15 bytes, never freed
 *   SITE_MALLOC: malloc(777), never freed
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *volatile kept[2];

static void at_exit_noop(void)
{
}

int main(void)
{
	time_t t = 86400;

	setlocale(LC_ALL, "C.UTF-8");
	for (int i = 0; i < 40; i++)	/* past the static block of 32 */
		atexit(at_exit_noop);
	tzset();
	printf("%d\n", localtime(&t)->tm_yday);
	kept[0] = strdup("a program leak"); /* SITE_STRDUP */
	kept[1] = malloc(777); /* SITE_MALLOC */
	return 0;
}
