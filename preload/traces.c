/*
 * Allocation sites: the caller's stack from libunwind's unw_backtrace()
 * (the cached fast path; never the unw_step cursor API, which makes a
 * system call per frame) or, with CPROF_UNWIND=fp, from the frame-pointer
 * chain; interned once per distinct trace in a table that is read
 * without a lock and appended under one. Per-trace counters live in
 * per-thread sets summed by snapshots. All storage is mmap'd, never
 * malloc'd.
 *
 * libunwind is dlopen'ed RTLD_LOCAL, never linked: a libunwind in the
 * global scope would take over the host's own backtrace() and
 * _Unwind_Backtrace. (Debian's libunwind.a is not position-independent,
 * so it cannot be linked into the shim with hidden symbols.)
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "internal.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <libunwind.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Frame arena: on average this many frames a trace before it is full. */
#define ARENA_FRAMES_PER_TRACE 32

/*
 * A thread's counters: only its owner writes them, with plain (relaxed
 * load, relaxed store) updates; snapshots read them concurrently. When
 * the thread ends, its set is handed to the next new thread as it is
 * (counts and all: sums stay right). The orphan set takes what threads
 * count after their key destructor ran, with atomic adds.
 */
struct ctr_set {
	struct ctr_set *next;		/* list from tt.sets, written before publication */
	_Atomic int is_owned;		/* claimed by a live thread (CAS under tt.lock) */
	struct trace_ctr *_Atomic *dir;	/* ndirs chunk pointers, mmap'd; CAS-installed */
	struct size_ctr sizes[FMT_SIZE_BUCKETS];	/* the allocation-size histogram */
};

/* Written by traces_init() before tracing starts; recs, frames and slots
 * are appended under lock, and read lock-free after their publication
 * (a slot, or count, stored with release order after the record). */
static struct {
	struct trace_rec *recs;
	uint64_t *frames;
	_Atomic uint32_t *slots;	/* trace id + 1; 0 = empty */
	uint32_t slot_mask;
	uint32_t max_traces;
	uint64_t max_frames_total;
	_Atomic int lock;		/* protects the append fields below */
	_Atomic uint32_t count;		/* published records */
	uint64_t frames_used;
	uint32_t ndirs;			/* chunks a counter set can hold */
	struct ctr_set *_Atomic sets;	/* every set but orphans; pushed under lock */
	struct ctr_set orphans;
	pthread_key_t key;		/* its destructor hands the set on */
	int has_key;
} tt;

