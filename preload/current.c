/*
 * Current and peak traced bytes, exact, without a shared cache line per
 * call while the total is well below the peak.
 *
 * A peak to the byte needs the calls in one order. One atomic add on a
 * process-wide counter gives that order, but then every allocation and
 * free of every thread writes the same line: with two threads freeing
 * each other's blocks that cost more than all the rest of the shim
 * (bench/mem.sh, "frees across threads"). So a thread may also hold a
 * room: bytes it may add without looking at anyone else, because no room
 * is handed out unless, with every room used up, the total would still
 * not pass the peak:
 *
 *     counted + granted <= peak
 *
 * counted holds every change made outside a room, and each room's use
 * once it is folded back; granted is the sum of the rooms handed out.
 * An allocation takes from the thread's room and a free gives to it, a
 * compare-and-swap on the thread's own line, or a plain store inside a
 * restartable sequence (room_commit.h). Without a room, or with too
 * little, the change goes straight into counted (the one shared add, as
 * before rooms). If counted + granted then passes the peak, every room is
 * taken back and counted is the exact total again. Near the peak, no room
 * is handed out and every call takes the shared add, as before rooms.
 *
 * Taking back another thread's rseq room: a store of its owner's may
 * still land after an exchange (a sequence that loaded the room before
 * it), so fold_all first asks: it marks the room ASKED, which fails every
 * commit that loads it, and the owner's next call, on its slow path,
 * marks it GIVEN, from outside any sequence. Only a room not given within
 * ASK_WAIT_NS is taken by force, which needs a membarrier (collect_rooms).
 *
 * A room also has a cap: a free that would leave more than twice the
 * grant in it takes the slow path, which folds the room and takes a new
 * one from the headroom it gave back. Bytes freed into one thread's room
 * are headroom no other thread can have until the room is folded.
 *
 * Hand-written: no library offers a counter whose maximum is exact over a
 * total order without a shared write per update.
 */
#include "internal.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Threads beyond this many take the shared add, every call. */
#define CUR_SLOTS 256
#define REVOKED INT64_MIN
/* A room's word besides the bytes left, while fold_all takes the room
 * back from another thread. Every commit fails on them only because a
 * room's cap is far below GIVEN, so that GIVEN plus what is left, less
 * any block's size, is still above it: a bound just below GIVEN would
 * let an allocation commit on a given room (test_memengine's race then
 * ends 1216 bytes short, every run). */
#define ASKED (INT64_C(1) << 62)	/* fold_all asks for it */
#define GIVEN (INT64_C(1) << 61)	/* its owner gave it: no commit lands on it */
#define LEFT_OF(w) ((w) & (GIVEN - 1))
/* In fold_all's cur.last: asked for, not yet given. */
#define PENDING INT64_MAX
/* No room smaller. Small rooms still pay: with 2 threads freeing each
 * other's blocks, 256 took the shared add on 9,185 of 8M calls, 4096 on
 * 518,093 (the headroom is often a few KiB there). */
#define ROOM_MIN 256
/* The most a room may hold (tls.cur_cap). With 2 threads freeing each
 * other's blocks (bench/memheavy xstep 2, 2M steps), before fold_all
 * asked for rooms, rooms were taken back 355 to 557 times a run with
 * this cap, 561 to 936 without one. */
#define ROOM_CAP(give) (2 * (uint64_t)(give))

struct room {
	/* 128: the CPU fetches lines in pairs, a neighbour's room would bounce */
	_Alignas(128) _Atomic int64_t left;	/* REVOKED: none */
};

