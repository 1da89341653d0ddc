/*
 * Module map collection (dl_iterate_phdr, in the profiled process, no
 * malloc; modules a dlclose() unloaded are kept) and parsing (reporter,
 * checks every length it reads).
 */
#define _GNU_SOURCE
#include "modmap.h"
#include "rtenv.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void find_build_id(const struct dl_phdr_info *info, struct fmt_module *m)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		const unsigned char *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			const unsigned char *name = p + sizeof(*n);
			const unsigned char *desc = name + ((n->n_namesz + 3) & ~3u);
			const unsigned char *next = desc + ((n->n_descsz + 3) & ~3u);
			if (next > end)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0) {
				unsigned len = n->n_descsz < FMT_BUILD_ID_MAX ? n->n_descsz
									      : FMT_BUILD_ID_MAX;
				memcpy(m->build_id, desc, len);
				m->build_id_len = (uint16_t)len;
				return;
			}
			p = next;
		}
	}
}

_Atomic uint32_t modmap_generation;

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parses "START-END ... PATH" (a line of /proc/self/maps): PATH into out
 * if the range holds addr and PATH is absolute. */
static int maps_line_path(const char *line, size_t len, uint64_t addr, char out[PATH_MAX])
{
	uint64_t lo = 0, hi = 0;
	size_t i = 0;
	int d;

	for (; i < len && (d = hex_digit(line[i])) >= 0; i++)
		lo = lo << 4 | (uint64_t)d;
	if (i >= len || line[i++] != '-')
		return 0;
	for (; i < len && (d = hex_digit(line[i])) >= 0; i++)
		hi = hi << 4 | (uint64_t)d;
	if (addr < lo || addr >= hi)
		return 0;
	for (int field = 0; field < 4; field++) {	/* perms, offset, dev, inode */
		while (i < len && line[i] == ' ')
			i++;
		while (i < len && line[i] != ' ')
			i++;
	}
	while (i < len && line[i] == ' ')
		i++;
	if (i >= len || line[i] != '/' || len - i >= PATH_MAX)
		return 0;
	memcpy(out, line + i, len - i);
	out[len - i] = 0;
	return 1;
}

/*
 * The absolute path of the file mapped at addr, from /proc/self/maps:
 * for a library the loader knows by a relative name (dlopen("./x.so"),
 * a relative LD_LIBRARY_PATH), which means nothing once the working
 * directory changed. read(2) into a stack buffer: no malloc, no stdio.
 */
static int mapped_path(uint64_t addr, char out[PATH_MAX])
{
	char buf[PATH_MAX + 512];
	size_t used = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), found = 0;

	if (fd < 0)
		return 0;
	while (!found) {
		ssize_t n = read(fd, buf + used, sizeof(buf) - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		size_t start = 0;
		for (size_t i = 0; i < used && !found; i++)
			if (buf[i] == '\n') {
				found = maps_line_path(buf + start, i - start, addr, out);
				start = i + 1;
			}
		if (start == 0 && used == sizeof(buf))
			start = used;	/* a line longer than any path: skip it */
		memmove(buf, buf + start, used - start);
		used -= start;
	}
	close(fd);
	return found;
}

/* The module of info as a record, and its path; 0 if it has nothing on
 * disk to symbolize (the vDSO) or no loadable segment. */
static int module_of(const struct dl_phdr_info *info, struct fmt_module *m, const char **path,
		     char exe[PATH_MAX])
{
	*path = info->dlpi_name;
	if (!*path || !**path) {
		/* The first entry with an empty name is the main program. */
		ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
		if (n <= 0)
			return 0;
		exe[n] = 0;
		*path = exe;
	}

	memset(m, 0, sizeof(*m));
	m->start = UINT64_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (lo < m->start)
			m->start = lo;
		if (hi > m->end)
			m->end = hi;
	}
	if (m->start == UINT64_MAX)
		return 0;
	/* A relative name: the file mapped there, named absolutely; none
	 * (the vDSO, "[vdso]" in the maps): nothing on disk to symbolize. */
	if ((*path)[0] != '/') {
		if (!mapped_path(m->start, exe))
			return 0;
		*path = exe;
	}
	m->bias = info->dlpi_addr;
	m->path_len = (uint16_t)strnlen(*path, PATH_MAX - 1);
	find_build_id(info, m);
	return 1;
}

