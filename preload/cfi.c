/*
 * CPROF_UNWIND=cfi: the shim's own walk of the call-frame information
 * (.eh_frame), the default when the call runtime is not loaded.
 *
 * Why by hand, beside libunwind: unw_backtrace costs about 9 ns a frame
 * here, most of it a chain of lookups each frame must wait for. This
 * walk keeps, per return address, the three facts an x86-64 frame step
 * needs (where the CFA is, where the return address and the caller's rbp
 * were saved), read once by cfi_rules.c. Each thread also keeps its last
 * walk: a new walk that reaches a frame of the last one in the same state
 * (return address, rsp and rbp) takes the rest from it, checking that
 * every stack word the old walk read still holds what it read then. The
 * checks do not wait for one another, so the CPU makes them at once. The
 * result is the walk's own, word for word, and the same frames as
 * libunwind's (snapcmp.py and test_memengine.py compare them). Anything
 * else (a signal frame, a rule other than register + offset, no CFI, a
 * stack this walk cannot see, a busy or full table) is left to libunwind.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "cfi_rules.h"

#include <link.h>

/* ---- the rules, one per return address ---- */

/*
 * A rule in one word: bits 0-19 the CFA's offset from its register
 * (signed; a frame of 512 KiB or more is libunwind's), 20 whether that
 * register is rbp (else rsp), 21-22 the kind, 23 whether the caller's rbp
 * was saved (at CFA + bits 24-39, signed), 40-63 the load generation it
 * was read in (a dlclose makes it stale; 24 bits wrap after 16M).
 */
enum { RULE_STEP = 1, RULE_OUTERMOST = 2, RULE_NONE = 3 };
#define CFA_OFF_LIMIT (1 << 19)
#define GEN_MASK 0xffffffu

static uint64_t rule_make(unsigned kind, int cfa_is_rbp, int32_t cfa_off, int rbp_saved,
			  int16_t rbp_off, uint32_t gen)
{
	return ((uint64_t)(uint32_t)cfa_off & 0xfffff) | (uint64_t)cfa_is_rbp << 20 |
	       (uint64_t)kind << 21 | (uint64_t)rbp_saved << 23 | (uint64_t)(uint16_t)rbp_off << 24 |
	       (uint64_t)(gen & GEN_MASK) << 40;
}
static inline unsigned rule_kind(uint64_t r) { return (r >> 21) & 3; }
/* Bits 0-19, sign-extended. */
static inline int32_t rule_cfa_off(uint64_t r) { return (int32_t)((uint32_t)r << 12) >> 12; }
static inline int rule_cfa_is_rbp(uint64_t r) { return (r >> 20) & 1; }
static inline int rule_rbp_saved(uint64_t r) { return (r >> 23) & 1; }
static inline int16_t rule_rbp_off(uint64_t r) { return (int16_t)(r >> 24); }
static inline uint32_t rule_gen(uint64_t r) { return (uint32_t)(r >> 40); }

/* Return address -> rule: open addressing, never shrinks. Readers take
 * no lock: a slot's rule is stored before its address is published.
 * 128 KiB at most, touched a page at a time as addresses come (the
 * return addresses of allocation stacks number thousands even in a large
 * program; past that, stacks go to libunwind and are counted). */
#define RULE_SLOTS (1u << 13)
#define RULE_PROBES 16
static struct rule_slot {
	_Atomic uint64_t ret, rule;
} rules[RULE_SLOTS];
/* Held while a rule is read and stored; taken with a try only: a hook
 * never waits for it (see cfi_fork_child). */
static atomic_flag slot_lock = ATOMIC_FLAG_INIT;

static inline uint32_t rule_home(uint64_t ret)
{
	return (uint32_t)((ret * 0x9e3779b97f4a7c15ull) >> 40) & (RULE_SLOTS - 1);
}

/* ---- reading a rule ---- */

struct rule_query {
	uintptr_t ret;
	uint64_t rule;
	uint32_t gen;
};

static uint64_t rule_of(const struct cfi_rule *r, uint32_t gen)
{
	if (r->kind == CFI_OUTERMOST)
		return rule_make(RULE_OUTERMOST, 0, 0, 0, 0, gen);
	if (r->kind != CFI_STEP || r->cfa_off <= -CFA_OFF_LIMIT || r->cfa_off >= CFA_OFF_LIMIT ||
	    r->rbp_off < INT16_MIN || r->rbp_off > INT16_MAX)
		return rule_make(RULE_NONE, 0, 0, 0, 0, gen);
	return rule_make(RULE_STEP, r->cfa_is_rbp, (int32_t)r->cfa_off, r->rbp_saved,
			 (int16_t)r->rbp_off, gen);
}

/* Inside dl_iterate_phdr, which holds the loader's lock: the module
 * cannot be unloaded while its tables are read. */
static int rule_query_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rule_query *q = arg;
	struct cfi_view view;
	uintptr_t lo, hi;

	(void)size;
	traces_module_span(info, &lo, &hi);
	if (q->ret < lo || q->ret >= hi)
		return 0;
	if (cfi_view_of(info, &view)) {
		/* At ret - 1: the call, not what follows it. */
		struct cfi_rule r = cfi_rule_at(&view, q->ret - 1);
		q->rule = rule_of(&r, q->gen);
	}
	return 1;
}

/* The rule for the frame returning to ret, from its module's tables. */
static uint64_t rule_read(uint64_t ret, uint32_t gen)
{
	struct rule_query q = { ret, rule_make(RULE_NONE, 0, 0, 0, 0, gen), gen };

	dl_iterate_phdr(rule_query_cb, &q);
	return q.rule;
}

