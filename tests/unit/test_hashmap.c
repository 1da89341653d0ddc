/*
 * The reporter's one hash map (reporter/hashmap.c): string and 64-bit
 * keys, values kept across growth, absent keys, keys that share a slot,
 * and the hashes themselves (FNV-1a test vectors).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "../../reporter/hashmap.h"

enum { MANY = 10000 };

Test(hashmap, fnv1a_test_vectors, .timeout = 30)
{
	/* The published FNV-1a values for "" and "a". */
	cr_assert_eq(hash_str(""), 0xcbf29ce484222325ull);
	cr_assert_eq(hash_str("a"), 0xaf63dc4c8601ec8cull);
	cr_assert_eq(hash_str32(""), 0x811c9dc5u);
	cr_assert_eq(hash_str32("a"), 0xe40c292cu);
	cr_assert_eq(hash_str32("foobar"), 0xbf9cf968u);
}

Test(hashmap, string_keys_survive_growth, .timeout = 30)
{
	struct hashmap m;
	char key[32];

	hashmap_init(&m, 1);
	for (uint64_t i = 0; i < MANY; i++) {
		snprintf(key, sizeof(key), "key %llu", (unsigned long long)i);
		cr_assert_eq(hashmap_str(&m, key, 0), 0, "%s absent before it is added", key);
		cr_assert_eq(hashmap_str(&m, key, i + 1), i + 1);
		cr_assert_eq(m.count, i + 1);
	}
	cr_assert_geq(m.cap, 2 * MANY, "grown to stay at most half full");
	for (uint64_t i = 0; i < MANY; i++) {
		snprintf(key, sizeof(key), "key %llu", (unsigned long long)i);
		/* present: the first value stays, add is ignored */
		cr_assert_eq(hashmap_str(&m, key, 7), i + 1, "%s", key);
	}
	cr_assert_eq(m.count, MANY, "looking up added nothing");
	cr_assert_eq(hashmap_str(&m, "key 10000", 0), 0);
	cr_assert_eq(hashmap_str(&m, "", 0), 0);
	cr_assert_eq(hashmap_str(&m, "", 99), 99, "the empty string is a key like any other");
	hashmap_release(&m);
	cr_assert_null(m.vals);
}

Test(hashmap, keys_are_copied, .timeout = 30)
{
	struct hashmap m;
	char key[8] = "abc";

	hashmap_init(&m, 1);
	hashmap_str(&m, key, 5);
	strcpy(key, "xyz");
	cr_assert_eq(hashmap_str(&m, "abc", 0), 5, "the map kept its own copy");
	cr_assert_eq(hashmap_str(&m, "xyz", 0), 0);
	hashmap_release(&m);
}

Test(hashmap, u64_keys_with_crowded_low_bits, .timeout = 30)
{
	struct hashmap m;

	hashmap_init(&m, 0);
	/* Aligned addresses, and 0 and ~0, are ordinary keys. */
	for (uint64_t i = 0; i < MANY; i++)
		cr_assert_eq(hashmap_u64(&m, 0x400000 + i * 4096, i + 1), i + 1);
	cr_assert_eq(hashmap_u64(&m, 0, 0), 0);
	cr_assert_eq(hashmap_u64(&m, 0, MANY + 1), MANY + 1);
	cr_assert_eq(hashmap_u64(&m, UINT64_MAX, MANY + 2), MANY + 2);
	for (uint64_t i = 0; i < MANY; i++)
		cr_assert_eq(hashmap_u64(&m, 0x400000 + i * 4096, 0), i + 1);
	cr_assert_eq(hashmap_u64(&m, 0x400000 + 1, 0), 0, "a key between two others is absent");
	cr_assert_eq(hashmap_u64(&m, 0, 0), MANY + 1);
	cr_assert_eq(hashmap_u64(&m, UINT64_MAX, 0), MANY + 2);
	cr_assert_eq(m.count, MANY + 2);
	hashmap_release(&m);
}

Test(hashmap, release_of_an_unused_map, .timeout = 30)
{
	struct hashmap m = { 0 };

	hashmap_release(&m);	/* a zeroed map, as snapshot.c's groups start */
	hashmap_init(&m, 1);
	hashmap_release(&m);
	cr_assert_eq(m.cap, 0);
}
