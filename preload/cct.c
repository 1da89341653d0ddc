/*
 * CPROF_UNWIND=cct's per-thread memory of calling contexts: the open
 * calls read from the call runtime so far, by depth, each named by a
 * context id (its function and return address on top of its caller's
 * context), and the traces found under them. Owns tls.cct; the hooks
 * (hooks.c) use it. Never locks, never calls the traced malloc.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <string.h>
#include <sys/mman.h>

shadow_fresh_fn _Atomic traces_shadow_fresh_fn;
shadow_node_fn _Atomic traces_shadow_node_fn;
shadow_node_start_fn _Atomic traces_shadow_node_start_fn;

struct cct_cache *cct_map(void)
{
	if (tls.cct_state != CCT_NONE)
		return NULL;	/* mapped and given back at thread exit, or failed */
	void *m = mmap(NULL, sizeof(struct cct_cache), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		tls.cct_state = CCT_GONE;	/* then every stack takes the whole walk */
		return NULL;
	}
	tls.cct_state = CCT_MAPPED;
	tls.cct = m;	/* zeroed: nothing known, no context, no trace */
	tls.cct->high = -1;
	return tls.cct;
}

int cct_note_sites(void)
{
	shadow_node_start_fn start =
		atomic_load_explicit(&traces_shadow_node_start_fn, memory_order_relaxed);
	int r = start ? start() : -2;

	return r == 0 ? 1 : r == -1 ? 0 : -1;
}

void cct_thread_exit(void)
{
	if (tls.cct)
		munmap(tls.cct, sizeof(struct cct_cache));
	tls.cct = NULL;	/* its trace slots hold the set's lines: the next owner's now */
	/* Never mapped again: a later destructor's allocation would leak it. */
	tls.cct_state = CCT_GONE;
}

/* Forgets every context (ids are slot numbers, so all go at once). */
static void forget_all(struct cct_cache *c)
{
	memset(c->known, 0, sizeof(c->known));
	memset(c->ctx, 0, sizeof(c->ctx));
	memset(c->traces, 0, sizeof(c->traces));
	c->nctx = 0;
	c->high = -1;
}

/* The id of (fn, ret) called from context parent (0: none below), made
 * if new. The table has room: at most half full. */
static uint32_t ctx_of(struct cct_cache *c, uint32_t parent, uint64_t fn, uint64_t ret)
{
	uint64_t h = traces_mix64(fn * 0x9e3779b97f4a7c15ull ^ ret ^ (uint64_t)parent << 40);

	for (uint32_t i = (uint32_t)h & (CCT_CONTEXTS - 1);; i = (i + 1) & (CCT_CONTEXTS - 1)) {
		struct cct_ctx *x = &c->ctx[i];
		if (!x->fn) {
			x->fn = fn;
			x->ret = ret;
			x->parent = parent;
			c->nctx++;
			return i + 1;
		}
		if (x->fn == fn && x->ret == ret && x->parent == parent)
			return i + 1;
	}
}

uint32_t cct_learn(struct cct_cache *c, int n, int below)
{
	if (unlikely(c->nctx + (uint32_t)n > CCT_CONTEXTS / 2)) {
		/* Full: start over. This stack takes the whole walk; the next
		 * one reads every open call anew. */
		forget_all(c);
		return 0;
	}
	/* Every record above the outermost changed call was made on top of
	 * what it replaces (or on calls that are gone): the runtime must not
	 * take them for the same calls made again. */
	for (int d = (int)c->fresh[n - 1].depth + 1; d <= c->high; d++)
		c->known[d].fn = c->known[d].stamp = 0;
	uint32_t ctx = below >= 0 ? c->known[below].ctx : 0;

	for (int k = n - 1; k >= 0; k--) {	/* outermost first: each on its caller */
		const struct cprof_shadow_frame *f = &c->fresh[k];
		struct cprof_shadow_known *r = &c->known[f->depth];
		ctx = ctx_of(c, ctx, f->fn, f->ret);
		r->stamp = f->stamp;
		r->fn = f->fn;
		r->ret = f->ret;
		r->below = below;
		r->ctx = ctx;
		below = (int)f->depth;
	}
	c->high = below;
	return ctx;
}

/*
 * The stack cct_read (hooks.c) would make, from the records: the hook's
 * return address, then that of each call but the outermost, max at
 * most, each address in the module of the function that the shadow
 * stack says called from there; 0 when one is not (the stack is unwound
 * then). Interned, and kept under (ctx, hook_ret, gen).
 */
int cct_trace_miss(struct cct_cache *c, uint32_t ctx, int depth, uint64_t hook_ret,
		   uint64_t *buf, int max, uint32_t gen, uint32_t *id, struct trace_ctr **line)
{
	const struct cprof_shadow_known *r = &c->known[depth];
	int n = 1;

	buf[0] = hook_ret;
	if (!traces_same_module(hook_ret, r->fn))
		return 0;
	while (n < max && r->below >= 0) {
		const struct cprof_shadow_known *next = &c->known[r->below];
		buf[n] = r->ret;
		if (!traces_same_module(buf[n], next->fn))
			return 0;
		n++;
		r = next;
	}
	*id = traces_intern(buf, (uint32_t)n, line);
	if (*id) {	/* 0: the table is full; each try is counted as dropped */
		cct_trace_keep(cct_trace_slot(c->traces, CCT_TRACE_BITS, ctx, hook_ret), ctx,
			       hook_ret, gen, *id, *line);
	}
	return 1;
}
