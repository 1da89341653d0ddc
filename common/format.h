/*
 * The on-disk format shared by the runtimes (writers) and the reporter
 * (reader): every record is defined here once. Writers must stay usable
 * from a hook at exit time: no malloc, no stdio, only write(2).
 */
#ifndef CPROF_COMMON_FORMAT_H
#define CPROF_COMMON_FORMAT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Layout: a fmt_header, then sections (fmt_section + payload, payload
 * padded to 8 bytes), ending with FMT_SEC_END. A file without its END
 * section is truncated and is refused whole. All integers little-endian
 * (the only byte order the runtimes run on).
 */
#define FMT_MAGIC "CPROF\0\r\n"
#define FMT_MAGIC_LEN 8
#define FMT_VERSION 1

enum fmt_kind {
	FMT_KIND_PROFILE = 1,	/* call profile: .prof */
	FMT_KIND_SNAPSHOT = 2,	/* memory snapshot: .snap */
};

/* Feature bits: a reader refuses a file with a bit it does not know. */
enum fmt_feature {
	FMT_FEAT_COUNTS_ONLY = 1u << 0,	/* no clock: times are all zero */
	/* Snapshots: traces are struct fmt_trace (temporaries and the peak's
	 * share), not the shorter struct fmt_trace_v1 of older files, which
	 * readers still take. Older readers refuse the bit by its name. */
	FMT_FEAT_TRACE_TOTALS = 1u << 1,
	/* Snapshots: fmt_trace's peak_bytes and peak_blocks are set (with
	 * FMT_FEAT_TRACE_TOTALS only). */
	FMT_FEAT_TRACE_PEAK = 1u << 2,
};
#define FMT_FEATURES_KNOWN (FMT_FEAT_COUNTS_ONLY | FMT_FEAT_TRACE_TOTALS | FMT_FEAT_TRACE_PEAK)

struct fmt_header {
	char magic[FMT_MAGIC_LEN];
	uint16_t version;
	uint16_t kind;		/* enum fmt_kind */
	uint32_t features;	/* enum fmt_feature bits */
};

enum fmt_section_type {
	FMT_SEC_META = 1,	/* struct fmt_meta */
	FMT_SEC_MODULES = 2,	/* count x (fmt_module + path, padded) */
	FMT_SEC_THREAD = 3,	/* fmt_thread + count x fmt_node */
	FMT_SEC_SNAP_INFO = 16,	/* struct fmt_snap_info (memory snapshots) */
	FMT_SEC_TRACES = 17,	/* count x (fmt_trace + frames) */
	/* fmt_timeline + count x fmt_timeline_sample (snapshots; older
	 * files have none, older readers skip it) */
	FMT_SEC_TIMELINE = 20,
	FMT_SEC_SIZES = 24,	/* count x fmt_size_bucket (memory snapshots) */
	FMT_SEC_END = 0x454e44,	/* "END": count = sections before it */
};

struct fmt_section {
	uint32_t type;		/* enum fmt_section_type */
	uint32_t count;		/* records in the payload, by type */
	uint64_t size;		/* payload bytes, excluding padding */
};

#define FMT_PROGRAM_MAX 256
#define FMT_LABEL_MAX 64

enum fmt_meta_flags {
	FMT_META_CLOCK_TSC = 1u << 0,	/* ticks are TSC cycles, else ns */
};

struct fmt_meta {
	uint64_t pid;
	uint64_t ppid;
	uint64_t start_unix_ns;		/* when the runtime started */
	uint64_t end_unix_ns;		/* when this file was written */
	uint64_t elapsed_ticks;		/* between the two, in clock ticks */
	double ns_per_tick;		/* converts every *_ticks field */
	/* Per-call hook overhead measured at start-up (see instrument/):
	 * inner lands in the callee's own time, outer in its caller's. */
	double overhead_inner_ticks;
	double overhead_outer_ticks;
	uint64_t dropped_nodes;		/* calls not recorded: tree full */
	uint64_t dropped_frames;	/* calls past the shadow-stack depth */
	uint64_t mismatched_exits;	/* exits without their entry (longjmp) */
	uint32_t flags;			/* enum fmt_meta_flags */
	uint32_t nthreads;
	char program[FMT_PROGRAM_MAX];	/* /proc/self/exe, NUL-terminated */
	char label[FMT_LABEL_MAX];	/* snapshots: "exit", "signal", ... */
	uint64_t seq;			/* snapshots: 1, 2, ... */
	uint64_t skipped_reentrant;	/* calls made by a signal handler that
					 * interrupted a hook: not recorded */
	/* A forked child: 1 + the index, in its first thread, of the
	 * innermost call it inherited open from its parent (the path from
	 * the root to it was entered in the parent: each of those nodes
	 * holds one call the parent counts too). 0: none (older files). */
	uint64_t inherited_node;
	/* The part of overhead_*_ticks measured in the run itself by the
	 * hooks' in-band probes (over what the calibration loop saw); 0:
	 * none (CPROF_PROBE=0, too few calls, older files). */
	double probe_inner_ticks;
	double probe_outer_ticks;
};

