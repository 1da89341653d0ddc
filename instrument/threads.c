/*
 * Per-thread data: the tables (nodes, slots, shadow stack), mmap'd, never
 * malloc'd, and what they may cost (CPROF_MAX_MEMORY). The bottom layer:
 * calls nothing in hooks.c or runtime.c (runtime.c attaches threads,
 * publishes them and closes them at exit and fork).
 */
#define _GNU_SOURCE
#include "internal.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct thread_data *threads_self __attribute__((tls_model("initial-exec")));

static void *map_zeroed(size_t bytes)
{
	/* NORESERVE: only pages a deep or wide program touches cost memory. */
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static size_t slots_for(uint32_t max_nodes)
{
	size_t n = 1;

	while (n < (size_t)max_nodes * 2)	/* load factor <= 1/2 */
		n <<= 1;
	return n;
}

uint32_t *threads_map_slots(size_t n)
{
	return map_zeroed(n * sizeof(uint32_t));
}

void threads_unmap_slots(uint32_t *slots, size_t n)
{
	munmap(slots, n * sizeof(uint32_t));
}

int threads_charge(int64_t bytes)
{
	uint64_t now = atomic_fetch_add(&rt.table_bytes, (uint64_t)bytes) + (uint64_t)bytes;

	if (bytes > 0 && now > rt.max_memory) {
		atomic_fetch_sub(&rt.table_bytes, (uint64_t)bytes);
		return -1;
	}
	return 0;
}

_Atomic uint64_t threads_lost_calls;

/* A thread starts with room for this many nodes, and grows by doubling. */
#define FIRST_NODES 4096u
/* The first mapping of nodes; a thread that needs more moves once. */
#define FIRST_RESERVED (1u << 20)

static struct thread_data *new_data_sized(uint32_t node_limit, uint32_t reserved,
					  uint32_t max_depth)
{
	struct thread_data *td = map_zeroed(sizeof(*td));
	uint32_t room = node_limit < FIRST_NODES ? node_limit : FIRST_NODES;
	size_t nslots = slots_for(room);
	int64_t bytes = (int64_t)(room * sizeof(struct fmt_node) + nslots * sizeof(uint32_t));

	if (!td)
		return NULL;
	if (reserved > node_limit)
		reserved = node_limit;
	td->max_nodes = room;
	td->node_limit = node_limit;
	td->nodes_reserved = reserved;
	td->max_depth = max_depth;
	td->nodes = map_zeroed((size_t)reserved * sizeof(*td->nodes));
	td->slots = threads_map_slots(nslots);
	td->stack = map_zeroed((size_t)max_depth * sizeof(*td->stack));
	td->slot_mask = (uint32_t)(nslots - 1);
	if (!td->nodes || !td->slots || !td->stack || threads_charge(bytes) < 0) {
		threads_free_data(td);
		return NULL;
	}
	td->table_bytes = (uint64_t)bytes;
	atomic_store(&td->nnodes, 1);	/* the root */
	td->probe_rng = ((uint32_t)(uintptr_t)td ^ 0x9e3779b9u) | 1;	/* xorshift: never 0 */
	td->probe_period = PROBE_PERIOD;
	td->probe_countdown = 1;	/* the first hook probes, then at random */
	td->tid = (pid_t)syscall(SYS_gettid);
	prctl(PR_GET_NAME, td->name, 0, 0, 0);
	return td;
}

struct thread_data *threads_new_data(void)
{
	/* Under an address-space limit (RLIMIT_AS) the first mappings
	 * (~50 MB, NORESERVE) may not fit: a sixteenth, then a 256th, still
	 * records the thread; a tree or stack that fills counts its drops
	 * as usual. */
	uint64_t limit = rt.max_memory / (sizeof(struct fmt_node) + 2 * sizeof(uint32_t));

	if (limit > rt.max_nodes)
		limit = rt.max_nodes;
	for (uint32_t shrink = 1; shrink <= 256; shrink *= 16) {
		uint32_t reserved = FIRST_RESERVED / shrink, depth = rt.max_depth / shrink;
		uint32_t nodes = (uint32_t)(shrink == 1 ? limit : reserved);
		struct thread_data *td = new_data_sized(nodes < 16 ? 16 : nodes, reserved,
							depth < 16 ? 16 : depth);
		if (td)
			return td;
	}
	return NULL;
}

#define NODE_SITE_ROOM (1u << 20)	/* nodes past it: not from a first site */

int threads_map_sites(struct thread_data *td)
{
	uint32_t room = td->node_limit < NODE_SITE_ROOM ? td->node_limit : NODE_SITE_ROOM;
	uint64_t *site = map_zeroed((size_t)room * sizeof(*site));

	if (!site)
		return -1;
	td->node_site_room = room;
	td->canon_upto = 0;
	/* Published last: a signal handler's check may use it at once. */
	atomic_signal_fence(memory_order_seq_cst);
	td->node_site = site;
	return 0;
}

int threads_move_nodes(struct thread_data *td)
{
	uint32_t n = atomic_load_explicit(&td->nnodes, memory_order_relaxed);
	struct fmt_node *nodes = map_zeroed((size_t)td->node_limit * sizeof(*nodes));

	if (!nodes)
		return -1;
	memcpy(nodes, td->nodes, (size_t)n * sizeof(*nodes));
	/* Before nnodes passes the old mapping's end: a writer that read
	 * nnodes (acquire) reads nodes after it, so never past an end. */
	__atomic_store_n(&td->nodes, nodes, __ATOMIC_RELEASE);
	td->nodes_reserved = td->node_limit;
	return 0;
}

void threads_free_data(struct thread_data *td)
{
	if (!td)
		return;
	threads_charge(-(int64_t)td->table_bytes);
	if (td->nodes)
		munmap(td->nodes, (size_t)td->nodes_reserved * sizeof(*td->nodes));
	if (td->slots)
		threads_unmap_slots(td->slots, (size_t)td->slot_mask + 1);
	if (td->stack)
		munmap(td->stack, (size_t)td->max_depth * sizeof(*td->stack));
	if (td->node_site)
		munmap(td->node_site, (size_t)td->node_site_room * sizeof(*td->node_site));
	munmap(td, sizeof(*td));
}