static void *map_noreserve(size_t bytes)
{
	/* NORESERVE: only the pages that fill up cost memory. */
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int traces_init(void)
{
	size_t nslots = 1;

	while (nslots < (size_t)rt.max_traces * 2)	/* load <= 1/2 */
		nslots <<= 1;
	tt.max_traces = rt.max_traces;
	tt.max_frames_total = (uint64_t)rt.max_traces * ARENA_FRAMES_PER_TRACE;
	tt.recs = map_noreserve((size_t)tt.max_traces * sizeof(*tt.recs));
	tt.frames = map_noreserve(tt.max_frames_total * sizeof(*tt.frames));
	traces_arena = tt.frames;
	tt.slots = map_noreserve(nslots * sizeof(*tt.slots));
	if (!tt.recs || !tt.frames || !tt.slots)
		return -1;
	tt.slot_mask = (uint32_t)(nslots - 1);
	tt.ndirs = (tt.max_traces + CTR_CHUNK - 1) >> CTR_CHUNK_BITS;
	tt.orphans.dir = map_noreserve((size_t)tt.ndirs * sizeof(*tt.orphans.dir));
	if (!tt.orphans.dir)
		return -1;
	atomic_store(&tt.orphans.is_owned, 1);
	/* Trace 0: the empty trace, for blocks whose stack is unknown. */
	atomic_store(&tt.count, 1);
	return 0;
}

/* Until the unwinder is loaded (allocations made before our constructor
 * ran), blocks are filed under the empty trace. */
int (*_Atomic traces_backtrace_fn)(void **, int);

static void ctr_thread_exit(void *arg);

void traces_start_unwinder(void)
{
	if (pthread_key_create(&tt.key, ctr_thread_exit) == 0)
		tt.has_key = 1;
	if (rt.unwind == UNWIND_FP)
		return;	/* libunwind is never loaded: the frame-pointer walk needs none */
	if (rt.unwind == UNWIND_CCT || rt.unwind == UNWIND_AUTO) {
		shadow_fn sf = (shadow_fn)dlsym(RTLD_DEFAULT, "cprof_rt_shadow_stack");
		if (!sf && rt.unwind == UNWIND_CCT)
			rtenv_say("CPROF_UNWIND=cct needs the call runtime (libcprof-instrument.so) "
				  "loaded too; using libunwind", NULL, NULL, NULL, NULL);
		shadow_fresh_fn fresh =
			(shadow_fresh_fn)dlsym(RTLD_DEFAULT, "cprof_rt_shadow_fresh");
		shadow_node_fn node = (shadow_node_fn)dlsym(RTLD_DEFAULT, "cprof_rt_shadow_node");
		shadow_node_start_fn node_start =
			(shadow_node_start_fn)dlsym(RTLD_DEFAULT, "cprof_rt_shadow_node_start");
		/* None without the walk (another build's runtime may lack them). */
		int by_node = sf && fresh && node && node_start;
		atomic_store(&traces_shadow_node_start_fn, by_node ? node_start : NULL);
		atomic_store(&traces_shadow_node_fn, by_node ? node : NULL);
		atomic_store(&traces_shadow_fresh_fn, sf ? fresh : NULL);
		atomic_store(&traces_shadow_fn, sf);
	}
	/* The shim's own walk: for auto and cfi, and where cct cannot
	 * vouch for a stack. */
	if (rt.unwind != UNWIND_LIBUNWIND)
		atomic_store(&rt.cfi_ready, 1);
	/* libunwind also for cct and cfi: stacks they cannot walk. */
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	int (*bt)(void **, int) = h ? (int (*)(void **, int))dlsym(h, "unw_backtrace") : NULL;
	int (*policy)(unw_addr_space_t, unw_caching_policy_t) =
		h ? (int (*)(unw_addr_space_t, unw_caching_policy_t))dlsym(h, "_ULx86_64_set_caching_policy")
		  : NULL;
	unw_addr_space_t *as = h ? (unw_addr_space_t *)dlsym(h, "_ULx86_64_local_addr_space") : NULL;

	if (!bt) {
		rtenv_say("cannot load libunwind.so.8 (install libunwind8); using glibc's slower backtrace()",
			    NULL, NULL, NULL, NULL);
		bt = backtrace;
	} else if (policy && as) {
		/* Per-thread caches: no lock shared by threads while unwinding. */
		policy(*as, UNW_CACHE_PER_THREAD);
	}
	atomic_store(&traces_backtrace_fn, bt);
}

/* ---- the frame-pointer walk ---- */

extern void *__libc_stack_end;	/* ld.so: the initial thread's stack top */

void traces_stack_bounds(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	tls.stack_lo = tls.stack_hi = 1;
	if (getpid() == (pid_t)syscall(SYS_gettid)) {
		/* The initial thread: pthread_getattr_np() would read
		 * /proc/self/maps; its top is known and its size is the limit. */
		struct rlimit rl;
		uintptr_t hi = (uintptr_t)__libc_stack_end;
		uint64_t span = 8ull << 20;
		if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			span = rl.rlim_cur;
		else if (getrlimit(RLIMIT_STACK, &rl) == 0)
			span = 1ull << 32;
		if (hi > span) {
			tls.stack_lo = hi - span;
			tls.stack_hi = hi;
		}
		return;
	}
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
		tls.stack_lo = (uintptr_t)addr;
		tls.stack_hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

int traces_fp_walk(uint64_t *out, int max, const void *hook_fp)
{
	uintptr_t fp = (uintptr_t)hook_fp, lo, hi;
	int n = 0;

	if (unlikely(!tls.stack_hi))
		traces_stack_bounds();
	lo = tls.stack_lo;
	hi = tls.stack_hi;
	/* The hook's frame is ours; outside the thread's stack (a signal
	 * stack, a coroutine) the walk stops after its return address. */
	out[n++] = ((const uint64_t *)fp)[1];
	if (fp < lo || fp + 16 > hi)
		return n;
	while (n < max) {
		uintptr_t next = ((const uintptr_t *)fp)[0];
		/* Callers' frames lie above, aligned, inside the stack: a frame
		 * without a frame pointer (or the outermost, whose is 0) ends it. */
		if (next <= fp || (next & 15) || next + 16 > hi)
			break;
		fp = next;
		uint64_t ret = ((const uint64_t *)fp)[1];
		if (!ret)
			break;
		out[n++] = ret;
	}
	return n;
}

/* ---- which module an address is in (cct stacks; the shim's own range) ---- */

shadow_fn _Atomic traces_shadow_fn;

struct find_mod {
	uintptr_t addr, lo, hi;
};

void traces_module_span(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
	*lo = UINTPTR_MAX;
	*hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
		*lo = a < *lo ? a : *lo;
		*hi = b > *hi ? b : *hi;
	}
}

static int find_mod(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find_mod *m = arg;
	uintptr_t lo, hi;
	(void)size;

	traces_module_span(info, &lo, &hi);
	if (m->addr >= lo && m->addr < hi) {
		m->lo = lo;
		m->hi = hi;
		return 1;
	}
	return 0;
}

int traces_module_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
	struct find_mod m = { addr, 0, 0 };

	if (!dl_iterate_phdr(find_mod, &m))
		return 0;
	*lo = m.lo;
	*hi = m.hi;
	return 1;
}