/*
 * Memory snapshots (preload/): FMT_SEC_SNAP_INFO holds one fmt_snap_info;
 * FMT_SEC_TRACES holds count x (fmt_trace + nframes x uint64_t return
 * addresses, innermost first). Counters are read without stopping the
 * program's threads: each is exact, a sum over them may be mid-update
 * when threads allocate while the snapshot is written.
 */
#define FMT_FRAMES_MAX 256

struct fmt_snap_info {
	uint64_t current_bytes;		/* traced bytes live now */
	uint64_t current_blocks;
	uint64_t peak_bytes;		/* highest current_bytes since start or reset */
	uint64_t peak_ns;		/* when, in ns after start_unix_ns */
	uint64_t total_bytes;		/* allocated since start (realloc: new size) */
	uint64_t total_blocks;		/* allocation calls that succeeded */
	uint64_t total_frees;		/* frees of traced blocks */
	uint64_t dropped_allocs;	/* allocations not traced: live table full */
	uint64_t dropped_traces;	/* allocations filed without a stack: trace table full */
	uint64_t untraced_frees;	/* frees of blocks never seen (before start-up, reentered) */
	uint32_t max_frames;		/* CPROF_FRAMES of the run */
	uint32_t ntraces;
	uint64_t corrupt_headers;	/* of untraced_frees: blocks whose header the program overwrote */
	/* Stacks the shim's own walk (CPROF_UNWIND=cfi, auto) left to
	 * libunwind: a signal frame, code without CFI (0 in older files). */
	uint64_t libunwind_stacks;
	uint64_t reserved[2];
};

struct fmt_trace {
	uint64_t live_bytes;
	uint64_t live_blocks;
	uint64_t total_bytes;
	uint64_t total_blocks;
	uint32_t nframes;		/* <= FMT_FRAMES_MAX; 0: stack unknown */
	uint32_t gen;			/* load generation when first seen (see fmt_module) */
	/* FMT_FEAT_TRACE_TOTALS from here on. Allocations whose thread's
	 * next allocation, free or realloc was their own free (or realloc):
	 * heaptrack's "temporary", per thread and by address. */
	uint64_t temporary_blocks;
	/* FMT_FEAT_TRACE_PEAK: live when the process's traced bytes were
	 * last at their peak (fmt_snap_info.peak_bytes). */
	uint64_t peak_bytes;
	uint64_t peak_blocks;
	uint64_t reserved;
	/* followed by nframes uint64_t return addresses */
};

/*
 * Memory over time (FMT_SEC_TIMELINE): the process's traced bytes and
 * RSS sampled by the helper thread every interval_ns, plus one sample
 * when each snapshot is written. Bounded: when the store is full every
 * other sample is dropped and the interval doubles (decimations counts
 * that), so interval_ns = base_interval_ns << decimations. Samples are
 * in time order (t_ns never decreases).
 */
#define FMT_TIMELINE_MAX 4096

struct fmt_timeline {
	uint64_t interval_ns;		/* between samples now */
	uint64_t base_interval_ns;	/* CPROF_TIMELINE */
	uint32_t nsamples;		/* = the section's count */
	uint32_t decimations;
	uint64_t reserved[2];
};

struct fmt_timeline_sample {
	uint64_t t_ns;			/* after fmt_meta.start_unix_ns */
	uint64_t traced_bytes;		/* fmt_snap_info.current_bytes then */
	uint64_t rss_bytes;		/* /proc/self/statm's resident pages */
};

/* A trace record of files without FMT_FEAT_TRACE_TOTALS. */
struct fmt_trace_v1 {
	uint64_t live_bytes;
	uint64_t live_blocks;
	uint64_t total_bytes;
	uint64_t total_blocks;
	uint32_t nframes;
	uint32_t gen;
};

/*
 * FMT_SEC_SIZES: the allocation-size histogram of a memory snapshot, one
 * fmt_size_bucket per power-of-two bucket of the requested size, record k
 * for bucket k: bucket 0 holds size 0, bucket k >= 1 the sizes in
 * [2^(k-1), 2^k - 1] (fmt_size_bucket_of), up to bucket 63 for sizes
 * below 2^63. count <= FMT_SIZE_BUCKETS;
 * buckets past count are empty. Counted as fmt_snap_info's totals are: a
 * realloc is an allocation of its new size and frees the old block from
 * its own bucket. Older files have no such section (no feature bit: a
 * reader that does not know a section type passes over it).
 */
#define FMT_SIZE_BUCKETS 64

struct fmt_size_bucket {
	uint64_t total_blocks;		/* allocation calls over the run */
	uint64_t total_bytes;		/* their requested bytes */
	uint64_t live_blocks;		/* of those, live at the snapshot */
	uint64_t live_bytes;
};

/* The bucket of a requested size below 2^63 (malloc refuses more than
 * PTRDIFF_MAX): 0 for 0, else its bit length (1 for size 1, 5 for 16..31,
 * 13 for 4096..8191). Two instructions, lea and bsr, without a branch:
 * the malloc shim counts every allocation and free with it. */
static inline unsigned fmt_size_bucket_of(uint64_t size)
{
	return 63u - (unsigned)__builtin_clzll(size << 1 | 1);
}

