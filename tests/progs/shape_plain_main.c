/*
 * An uninstrumented main (tests/progs/shape.mk builds it without
 * -finstrument-functions) calling an instrumented DT_NEEDED library and
 * an instrumented plugin it dlopens: lib_call 6 (libshape_ctor.so, whose
 * constructor also runs lib_ctor 1 -> lib_ctor_work 2); plug_a_entry 2 ->
 * plug_a_leaf 20 (libshape_plug_a.so, next to this program).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void lib_call(void);

int main(void)
{
	char lib[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", lib, sizeof lib - 32);

	if (len <= 0)
		return 1;
	lib[len] = 0;
	strcpy(strrchr(lib, '/') + 1, "libshape_plug_a.so");
	for (int i = 0; i < 6; i++)
		lib_call();
	void *h = dlopen(lib, RTLD_NOW);
	void (*entry)(int) = h ? (void (*)(int))dlsym(h, "plug_a_entry") : NULL;
	if (!entry) {
		fprintf(stderr, "shape_plain_main: %s\n", dlerror());
		return 1;
	}
	entry(10);
	entry(10);
	return dlclose(h) != 0;
}