int traces_same_module_slow(uint64_t a, uint64_t b)
{
	uint32_t gen = atomic_load_explicit(&modmap_generation, memory_order_relaxed);

	if (tls.mods_gen != gen) {	/* a dlclose since: the ranges may be stale */
		memset(tls.mods, 0, sizeof(tls.mods));
		tls.mods_gen = gen;
	}
	uintptr_t lo, hi;
	if (!traces_module_of(b, &lo, &hi))
		return 0;	/* not in any module (generated code) */
	tls.mods[tls.mods_next].lo = lo;
	tls.mods[tls.mods_next].hi = hi;
	tls.mods_next = (tls.mods_next + 1) % MODS_CACHED;
	return a - lo < hi - lo;
}

/* ---- interning ---- */

static inline int same(const struct trace_rec *t, uint64_t h, const uint64_t *f, uint32_t n,
			uint32_t gen)
{
	if (t->hash != h || t->nframes != n || t->gen != gen)
		return 0;
	const uint64_t *g = tt.frames + t->frames_at;
	uint64_t diff = 0;
	for (uint32_t i = 0; i < n; i++)
		diff |= g[i] ^ f[i];
	return diff == 0;
}

void traces_lock(void)
{
	int expected;

	for (;;) {
		expected = 0;
		if (atomic_compare_exchange_weak(&tt.lock, &expected, 1))
			return;
		sched_yield();
	}
}

void traces_unlock(void)
{
	atomic_store(&tt.lock, 0);
}

static uint32_t intern_slow(const uint64_t *f, uint32_t n, uint64_t h, uint32_t gen);

uint64_t *traces_arena;

/* A miss in the thread's cache: the global table, then the cache. */
uint32_t traces_intern_miss(const uint64_t *f, uint32_t n, uint32_t gen, struct trace_ctr **line)
{
	struct tcache_entry *e = tcache_set(f[0]);
	uint32_t id = intern_slow(f, n, traces_hash(f, n) ^ ((uint64_t)gen << 32), gen);

	if (likely(id)) {	/* 0: the table is full, the stack was not kept */
		e[1] = e[0];	/* the newest first, the older one second */
		e->first = f[0];
		e->id = id;
		e->frames_at = tt.recs[id].frames_at;
		e->nframes = n;
		e->gen = gen;
		e->line = *line = ctr_line(id);
	}
	return id;
}

