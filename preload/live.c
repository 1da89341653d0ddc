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
 * 16 bytes a slot: the address (0 = empty) | its distance from its home
 * slot << 48, and size | trace << 40. The distance spares deletion a
 * rehash of every entry it shifts (DIST_UNKNOWN: rehash; user addresses
 * are below 2^47 on x86-64, a block above 2^48 is not traced).
 * Grown by half at 4/5 full, so the load stays in [8/15, 4/5] and the
 * table costs 20-30 bytes per live block (doubling at 3/4, as before,
 * cost 21-43: over the 32-byte target half of the time). Slot counts
 * are not powers of two: a hash is mapped to [0, n) by a multiply.
 */
struct slot {
	uint64_t key;
	uint64_t val;
};

#define ADDR_BITS 48
#define ADDR_MASK ((1ull << ADDR_BITS) - 1)
#define DIST_UNKNOWN 0xffffu

static inline uint64_t with_dist(uint64_t addr, uint32_t dist)
{
	return addr | (uint64_t)(dist < DIST_UNKNOWN ? dist : DIST_UNKNOWN) << ADDR_BITS;
}

struct shard {
	_Atomic int lock;	/* protects everything below */
	uint32_t n;		/* slots */
	uint32_t used;
	uint32_t grow_at;	/* used > grow_at: grow first */
	struct slot *slots;
	char pad[64 - 24];
};

static struct shard shards[NSHARDS] __attribute__((aligned(64)));

/* Its own line: read by frees, written only when the table changes. */
_Alignas(64) _Atomic uint64_t live_count;

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

/* The home slot of hash h in a table of n: its low 32 bits scaled to n
 * (the shard came from its top bits). */
static inline uint32_t home(uint64_t h, uint32_t n)
{
	return (uint32_t)(((uint64_t)(uint32_t)h * n) >> 32);
}

static inline uint32_t next_slot(uint32_t i, uint32_t n)
{
	return i + 1 == n ? 0 : i + 1;
}

static void set_size(struct shard *s, struct slot *slots, uint32_t n)
{
	/* Atomic (plain movs on x86-64): live_prefetch() reads these two
	 * without the lock. */
	__atomic_store_n(&s->slots, slots, __ATOMIC_RELAXED);
	__atomic_store_n(&s->n, n, __ATOMIC_RELAXED);
	s->grow_at = (uint32_t)((uint64_t)n * 4 / 5);
}

int live_init(void)
{
	for (int i = 0; i < NSHARDS; i++) {
		struct slot *slots = map_slots(INITIAL_SLOTS);
		if (!slots)
			return -1;
		set_size(&shards[i], slots, INITIAL_SLOTS);
	}
	return 0;
}

static void put(struct slot *slots, uint32_t n, uint64_t addr, uint64_t val)
{
	uint32_t i = home(mix(addr), n), dist = 0;

	while (slots[i].key) {
		i = next_slot(i, n);
		dist++;
	}
	slots[i].key = with_dist(addr, dist);
	slots[i].val = val;
}

/* Grows the shard by half; on failure (mmap refused) leaves it as it was. */
static int grow(struct shard *s)
{
	uint32_t n = s->n, bigger_n = n + n / 2;

	if (n >= MAX_SLOTS)
		return -1;
	struct slot *bigger = map_slots(bigger_n);
	if (!bigger)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (s->slots[i].key)
			put(bigger, bigger_n, s->slots[i].key & ADDR_MASK, s->slots[i].val);
	munmap(s->slots, (size_t)n * sizeof(struct slot));
	set_size(s, bigger, bigger_n);
	return 0;
}

void live_prefetch(const void *p)
{
	uint64_t h = mix((uint64_t)(uintptr_t)p);
	const struct shard *s = &shards[h >> (64 - SHARD_BITS)];

	/* Unlocked: a stale size or table only makes the hint useless (the
	 * old table is unmapped only under the lock, and prefetches never
	 * fault). */
	struct slot *slots = __atomic_load_n(&s->slots, __ATOMIC_RELAXED);
	uint32_t n = __atomic_load_n(&s->n, __ATOMIC_RELAXED);

	__builtin_prefetch(&slots[home(h, n)], 1);
}

int live_insert(void *p, uint64_t size, uint32_t trace, struct live_block *old)
{
	uint64_t key = (uint64_t)(uintptr_t)p, h = mix(key);
	struct shard *s = &shards[h >> (64 - SHARD_BITS)];
	int r = 0;

	if (unlikely(key > ADDR_MASK))
		return -1;	/* cannot be keyed: counted as dropped by the caller */
	shard_lock(s);
	if (s->used + 1 > s->grow_at && grow(s) < 0 && s->used + 1 >= s->n) {
		shard_unlock(s);
		return -1;	/* full and cannot grow: counted by the caller */
	}
	uint32_t n = s->n, i = home(h, n), dist = 0;
	while (s->slots[i].key && (s->slots[i].key & ADDR_MASK) != key) {
		i = next_slot(i, n);
		dist++;
	}
	if (s->slots[i].key) {
		old->size = s->slots[i].val & LIVE_SIZE_LIMIT;
		old->trace = (uint32_t)(s->slots[i].val >> 40);
		r = 1;
	} else {
		s->used++;
		atomic_fetch_add_explicit(&live_count, 1, memory_order_relaxed);
	}
	s->slots[i].key = with_dist(key, dist);
	s->slots[i].val = size | (uint64_t)trace << 40;
	shard_unlock(s);
	return r;
}

int live_remove(void *p, struct live_block *out)
{
	uint64_t key = (uint64_t)(uintptr_t)p, h = mix(key);
	struct shard *s = &shards[h >> (64 - SHARD_BITS)];

	shard_lock(s);
	uint32_t n = s->n, i = home(h, n);
	while (s->slots[i].key && (s->slots[i].key & ADDR_MASK) != key)
		i = next_slot(i, n);
	if (!s->slots[i].key) {
		shard_unlock(s);
		return 0;
	}
	out->size = s->slots[i].val & LIVE_SIZE_LIMIT;
	out->trace = (uint32_t)(s->slots[i].val >> 40);
	/* Backward-shift deletion: no tombstones, probes stay short. */
	uint32_t hole = i;
	for (uint32_t j = next_slot(i, n); s->slots[j].key; j = next_slot(j, n)) {
		uint64_t k = s->slots[j].key;
		uint32_t from_home = (uint32_t)(k >> ADDR_BITS);
		if (unlikely(from_home == DIST_UNKNOWN)) {
			uint32_t at = home(mix(k & ADDR_MASK), n);
			from_home = j >= at ? j - at : j + n - at;
		}
		/* j's entry may move to hole unless its home lies in (hole, j]
		 * (distances taken going forward, around the end). */
		uint32_t from_hole = j >= hole ? j - hole : j + n - hole;
		if (from_home >= from_hole) {
			s->slots[hole].key = with_dist(k & ADDR_MASK, from_home - from_hole);
			s->slots[hole].val = s->slots[j].val;
			hole = j;
		}
	}
	s->slots[hole].key = 0;
	s->slots[hole].val = 0;
	s->used--;
	atomic_fetch_sub_explicit(&live_count, 1, memory_order_relaxed);
	shard_unlock(s);
	return 1;
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