static struct room rooms[CUR_SLOTS];
static struct {
	_Alignas(128) _Atomic int64_t counted;
	_Alignas(128) _Atomic int64_t granted;
	/* Under the lock: rooms are handed out and folded back only there. */
	_Alignas(128) atomic_flag lock;
	uint32_t used;			/* slots [0, used) were ever handed out */
	int64_t grant[CUR_SLOTS];	/* what each live room started from */
	uint8_t owned[CUR_SLOTS];	/* a live thread holds the slot */
	/* Rooms by rseq (room_commit.h): whether the slot's live room is
	 * one (taking it back then asks its owner, or takes a membarrier),
	 * when it was handed out, and whether the slot's next room takes the
	 * CAS instead. */
	uint8_t by_rseq[CUR_SLOTS];
	uint8_t next_cas[CUR_SLOTS];
	uint64_t since_ns[CUR_SLOTS];
	/* fold_all's: each room's last value as taken back (REVOKED: none).
	 * Here, not on the stack: fold_all may run in a signal handler. */
	int64_t last[CUR_SLOTS];
} cur = { .lock = ATOMIC_FLAG_INIT };

#ifdef ROOM_RSEQ
/*
 * A room whose owner did not give it in time (collect_rooms) is taken by
 * force, which costs a membarrier (8 to 9 us here with the owner's thread
 * running): if that room was younger than this, the slot's next room
 * takes the CAS (taken back at once, no membarrier); a room given, or
 * the one after a CAS room, is by rseq again. Without the asking, with 2
 * threads freeing each other's blocks (bench/mem.sh xstep) rooms were
 * taken by force every 300 us, and rseq rooms for all made that workload
 * 3.4 ns a call slower than CAS rooms.
 */
#ifndef RSEQ_ROOM_MIN_NS	/* test_memengine.py builds a shim with 0: rseq rooms only */
#define RSEQ_ROOM_MIN_NS 1000000
#endif
static const uint64_t rseq_room_min_ns = RSEQ_ROOM_MIN_NS;

/* How long fold_all waits for the rooms it asked for. On that workload
 * it waited 0.3 to 0.4 us a time on average, the full waits for the 19
 * to 39 rooms a run taken by force included; an owner that makes no call
 * for this long costs the wait and then the membarrier. */
#ifndef ASK_WAIT_NS	/* test_memengine.py builds a shim with 0: rooms taken by force */
#define ASK_WAIT_NS 5000
#endif
#endif

/* fold_all asked for this thread's room: give it. The caller is outside
 * any sequence, and every commit after the ask fails, so the room's value
 * is its last. */
static void give_room_if_asked(void)
{
	_Atomic int64_t *room = tls.cur_room;
	int64_t w;

	if (room && ((w = atomic_load_explicit(room, memory_order_relaxed)) & ASKED))
		atomic_compare_exchange_strong(room, &w, (w & ~ASKED) | GIVEN);
}

/* As live.c's shard locks: the holder may be preempted (it may even be
 * in a membarrier), so a waiter yields after a short spin. The holder
 * may be waiting for this thread's room. */