static uint32_t intern_slow(const uint64_t *f, uint32_t n, uint64_t h, uint32_t gen)
{
	uint32_t i = (uint32_t)h & tt.slot_mask;

	/* Lock-free lookup: the common case once the program is warm. */
	for (;;) {
		uint32_t s = atomic_load_explicit(&tt.slots[i], memory_order_acquire);
		if (!s)
			break;
		if (same(&tt.recs[s - 1], h, f, n, gen))
			return s - 1;
		i = (i + 1) & tt.slot_mask;
	}
	traces_lock();
	/* Another thread may have added it, or others, since we looked. */
	for (;;) {
		uint32_t s = atomic_load_explicit(&tt.slots[i], memory_order_acquire);
		if (!s)
			break;
		if (same(&tt.recs[s - 1], h, f, n, gen)) {
			traces_unlock();
			return s - 1;
		}
		i = (i + 1) & tt.slot_mask;
	}
	uint32_t id = atomic_load_explicit(&tt.count, memory_order_relaxed);
	if (id >= tt.max_traces || tt.frames_used + n > tt.max_frames_total) {
		traces_unlock();
		atomic_fetch_add_explicit(&rt.dropped_traces, 1, memory_order_relaxed);
		return 0;
	}
	struct trace_rec *t = &tt.recs[id];
	t->hash = h;
	t->nframes = n;
	t->gen = gen;
	t->frames_at = (uint32_t)tt.frames_used;
	memcpy(tt.frames + tt.frames_used, f, n * sizeof(*f));
	tt.frames_used += n;
	atomic_store_explicit(&tt.slots[i], id + 1, memory_order_release);
	atomic_store_explicit(&tt.count, id + 1, memory_order_release);
	traces_unlock();
	return id;
}

const struct trace_rec *traces_all(uint32_t *count)
{
	*count = atomic_load_explicit(&tt.count, memory_order_acquire);
	return tt.recs;
}

const uint64_t *traces_frames(const struct trace_rec *t)
{
	return tt.frames + t->frames_at;
}

/* ---- per-thread counters ---- */


/* The chunk of s holding id, mapped on first use; NULL if mmap fails. */
static struct trace_ctr *chunk_of(struct ctr_set *s, uint32_t id)
{
	struct trace_ctr *_Atomic *slot = &s->dir[id >> CTR_CHUNK_BITS];
	struct trace_ctr *c = atomic_load_explicit(slot, memory_order_acquire), *none = NULL;

	if (c)
		return c;
	c = map_noreserve(CTR_CHUNK * sizeof(*c));
	if (!c)
		return NULL;
	/* Only the orphan set is shared by threads: one of them wins. */
	if (!atomic_compare_exchange_strong(slot, &none, c)) {
		munmap(c, CTR_CHUNK * sizeof(*c));
		c = none;
	}
	return c;
}

/* Hands a finished thread's set on (its key destructor). Whatever the
 * thread still allocates or frees goes to the orphan set. */
static void ctr_thread_exit(void *arg)
{
	struct ctr_set *s = arg;

	tls.ctr_dir = NULL;
	tls.sizes = NULL;
	tls.ctr_set = NULL;
	tls.ctr_state = CTR_EXITED;
	/* The set's lines are the next owner's now. */
	for (int i = 0; i < TCACHE_SIZE; i++)
		tls.tcache[i].line = NULL;
	tls.free_line = NULL;
	cct_thread_exit();
	current_thread_exit();
	tls.temp_line = NULL;
	atomic_store_explicit(&s->is_owned, 0, memory_order_release);
}

/* Gives this thread a set: a finished thread's, or a new one. */
static void ctr_acquire(void)
{
	struct ctr_set *s;
	size_t dir_bytes = (size_t)tt.ndirs * sizeof(*s->dir);

	traces_lock();
	for (s = atomic_load_explicit(&tt.sets, memory_order_relaxed); s; s = s->next) {
		int expected = 0;
		if (atomic_compare_exchange_strong_explicit(&s->is_owned, &expected, 1,
							    memory_order_acquire,
							    memory_order_relaxed))
			break;
	}
	if (!s) {
		void *m = map_noreserve(sizeof(*s) + dir_bytes);
		if (m) {
			s = m;
			s->dir = (struct trace_ctr *_Atomic *)((char *)m + sizeof(*s));
			atomic_store_explicit(&s->is_owned, 1, memory_order_relaxed);
			s->next = atomic_load_explicit(&tt.sets, memory_order_relaxed);
			atomic_store_explicit(&tt.sets, s, memory_order_release);
		}
	}
	traces_unlock();
	if (!s)
		return;	/* no memory: this thread counts in the orphan set */
	tls.ctr_set = s;
	tls.ctr_dir = s->dir;
	tls.sizes = s->sizes;
	tls.ctr_state = CTR_OWNED;
	if (tt.has_key)
		pthread_setspecific(tt.key, s);
}