/* The rule for ret, read and stored if new or stale; 0 when it cannot be
 * had now (the lock is taken, the table full). */
static __attribute__((noinline)) uint64_t rule_miss(uint64_t ret, uint32_t gen)
{
	uint64_t r = 0;

	if (atomic_flag_test_and_set_explicit(&slot_lock, memory_order_acquire))
		return 0;
	uint32_t i = rule_home(ret);
	for (int p = 0; p < RULE_PROBES; p++, i = (i + 1) & (RULE_SLOTS - 1)) {
		uint64_t at = atomic_load_explicit(&rules[i].ret, memory_order_relaxed);
		if (at && at != ret)
			continue;
		r = rule_read(ret, gen);
		atomic_store_explicit(&rules[i].rule, r, memory_order_relaxed);
		atomic_store_explicit(&rules[i].ret, ret, memory_order_release);
		break;
	}
	atomic_flag_clear_explicit(&slot_lock, memory_order_release);
	return r;
}

static inline uint64_t rule_for(uint64_t ret, uint32_t gen)
{
	uint32_t i = rule_home(ret);

	for (int p = 0; p < RULE_PROBES; p++, i = (i + 1) & (RULE_SLOTS - 1)) {
		uint64_t at = atomic_load_explicit(&rules[i].ret, memory_order_acquire);
		if (at == ret) {
			uint64_t r = atomic_load_explicit(&rules[i].rule, memory_order_relaxed);
			if (likely(rule_gen(r) == (gen & GEN_MASK)))
				return r;
			break;
		}
		if (!at)
			break;
	}
	return rule_miss(ret, gen);
}

void cfi_fork_child(void)
{
	/* A thread of the parent may have held it: it is gone here. */
	atomic_flag_clear(&slot_lock);
}

/* ---- the walk ---- */

/*
 * Frames from the hook's caller up, at most max, into out; the thread's
 * memo becomes this walk. -1: take libunwind's walk instead.
 */
int cfi_walk(uint64_t *out, int max, const void *hook_fp)
{
	const uint64_t *fp = hook_fp;
	uint32_t gen = atomic_load_explicit(&modmap_generation, memory_order_relaxed);
	struct cfi_memo *memo = &tls.cfi;
	int use_memo = max <= CFI_MEMO;
	const struct cfi_frame *old = memo->frames[memo->cur];
	struct cfi_frame *now = memo->frames[memo->cur ^ 1];
	int nold = use_memo && memo->gen == gen ? memo->n : 0, j = 0, n = 0;
	/* The hook's caller as the hook found it (the hook keeps a frame
	 * pointer): its rsp just past the return address, its rbp saved. */
	struct cfi_frame s = { fp[1], (uintptr_t)(fp + 2), fp[0], 0 };

	if (unlikely(!tls.stack_hi))
		traces_stack_bounds();
	uintptr_t lo = tls.stack_lo, hi = tls.stack_hi;
	if (s.rsp < lo || s.rsp > hi)
		return -1;	/* a signal stack, a coroutine's: not this walk's */
	for (;;) {
		out[n] = s.pc;
		if (use_memo)
			now[n] = s;
		if (++n == max)
			break;
		/* The last walk passed here in the same state: what it read
		 * above is still there, or it is read anew from where it
		 * changed. */
		while (j < nold && old[j].rsp < s.rsp)
			j++;
		if (j < nold && old[j].rsp == s.rsp && old[j].pc == s.pc && old[j].rbp == s.rbp) {
			int k = j;
			while (k + 1 < nold && n < max) {
				const struct cfi_frame *next = &old[k + 1];
				if (((const uint64_t *)next->rsp)[-1] != next->pc ||
				    (old[k].rbp_at && *(const uint64_t *)old[k].rbp_at != next->rbp))
					break;
				now[n - 1].rbp_at = old[k].rbp_at;
				now[n] = *next;
				out[n++] = next->pc;
				k++;
			}
			if (n == max)
				break;
			s = old[k];
			s.rbp_at = 0;	/* its slot is known again once stepped from */
			j = nold;	/* at most one match: what follows is new */
		}
		uint64_t r = rule_for(s.pc, gen);
		if (rule_kind(r) != RULE_STEP) {
			if (rule_kind(r) == RULE_OUTERMOST)
				break;
			return -1;
		}
		uintptr_t cfa = (rule_cfa_is_rbp(r) ? s.rbp : s.rsp) + (intptr_t)rule_cfa_off(r);
		/* Frames lie above one another, inside this thread's stack. */
		if (cfa <= s.rsp || cfa > hi)
			return -1;
		uintptr_t rbp_at = 0;
		if (rule_rbp_saved(r)) {
			/* Saved in the frame itself, between its rsp and its CFA. */
			rbp_at = cfa + (intptr_t)rule_rbp_off(r);
			if (rbp_at < s.rsp || rbp_at + 8 > cfa)
				return -1;
		}
		if (use_memo)
			now[n - 1].rbp_at = rbp_at;
		if (rbp_at)
			s.rbp = *(const uint64_t *)rbp_at;
		s.pc = ((const uint64_t *)cfa)[-1];
		s.rsp = cfa;	/* s.rbp_at stays 0: a frame's slot is known once stepped from */
		if (!s.pc)
			break;
	}
	if (use_memo) {
		memo->cur ^= 1;
		memo->n = n;
		memo->gen = gen;
	}
	return n;
}