static void cur_lock(void)
{
	for (int spins = 0; atomic_flag_test_and_set_explicit(&cur.lock, memory_order_acquire);
	     spins++) {
		give_room_if_asked();
		if (spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
}

static int cur_trylock(void)
{
	return !atomic_flag_test_and_set_explicit(&cur.lock, memory_order_acquire);
}

static void cur_unlock(void)
{
	atomic_flag_clear_explicit(&cur.lock, memory_order_release);
}

static int64_t load(_Atomic int64_t *v)
{
	return atomic_load(v);	/* seq_cst: see take_room */
}

static int64_t peak_now(void)
{
	return (int64_t)atomic_load(&rt.peak_bytes);
}

/* peak_bytes has just moved: when, and the peak's composition (every
 * trace's value now is its value at this peak). */
static void peak_moved(void)
{
	atomic_store_explicit(&rt.peak_tsc, __builtin_ia32_rdtsc(), memory_order_relaxed);
	atomic_fetch_add_explicit(&rt.peak_gen, 1, memory_order_release);
}

/* A new peak if total passes the old one (any thread, no lock). */
static void raise_peak(int64_t total)
{
	uint64_t peak = atomic_load_explicit(&rt.peak_bytes, memory_order_relaxed);

	while ((int64_t)peak < total &&
	       !atomic_compare_exchange_weak_explicit(&rt.peak_bytes, &peak, (uint64_t)total,
						      memory_order_seq_cst, memory_order_relaxed))
		;
	if ((int64_t)peak < total)
		peak_moved();
}

#ifdef ROOM_RSEQ
/* glibc 2.35 and later: weak, so the shim still loads on an older one
 * (whose threads have no rseq area: rooms take the CAS there). */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

static int membarrier(int cmd)
{
	return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

/* This thread's rseq area is registered with the kernel: glibc does it
 * at each thread's start, unless a tunable says not to or the kernel
 * refuses (valgrind does). */
static int thread_has_rseq(void)
{
	int32_t cpu_id;

	__asm__ volatile("movl %%fs:4(%1), %0" : "=r"(cpu_id) : "r"(rt.rseq_offset));
	return cpu_id >= 0;
}
#endif

/* The kernel command a revoker needs (registered once per process, and
 * again in a fork child): 1 if it is. */
static int room_rseq_register(void)
{
#ifdef ROOM_RSEQ
	int cmds = membarrier(MEMBARRIER_CMD_QUERY);

	return cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) &&
	       membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ) == 0;
#else
	return 0;
#endif
}

void current_setup(void)
{
#ifdef ROOM_RSEQ
	/* 20: the fields up to flags (2.40 and later give the feature size,
	 * 2.35 to 2.39 the struct's 32; 0 when glibc registered none). */
	if (&__rseq_size && &__rseq_offset && __rseq_size >= 20 && room_rseq_register()) {
		rt.rseq_offset = (long)__rseq_offset;
		rt.room_rseq = 1;
	}
#endif
}

/* Slot i's room into counted (lock held), left its last value. */
static void fold_value(uint32_t i, int64_t left)
{
	/* counted first: counted + granted never drops below the total. */
	atomic_fetch_add(&cur.counted, cur.grant[i] - left);
	atomic_fetch_sub(&cur.granted, cur.grant[i]);
	cur.grant[i] = 0;
}

/* This thread's own room back (lock held). Its room_commit cannot be
 * halfway: a signal handler runs only after the kernel restarted it. */
static void fold(uint32_t i)
{
	int64_t left = atomic_exchange(&rooms[i].left, REVOKED);

	if (left != REVOKED)
		fold_value(i, left);
}

/* Asks for slot i's room (lock held): its owner's next call fails its
 * commit and gives it (give_room_if_asked). */
static void ask_room(uint32_t i)
{
	int64_t w = atomic_load(&rooms[i].left);

	/* Fails only when a commit of the owner's lands between: again. */
	while (!(w & (ASKED | GIVEN)) &&
	       !atomic_compare_exchange_weak(&rooms[i].left, &w, w | ASKED))
		;
}

#ifdef ROOM_RSEQ
/*
 * The rooms fold_all asked for (cur.last[i] == PENDING), once given, or
 * taken by force after ASK_WAIT_NS (lock held).
 *
 * A room given is exact: its owner gave it from outside any sequence,
 * and every sequence after that fails its commit. A room taken with an
 * exchange may still get a store: an owner's room_commit that loaded
 * the room before the ask commits after the exchange. The membarrier
 * restarts every sequence in flight; one that committed first shows as
 * a value where REVOKED was, which is then the room's last value, and is
 * taken again (until none shows). A sequence that starts after the
 * exchange loads REVOKED and stores nothing.
 */
static void collect_rooms(uint32_t mine)
{
	uint64_t deadline = clock_mono_ns() + ASK_WAIT_NS;
	int waiting;

	do {
		waiting = 0;
		for (uint32_t i = 0; i < cur.used; i++) {
			if (cur.last[i] != PENDING)
				continue;
			int64_t w = atomic_load(&rooms[i].left);
			if (w & GIVEN) {
				cur.last[i] = LEFT_OF(atomic_exchange(&rooms[i].left, REVOKED));
				cur.next_cas[i] = 0;
				continue;
			}
			if (!(w & ASKED))
				ask_room(i);	/* a commit in flight wrote over the ask */
			waiting = 1;
		}
		if (waiting)
			__builtin_ia32_pause();
	} while (waiting && clock_mono_ns() < deadline);
	if (!waiting)
		return;

	uint64_t now = clock_mono_ns();
	for (uint32_t i = 0; i < cur.used; i++) {
		if (cur.last[i] != PENDING)
			continue;
		cur.last[i] = LEFT_OF(atomic_exchange(&rooms[i].left, REVOKED));
		cur.next_cas[i] = now - cur.since_ns[i] < rseq_room_min_ns;
	}
	int again;
	do {
		membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ);
		again = 0;
		for (uint32_t i = 0; i < cur.used; i++) {
			if (i == mine || cur.last[i] == REVOKED)
				continue;
			int64_t left = atomic_exchange(&rooms[i].left, REVOKED);
			if (left != REVOKED) {
				cur.last[i] = left;
				again = 1;
			}
		}
	} while (again);
}
#endif