void traces_account_slow(uint32_t id, uint64_t bytes, int is_free)
{
	struct trace_ctr *c = NULL;

	if (!tls.ctr_set && tls.ctr_state == CTR_NONE)
		ctr_acquire();
	if (tls.ctr_set && (c = chunk_of(tls.ctr_set, id))) {
		c += id & (CTR_CHUNK - 1);
		ctr_keep_peak(c);
		ctr_bump(is_free ? &c->free_bytes : &c->alloc_bytes, bytes);
		ctr_bump(is_free ? &c->free_blocks : &c->alloc_blocks, 1);
		sizes_bump(tls.ctr_set->sizes, bytes, is_free);
		return;
	}
	traces_account_shared(id, bytes, is_free);
}

void traces_account_shared(uint32_t id, uint64_t size, int is_free)
{
	struct trace_ctr *c = chunk_of(&tt.orphans, id);

	if (!c)
		return;	/* no memory for even 32 KiB: the count is lost */
	c += id & (CTR_CHUNK - 1);
	/* Shared by the threads that count here (rare: handlers inside a
	 * hook, finished threads): the save may race, that one trace's peak
	 * share is then off by the racing update. */
	ctr_keep_peak(c);
	atomic_fetch_add_explicit(is_free ? &c->free_bytes : &c->alloc_bytes, size,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(is_free ? &c->free_blocks : &c->alloc_blocks, 1,
				  memory_order_relaxed);
	struct size_ctr *z = &tt.orphans.sizes[fmt_size_bucket_of(size)];
	atomic_fetch_add_explicit(&z->bytes[is_free], size, memory_order_relaxed);
	atomic_fetch_add_explicit(&z->blocks[is_free], 1, memory_order_relaxed);
}

void traces_count_temp_slow(uint32_t id)
{
	struct trace_ctr *c = tls.ctr_set ? chunk_of(tls.ctr_set, id) : NULL;

	if (c) {
		ctr_bump(&c[id & (CTR_CHUNK - 1)].temp_blocks, 1);
		return;
	}
	/* This thread counts in the orphan set (no set of its own, or it
	 * finished): shared, so an atomic add. */
	if ((c = chunk_of(&tt.orphans, id)))
		atomic_fetch_add_explicit(&c[id & (CTR_CHUNK - 1)].temp_blocks, 1,
					  memory_order_relaxed);
}

static void add_set(const struct ctr_set *s, uint32_t id, uint64_t gen, uint64_t sum[7])
{
	const struct trace_ctr *c =
		atomic_load_explicit(&s->dir[id >> CTR_CHUNK_BITS], memory_order_acquire);

	if (!c)
		return;
	c += id & (CTR_CHUNK - 1);
	sum[0] += atomic_load_explicit(&c->alloc_bytes, memory_order_relaxed);
	sum[1] += atomic_load_explicit(&c->alloc_blocks, memory_order_relaxed);
	sum[2] += atomic_load_explicit(&c->free_bytes, memory_order_relaxed);
	sum[3] += atomic_load_explicit(&c->free_blocks, memory_order_relaxed);
	sum[4] += atomic_load_explicit(&c->temp_blocks, memory_order_relaxed);
	/* Saved since the latest peak: its value then; else its value now. */
	if (atomic_load_explicit(&c->peak_gen, memory_order_acquire) == gen) {
		sum[5] += atomic_load_explicit(&c->peak_bytes, memory_order_relaxed);
		sum[6] += atomic_load_explicit(&c->peak_blocks, memory_order_relaxed);
	} else {
		sum[5] += atomic_load_explicit(&c->alloc_bytes, memory_order_relaxed) -
			  atomic_load_explicit(&c->free_bytes, memory_order_relaxed);
		sum[6] += atomic_load_explicit(&c->alloc_blocks, memory_order_relaxed) -
			  atomic_load_explicit(&c->free_blocks, memory_order_relaxed);
	}
}

/*
 * Threads update their sets while we read (and a forked child may hold a
 * copy taken mid-update by a thread it does not have), and a block freed
 * by another thread than its allocator's is counted in two sets: the sums
 * can disagree by allocations in flight. Clamp them to a consistent
 * record (live within total, no live bytes without a live block) rather
 * than write one the reader must refuse.
 */
void traces_read(uint32_t id, struct fmt_trace *ft)
{
	uint64_t sum[7] = { 0, 0, 0, 0, 0, 0, 0 };
	uint64_t gen = atomic_load_explicit(&rt.peak_gen, memory_order_acquire);

	add_set(&tt.orphans, id, gen, sum);
	for (const struct ctr_set *s = atomic_load_explicit(&tt.sets, memory_order_acquire); s;
	     s = s->next)
		add_set(s, id, gen, sum);
	memset(ft, 0, sizeof(*ft));
	ft->total_bytes = sum[0];
	ft->total_blocks = sum[1];
	ft->live_bytes = (int64_t)(sum[0] - sum[2]) > 0 ? sum[0] - sum[2] : 0;
	ft->live_blocks = (int64_t)(sum[1] - sum[3]) > 0 ? sum[1] - sum[3] : 0;
	if (ft->live_blocks > ft->total_blocks)
		ft->live_blocks = ft->total_blocks;
	if (ft->live_bytes > ft->total_bytes)
		ft->live_bytes = ft->total_bytes;
	if (!ft->live_blocks)
		ft->live_bytes = 0;
	/* Each temporary was an allocation: never more than total_blocks. */
	ft->temporary_blocks = sum[4] < sum[1] ? sum[4] : sum[1];
	/* The peak's share, clamped as the live counts are. */
	ft->peak_bytes = (int64_t)sum[5] > 0 ? sum[5] : 0;
	ft->peak_blocks = (int64_t)sum[6] > 0 ? sum[6] : 0;
	if (ft->peak_blocks > ft->total_blocks)
		ft->peak_blocks = ft->total_blocks;
	if (ft->peak_bytes > ft->total_bytes)
		ft->peak_bytes = ft->total_bytes;
	if (!ft->peak_blocks)
		ft->peak_bytes = 0;
}

static void add_sizes(const struct ctr_set *s, uint64_t sum[FMT_SIZE_BUCKETS][4])
{
	for (int k = 0; k < FMT_SIZE_BUCKETS; k++) {
		const struct size_ctr *z = &s->sizes[k];
		for (int f = 0; f < 2; f++) {
			sum[k][f] += atomic_load_explicit(&z->blocks[f], memory_order_relaxed);
			sum[k][2 + f] += atomic_load_explicit(&z->bytes[f], memory_order_relaxed);
		}
	}
}

/* Mid-update sums are clamped as in traces_read: live within the total,
 * no live bytes without a live block. */
uint32_t traces_read_sizes(struct fmt_size_bucket *out)
{
	/* [k][0..3]: blocks allocated, freed; bytes allocated, freed. */
	uint64_t sum[FMT_SIZE_BUCKETS][4];
	uint32_t used = 0;

	memset(sum, 0, sizeof(sum));
	add_sizes(&tt.orphans, sum);
	for (const struct ctr_set *s = atomic_load_explicit(&tt.sets, memory_order_acquire); s;
	     s = s->next)
		add_sizes(s, sum);
	for (uint32_t k = 0; k < FMT_SIZE_BUCKETS; k++) {
		struct fmt_size_bucket *b = &out[k];
		b->total_blocks = sum[k][0];
		b->total_bytes = sum[k][2];
		b->live_blocks = (int64_t)(sum[k][0] - sum[k][1]) > 0 ? sum[k][0] - sum[k][1] : 0;
		b->live_bytes = (int64_t)(sum[k][2] - sum[k][3]) > 0 ? sum[k][2] - sum[k][3] : 0;
		if (b->live_bytes > b->total_bytes)
			b->live_bytes = b->total_bytes;
		if (!b->live_blocks)
			b->live_bytes = 0;
		if (b->total_blocks)
			used = k + 1;
	}
	return used;
}
