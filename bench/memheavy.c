/*
 * The allocation-heavy workload of bench/mem.sh: per step, a chain of
 * 14 noipa functions makes calloc at depth 10, malloc at 12, realloc and
 * a long-lived block at 14 (from one of two leaves), and frees on the way
 * back. Prints a checksum and the exact number of allocation-family calls.
 *   memheavy STEPS          the workload (<= LIVE_SLOTS blocks stay live)
 *   MEMHEAVY_SNAPSHOT_AT=K  (environment) a snapshot labelled "mid" after
 *                           step K, when the shim is there (bench/snapcmp.py)
 *   memheavy xfree T STEPS  T threads (1 or 2) each malloc STEPS blocks
 *                           and free the blocks the other one made (with
 *                           one thread, its own), handed over 64 at a
 *                           time: malloc + free a step
 *   memheavy xstep T STEPS  the same, handed over one at a time
 *   memheavy grow T STEPS   T threads (1 or 2) each malloc STEPS 32-byte
 *                           blocks, all freed at the end: every malloc
 *                           is a new peak (malloc + free a step)
 *   memheavy mix T STEPS    main alone (T = 1) or beside a thread that
 *                           only sleeps (T = 2): calloc, realloc, free
 *                           of the block made 64 steps before, malloc,
 *                           free a step (what a second thread costs glibc)
 *   memheavy hold BLOCKS    mallocs BLOCKS 32-byte blocks from 4 sites,
 *                           prints the process's VmRSS in kB while they
 *                           are live, frees them (the shim's memory)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_FN __attribute__((noipa))

/* The shim's API (include/cprof.h): weak, NULL without the shim. */
extern int cprof_rt_snapshot(const char *label) __attribute__((weak));
/* Long-lived blocks: each step replaces one, so after LIVE_SLOTS steps
 * this many blocks stay live for LIVE_SLOTS steps each. */
#define LIVE_SLOTS 50000

struct state {
	unsigned long long calls;	/* malloc, calloc, realloc, free calls made */
	unsigned long long sum;
	unsigned rng;
	unsigned long step;
	unsigned char *a, *b;
	unsigned char *live[LIVE_SLOTS];
};

static unsigned next_size(struct state *st, unsigned max)
{
	st->rng = st->rng * 1103515245u + 12345u;
	return 8 + (st->rng >> 8) % max;
}

static void touch(struct state *st, unsigned char *p, unsigned size)
{
	p[0] = (unsigned char)st->step;
	p[size - 1] = (unsigned char)(st->step >> 3);
	st->sum = st->sum * 31 + p[0] + p[size - 1];
}

/* Depth 14: two leaves, so there are two call paths to each site below. */
BENCH_FN static void leaf_even(struct state *st)
{
	unsigned sz = next_size(st, 480);
	st->a = realloc(st->a, sz);
	st->calls++;
	touch(st, st->a, sz);
	unsigned long slot = st->step % LIVE_SLOTS;
	if (st->live[slot]) {
		free(st->live[slot]);
		st->calls++;
	}
	sz = next_size(st, 120);
	st->live[slot] = malloc(sz);
	st->calls++;
	touch(st, st->live[slot], sz);
}

BENCH_FN static void leaf_odd(struct state *st)
{
	unsigned sz = next_size(st, 2000);
	st->a = realloc(st->a, sz);
	st->calls++;
	touch(st, st->a, sz);
	unsigned long slot = st->step % LIVE_SLOTS;
	if (st->live[slot]) {
		free(st->live[slot]);
		st->calls++;
	}
	sz = next_size(st, 40);
	st->live[slot] = malloc(sz);
	st->calls++;
	touch(st, st->live[slot], sz);
}

BENCH_FN static void d13(struct state *st)
{
	if (st->step & 1)
		leaf_odd(st);
	else
		leaf_even(st);
}

/* Depth 12: malloc, freed after the leaf returns. */
BENCH_FN static void d12(struct state *st)
{
	unsigned sz = next_size(st, 200);
	st->a = malloc(sz);
	st->calls++;
	touch(st, st->a, sz);
	d13(st);
	free(st->a);
	st->calls++;
	st->a = NULL;
}

