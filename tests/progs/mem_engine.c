/*
 * The memory engine's edge cases, one per mode (argv[1]); each prints
 * what it checked itself ("ok ..." or "FAIL ...") and takes labelled
 * snapshots for tests/e2e/test_memengine.py to check exactly:
 *   foreign  10 blocks from __libc_malloc (never seen by the shim): 5
 *            freed, 5 realloc'ed to 300 B (SITE_FOREIGN_REALLOC), contents
 *            kept; snapshot "foreign"
 *   aligned  4 blocks from each of posix_memalign, aligned_alloc,
 *            memalign, valloc, pvalloc (SITE_AL_*), aligned and writable
 *            to malloc_usable_size, beside malloc'd blocks; snapshot
 *            "aligned"; one realloc'ed to 10000 (SITE_AL_REALLOC), the
 *            rest freed; snapshot "after"
 *   chain    realloc chain of 2000 sizes up to 300 KB (SITE_CHAIN),
 *            contents checked at every step, a failed realloc in the
 *            middle (p and its contents kept); snapshot "chain"; then
 *            realloc(p, 0); snapshot "zero"
 *   usable   malloc_usable_size of malloc(n), n = 0..1024, printed (the
 *            same with and without the shim), each writable to the end
 *   zeroed   calloc(n, 1) and calloc(n / 8, 8), n = 1..2100, each right
 *            after a dirty malloc(n) was freed (so that it may get that
 *            block back), zero to the last byte
 *   xthread  two threads, each freeing the other's 20000 blocks
 *            (SITE_XT_A, SITE_XT_B); snapshot "xthread"
 *   signal   a 50 us timer's handler frees blocks (SITE_SIG) while the
 *            main thread allocates and frees (SITE_SIG_MAIN); snapshot
 *            "signal"
 *   fork     100 blocks (SITE_PARENT); the child frees them all,
 *            allocates 10 (SITE_CHILD), snapshot "child"; the parent
 *            snapshot "parent"
 *   corrupt  3 blocks (SITE_CORRUPT): one with its top header byte
 *            overwritten, one with its size word changed, one intact,
 *            all freed; one more with its tag changed is realloc'ed
 *            (SITE_CORRUPT_REALLOC); snapshot "corrupt"
 *   unshare  a block (SITE_UN_BEFORE), unshare(CLONE_NEWUSER), which a
 *            multi-threaded process may not call, another block
 *            (SITE_UN_AFTER), then SIGUSR2 to itself and a wait for the
 *            "signal" snapshot (the helper's, or the handler's in a
 *            single-threaded process); prints the thread counts
 *   threads  prints "parent N" (threads now) and, from a forked child,
 *            "child N M": before and after its first malloc
 *   rooms    16 threads in phases between barriers, each checked by main
 *            with cprof_traced_memory to the byte: each adds its own
 *            blocks (and a forked child adds past that peak); each frees
 *            the next one's; one alone goes past the peak, then frees;
 *            all at once go past it; all free. Twice, with new threads.
 *   race     4 threads malloc, realloc and free at once while one of
 *            them resets the peak every 64 steps (every other thread's
 *            room is taken back while its owner updates it); after all
 *            is freed, main checks the current total to the byte
 */
#define _GNU_SOURCE
#include <cprof.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <malloc.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);

static int failures;
static volatile size_t too_big = SIZE_MAX - 4096;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7);
}

static int holds(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed * 31 + i * 7))
			return 0;
	return 1;
}

/* ---- foreign ---- */

static int foreign(void)
{
	unsigned char *b[10];
	int kept = 1;

	for (int i = 0; i < 10; i++) {
		b[i] = __libc_malloc(100);
		fill(b[i], 100, i);
	}
	check(malloc_usable_size(b[0]) >= 100, "malloc_usable_size of a foreign block");
	for (int i = 0; i < 5; i++)
		free(b[i]);
	for (int i = 5; i < 10; i++) {
		b[i] = realloc(b[i], 300); /* SITE_FOREIGN_REALLOC */
		kept &= b[i] && holds(b[i], 100, i);
	}
	check(kept, "foreign blocks realloc'ed keep their contents");
	cprof_snapshot("foreign");
	for (int i = 5; i < 10; i++)
		free(b[i]);
	return 0;
}

/* ---- aligned ---- */

