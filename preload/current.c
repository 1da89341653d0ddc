/*
 * Current and peak traced bytes, exact, without a shared cache line per
 * call.
 *
 * One atomic add on a process-wide counter made every allocation and
 * free of every thread write the same line: with two threads freeing each
 * other's blocks it cost more than all the rest of the shim (bench/mem.sh,
 * "frees across threads"). Here each thread owns a room: bytes it may add
 * without looking at anyone else, because the lock-holding side promised
 * that even if every thread used all of its room, the total would not pass
 * the peak:
 *
 *     committed + sum(grant) <= peak,   and a thread's room = its grant
 *                                       minus what it added since
 *
 * An allocation takes from the room, a free gives to it: a compare-and-
 * swap on the thread's own line. When the room is too small, the thread
 * takes the lock, folds its room into committed and asks for a new grant.
 * Only when even that cannot cover the allocation does it take back every
 * other thread's room (an exchange with REVOKED, which their next call
 * sees): then committed is the exact total, and a new peak is exact too.
 *
 * Hand-written: no library offers a counter whose maximum is exact over a
 * total order without a shared write per update.
 */
#include "internal.h"

#include <stdint.h>

/* Threads beyond this many count under the lock, every call. */
#define CUR_SLOTS 256
#define REVOKED INT64_MIN

/* tls.cur_defer: 0 outside the slow path; inside it, IN_SLOW plus what a
 * signal handler that interrupted it left to add. */
#define IN_SLOW ((int64_t)1 << 62)

struct room {
	/* 128: the CPU fetches lines in pairs, a neighbour's room would bounce */
	_Alignas(128) _Atomic int64_t left;	/* REVOKED: taken back */
};

static struct room rooms[CUR_SLOTS];
static struct {
	atomic_flag lock;
	int64_t committed;		/* folded rooms and lock-path deltas */
	int64_t granted;		/* sum of grant[] */
	uint32_t used;			/* slots [0, used) were ever handed out */
	int64_t grant[CUR_SLOTS];	/* what each room started from */
	uint8_t owned[CUR_SLOTS];	/* a live thread holds the slot */
} cur = { .lock = ATOMIC_FLAG_INIT };

static void cur_lock(void)
{
	while (atomic_flag_test_and_set_explicit(&cur.lock, memory_order_acquire))
		__builtin_ia32_pause();
}

static int cur_trylock(void)
{
	return !atomic_flag_test_and_set_explicit(&cur.lock, memory_order_acquire);
}

static void cur_unlock(void)
{
	atomic_flag_clear_explicit(&cur.lock, memory_order_release);
}

/* Slot i's room back into committed (lock held). */
static void fold(uint32_t i)
{
	int64_t left = atomic_exchange_explicit(&rooms[i].left, REVOKED, memory_order_acq_rel);

	if (left != REVOKED)
		cur.committed += cur.grant[i] - left;
	cur.granted -= cur.grant[i];
	cur.grant[i] = 0;
}

/* Every room back: committed is then the exact total. A slot granted
 * nothing still holds what its thread freed since. */
static void fold_all(void)
{
	for (uint32_t i = 0; i < cur.used; i++)
		if (cur.grant[i] ||
		    atomic_load_explicit(&rooms[i].left, memory_order_relaxed) != REVOKED)
			fold(i);
}

/* This thread's slot, handed out on its first slow call once it has a
 * counter set (whose key destructor gives the slot back); -1: none. */
static int my_slot(void)
{
	if (tls.cur_slot)
		return tls.cur_slot - 1;
	if (tls.ctr_state != CTR_OWNED)
		return -1;
	for (uint32_t i = 0; i < CUR_SLOTS; i++) {
		if (i == cur.used)
			cur.used++;
		else if (cur.owned[i])
			continue;
		cur.owned[i] = 1;
		tls.cur_slot = (int)i + 1;
		tls.cur_room = &rooms[i].left;
		return (int)i;
	}
	return -1;
}

static int64_t peak_now(void)
{
	return (int64_t)atomic_load_explicit(&rt.peak_bytes, memory_order_relaxed);
}

static void set_peak(void)
{
	atomic_store_explicit(&rt.peak_bytes, (uint64_t)cur.committed, memory_order_relaxed);
	atomic_store_explicit(&rt.peak_tsc, __builtin_ia32_rdtsc(), memory_order_relaxed);
	/* Every trace's value now is its value at this peak. */
	atomic_fetch_add_explicit(&rt.peak_gen, 1, memory_order_release);
}