BENCH_FN static void d11(struct state *st)
{
	d12(st);
}

/* Depth 10: calloc, freed on the way back. */
BENCH_FN static void d10(struct state *st)
{
	unsigned n = next_size(st, 24);
	st->b = calloc(n, 8);
	st->calls++;
	touch(st, st->b, n * 8);
	d11(st);
	free(st->b);
	st->calls++;
}

/* BENCH_FN functions are never inlined; the chain d1..d9 is plain depth. */
BENCH_FN static void d9(struct state *st) { d10(st); }
BENCH_FN static void d8(struct state *st) { d9(st); }
BENCH_FN static void d7(struct state *st) { d8(st); }
BENCH_FN static void d6(struct state *st) { d7(st); }
BENCH_FN static void d5(struct state *st) { d6(st); }
BENCH_FN static void d4(struct state *st) { d5(st); }
BENCH_FN static void d3(struct state *st) { d4(st); }
BENCH_FN static void d2(struct state *st) { d3(st); }
BENCH_FN static void d1(struct state *st) { d2(st); }

/* ---- hold: memory per live block ---- */

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

BENCH_FN static void *site0(void) { return malloc(32); }
BENCH_FN static void *site1(void) { return malloc(32); }
BENCH_FN static void *site2(void) { return malloc(32); }
BENCH_FN static void *site3(void) { return malloc(32); }

static int hold(long n)
{
	void **blocks = malloc((size_t)n * sizeof(*blocks) + 1);
	unsigned long long sum = 0;

	if (!blocks)
		return 1;
	for (long i = 0; i < n; i++) {
		switch (i & 3) {
		case 0: blocks[i] = site0(); break;
		case 1: blocks[i] = site1(); break;
		case 2: blocks[i] = site2(); break;
		default: blocks[i] = site3(); break;
		}
		if (!blocks[i])
			return 1;
		memset(blocks[i], (int)i, 32);
	}
	long kb = rss_kb();
	for (long i = 0; i < n; i++) {
		sum += ((unsigned char *)blocks[i])[7];
		free(blocks[i]);
	}
	free(blocks);
	printf("hold=%ld rss_kb=%ld checksum=%llu\n", n, kb, sum);
	return 0;
}

/* ---- frees across threads ---- */

BENCH_FN static void *xf_alloc(unsigned size) { return malloc(size); }

static unsigned xf_size(unsigned *rng)
{
	*rng = *rng * 1103515245u + 12345u;
	return 16 + (*rng >> 8) % 200;
}

/* fn on each of threads threads (1 or 2), given its index, joined: 0,
 * or 1 when one cannot start. */
static int run_threads(int threads, void *(*fn)(void *))
{
	pthread_t th[2];

	for (long t = 0; t < threads; t++)
		if (pthread_create(&th[t], NULL, fn, (void *)t) != 0)
			return 1;
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	return 0;
}

/* xfree: blocks go to the other thread XB_BATCH at a time. Each thread
 * fills its chunks in turn and frees the other's, half a lap behind; a
 * chunk still full a lap later (the other thread fell half a lap behind)
 * is freed by its owner. A handover costs two atomics per XB_BATCH
 * blocks, where xstep's per-block mailbox costs two a block (in 6
 * back-to-back runs of that workload, plain took 0.34 s of CPU once and
 * 0.60 to 0.62 s five times; bench/mem.sh prints both). */
#define XB_BATCH 64
#define XB_CHUNKS 16
enum { CHUNK_EMPTY, CHUNK_FULL, CHUNK_FREEING };
static struct xb_chunk {
	_Alignas(64) _Atomic int state;
	unsigned n;
	void *blocks[XB_BATCH];
} xb[2][XB_CHUNKS];
static unsigned long xb_steps;
static int xb_threads;
static _Atomic unsigned long long xb_frees, xb_cross;
static pthread_barrier_t xb_start;	/* the threads start together */