static int aligned(void)
{
	void *b[5][4], *plain[8];
	int ok = 1;

	for (int k = 0; k < 8; k++)
		plain[k] = malloc(40);
	for (int i = 0; i < 4; i++) {
		ok &= posix_memalign(&b[0][i], 64, 100) == 0; /* SITE_AL_POSIX */
		b[1][i] = aligned_alloc(256, 512); /* SITE_AL_ALIGNED */
		b[2][i] = memalign(4096, 1000); /* SITE_AL_MEMALIGN */
		b[3][i] = valloc(5000); /* SITE_AL_VALLOC */
		b[4][i] = pvalloc(5000); /* SITE_AL_PVALLOC */
	}
	static const size_t align[5] = { 64, 256, 4096, 4096, 4096 }, size[5] = { 100, 512, 1000, 5000, 8192 };
	for (int a = 0; a < 5; a++)
		for (int i = 0; i < 4; i++) {
			ok &= b[a][i] && (uintptr_t)b[a][i] % align[a] == 0 &&
			      malloc_usable_size(b[a][i]) >= size[a];
			memset(b[a][i], a, malloc_usable_size(b[a][i]));
		}
	check(ok, "the aligned family: aligned, writable to malloc_usable_size");
	for (int k = 0; k < 8; k += 2)	/* headers freed while the table holds blocks */
		free(plain[k]);
	cprof_snapshot("aligned");
	fill(b[2][0], 1000, 7);
	void *q = realloc(b[2][0], 10000); /* SITE_AL_REALLOC */
	check(q && holds(q, 1000, 7), "an aligned block realloc'ed keeps its contents");
	for (int a = 0; a < 5; a++)
		for (int i = 0; i < 4; i++)
			if (a != 2 || i != 0)
				free(b[a][i]);
	for (int k = 1; k < 8; k += 2)
		free(plain[k]);
	cprof_snapshot("after");
	free(q);
	return 0;
}

/* ---- chain ---- */

static size_t chain_size(int i)
{
	/* Up and down, across the 128 KiB mmap threshold now and then. */
	return (size_t)(i % 97) * 53 + (i % 400 == 399 ? 300000 : 0) + 1;
}

static int chain(void)
{
	unsigned char *p = NULL;
	size_t have = 0;
	int ok = 1;

	for (int i = 0; i < 2000; i++) {
		size_t n = chain_size(i);
		p = realloc(p, n); /* SITE_CHAIN */
		if (!p)
			return 1;
		ok &= have == 0 || holds(p, have < n ? have : n, (unsigned)i - 1);
		fill(p, n, (unsigned)i);
		have = n;
		if (i == 1000) {
			errno = 0;
			void *q = realloc(p, too_big);
			check(!q && errno == ENOMEM && holds(p, have, (unsigned)i),
			      "a failed realloc: NULL, ENOMEM, the block and its contents kept");
		}
	}
	check(ok, "a realloc chain of 2000 sizes keeps its contents at every step");
	check(malloc_usable_size(p) >= have, "malloc_usable_size >= the size asked");
	memset(p, 1, malloc_usable_size(p));	/* all of it is writable */
	cprof_snapshot("chain");
	errno = 0;
	p = realloc(p, 0);
	check(!p, "realloc(p, 0) frees p and returns NULL, as glibc's");
	cprof_snapshot("zero");
	return 0;
}

/* ---- usable ---- */

static int usable(void)
{
	for (size_t n = 0; n <= 1024; n++) {
		unsigned char *p = malloc(n);
		size_t u = malloc_usable_size(p);
		memset(p, 0xab, u);
		printf("%zu:%zu%c", n, u, n % 16 == 15 ? '\n' : ' ');
		free(p);
	}
	printf("\n");
	return 0;
}

/* ---- xthread ---- */

#define XT_N 20000
static void *_Atomic xt_box[2][XT_N];

static void *xt_main(void *arg)
{
	long me = (long)arg;

	/* Every block is freed by another thread than its allocator's: the
	 * other worker when it finds it posted, else main after the join. */
	for (int i = 0; i < XT_N; i++) {
		void *p = me ? malloc(80) /* SITE_XT_B */ : malloc(48); /* SITE_XT_A */
		atomic_store(&xt_box[me][i], p);
		void *q = atomic_exchange(&xt_box[!me][i], NULL);
		if (q)
			free(q);
	}
	return NULL;
}

static int xthread(void)
{
	pthread_t t[2];

	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, xt_main, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* Blocks a thread posted after the other's last sweep. */
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < XT_N; i++) {
			void *q = atomic_exchange(&xt_box[k][i], NULL);
			if (q)
				free(q);
		}
	cprof_snapshot("xthread");
	return 0;
}

/* ---- rooms ---- */

