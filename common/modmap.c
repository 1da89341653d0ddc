/*
 * Module map collection (dl_iterate_phdr, in the profiled process, no
 * malloc) and parsing (reporter, checks every length it reads).
 */
#define _GNU_SOURCE
#include "modmap.h"

#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

struct collect {
	struct fmt_writer *w;
	uint32_t count;
	int count_only;
};

static int visit_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct collect *c = arg;
	char exe[PATH_MAX];
	const char *path = info->dlpi_name;
	struct fmt_module m;
	(void)size;

	if (!path || !*path) {
		/* The first entry with an empty name is the main program. */
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return 0;
		exe[n] = 0;
		path = exe;
	}
	if (path[0] != '/')
		return 0;	/* the vDSO: nothing on disk to symbolize */

	memset(&m, 0, sizeof(m));
	m.start = UINT64_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (lo < m.start)
			m.start = lo;
		if (hi > m.end)
			m.end = hi;
	}
	if (m.start == UINT64_MAX)
		return 0;
	c->count++;
	if (c->count_only)
		return 0;
	m.bias = info->dlpi_addr;
	m.path_len = (uint16_t)strnlen(path, PATH_MAX);
	find_build_id(info, &m);
	fmt_writer_put(c->w, &m, sizeof(m));
	fmt_writer_put(c->w, path, m.path_len);
	static const char zeros[8];
	fmt_writer_put(c->w, zeros, (8 - m.path_len % 8) % 8);
	return 0;
}

void modmap_write(struct fmt_writer *w)
{
	struct collect c = { .w = w, .count = 0, .count_only = 1 };

	dl_iterate_phdr(visit_module, &c);
	fmt_writer_begin(w, FMT_SEC_MODULES, c.count);
	c.count = 0;
	c.count_only = 0;
	dl_iterate_phdr(visit_module, &c);
	fmt_writer_end(w);
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

void modmap_build_id_hex(const uint8_t *id, unsigned len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < len; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[2 * len] = 0;
}