/*
 * Modules dlclose() unloaded during the run. Their code is gone from
 * dl_iterate_phdr by the time the files are written at exit, but their
 * addresses are in them: the runtimes' dlclose interposers keep each
 * module a dlclose removed, and modmap_write appends them after the
 * loaded ones (which win where ranges overlap). Append-only and
 * lock-free (a slot is reserved by an atomic add, published by its
 * ready flag): a fork or a signal in the middle leaves at worst a slot
 * never published, never a lock held. mmap'd: no malloc.
 */
#define GONE_MAX 256

struct gone_module {
	_Atomic int is_ready;
	struct fmt_module m;
	char path[PATH_MAX];
};

static struct gone_module *_Atomic gone;
static _Atomic uint32_t gone_reserved;
static _Atomic int gone_is_full_said;

static struct gone_module *gone_table(void)
{
	struct gone_module *t = atomic_load(&gone), *none = NULL;

	if (t)
		return t;
	/* NORESERVE: only the slots used cost memory. */
	t = mmap(NULL, GONE_MAX * sizeof(*t), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	if (!atomic_compare_exchange_strong(&gone, &none, t)) {
		munmap(t, GONE_MAX * sizeof(*t));
		t = none;
	}
	return t;
}

static int same_module(const struct fmt_module *a, const char *a_path, const struct fmt_module *b,
		       const char *b_path)
{
	return a->start == b->start && a->end == b->end && a->bias == b->bias &&
	       a->path_len == b->path_len && memcmp(a_path, b_path, a->path_len) == 0;
}

/* The modules loaded before a dlclose, to compare with those after:
 * the second pass marks each one still loaded (is_ready, reused). */
struct before_list {
	struct gone_module *mods;
	uint32_t count, cap;
	int is_still_loaded_pass;
};

static int visit_before(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct before_list *b = arg;
	char exe[PATH_MAX];
	const char *path;
	struct fmt_module m;
	(void)size;

	if (!module_of(info, &m, &path, exe))
		return 0;
	if (b->is_still_loaded_pass) {
		for (uint32_t i = 0; i < b->count; i++)
			if (same_module(&b->mods[i].m, b->mods[i].path, &m, path))
				b->mods[i].is_ready = 1;	/* not unloaded */
		return 0;
	}
	if (b->count < b->cap) {
		b->mods[b->count].m = m;
		memcpy(b->mods[b->count].path, path, m.path_len);
		b->count++;
	}
	return 0;
}

static int overlaps(const struct fmt_module *a, const struct fmt_module *b)
{
	return a->start < b->end && b->start < a->end;
}

/* g was unloaded as the generation became g->m.unload_gen. */
static void remember(const struct gone_module *g)
{
	struct gone_module *t = gone_table();

	if (!t)
		return;
	uint32_t n = atomic_load(&gone_reserved);
	if (n > GONE_MAX)
		n = GONE_MAX;
	/* The same library unloaded again from the same place, with nothing
	 * else there in between: one entry, valid until this unload. */
	for (uint32_t i = n; i-- > 0;) {
		if (!atomic_load(&t[i].is_ready) || !overlaps(&t[i].m, &g->m))
			continue;
		if (same_module(&t[i].m, t[i].path, &g->m, g->path)) {
			__atomic_store_n(&t[i].m.unload_gen, g->m.unload_gen, __ATOMIC_RELAXED);
			return;
		}
		break;	/* another library was there since */
	}
	uint32_t at = atomic_fetch_add(&gone_reserved, 1);
	if (at >= GONE_MAX) {
		if (!atomic_exchange(&gone_is_full_said, 1))
			rtenv_say("more than 256 libraries were unloaded: the code of later ones "
				  "will show as addresses", NULL, NULL, NULL, NULL);
		return;
	}
	t[at].m = g->m;
	memcpy(t[at].path, g->path, g->m.path_len);
	atomic_store_explicit(&t[at].is_ready, 1, memory_order_release);
}

int modmap_dlclose(void *handle, int (*real_dlclose)(void *))
{
	struct before_list b = { .cap = 0 };
	size_t bytes = 1024 * sizeof(*b.mods);

	/* Scratch from mmap, not the stack (PATH_MAX a module) or malloc. */
	b.mods = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b.mods == MAP_FAILED)
		return real_dlclose(handle);
	b.cap = 1024;
	dl_iterate_phdr(visit_before, &b);
	/* Mapped before the library goes: afterwards it would take the
	 * library's place, and the next library would land elsewhere than
	 * without cprof. */
	gone_table();
	int r = real_dlclose(handle);
	b.is_still_loaded_pass = 1;
	dl_iterate_phdr(visit_before, &b);
	uint32_t gen = 0;
	for (uint32_t i = 0; i < b.count; i++)
		if (!b.mods[i].is_ready) {
			/* Calls made from now on are into what is loaded next. */
			if (!gen)
				gen = atomic_fetch_add(&modmap_generation, 1) + 1;
			b.mods[i].m.unload_gen = gen;
			remember(&b.mods[i]);
		}
	munmap(b.mods, bytes);
	return r;
}

