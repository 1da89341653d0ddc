/*
 * Many loads and many processes (common/modmap.c, reporter/profile.c):
 * the module an address belonged to at a load generation, modules placed
 * in one address space, and profiles of several processes summed with a
 * forked child's inherited calls counted once.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "../../common/modmap.h"
#include "../../reporter/callstats.h"
#include "../../reporter/util.h"
#include "profile_builder.h"

static void add_module(struct modmap *m, const char *path, uint64_t start, uint64_t end,
		       uint32_t unload_gen)
{
	m->entries = xreallocarray(m->entries, m->count + 1, sizeof(*m->entries));
	m->entries[m->count++] = (struct modmap_entry){
		.start = start, .end = end, .bias = start, .unload_gen = unload_gen,
		.path = xstrdup(path),
	};
}

Test(modmap, find_gen_picks_the_library_mapped_then)
{
	struct modmap m = { 0 };

	/* As modmap_write lists them: loaded ones first, then the unloaded. */
	add_module(&m, "/lib/c.so", 0x10000, 0x20000, 0);
	add_module(&m, "/lib/a.so", 0x10000, 0x20000, 1);
	add_module(&m, "/lib/b.so", 0x10000, 0x18000, 2);
	add_module(&m, "/lib/main", 0x400000, 0x500000, 0);
	cr_assert_str_eq(modmap_find_gen(&m, 0x10100, 0)->path, "/lib/a.so");
	cr_assert_str_eq(modmap_find_gen(&m, 0x10100, 1)->path, "/lib/b.so");
	cr_assert_str_eq(modmap_find_gen(&m, 0x10100, 2)->path, "/lib/c.so");
	cr_assert_str_eq(modmap_find_gen(&m, 0x10100, 7)->path, "/lib/c.so");
	/* b was smaller: past its end, generation 1 is c's (the next one there). */
	cr_assert_str_eq(modmap_find_gen(&m, 0x19000, 1)->path, "/lib/c.so");
	cr_assert_str_eq(modmap_find_gen(&m, 0x400010, 0)->path, "/lib/main");
	cr_assert_null(modmap_find_gen(&m, 0x30000, 0));
	modmap_release(&m);
}

Test(modmap, place_moves_a_clash_and_folds_the_same_file)
{
	struct modmap in = { 0 }, out = { 0 };
	int64_t d[3];

	add_module(&in, "/lib/a.so", 0x10000, 0x20000, 0);
	add_module(&in, "/lib/b.so", 0x10000, 0x20000, 1);	/* same place */
	add_module(&in, "/lib/a.so", 0x70000, 0x80000, 2);	/* a again, elsewhere */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(modmap_place(&out, &in.entries[i], 1, &d[i]), 0);
	cr_assert_eq(out.count, 2);
	cr_assert_eq(d[0], 0);
	cr_assert_geq(out.entries[1].start, 0x20000, "b moved above a");
	cr_assert_eq((uint64_t)d[1], out.entries[1].start - 0x10000);
	cr_assert_eq(out.entries[1].bias - out.entries[1].start, 0, "offsets kept");
	cr_assert_eq(d[2], (int64_t)0x10000 - 0x70000, "a's second load is a's first");
	modmap_release(&in);
	modmap_release(&out);
}

enum { F_MAIN = 0x401000, F_WORK, F_CHILD };

/* One process's profile, as profile_parse leaves it. */
static struct profile *process(uint64_t pid, uint64_t ppid, uint64_t start_ns)
{
	struct profile *p = new_profile();

	p->processes = xcalloc(1, sizeof(*p->processes));
	p->nprocesses = 1;
	p->processes[0] = (struct profile_process){
		.pid = pid, .ppid = ppid, .path = xstrfmt("prog.%llu.prof", (unsigned long long)pid),
		.inherited_node = UINT32_MAX, .start_unix_ns = start_ns, .end_unix_ns = start_ns + 100,
	};
	strcpy(p->processes[0].program, "/bin/prog");
	p->meta.pid = pid;
	add_module(&p->modules, "/bin/prog", 0x400000, 0x500000, 0);
	return p;
}

static const struct func_stat *stat_of(const struct callstats *cs, uint64_t fn)
{
	size_t i = callstats_find(cs, fn);
	cr_assert_neq(i, SIZE_MAX, "no function %#llx", (unsigned long long)fn);
	return &cs->funcs[i];
}

Test(merge, forked_child_counts_inherited_calls_once_and_adds_their_time)
{
	/* Parent: main (1 call, 3 s) -> work x 2. */
	struct profile *parent = process(100, 1, 1000);
	add_thread(parent, 100);
	uint32_t pm = add(parent, 0, F_MAIN, 1, 3.0, 1.0);
	add(parent, pm, F_WORK, 2, 2.0, 2.0);
	/* Child forked inside main: main open (1 closing, 2 s) -> child x 5. */
	struct profile *child = process(101, 100, 1050);
	add_thread(child, 101);
	uint32_t cm = add(child, 0, F_MAIN, 1, 2.0, 0.5);
	add(child, cm, F_CHILD, 5, 1.5, 1.5);
	child->processes[0].inherited_node = cm;
	/* Its layout differs (another process of a PIE): 0x1000 higher. */
	child->modules.entries[0].start += 0x1000;
	child->modules.entries[0].end += 0x1000;
	child->modules.entries[0].bias += 0x1000;
	for (size_t i = 1; i < child->nnodes; i++)
		child->nodes[i].fn += 0x1000;

	struct profile *both[2] = { parent, child };
	struct profile *m = profile_merge(both, 2);
	struct callstats cs;
	callstats_build(&cs, m, 0);
	cr_assert_eq(cs.nfuncs, 3, "one row per function across layouts");
	cr_assert_eq(stat_of(&cs, F_MAIN)->calls, 1, "main counted once");
	cr_assert_float_eq(stat_of(&cs, F_MAIN)->cumtime, 5.0, 1e-12, "its time in both");
	cr_assert_eq(stat_of(&cs, F_WORK)->calls, 2);
	cr_assert_eq(stat_of(&cs, F_CHILD)->calls, 5);
	cr_assert_eq(m->inherited_calls_removed, 1);
	cr_assert_eq(m->nprocesses, 2);
	cr_assert_str_eq(m->meta.program, "/bin/prog");
	callstats_release(&cs);
	profile_free(m);
}

Test(merge, inherited_calls_stay_without_the_parent)
{
	struct profile *a = process(200, 1, 1000), *child = process(301, 300, 1050);
	add_thread(a, 200);
	add(a, 0, F_WORK, 4, 1.0, 1.0);
	add_thread(child, 301);
	uint32_t cm = add(child, 0, F_MAIN, 1, 2.0, 2.0);
	child->processes[0].inherited_node = cm;
	strcpy(child->processes[0].program, "/bin/other");

	struct profile *both[2] = { a, child };
	struct profile *m = profile_merge(both, 2);
	struct callstats cs;
	callstats_build(&cs, m, 0);
	cr_assert_eq(stat_of(&cs, F_MAIN)->calls, 1, "its parent is not in the set");
	cr_assert_eq(m->inherited_calls_removed, 0);
	cr_assert_str_eq(m->meta.program, "/bin/prog, /bin/other", "the programs that went in");
	callstats_release(&cs);
	profile_free(m);
}