#define RM_T 16		/* workers */
#define RM_K 300	/* phase 1: blocks a worker, 64 + t bytes each */
#define RM_L 348	/* phase 3: blocks of 1000 B worker 0 adds alone */
#define RM_J 400	/* phase 5: blocks a worker, 100 + t bytes each */
static pthread_barrier_t rm_step;
static void *rm_own[RM_T][RM_J];

static void rm_wait(void)
{
	pthread_barrier_wait(&rm_step);
}

/* Each phase between two barriers; main checks between them. */
static void *rm_main(void *arg)
{
	long t = (long)arg;

	rm_wait();	/* main has the base */
	for (int k = 0; k < RM_K; k++)
		rm_own[t][k] = malloc((size_t)(64 + t));
	rm_wait();
	rm_wait();	/* checked; frees the next worker's blocks */
	for (int k = 0; k < RM_K; k++)
		free(rm_own[(t + 1) % RM_T][k]);
	rm_wait();
	rm_wait();	/* checked; worker 0 alone past the peak */
	if (t == 0)
		for (int k = 0; k < RM_L; k++)
			rm_own[0][k] = malloc(1000);
	rm_wait();
	rm_wait();
	if (t == 0)
		for (int k = 0; k < RM_L; k++)
			free(rm_own[0][k]);
	rm_wait();
	rm_wait();	/* all at once past the peak, nothing freed */
	for (int k = 0; k < RM_J; k++)
		rm_own[t][k] = malloc((size_t)(100 + t));
	rm_wait();
	rm_wait();
	for (int k = 0; k < RM_J; k++)
		free(rm_own[t][k]);
	rm_wait();
	return NULL;
}

static void rm_expect(const char *phase, size_t base, size_t cur, size_t peak)
{
	size_t got_cur, got_peak;
	char what[160];

	cprof_traced_memory(&got_cur, &got_peak);
	snprintf(what, sizeof(what), "%s: current %zu (want %zu), peak %zu (want %zu)", phase,
		 got_cur - base, cur, got_peak - base, peak);
	check(got_cur == base + cur && got_peak == base + peak, what);
}

static int rooms(void)
{
	const size_t s1 = RM_K * (64 * RM_T + RM_T * (RM_T - 1) / 2);
	const size_t s3 = RM_L * 1000;
	const size_t s5 = RM_J * (100 * RM_T + RM_T * (RM_T - 1) / 2);
	int status;

	for (int gen = 0; gen < 2; gen++) {	/* the second takes the slots the first gave back */
		pthread_t t[RM_T];
		size_t base, peak;

		pthread_barrier_init(&rm_step, NULL, RM_T + 1);
		for (long i = 0; i < RM_T; i++)
			pthread_create(&t[i], NULL, rm_main, (void *)i);
		cprof_reset_peak();
		cprof_traced_memory(&base, &peak);
		rm_wait();
		rm_wait();
		rm_expect("each adds its own", base, s1, s1);
		pid_t pid = fork();
		if (pid == 0) {	/* the workers' blocks, without the workers */
			void *volatile p = malloc(s1 + 1000);	/* kept: not elided */
			rm_expect("forked child", base, 2 * s1 + 1000, 2 * s1 + 1000);
			free(p);
			rm_expect("forked child, freed", base, s1, 2 * s1 + 1000);
			_exit(failures ? 1 : 0);
		}
		check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			      WEXITSTATUS(status) == 0, "rooms: the forked child's figures");
		/* The workers' next phases, as rm_main runs them. */
		const struct {
			const char *what;
			size_t cur, peak;
		} phases[] = {
			{ "each frees another's", 0, s1 },
			{ "one alone past the peak", s3, s3 },
			{ "it frees them", 0, s3 },
			{ "all at once past the peak", s5, s5 },
			{ "all freed", 0, s5 },
		};
		for (size_t k = 0; k < sizeof(phases) / sizeof(phases[0]); k++) {
			rm_wait();	/* the phase starts */
			rm_wait();	/* and is done */
			rm_expect(phases[k].what, base, phases[k].cur, phases[k].peak);
		}
		for (int i = 0; i < RM_T; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&rm_step);
	}
	return 0;
}

/* ---- zeroed ---- */

static int zeroed(void)
{
	int bad = 0;

	for (size_t n = 1; n <= 2100; n++) {
		for (int shape = 0; shape < 2; shape++) {
			size_t count = shape ? n / 8 : n, each = shape ? 8 : 1;
			if (!count)
				continue;
			unsigned char *dirty = malloc(count * each);
			if (!dirty)
				return 1;
			memset(dirty, 0xa5, count * each);
			__asm__ volatile("" : : "r"(dirty) : "memory");	/* not elided */
			free(dirty);
			unsigned char *p = calloc(count, each);
			if (!p)
				return 1;
			for (size_t i = 0; i < count * each; i++)
				bad += p[i] != 0;
			free(p);
		}
	}
	check(bad == 0, "zeroed: every calloc'd byte is 0");
	return 0;
}