/* Frees chunk c if it is full and nobody else is freeing it: its count. */
static unsigned xb_take(struct xb_chunk *c)
{
	int full = CHUNK_FULL;

	if (!atomic_compare_exchange_strong(&c->state, &full, CHUNK_FREEING))
		return 0;
	for (unsigned k = 0; k < c->n; k++)
		free(c->blocks[k]);
	atomic_store_explicit(&c->state, CHUNK_EMPTY, memory_order_release);
	return c->n;
}

static void *xb_main(void *arg)
{
	long me = (long)arg, other = xb_threads == 2 ? !me : me;
	unsigned rng = 777u + (unsigned)me;
	unsigned long long own = 0, cross = 0;

	pthread_barrier_wait(&xb_start);
	for (unsigned long i = 0, made = 0; made < xb_steps; i++) {
		struct xb_chunk *c = &xb[me][i % XB_CHUNKS];
		own += xb_take(c);
		while (atomic_load_explicit(&c->state, memory_order_acquire) != CHUNK_EMPTY)
			;	/* the other thread is freeing it: 64 frees */
		c->n = xb_steps - made < XB_BATCH ? (unsigned)(xb_steps - made) : XB_BATCH;
		for (unsigned k = 0; k < c->n; k++) {
			unsigned char *p = xf_alloc(xf_size(&rng));
			p[0] = (unsigned char)k;
			c->blocks[k] = p;
		}
		made += c->n;
		atomic_store_explicit(&c->state, CHUNK_FULL, memory_order_release);
		/* Half a lap behind: full unless the other thread is that far behind. */
		if (other != me && i >= XB_CHUNKS / 2)
			cross += xb_take(&xb[other][(i - XB_CHUNKS / 2) % XB_CHUNKS]);
	}
	atomic_fetch_add(&xb_frees, own + cross);
	atomic_fetch_add(&xb_cross, cross);
	return NULL;
}

static int xfree(int threads, unsigned long steps)
{
	xb_threads = threads;
	xb_steps = steps;
	pthread_barrier_init(&xb_start, NULL, (unsigned)threads);
	if (run_threads(threads, xb_main))
		return 1;
	unsigned long long frees = atomic_load(&xb_frees);
	for (int t = 0; t < 2; t++)
		for (int c = 0; c < XB_CHUNKS; c++)
			frees += xb_take(&xb[t][c]);
	printf("xfree threads=%d steps=%lu ncalls=%llu frees=%llu cross=%llu\n", threads, steps,
	       2ull * threads * steps, frees, atomic_load(&xb_cross));
	return frees == (unsigned long long)threads * steps ? 0 : 1;
}

/* xstep: blocks go to the other thread one at a time, each through its
 * own mailbox slot (the workload issue 12's target was first measured
 * on). */
#define XF_SLOTS 1024	/* per thread: blocks posted, not yet taken */

static void *_Atomic xf_box[2][XF_SLOTS];
static unsigned long xf_steps;
static int xf_threads;
static _Atomic unsigned long long xf_frees;

static void *xf_main(void *arg)
{
	long me = (long)arg, other = xf_threads == 2 ? !me : me;
	unsigned rng = 777u + (unsigned)me, frees = 0;

	for (unsigned long i = 0; i < xf_steps; i++) {
		unsigned char *p = xf_alloc(xf_size(&rng));
		p[0] = (unsigned char)i;
		/* Post ours, then take the one the other thread posted at i. */
		void *mine = atomic_exchange(&xf_box[me][i % XF_SLOTS], p);
		if (mine && other == me) {
			free(mine);	/* one thread: its own block, a lap later */
			frees++;
		} else if (mine) {
			/* Not taken yet: put it back for the other to find. */
			void *q = atomic_exchange(&xf_box[me][(i + XF_SLOTS / 2) % XF_SLOTS], mine);
			if (q) {
				free(q);
				frees++;
			}
		}
		void *theirs = other == me ? NULL : atomic_exchange(&xf_box[other][i % XF_SLOTS], NULL);
		if (theirs) {
			free(theirs);
			frees++;
		}
	}
	atomic_fetch_add(&xf_frees, frees);
	return NULL;
}

