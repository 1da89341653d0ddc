/*
 * dlopen/dlclose of instrumented plugins (libshape_plug_a.so and
 * libshape_plug_b.so, next to this program; same layout, other names).
 *   shape_dlopen relative: chdir to the program's directory, then
 *     dlopen("./libshape_plug_a.so"): call_plugin 3 -> plug_a_entry 3 ->
 *     plug_a_leaf 30
 *   shape_dlopen reuse: load a, call it 2 times, dlclose; load b, which
 *     the loader maps at a's old address (the program checks it), call it
 *     4 times, dlclose: call_plugin 6, plug_a_entry 2, plug_a_leaf 20,
 *     plug_b_entry 4, plug_b_leaf 40
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char dir[PATH_MAX];

__attribute__((noinline)) static void call_plugin(void (*entry)(int), int n)
{
	entry(n);
}

/* Loads lib, calls its ENTRY times times, unloads it; *base: where it was. */
static int load_and_call(const char *lib, const char *entry_name, int times, void **base)
{
	Dl_info info;
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "shape_dlopen: %s\n", dlerror());
		return 1;
	}
	void (*entry)(int) = (void (*)(int))dlsym(h, entry_name);
	if (!entry || !dladdr((void *)entry, &info))
		return 1;
	*base = info.dli_fbase;
	for (int i = 0; i < times; i++)
		call_plugin(entry, 10);
	return dlclose(h) != 0;
}

int main(int argc, char **argv)
{
	char lib[PATH_MAX + 32];
	void *base_a, *base_b;
	ssize_t len = readlink("/proc/self/exe", dir, sizeof dir - 1);

	if (argc != 2 || len <= 0)
		return 2;
	dir[len] = 0;
	*strrchr(dir, '/') = 0;
	if (strcmp(argv[1], "relative") == 0)
		return chdir(dir) != 0 || load_and_call("./libshape_plug_a.so", "plug_a_entry", 3, &base_a);
	snprintf(lib, sizeof lib, "%s/libshape_plug_a.so", dir);
	if (load_and_call(lib, "plug_a_entry", 2, &base_a))
		return 1;
	snprintf(lib, sizeof lib, "%s/libshape_plug_b.so", dir);
	if (load_and_call(lib, "plug_b_entry", 4, &base_b))
		return 1;
	if (base_a != base_b) {
		fprintf(stderr, "shape_dlopen: b was mapped at %p, not at a's %p\n", base_b, base_a);
		return 3;
	}
	return 0;
}