/* ---- race ---- */

/* glibc (2.35 and later) registered this thread's rseq area: not under
 * valgrind, nor with GLIBC_TUNABLES=glibc.pthread.rseq=0. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

static int has_rseq(void)
{
	uintptr_t tp;

	if (!&__rseq_size || !&__rseq_offset || __rseq_size < 20)
		return 0;
	__asm__("movq %%fs:0, %0" : "=r"(tp));	/* the thread pointer */
	return *(volatile int32_t *)(tp + (uintptr_t)__rseq_offset + 4) >= 0;	/* cpu_id */
}

#define RC_T 4		/* threads */
#define RC_N 100000	/* steps each */
#define RC_LIVE 64	/* blocks a thread keeps */
static pthread_barrier_t rc_step;

static void *rc_main(void *arg)
{
	long t = (long)arg;
	unsigned rng = (unsigned)t * 2654435761u + 1;
	unsigned char *live[RC_LIVE] = { 0 };

	pthread_barrier_wait(&rc_step);	/* main has the base */
	for (int k = 0; k < RC_N; k++) {
		if (t == 0 && k % 64 == 0)
			cprof_reset_peak();
		rng = rng * 1103515245u + 12345u;
		unsigned i = (rng >> 8) % RC_LIVE;
		size_t size = 16 + (rng >> 16) % 2000;
		if (live[i] && (rng >> 27 & 1)) {
			free(live[i]);
			live[i] = NULL;
			continue;
		}
		void *q = live[i] ? realloc(live[i], size) : malloc(size);
		if (!q) {
			check(0, "race: malloc or realloc failed");
			continue;
		}
		live[i] = q;
	}
	for (int i = 0; i < RC_LIVE; i++)
		free(live[i]);
	pthread_barrier_wait(&rc_step);	/* all freed */
	pthread_barrier_wait(&rc_step);	/* checked */
	return NULL;
}

static int race(void)
{
	pthread_t t[RC_T];
	size_t base, now, peak;
	char what[120];

	pthread_barrier_init(&rc_step, NULL, RC_T + 1);
	for (long i = 0; i < RC_T; i++)
		pthread_create(&t[i], NULL, rc_main, (void *)i);
	cprof_traced_memory(&base, &peak);
	pthread_barrier_wait(&rc_step);
	pthread_barrier_wait(&rc_step);
	cprof_traced_memory(&now, &peak);
	snprintf(what, sizeof(what), "race: current %zd bytes over the base after all is freed (want 0)",
		 (ssize_t)(now - base));
	check(now == base, what);
	pthread_barrier_wait(&rc_step);
	for (int i = 0; i < RC_T; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&rc_step);
	/* The command fails with EPERM unless the process registered it,
	 * which the shim does when its rooms can use rseq. */
	int cmds = (int)syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ))
		printf("skip race: the kernel has no membarrier rseq command\n");
	else if (!has_rseq())
		printf("skip race: glibc registered no rseq area\n");
	else
		check(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0,
		      "race: membarrier's rseq command registered");
	return 0;
}

/* ---- signal ---- */

#define SIG_N 3000
static void *_Atomic sig_box[SIG_N];
static _Atomic int sig_freed;

static void on_alarm(int sig)
{
	(void)sig;
	for (int i = 0; i < SIG_N; i++) {
		void *p = atomic_exchange(&sig_box[i], NULL);
		if (p) {
			free(p);
			atomic_fetch_add(&sig_freed, 1);
			return;
		}
	}
}

static int signals(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 50 }, { 0, 50 } };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	for (int i = 0; i < SIG_N; i++)
		atomic_store(&sig_box[i], malloc(24)); /* SITE_SIG */
	setitimer(ITIMER_REAL, &it, NULL);
	/* The handler lands inside hooks now and then. */
	for (long k = 0; atomic_load(&sig_freed) < SIG_N / 2 && k < 200000000; k++) {
		void *p = malloc(16 + k % 64); /* SITE_SIG_MAIN */
		void *q = realloc(p, 100);
		free(q);
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	check(atomic_load(&sig_freed) >= SIG_N / 2, "the handler freed half the blocks");
	for (int i = 0; i < SIG_N; i++) {
		void *p = atomic_exchange(&sig_box[i], NULL);
		if (p)
			free(p);
	}
	cprof_snapshot("signal");
	return 0;
}