struct collect {
	struct fmt_writer *w;
	uint32_t count;
};

static void put_module(struct collect *c, const struct fmt_module *m, const char *path)
{
	static const char zeros[8];

	fmt_writer_put(c->w, m, sizeof(*m));
	fmt_writer_put(c->w, path, m->path_len);
	fmt_writer_put(c->w, zeros, (8 - m->path_len % 8) % 8);
	c->count++;
}

static int visit_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	char exe[PATH_MAX];
	const char *path;
	struct fmt_module m;
	(void)size;

	if (module_of(info, &m, &path, exe))
		put_module(arg, &m, path);
	return 0;
}

void modmap_write(struct fmt_writer *w)
{
	struct collect c = { .w = w, .count = 0 };
	struct gone_module *t = atomic_load(&gone);
	uint32_t ngone = atomic_load(&gone_reserved);

	/* One pass, the count patched in afterwards: a library loaded
	 * between two passes would make the count lie. */
	fmt_writer_begin(w, FMT_SEC_MODULES, 0);
	dl_iterate_phdr(visit_module, &c);
	for (uint32_t i = 0; t && i < ngone && i < GONE_MAX; i++)
		/* Even when the same library is loaded there again: calls made
		 * before its unload name it through this entry's generation
		 * (another library may have been there in between). */
		if (atomic_load_explicit(&t[i].is_ready, memory_order_acquire)) {
			struct fmt_module m = t[i].m;
			m.unload_gen = __atomic_load_n(&t[i].m.unload_gen, __ATOMIC_RELAXED);
			put_module(&c, &m, t[i].path);
		}
	uint64_t at = w->section_at + offsetof(struct fmt_section, count);
	fmt_writer_end(w);
	if (!w->failed && pwrite(w->fd, &c.count, sizeof(c.count), (off_t)at) != sizeof(c.count))
		w->failed = errno ? errno : EIO;
}

