/*
 * The reporter's one hash map: string or 64-bit keys to a non-zero value
 * (an index + 1, an id). Open addressing, grown at half full. A string
 * map keeps its own copy of each key. Never writes anywhere.
 */
#ifndef CPROF_REPORTER_HASHMAP_H
#define CPROF_REPORTER_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

struct hashmap {
	char **skeys;		/* string keys (owned), or NULL for u64 keys */
	uint64_t *ukeys;
	uint64_t *vals;		/* 0: an empty slot */
	size_t cap, count;
};

/* An empty map of string keys (is_str) or of 64-bit keys. */
void hashmap_init(struct hashmap *m, int is_str);
void hashmap_release(struct hashmap *m);
/* The value of key, 0 when absent; with add non-zero, an absent key is
 * added with the value add (which is then returned). */
uint64_t hashmap_str(struct hashmap *m, const char *key, uint64_t add);
uint64_t hashmap_u64(struct hashmap *m, uint64_t key, uint64_t add);

/* FNV-1a, 64 bits: the string hash of the map and of anyone else. */
uint64_t hash_str(const char *s);
/* FNV-1a, 32 bits: the flame graph's colour of a name (its output bytes
 * depend on it, so it stays what it was). */
uint32_t hash_str32(const char *s);

#endif
