/*
 * A thread's update of its own room (current.c) without a locked
 * instruction: a restartable sequence (rseq(2)) that loads the room,
 * checks it, and stores it back. The kernel restarts the sequence,
 * here: sends it to the caller's fallback, if the thread is preempted
 * or takes a signal inside it, and so does a revoker's
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ). That is what lets
 * the revoker take back exactly a room its owner did not give in time
 * (current.c, collect_rooms).
 *
 * Why by hand: the lock cmpxchg it replaces drew half of the hooks'
 * perf samples on bench/memheavy; without it a call was 1.5 to 2.7 ns
 * cheaper in paired rounds on a quiet machine (medians of 11 to 21,
 * default, fp and cct modes; bench/mem.sh prints it each run). No library gives a single-owner counter another thread can
 * revoke; librseq would help write one, but Debian 12 does not package
 * it. current.c hands out rseq rooms only where they pay (see there).
 *
 * Only x86-64 with glibc's rseq area (2.35+); elsewhere, under
 * ThreadSanitizer (which cannot see a store made in asm) and in the
 * benchmark's CPROF_BENCH_ROOM_CAS build, rooms take the CAS.
 */
#ifndef CPROF_PRELOAD_ROOM_COMMIT_H
#define CPROF_PRELOAD_ROOM_COMMIT_H

#include <stdint.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ROOM_NO_RSEQ 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || !defined(__x86_64__) || defined(CPROF_BENCH_ROOM_CAS)
#define ROOM_NO_RSEQ 1
#endif

#ifndef ROOM_NO_RSEQ
#define ROOM_RSEQ 1

/*
 * *room -= delta if the new value, unsigned, is at most cap: not
 * negative, not over the room's cap, and not from a room taken back or
 * asked for (current.c's REVOKED, ASKED and GIVEN words, which any real
 * block's delta leaves above every cap). 1 when stored, 0 when not (the
 * sequence was restarted, or the check failed: the caller takes the slow
 * path). rseq_offset is glibc's __rseq_offset: the thread's struct rseq
 * lies there from the thread pointer, its rseq_cs field 8 bytes in.
 */
static inline __attribute__((always_inline)) int room_commit(int64_t *room, int64_t delta,
							      uint64_t cap, long rseq_offset)
{
	__asm__ goto(
		/* The critical section's descriptor: version, flags, start,
		 * length up to the commit, abort handler. */
		".pushsection __rseq_cs, \"aw\"\n\t"
		".balign 32\n\t"
		"3:\n\t"
		".long 0, 0\n\t"
		".quad 1f, 2f - 1f, 4f\n\t"
		".popsection\n\t"
		"leaq 3b(%%rip), %%rax\n\t"
		"movq %%rax, %%fs:8(%[off])\n\t"
		"1:\n\t"
		"movq (%[room]), %%rax\n\t"
		"movq %%rax, %%rcx\n\t"
		"subq %[delta], %%rcx\n\t"
		"cmpq %[cap], %%rcx\n\t"
		"ja %l[no]\n\t"
		"movq %%rcx, (%[room])\n\t"	/* the commit */
		"2:\n\t"
		".pushsection __rseq_failure, \"ax\"\n\t"
		/* glibc's x86-64 signature (RSEQ_SIG, sys/rseq.h), the
		 * operand of a ud1: the kernel checks the 4 bytes before
		 * the abort handler */
		".byte 0x0f, 0xb9, 0x3d\n\t"
		".long 0x53053053\n\t"
		"4:\n\t"
		"jmp %l[no]\n\t"
		".popsection\n\t"
		:
		: [room] "r"(room), [delta] "r"(delta), [cap] "r"(cap), [off] "r"(rseq_offset)
		: "rax", "rcx", "memory", "cc"
		: no);
	return 1;
no:
	return 0;
}
#endif

#endif