/* The smallest and the largest size of bucket k (< FMT_SIZE_BUCKETS). */
static inline uint64_t fmt_size_bucket_min(unsigned k)
{
	return k ? 1ull << (k - 1) : 0;
}

static inline uint64_t fmt_size_bucket_max(unsigned k)
{
	return (1ull << k) - 1;
}

#define FMT_BUILD_ID_MAX 32

struct fmt_module {
	uint64_t start;		/* lowest mapped address of its PT_LOADs */
	uint64_t end;		/* one past the highest */
	uint64_t bias;		/* load bias: runtime address - ELF vaddr */
	uint16_t build_id_len;
	uint16_t path_len;	/* bytes of path that follow, no NUL */
	/* 0: loaded when the file was written. Else unloaded by dlclose(),
	 * as the load generation (the count of dlclose()s that unloaded
	 * something, this one included) became this value: a node or trace
	 * of generation g lies in the module covering its address with the
	 * smallest unload_gen > g, or else the loaded one. Another library
	 * may have been mapped at the same address before or after. */
	uint32_t unload_gen;
	uint8_t build_id[FMT_BUILD_ID_MAX];
};

#define FMT_THREAD_NAME_MAX 16

struct fmt_thread {
	uint64_t tid;
	char name[FMT_THREAD_NAME_MAX];
	uint64_t nnodes;	/* fmt_node records that follow */
};

/*
 * One calling-context-tree node: a function reached by one call path.
 * Node 0 is the root (fn 0); every other node's parent has a smaller
 * index, which is what lets a reader rule out cycles in one pass.
 */
struct fmt_node {
	uint64_t fn;		/* runtime address of the function's entry */
	uint32_t parent;
	uint32_t gen;		/* load generation when made (see fmt_module) */
	uint64_t calls;
	uint64_t incl_ticks;	/* inclusive time of these activations */
	uint64_t self_ticks;	/* minus the inclusive time of children */
};

/* ---- writing (runtimes) ---- */

#define FMT_WRITER_BUF 65536

/*
 * A file being written: to "DIR/.NAME.tmpPID" opened O_EXCL|O_NOFOLLOW,
 * renamed over DIR/NAME by fmt_writer_commit(). The caller provides the
 * storage (runtimes keep it static: a hook may not malloc).
 */
struct fmt_writer {
	int fd;
	int failed;		/* errno of the first failure, 0 if none */
	uint64_t offset;	/* bytes written to fd so far + buffered */
	uint64_t section_at;	/* file offset of the open section header */
	uint32_t nsections;
	uint32_t in_section;
	size_t used;
	char tmp_path[PATH_MAX];
	char final_path[PATH_MAX];
	unsigned char buf[FMT_WRITER_BUF];
};

/*
 * Creates DIR (one level, mode 0755) if missing and opens the temporary
 * file. Returns 0, or -1 with errno set (w->final_path names the file).
 * Async-signal-unsafe only in that it may block on the file system.
 */
int fmt_writer_open(struct fmt_writer *w, const char *dir, const char *name,
		    enum fmt_kind kind, uint32_t features);
void fmt_writer_begin(struct fmt_writer *w, enum fmt_section_type type, uint32_t count);
void fmt_writer_put(struct fmt_writer *w, const void *data, size_t len);
/* Patches the section's size; pads the payload to 8 bytes. */
void fmt_writer_end(struct fmt_writer *w);
/* Adds the END section, fsyncs, renames. 0, or -1 with errno set and
 * the temporary file removed. */
int fmt_writer_commit(struct fmt_writer *w);
/* v in decimal into out (at least 21 bytes), without stdio: file names
 * are made inside hooks and after fork. */
void fmt_decimal(char *out, uint64_t v);
/* Gives up: closes and removes the temporary file. */
void fmt_writer_abort(struct fmt_writer *w);

/* ---- reading (reporter) ---- */

/*
 * A whole file read into memory and checked section by section. Sections
 * point into data. Caller frees with fmt_file_close().
 */
struct fmt_file_section {
	uint32_t type;
	uint32_t count;
	uint64_t size;
	const unsigned char *payload;
};

struct fmt_file {
	const char *path;
	unsigned char *data;
	size_t size;
	struct fmt_header header;
	struct fmt_file_section *sections;
	size_t nsections;
};

/*
 * Reads and validates the container (magic, version, features, section
 * bounds, END). On failure returns -1 and writes one line into err
 * (without "cprof: "), naming the file.
 */
int fmt_file_open(struct fmt_file *f, const char *path, char *err, size_t errlen);
/* The same checks on a buffer the caller malloc'ed (fuzzing, tests):
 * takes ownership of data, freed by fmt_file_close() or on failure. */
int fmt_file_parse(struct fmt_file *f, unsigned char *data, size_t size, const char *path,
		   char *err, size_t errlen);
void fmt_file_close(struct fmt_file *f);
/* First section of the type, or NULL. */
const struct fmt_file_section *fmt_file_find(const struct fmt_file *f, uint32_t type);
const char *fmt_kind_name(uint32_t kind);

#endif
