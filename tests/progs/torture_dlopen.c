/*
 * dlopen/dlclose of an instrumented library, under both runtimes. Built
 * twice: as a program (the Makefile) and, with -DTORTURE_PLUGIN -shared
 * -fPIC -finstrument-functions, as the library the test loads.
 * The program (argv[1] = the library):
 *   load 1: call_plugin() x 3, each plugin_entry(10) -> plugin_leaf x 10
 *           and 5 x malloc(72) kept (SITE_PLUGIN); dlclose
 *   load 2: the same library again, at another address (the old one is
 *           taken by a mapping first), call_plugin() x 1 (plugin_entry(4));
 *           dlclose
 *   then after_close() x 2 and 10 x malloc(48) (SITE_MAIN), kept.
 * The library is gone at exit, when the files are written: its calls
 * (plugin_entry 4, plugin_leaf 34) and its 20 live blocks must still be
 * named by function and file:line.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#ifdef TORTURE_PLUGIN

static volatile long plugin_sink;

__attribute__((noinline)) static void plugin_leaf(int i)
{
	plugin_sink += i;
}

__attribute__((visibility("default"))) void plugin_entry(int n, void **keep);
void plugin_entry(int n, void **keep)
{
	for (int i = 0; i < n; i++)
		plugin_leaf(i);
	for (int i = 0; i < 5; i++)
		keep[i] = malloc(72); /* SITE_PLUGIN */
}

#else

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *volatile kept[20];
static void *volatile main_blocks[10];
static volatile long sink;

__attribute__((noinline)) static void call_plugin(void (*entry)(int, void **), int n, int k)
{
	entry(n, (void **)&kept[k * 5]);
}

__attribute__((noinline)) static void after_close(void)
{
	sink++;
}

/* Loads lib, calls plugin_entry(n) times times, unloads it; *base is
 * where it was mapped. */
static int load_and_call(const char *lib, int times, int n, int first, void **base)
{
	Dl_info info;
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "torture_dlopen: %s\n", dlerror());
		return -1;
	}
	void (*entry)(int, void **) = (void (*)(int, void **))dlsym(h, "plugin_entry");
	if (!entry || !dladdr((void *)entry, &info))
		return -1;
	*base = info.dli_fbase;
	for (int i = 0; i < times; i++)
		call_plugin(entry, n, first + i);
	return dlclose(h);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: torture_dlopen LIBRARY.so\n");
		return 2;
	}
	void *base1, *base2;
	if (load_and_call(argv[1], 3, 10, 0, &base1) < 0)
		return 1;
	/* Where it was is taken now (by us, or already by another mapping):
	 * the second load lands elsewhere. */
	void *hold = mmap(base1, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			  MAP_FIXED_NOREPLACE, -1, 0);
	if (hold == MAP_FAILED && errno != EEXIST)
		return 1;
	if (load_and_call(argv[1], 1, 4, 3, &base2) < 0)
		return 1;
	if (hold != MAP_FAILED)
		munmap(hold, 4096);
	for (int i = 0; i < 2; i++)
		after_close();
	for (int i = 0; i < 10; i++)
		main_blocks[i] = malloc(48); /* SITE_MAIN */
	/* Still mapped? Then the test would prove nothing. */
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[4096];
	int mapped = 0;
	while (maps && fgets(line, sizeof(line), maps))
		mapped |= strstr(line, argv[1]) != NULL;
	if (maps)
		fclose(maps);
	printf("unloaded %s, reloaded elsewhere %s\n", mapped ? "no" : "yes",
	       base1 != base2 ? "yes" : "no");
	return 0;
}

#endif