/* Every room back: counted is then the exact total (lock held).
 * owners_alive: 0 in a fork child, whose other threads are gone. */
static void fold_all(int owners_alive)
{
	int64_t *last = cur.last;
	uint32_t mine = tls.cur_slot > 0 ? (uint32_t)tls.cur_slot - 1 : UINT32_MAX;
	int asked = 0;

	for (uint32_t i = 0; i < cur.used; i++) {
		last[i] = REVOKED;
		int64_t w = atomic_load_explicit(&rooms[i].left, memory_order_relaxed);
		if (w == REVOKED)
			continue;
		if (i != mine && owners_alive && cur.by_rseq[i]) {
			ask_room(i);
			last[i] = PENDING;
			asked = 1;
		} else {
			last[i] = atomic_exchange(&rooms[i].left, REVOKED);
			cur.next_cas[i] = 0;	/* mine, a CAS room, or no owner */
		}
	}
#ifdef ROOM_RSEQ
	if (asked)
		collect_rooms(mine);
#else
	(void)asked;
#endif
	for (uint32_t i = 0; i < cur.used; i++)
		if (last[i] != REVOKED)
			fold_value(i, last[i]);
}

/* The lock's work is done; any thread's counted + granted may still pass
 * the peak (a signal handler that found this thread holding the lock left
 * its check here): take every room back and settle the peak exactly. */
static void settle_after(void)
{
	while (load(&cur.granted) > 0 &&
	       load(&cur.counted) + load(&cur.granted) > peak_now()) {
		tls.cur_locked = 1;
		cur_lock();
		fold_all(1);
		/* granted is 0: only a lock holder hands out rooms. */
		raise_peak(load(&cur.counted));
		cur_unlock();
		tls.cur_locked = 0;
	}
}

/* This thread's slot, handed out once it has a counter set (whose key
 * destructor gives it back); -1: none (lock held). */
static int my_slot(void)
{
	if (tls.cur_slot)
		return tls.cur_slot > 0 ? tls.cur_slot - 1 : -1;
	if (tls.ctr_state != CTR_OWNED)
		return -1;
	for (uint32_t i = 0; i < CUR_SLOTS; i++) {
		if (i == cur.used) {
			atomic_store(&rooms[i].left, REVOKED);	/* bss: 0 */
			cur.used++;
		} else if (cur.owned[i]) {
			continue;
		}
		cur.owned[i] = 1;
		cur.next_cas[i] = 0;
		tls.cur_slot = (int)i + 1;
		tls.cur_room = &rooms[i].left;
		return (int)i;
	}
	tls.cur_slot = -1;	/* all taken: never asks again */
	return -1;
}

/* A new room, half of what nobody holds, if that is worth one. Only with
 * a try of the lock: a room saves time, it is never needed. */