/* ---- fork ---- */

static int forked(void)
{
	void *b[100];
	int status;

	for (int i = 0; i < 100; i++)
		b[i] = malloc(100); /* SITE_PARENT */
	pid_t pid = fork();
	if (pid == 0) {
		void *c[10];
		for (int i = 0; i < 100; i++)
			free(b[i]);
		for (int i = 0; i < 10; i++)
			c[i] = malloc(64); /* SITE_CHILD */
		cprof_snapshot("child");
		for (int i = 0; i < 10; i++)
			free(c[i]);
		exit(0);
	}
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child exits 0");
	cprof_snapshot("parent");
	for (int i = 0; i < 100; i++)
		free(b[i]);
	return 0;
}

/* ---- corrupt ---- */

/* Global: the compiler may not drop an intact block's malloc and free. */
static unsigned char *volatile blk[3];

static int corrupt(void)
{

	for (int i = 0; i < 3; i++)
		blk[i] = malloc(64); /* SITE_CORRUPT */
	/* Through an integer: the compiler must not reason about the bounds. */
	unsigned char *volatile below0 = (unsigned char *)((uintptr_t)blk[0] - 1);
	unsigned char *volatile below1 = (unsigned char *)((uintptr_t)blk[1] - 16);
	*below0 = 0x41;		/* an underflow of one byte: the tag's top byte */
	*below1 ^= 0x10;	/* the size word */
	for (int i = 0; i < 3; i++)
		free(blk[i]);
	unsigned char *p = malloc(50); /* SITE_CORRUPT_OLD */
	fill(p, 50, 3);
	unsigned char *volatile below = (unsigned char *)((uintptr_t)p - 5);
	*below ^= 0xff;		/* inside the tag */
	p = realloc(p, 200); /* SITE_CORRUPT_REALLOC */
	check(p && holds(p, 50, 3), "a block with an overwritten header realloc'ed keeps its contents");
	cprof_snapshot("corrupt");
	free(p);
	return 0;
}

/* ---- the helper thread ---- */

/* Threads of this process, from /proc with system calls only (no malloc:
 * the first hook of a forked child may start the helper). */
static int threads_now(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY), n = -1;
	ssize_t len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	const char *t = strstr(buf, "\nThreads:");
	if (t)
		n = atoi(t + 9);
	return n;
}

static int has_signal_snapshot(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	while (d && (e = readdir(d)))
		found |= strstr(e->d_name, ".1.snap") != NULL;
	if (d)
		closedir(d);
	return found;
}

static void *volatile un_blocks[2];

static int do_unshare(void)
{
	const char *out = getenv("CPROF_OUTPUT");

	un_blocks[0] = malloc(100); /* SITE_UN_BEFORE */
	int before = threads_now();
	int r = unshare(CLONE_NEWUSER), err = errno;
	un_blocks[1] = malloc(200); /* SITE_UN_AFTER */
	int after = threads_now();
	printf("unshare %d %s threads %d %d\n", r, r ? strerror(err) : "ok", before, after);
	check(r == 0, "unshare(CLONE_NEWUSER) succeeds under the shim");
	kill(getpid(), SIGUSR2);
	for (int i = 0; i < 500 && out && !has_signal_snapshot(out); i++)
		usleep(10000);
	check(out && has_signal_snapshot(out), "SIGUSR2 after unshare: a signal snapshot");
	cprof_snapshot("unshare");
	return 0;
}

static int threads(void)
{
	int status;

	printf("parent %d\n", threads_now());
	pid_t pid = fork();
	if (pid == 0) {
		int n0 = threads_now();
		un_blocks[0] = malloc(10);
		int n1 = threads_now();
		printf("child %d %d\n", n0, n1);
		free(un_blocks[0]);
		_exit(0);
	}
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child exits 0");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} modes[] = {
		{ "foreign", foreign }, { "aligned", aligned }, { "chain", chain },
		{ "usable", usable }, { "xthread", xthread }, { "signal", signals },
		{ "fork", forked }, { "corrupt", corrupt }, { "unshare", do_unshare },
		{ "threads", threads }, { "rooms", rooms }, { "race", race }, { "zeroed", zeroed },
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	for (size_t i = 0; argc == 2 && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name))
			return modes[i].fn() || failures ? 1 : 0;
	fprintf(stderr, "usage: mem_engine foreign|aligned|chain|usable|xthread|signal|fork|corrupt|"
		"unshare|threads|rooms|race|zeroed\n");
	return 2;
}