int modmap_parse(struct modmap *map, const struct fmt_file_section *sec, const char *file,
		 char *err, size_t errlen)
{
	size_t off = 0;

	map->entries = NULL;
	map->count = 0;
	if (sec->count > sec->size / sizeof(struct fmt_module)) {
		snprintf(err, errlen, "'%s' is corrupt: module map claims %u modules in %llu bytes",
			 file, sec->count, (unsigned long long)sec->size);
		return -1;
	}
	map->entries = calloc(sec->count ? sec->count : 1, sizeof(*map->entries));
	if (!map->entries) {
		snprintf(err, errlen, "out of memory reading '%s'", file);
		return -1;
	}
	for (uint32_t i = 0; i < sec->count; i++) {
		struct fmt_module m;
		if (sec->size - off < sizeof(m))
			goto corrupt;
		memcpy(&m, sec->payload + off, sizeof(m));
		off += sizeof(m);
		size_t padded = m.path_len + (8 - m.path_len % 8) % 8;
		if (m.path_len == 0 || padded > sec->size - off || m.build_id_len > FMT_BUILD_ID_MAX ||
		    m.start >= m.end)
			goto corrupt;
		struct modmap_entry *e = &map->entries[map->count];
		e->path = malloc(m.path_len + 1u);
		if (!e->path)
			goto corrupt;
		memcpy(e->path, sec->payload + off, m.path_len);
		e->path[m.path_len] = 0;
		if (strlen(e->path) != m.path_len) {
			free(e->path);
			goto corrupt;
		}
		e->start = m.start;
		e->end = m.end;
		e->bias = m.bias;
		e->unload_gen = m.unload_gen;
		e->build_id_len = m.build_id_len;
		memcpy(e->build_id, m.build_id, sizeof(e->build_id));
		map->count++;
		off += padded;
	}
	return 0;
corrupt:
	snprintf(err, errlen, "'%s' is corrupt: bad module map entry %zu", file, map->count);
	modmap_release(map);
	return -1;
}

void modmap_release(struct modmap *map)
{
	for (size_t i = 0; i < map->count; i++)
		free(map->entries[i].path);
	free(map->entries);
	map->entries = NULL;
	map->count = 0;
}

const struct modmap_entry *modmap_find(const struct modmap *map, uint64_t addr)
{
	for (size_t i = 0; i < map->count; i++)
		if (addr >= map->entries[i].start && addr < map->entries[i].end)
			return &map->entries[i];
	return NULL;
}

const struct modmap_entry *modmap_find_gen(const struct modmap *map, uint64_t addr, uint32_t gen)
{
	const struct modmap_entry *unloaded = NULL, *loaded = NULL, *any = NULL;

	for (size_t i = 0; i < map->count; i++) {
		const struct modmap_entry *e = &map->entries[i];
		if (addr < e->start || addr >= e->end)
			continue;
		if (!any)
			any = e;
		if (!e->unload_gen && !loaded)
			loaded = e;
		else if (e->unload_gen > gen && (!unloaded || e->unload_gen < unloaded->unload_gen))
			unloaded = e;
	}
	return unloaded ? unloaded : loaded ? loaded : any;
}

static int same_file(const struct modmap_entry *a, const struct modmap_entry *b)
{
	return a->build_id_len == b->build_id_len &&
	       !memcmp(a->build_id, b->build_id, a->build_id_len) && !strcmp(a->path, b->path);
}

int modmap_place(struct modmap *out, const struct modmap_entry *m, int is_folded, int64_t *delta)
{
	uint64_t top = 0;
	int is_clash = 0;

	for (size_t i = 0; i < out->count; i++) {
		const struct modmap_entry *e = &out->entries[i];
		if (is_folded && same_file(e, m) && e->end - e->start == m->end - m->start &&
		    e->start - e->bias == m->start - m->bias) {
			*delta = (int64_t)(e->start - m->start);
			return 0;
		}
		if (e->start < m->end && m->start < e->end)
			is_clash = 1;
		if (e->end > top)
			top = e->end;
	}
	*delta = 0;
	if (is_clash) {
		uint64_t base = (top + 0xffff) & ~(uint64_t)0xffff;
		*delta = (int64_t)(base - (m->start & ~(uint64_t)0xffff));
	}
	struct modmap_entry *more = realloc(out->entries, (out->count + 1) * sizeof(*more));
	char *path = strdup(m->path);
	if (more)
		out->entries = more;
	if (!more || !path) {
		free(path);
		return -1;
	}
	struct modmap_entry *e = &out->entries[out->count++];
	*e = *m;
	e->path = path;
	e->start += (uint64_t)*delta;
	e->end += (uint64_t)*delta;
	e->bias += (uint64_t)*delta;
	e->unload_gen = 0;
	return 0;
}

void modmap_build_id_hex(const uint8_t *id, unsigned len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < len; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[2 * len] = 0;
}