static void take_room(void)
{
	tls.cur_locked = 1;
	if (cur_trylock()) {
		int me = my_slot();
		if (me >= 0) {
			fold((uint32_t)me);
			int64_t unheld = peak_now() - load(&cur.counted) - load(&cur.granted);
			if (unheld >= 2 * ROOM_MIN) {
				int64_t give = unheld / 2;
				cur.grant[me] = give;
				atomic_fetch_add(&cur.granted, give);
				/*
				 * A change that went into counted meanwhile either
				 * saw granted with this room (and checks against it)
				 * or is seen here: both are seq_cst, one comes first.
				 */
				if (load(&cur.counted) + load(&cur.granted) <= peak_now()) {
#ifdef ROOM_RSEQ
					tls.cur_rseq = rt.room_rseq && !cur.next_cas[me] &&
						       thread_has_rseq();
					cur.by_rseq[me] = (uint8_t)tls.cur_rseq;
					cur.since_ns[me] = clock_mono_ns();
#endif
					tls.cur_cap = ROOM_CAP(give);
					atomic_store(&rooms[me].left, give);
				} else {
					atomic_fetch_sub(&cur.granted, give);
					cur.grant[me] = 0;
				}
			}
		}
		cur_unlock();
	}
	tls.cur_locked = 0;
	settle_after();
}

void current_add_shared(int64_t delta)
{
	give_room_if_asked();
	int64_t counted = atomic_fetch_add(&cur.counted, delta) + delta;
	int64_t granted = load(&cur.granted), peak = peak_now();

	if (delta > 0 && counted + granted > peak) {
		if (!granted) {
			raise_peak(counted);	/* no room out: counted is the total */
		} else if (!tls.cur_locked) {
			/* Perhaps a new peak: only the exact total can tell. */
			settle_after();
		}	/* else this thread holds the lock: it settles after */
		return;
	}
	if (peak - counted - granted >= 2 * ROOM_MIN && tls.ctr_state == CTR_OWNED &&
	    tls.cur_slot >= 0 && !tls.cur_locked)
		take_room();
}

/* The exact total: counted plus what every live room has used. */
static int64_t total_locked(void)
{
	int64_t total = load(&cur.counted);

	for (uint32_t i = 0; i < cur.used; i++) {
		int64_t left = atomic_load(&rooms[i].left);
		if (left != REVOKED)
			total += cur.grant[i] - LEFT_OF(left);
	}
	return total;
}

uint64_t current_bytes(void)
{
	/* A signal handler on a thread holding the lock: each room as of
	 * its read, without the lock. */
	int locked = !tls.cur_locked;

	if (locked) {
		tls.cur_locked = 1;	/* a handler that interrupts us reads without it */
		cur_lock();
	}
	int64_t total = total_locked();

	if (locked) {
		cur_unlock();
		tls.cur_locked = 0;
	}
	return total > 0 ? (uint64_t)total : 0;
}

void current_reset_peak(void)
{
	if (tls.cur_locked)
		return;
	tls.cur_locked = 1;
	cur_lock();
	fold_all(1);
	int64_t total = load(&cur.counted);
	atomic_store(&rt.peak_bytes, (uint64_t)(total > 0 ? total : 0));
	peak_moved();
	cur_unlock();
	tls.cur_locked = 0;
	settle_after();
}

void current_thread_exit(void)
{
	if (tls.cur_slot <= 0)
		return;
	tls.cur_locked = 1;
	cur_lock();
	fold((uint32_t)(tls.cur_slot - 1));
	cur.owned[tls.cur_slot - 1] = 0;
	tls.cur_slot = 0;
	tls.cur_room = NULL;
	cur_unlock();
	tls.cur_locked = 0;
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
 * every room is folded back and the others' slots are free again. */
void current_fork_child(void)
{
	fold_all(0);
	/* A child's process may not inherit the registration: without it,
	 * this thread (the only one) takes the CAS from now on. */
	if (rt.room_rseq && !room_rseq_register()) {
		rt.room_rseq = 0;
		tls.cur_rseq = 0;
	}
	for (uint32_t i = 0; i < cur.used; i++)
		cur.owned[i] = tls.cur_slot == (int)i + 1;
	cur_unlock();
}