/* delta counted under the lock; this thread's room renewed. */
static void add_locked(int64_t delta)
{
	int me = my_slot();

	if (me >= 0)
		fold((uint32_t)me);
	cur.committed += delta;
	if (delta > 0 && cur.committed + cur.granted > peak_now()) {
		/* Perhaps a new peak: only the exact total can tell. */
		fold_all();
		if (cur.committed > peak_now())
			set_peak();
	}
	if (me >= 0) {
		/* Half of what nobody holds: a lone thread soon holds nearly
		 * all of it, and a second one still finds some without taking
		 * anything back. */
		int64_t unheld = peak_now() - cur.committed - cur.granted;
		int64_t g = unheld > 0 ? unheld / 2 : 0;

		cur.grant[me] = g;
		cur.granted += g;
		atomic_store_explicit(&rooms[me].left, g, memory_order_release);
	}
}

void current_add_slow(int64_t delta)
{
	if (atomic_load_explicit(&tls.cur_defer, memory_order_relaxed)) {
		/* A signal handler inside this thread's own slow path: the lock
		 * may be ours. If it is free, count here; else leave the delta
		 * to the interrupted call, which adds it before it returns. */
		if (cur_trylock()) {
			add_locked(delta);
			cur_unlock();
		} else {
			atomic_fetch_add_explicit(&tls.cur_defer, delta, memory_order_relaxed);
		}
		return;
	}
	atomic_store_explicit(&tls.cur_defer, IN_SLOW, memory_order_relaxed);
	for (;;) {
		cur_lock();
		add_locked(delta);
		delta = atomic_exchange_explicit(&tls.cur_defer, IN_SLOW, memory_order_relaxed) -
			IN_SLOW;
		while (delta) {
			add_locked(delta);
			delta = atomic_exchange_explicit(&tls.cur_defer, IN_SLOW,
							 memory_order_relaxed) - IN_SLOW;
		}
		cur_unlock();
		int64_t expected = IN_SLOW;
		/* A handler that came after the unlock and found the lock taken
		 * by another thread left its delta: go round again for it. */
		if (atomic_compare_exchange_strong_explicit(&tls.cur_defer, &expected, 0,
							    memory_order_relaxed,
							    memory_order_relaxed))
			return;
		delta = 0;
	}
}

/* The exact total: committed plus what every room has used. */
static int64_t total_locked(void)
{
	int64_t total = cur.committed;

	for (uint32_t i = 0; i < cur.used; i++) {
		int64_t left = atomic_load_explicit(&rooms[i].left, memory_order_relaxed);
		if (left != REVOKED)
			total += cur.grant[i] - left;
	}
	return total;
}

/* The lock from outside the hooks (the API may run in a signal handler
 * that interrupted this thread's slow path: then only if it is free). */
static int lock_outside(void)
{
	if (atomic_load_explicit(&tls.cur_defer, memory_order_relaxed))
		return cur_trylock();
	cur_lock();
	return 1;
}

uint64_t current_bytes(void)
{
	int locked = lock_outside();
	int64_t total = total_locked();	/* unlocked: each room as of its read */

	if (locked)
		cur_unlock();
	return total > 0 ? (uint64_t)total : 0;
}

void current_reset_peak(void)
{
	if (!lock_outside())
		return;
	fold_all();
	set_peak();
	cur_unlock();
}

void current_thread_exit(void)
{
	if (!tls.cur_slot)
		return;
	cur_lock();
	fold((uint32_t)(tls.cur_slot - 1));
	cur.owned[tls.cur_slot - 1] = 0;
	tls.cur_slot = 0;
	tls.cur_room = NULL;
	cur_unlock();
}

/* Fork: no thread may be halfway through the lock's work. */
void current_fork_prepare(void)
{
	cur_lock();
}

void current_fork_parent(void)
{
	cur_unlock();
}

/* The child: the parent's other threads are gone, their blocks are not;
 * their rooms are folded in and their slots free again. */
void current_fork_child(void)
{
	fold_all();
	for (uint32_t i = 0; i < cur.used; i++)
		cur.owned[i] = tls.cur_slot == (int)i + 1;
	cur_unlock();
}
