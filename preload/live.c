/*
 * The live-pointer table: block address -> (size, trace id). 64 shards,
 * each an open-addressing table with its own spin lock, grown by mmap
 * (never malloc) so threads rarely meet on a lock. Must never block on
 * anything but its own shard locks.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#define NSHARDS 64
#define SHARD_BITS 6
#define INITIAL_SLOTS 1024u
#define MAX_SLOTS (1u << 28)	/* per shard: 4 GiB of table, 16 G blocks in all */

/*
 * 16 bytes a slot: the address (0 = empty) and size | trace << 40.
 * Grown at 3/4 full, so the table costs 21-43 bytes per live block
 * (it halves its load when it doubles).
 */
struct slot {
	uint64_t key;
	uint64_t val;
};

struct shard {
	_Atomic int lock;	/* protects everything below */
	uint32_t mask;		/* slots - 1 */
	uint32_t used;
	uint32_t reserved;
	struct slot *slots;
	char pad[64 - 24];
};

static struct shard shards[NSHARDS] __attribute__((aligned(64)));

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static inline void shard_lock(struct shard *s)
{
	for (int spins = 0;; spins++) {
		int expected = 0;
		if (!atomic_load_explicit(&s->lock, memory_order_relaxed) &&
		    atomic_compare_exchange_weak_explicit(&s->lock, &expected, 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return;
		if (spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield();	/* the holder may be preempted: 16 threads on 2 cores */
	}
}

static inline void shard_unlock(struct shard *s)
{
	atomic_store_explicit(&s->lock, 0, memory_order_release);
}

static struct slot *map_slots(uint32_t n)
{
	void *p = mmap(NULL, (size_t)n * sizeof(struct slot), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int live_init(void)
{
	for (int i = 0; i < NSHARDS; i++) {
		shards[i].slots = map_slots(INITIAL_SLOTS);
		if (!shards[i].slots)
			return -1;
		shards[i].mask = INITIAL_SLOTS - 1;
	}
	return 0;
}

static void put(struct slot *slots, uint32_t mask, uint64_t key, uint64_t val)
{
	uint32_t i = (uint32_t)mix(key) & mask;

	while (slots[i].key)
		i = (i + 1) & mask;
	slots[i].key = key;
	slots[i].val = val;
}

/* Doubles the shard; on failure (mmap refused) leaves it as it was. */
static int grow(struct shard *s)
{
	uint32_t n = s->mask + 1;

	if (n >= MAX_SLOTS)
		return -1;
	struct slot *bigger = map_slots(n * 2);
	if (!bigger)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (s->slots[i].key)
			put(bigger, n * 2 - 1, s->slots[i].key, s->slots[i].val);
	munmap(s->slots, (size_t)n * sizeof(struct slot));
	s->slots = bigger;
	s->mask = n * 2 - 1;
	return 0;
}

int live_insert(void *p, uint64_t size, uint32_t trace, struct live_block *old)
{
	uint64_t key = (uint64_t)(uintptr_t)p, h = mix(key);
	struct shard *s = &shards[h >> (64 - SHARD_BITS)];
	int r = 0;

	shard_lock(s);
	if (s->used + 1 > (s->mask + 1) / 4 * 3 && grow(s) < 0 && s->used + 1 > s->mask) {
		shard_unlock(s);
		return -1;	/* full and cannot grow: counted by the caller */
	}
	uint32_t i = (uint32_t)h & s->mask;
	while (s->slots[i].key && s->slots[i].key != key)
		i = (i + 1) & s->mask;
	if (s->slots[i].key) {
		old->size = s->slots[i].val & LIVE_SIZE_LIMIT;
		old->trace = (uint32_t)(s->slots[i].val >> 40);
		r = 1;
	} else {
		s->used++;
	}
	s->slots[i].key = key;
	s->slots[i].val = size | (uint64_t)trace << 40;
	shard_unlock(s);
	return r;
}

int live_remove(void *p, struct live_block *out)
{
	uint64_t key = (uint64_t)(uintptr_t)p, h = mix(key);
	struct shard *s = &shards[h >> (64 - SHARD_BITS)];

	shard_lock(s);
	uint32_t mask = s->mask, i = (uint32_t)h & mask;
	while (s->slots[i].key && s->slots[i].key != key)
		i = (i + 1) & mask;
	if (!s->slots[i].key) {
		shard_unlock(s);
		return 0;
	}
	out->size = s->slots[i].val & LIVE_SIZE_LIMIT;
	out->trace = (uint32_t)(s->slots[i].val >> 40);
	/* Backward-shift deletion: no tombstones, probes stay short. */
	uint32_t hole = i;
	for (uint32_t j = (i + 1) & mask; s->slots[j].key; j = (j + 1) & mask) {
		uint32_t home = (uint32_t)mix(s->slots[j].key) & mask;
		/* j's entry may move to hole unless home lies in (hole, j]. */
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			s->slots[hole] = s->slots[j];
			hole = j;
		}
	}
	s->slots[hole].key = 0;
	s->slots[hole].val = 0;
	s->used--;
	shard_unlock(s);
	return 1;
}

void live_usage(uint64_t *entries, uint64_t *table_bytes)
{
	*entries = 0;
	*table_bytes = 0;
	for (int i = 0; i < NSHARDS; i++) {
		*entries += shards[i].used;
		*table_bytes += (uint64_t)(shards[i].mask + 1) * sizeof(struct slot);
	}
}

void live_lock_all(void)
{
	for (int i = 0; i < NSHARDS; i++)
		shard_lock(&shards[i]);
}

void live_unlock_all(void)
{
	for (int i = 0; i < NSHARDS; i++)
		shard_unlock(&shards[i]);
}
