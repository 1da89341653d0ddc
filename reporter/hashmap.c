/*
 * Open addressing with linear probing over parallel arrays; the load
 * stays at or below one half, so a probe always meets an empty slot.
 */
#include "hashmap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum { HASHMAP_FIRST_CAP = 64 };

uint64_t hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a offset basis */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

uint32_t hash_str32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Mixes a key whose low bits alone would crowd (aligned addresses). */
static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

void hashmap_init(struct hashmap *m, int is_str)
{
	m->cap = HASHMAP_FIRST_CAP;
	m->count = 0;
	m->vals = xcalloc(m->cap, sizeof(*m->vals));
	m->skeys = is_str ? xcalloc(m->cap, sizeof(*m->skeys)) : NULL;
	m->ukeys = is_str ? NULL : xcalloc(m->cap, sizeof(*m->ukeys));
}

void hashmap_release(struct hashmap *m)
{
	if (m->skeys)
		for (size_t i = 0; i < m->cap; i++)
			free(m->skeys[i]);
	free(m->skeys);
	free(m->ukeys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t slot_of(const struct hashmap *m, const char *s, uint64_t u)
{
	size_t i = (size_t)(m->skeys ? hash_str(s) : hash_u64(u)) & (m->cap - 1);

	while (m->vals[i] && (m->skeys ? strcmp(m->skeys[i], s) != 0 : m->ukeys[i] != u))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void grow(struct hashmap *m)
{
	struct hashmap old = *m;

	m->cap *= 2;
	m->vals = xcalloc(m->cap, sizeof(*m->vals));
	m->skeys = old.skeys ? xcalloc(m->cap, sizeof(*m->skeys)) : NULL;
	m->ukeys = old.ukeys ? xcalloc(m->cap, sizeof(*m->ukeys)) : NULL;
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.vals[i])
			continue;
		size_t j = slot_of(m, old.skeys ? old.skeys[i] : NULL, old.ukeys ? old.ukeys[i] : 0);
		m->vals[j] = old.vals[i];
		if (m->skeys)
			m->skeys[j] = old.skeys[i];
		else
			m->ukeys[j] = old.ukeys[i];
	}
	free(old.vals);
	free(old.skeys);
	free(old.ukeys);
}

static uint64_t get(struct hashmap *m, const char *s, uint64_t u, uint64_t add)
{
	size_t i = slot_of(m, s, u);

	if (m->vals[i] || !add)
		return m->vals[i];
	m->vals[i] = add;
	if (m->skeys)
		m->skeys[i] = xstrdup(s);
	else
		m->ukeys[i] = u;
	if (++m->count * 2 > m->cap)
		grow(m);
	return add;
}

uint64_t hashmap_str(struct hashmap *m, const char *key, uint64_t add)
{
	return get(m, key, 0, add);
}

uint64_t hashmap_u64(struct hashmap *m, uint64_t key, uint64_t add)
{
	return get(m, NULL, key, add);
}
