/*
 * Libraries by relative path, one library loaded where another was
 * unloaded, instrumented libraries under a main that may not be
 * (issue 10, items 2 to 4). Built as a program (the Makefile, and by
 * tests/e2e/test_procs.py with or without -finstrument-functions, and
 * with -DPROCS_NEEDED to link libprocs_d.so), and with -DPROCS_LIB=x
 * -shared -fPIC -finstrument-functions as libprocs_x.so (x = a, b, c, d).
 * The program (argv[1] = the directory of the libraries; it chdirs
 * there and loads them as "./libprocs_x.so"):
 * Each x_work call keeps a 24-byte block (SITE_LIB).
 *   a: dlopen, a_work x 3 (each a_leaf x 2), dlclose
 *   b: dlopen (at a's address: same size, same layout), b_work x 5
 *      (each b_leaf x 2), dlclose
 *   c: dlopen, c_work x 7 (each c_leaf x 2), stays loaded
 *   d (PROCS_NEEDED: linked, DT_NEEDED): d_work x 4 (each d_leaf x 2)
 * then chdir("/"): the relative names mean nothing any more at exit.
 * With argv[2] = "absolute", the libraries are loaded by absolute path.
 * Prints "same base yes" when b landed where a was.
 */
#define _GNU_SOURCE

#ifdef PROCS_LIB

#include <stdlib.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

static volatile int sink;
static void *volatile kept;

__attribute__((noinline)) static void CAT(PROCS_LIB, _leaf)(void)
{
	sink++;
}

__attribute__((visibility("default"))) void CAT(PROCS_LIB, _work)(void);
void CAT(PROCS_LIB, _work)(void)
{
	CAT(PROCS_LIB, _leaf)();
	CAT(PROCS_LIB, _leaf)();
	kept = malloc(24); /* SITE_LIB: never freed */
}

#else

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

#ifdef PROCS_NEEDED
void d_work(void);
#endif

static const char *dir = ".";

/* Loads DIR/libprocs_NAME.so, calls NAME_work times times; *base is where
 * it is mapped. Returns the handle. */
static void *load_and_call(const char *name, int times, void **base)
{
	char lib[4200], sym[64];
	Dl_info info;

	snprintf(lib, sizeof(lib), "%s/libprocs_%s.so", dir, name);
	snprintf(sym, sizeof(sym), "%s_work", name);
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "procs_dlopen: %s\n", dlerror());
		return NULL;
	}
	void (*work)(void) = (void (*)(void))dlsym(h, sym);
	if (!work || !dladdr((void *)work, &info))
		return NULL;
	*base = info.dli_fbase;
	for (int i = 0; i < times; i++)
		work();
	return h;
}

int main(int argc, char **argv)
{
	void *base_a, *base_b, *base_c;

	if (argc < 2 || chdir(argv[1]) < 0) {
		fprintf(stderr, "usage: procs_dlopen DIRECTORY-OF-LIBRARIES [absolute]\n");
		return 2;
	}
	if (argc > 2)
		dir = argv[1];
	void *a = load_and_call("a", 3, &base_a);
	if (!a || dlclose(a))
		return 1;
	void *b = load_and_call("b", 5, &base_b);
	if (!b || dlclose(b))
		return 1;
	if (!load_and_call("c", 7, &base_c))
		return 1;
#ifdef PROCS_NEEDED
	for (int i = 0; i < 4; i++)
		d_work();
#endif
	if (chdir("/") < 0)
		return 1;
	printf("same base %s\n", base_a == base_b ? "yes" : "no");
	return 0;
}

#endif