static int xstep(int threads, unsigned long steps)
{
	xf_threads = threads;
	xf_steps = steps;
	if (run_threads(threads, xf_main))
		return 1;
	unsigned long long frees = atomic_load(&xf_frees);
	for (int t = 0; t < 2; t++)
		for (int k = 0; k < XF_SLOTS; k++) {
			void *q = atomic_exchange(&xf_box[t][k], NULL);
			if (q) {
				free(q);
				frees++;
			}
		}
	printf("xstep threads=%d steps=%lu ncalls=%llu frees=%llu\n", threads, steps,
	       2ull * threads * steps, frees);
	return frees == (unsigned long long)threads * steps ? 0 : 1;
}

/* ---- grow: every allocation a new peak ---- */

static void **grow_blocks[2];
static unsigned long grow_steps;

static void *grow_main(void *arg)
{
	void **mine = grow_blocks[(long)arg];

	for (unsigned long i = 0; i < grow_steps; i++)
		mine[i] = xf_alloc(32);
	return NULL;
}

static int grow(int threads, unsigned long steps)
{
	grow_steps = steps;
	for (int t = 0; t < threads; t++)
		if (!(grow_blocks[t] = calloc(steps, sizeof(void *))))
			return 1;
	if (run_threads(threads, grow_main))
		return 1;
	for (int t = 0; t < threads; t++) {
		for (unsigned long i = 0; i < steps; i++)
			free(grow_blocks[t][i]);
		free(grow_blocks[t]);
	}
	printf("grow threads=%d steps=%lu ncalls=%llu\n", threads, steps,
	       2ull * threads * steps);
	return 0;
}

/* ---- a single-threaded mix, with or without an idle thread ---- */

static void *sleep_forever(void *arg)
{
	for (;;)
		pause();
	return arg;
}

BENCH_FN static void *mix_calloc(unsigned long i) { return calloc(1, 40 + (i & 255)); }

static int mix(int threads, unsigned long steps)
{
	static void *kept[64];
	pthread_t idle;
	unsigned long long sum = 0;

	if (threads == 2 && pthread_create(&idle, NULL, sleep_forever, NULL) != 0)
		return 1;
	for (unsigned long i = 0; i < steps; i++) {
		unsigned char *p = mix_calloc(i);
		unsigned char *q = p ? realloc(p, 80 + (i & 511)) : NULL;
		if (!q)
			return 1;
		q[i & 63] = (unsigned char)i;
		sum += q[i & 31];
		free(kept[i & 63]);
		kept[i & 63] = malloc(24 + (i & 127));
		free(q);
	}
	for (int k = 0; k < 64; k++)
		free(kept[k]);
	printf("mix threads=%d steps=%lu ncalls=%llu checksum=%llu\n", threads, steps,
	       5ull * steps + 64, sum);
	return 0;	/* the idle thread ends with the process */
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return hold(atol(argv[2]));
	static const struct {
		const char *name;
		int (*run)(int threads, unsigned long steps);
	} threaded[] = { { "xfree", xfree }, { "xstep", xstep }, { "grow", grow }, { "mix", mix } };
	for (size_t m = 0; argc == 4 && m < sizeof(threaded) / sizeof(threaded[0]); m++) {
		if (strcmp(argv[1], threaded[m].name) != 0)
			continue;
		int threads = atoi(argv[2]);
		if (threads < 1 || threads > 2)
			return 2;
		return threaded[m].run(threads, strtoul(argv[3], NULL, 10));
	}
	unsigned long steps = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	struct state *st = calloc(1, sizeof(*st));

	if (!st)
		return 1;
	const char *at = getenv("MEMHEAVY_SNAPSHOT_AT");
	unsigned long snap_at = at ? strtoul(at, NULL, 10) : (unsigned long)-1;

	st->rng = 12345;
	for (st->step = 0; st->step < steps; st->step++) {
		d1(st);
		if (st->step + 1 == snap_at && cprof_rt_snapshot)
			cprof_rt_snapshot("mid");
	}
	for (unsigned long i = 0; i < LIVE_SLOTS; i++) {
		if (st->live[i]) {
			free(st->live[i]);
			st->calls++;
		}
	}
	st->calls += 2;		/* the state's own calloc and free */
	printf("steps=%lu ncalls=%llu checksum=%llu\n", steps, st->calls, st->sum);
	free(st);
	return 0;
}
