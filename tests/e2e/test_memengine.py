#!/usr/bin/env python3
"""
The memory engine's edge cases (tests/progs/mem_engine.c) under the
malloc shim, with in-band headers (the default) and with CPROF_HEADERS=0
(the live table only), each figure exact: foreign blocks from
__libc_malloc freed and realloc'ed through the shim, the aligned family,
realloc chains with their contents checked, malloc_usable_size, calloc's
zeroes, frees across threads and from a signal handler, current and peak
between the phases of 16 threads, the current total while rooms are taken
back from threads updating them, a forked child freeing its parent's
blocks, overwritten headers, and unshare(CLONE_NEWUSER).
Env: O=build dir (default build). Exit 0 when every check passes.
"""
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cprof_e2e import BUILD, CPROF, MALLOC_LIB, ROOT, Checks, marker_line, prog, skip  # noqa: E402

LIB = MALLOC_LIB
SRC = os.path.join(ROOT, "tests", "progs", "mem_engine.c")
TIMEOUT = 120
c = Checks()
TMP = tempfile.mkdtemp(prefix="cprof-memengine-")


def line_of(marker):
    return marker_line(SRC, marker)


def eq(got, want, what):
    if got != want:
        raise AssertionError("%s: expected %r, got %r" % (what, want, got))


class Run:
    """mem_engine MODE under the shim; its snapshots by label, per pid."""

    def __init__(self, mode, env=None, argv=None, lib=LIB):
        self.dir = tempfile.mkdtemp(prefix=mode + "-", dir=TMP)
        e = dict(os.environ, LD_PRELOAD=lib, CPROF_OUTPUT=self.dir, **(env or {}))
        p = subprocess.run(argv or [prog("mem_engine"), mode], env=e, capture_output=True,
                           text=True, timeout=TIMEOUT)
        self.status, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr
        fails = [l for l in p.stdout.splitlines() if l.startswith("FAIL")]
        if p.returncode != 0 or fails:
            raise AssertionError("mem_engine %s: exit %d, %s %s" % (mode, p.returncode, fails,
                                                                    p.stderr[-500:]))

    def snap(self, label):
        """(site line -> (size, count, allocated_count), snapshot info) of the one
        snapshot with that label."""
        found = []
        for f in sorted(os.listdir(self.dir)):
            p = subprocess.run([CPROF, "stats", os.path.join(self.dir, f), "--json", "--limit",
                                "0"], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
            if p.returncode != 0:
                raise AssertionError("cprof stats %s: %s" % (f, p.stderr))
            d = json.loads(p.stdout)
            if d["snapshot"]["label"] == label:
                found.append(d)
        eq(len(found), 1, "snapshots labelled %r" % label)
        d = found[0]
        self.entries = d["entries"]
        own = {e["line"]: (e["size"], e["count"], e["allocated_count"])
               for e in d["entries"] if e["file"] == "tests/progs/mem_engine.c"}
        return own, d["snapshot"]


MODES = (("headers", {}), ("table", {"CPROF_HEADERS": "0"}))


def foreign():
    for name, env in MODES:
        own, s = Run("foreign", env).snap("foreign")
        eq(own, {line_of("SITE_FOREIGN_REALLOC"): (1500, 5, 5)}, name + ": sites")
        # 5 frees and 5 reallocs of blocks the shim never saw.
        eq((s["untraced_frees"], s["corrupt_headers"], s["traced_count"]), (10, 0, 5),
           name + ": untraced frees")


def aligned():
    for name, env in MODES:
        r = Run("aligned", env)
        own, s = r.snap("aligned")
        want = {line_of("SITE_AL_POSIX"): (400, 4, 4), line_of("SITE_AL_ALIGNED"): (2048, 4, 4),
                line_of("SITE_AL_MEMALIGN"): (4000, 4, 4), line_of("SITE_AL_VALLOC"): (20000, 4, 4),
                line_of("SITE_AL_PVALLOC"): (20000, 4, 4)}
        plain = [k for k in own if k not in want]
        eq(len(plain), 1, name + ": one plain malloc site beside the aligned ones")
        want[plain[0]] = (160, 4, 8)
        eq(own, want, name + ": 'aligned' sites")
        own, s = r.snap("after")
        eq(own, {line_of("SITE_AL_REALLOC"): (10000, 1, 1)}, name + ": 'after' sites")
        eq((s["untraced_frees"], s["traced_size"]), (0, 10000), name + ": untraced, traced")


def chain_sizes():
    return [(i % 97) * 53 + (300000 if i % 400 == 399 else 0) + 1 for i in range(2000)]


def chain():
    sizes = chain_sizes()
    for name, env in MODES:
        r = Run("chain", env)
        own, s = r.snap("chain")
        eq(own, {line_of("SITE_CHAIN"): (sizes[-1], 1, 2000)}, name + ": 'chain' site")
        eq((s["allocated_size"], s["freed_count"], s["untraced_frees"]),
           (sum(sizes), 1999, 0), name + ": allocated bytes, frees")
        own, s = r.snap("zero")
        eq((own, s["traced_size"], s["freed_count"]), ({}, 0, 2000), name + ": after realloc(p, 0)")


def usable():
    """The real usable size less the header's 16 bytes: glibc's own answer
    for n > 8 (n <= 8: 24 - 16 = 8); with headers off, glibc's for all."""
    plain = subprocess.run([prog("mem_engine"), "usable"], capture_output=True, text=True,
                           timeout=TIMEOUT).stdout.split()
    for name, env in MODES:
        got = Run("usable", env).stdout.split()
        want = ["%d:8" % n if name == "headers" and n <= 8 else plain[n] for n in range(1025)]
        eq(len(got), 1025, name + ": sizes printed")
        bad = [(w, g) for w, g in zip(want, got) if w != g]
        eq(bad, [], name + ": malloc_usable_size (want, got)")


def xthread():
    for name, env in MODES:
        r = Run("xthread", env)
        own, s = r.snap("xthread")
        eq(own, {}, name + ": every block freed by the other thread")
        # Besides the 40000: what pthread_create keeps (the threads' DTVs).
        other = sum(e["allocated_count"] for e in r.entries)
        eq((s["allocated_count"] - other, s["freed_count"], s["untraced_frees"]),
           (40000, 40000, 0), name + ": allocations, frees, untraced frees")


def rooms():
    """Current and peak to the byte between the phases of 16 threads (the
    program checks each itself with cprof_traced_memory): every thread's
    room is taken back when the peak may move."""
    for name, env in MODES:
        r = Run("rooms", env)
        oks = [l for l in r.stdout.splitlines() if l.startswith("ok ")]
        eq(len(oks), 18, name + ": checks passed (9 a generation, the forked child's included)")


def zeroed():
    """calloc's blocks are zero to the last byte, each asked for right after
    a dirty block of its size was freed: large ones come back to calloc,
    small ones wait in malloc's per-thread cache (glibc 2.36's calloc
    skips it)."""
    for name, env in MODES:
        eq([l for l in Run("zeroed", env).stdout.splitlines() if l.startswith("ok ")],
           ["ok zeroed: every calloc'd byte is 0"], name)


def modes_and_libs(libs):
    """Each mode with the usual shim, then each with each (name, lib) of libs."""
    return ([(name, env, LIB) for name, env in MODES] +
            [(name + ", " + what, env, lib) for what, lib in libs for name, env in MODES])


def shim_built_with(name, cflags):
    out = os.path.join(TMP, name)
    subprocess.run(["make", "--no-print-directory", "-s", "O=" + out, "CFLAGS=" + cflags,
                    out + "/lib/libcprof-malloc.so"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=300)
    return out + "/lib/libcprof-malloc.so"


def race():
    """4 threads allocate, realloc and free while one resets the peak every
    64 steps, so rooms are taken back while their owners update them: the
    current total comes back to the byte. The usual shim asks the owners
    for their rseq rooms and mostly gets them (see preload/current.c); it
    runs again built to give rseq rooms only and to take every room by
    force at once (a store may then land after the exchange), and to give
    rseq rooms only and wait for the owners as usual. A run is short and
    a store lands late in few of them: 10 runs each. The shim must
    register membarrier's rseq command where the kernel has it."""
    libs = [("rseq rooms only, taken by force",
             shim_built_with("forced", "-DRSEQ_ROOM_MIN_NS=0 -DASK_WAIT_NS=0")),
            ("rseq rooms only, asked for", shim_built_with("rseq-only", "-DRSEQ_ROOM_MIN_NS=0"))]
    for (name, env, lib), run in itertools.product(modes_and_libs(libs), range(10)):
        out = Run("race", env, lib=lib).stdout.splitlines()
        eq([l for l in out if l.startswith("ok race: current")],
           ["ok race: current 0 bytes over the base after all is freed (want 0)"],
           "%s, run %d" % (name, run + 1))
        skipped = [l[len("skip race: "):] for l in out if l.startswith("skip race")]
        if skipped:
            skip("race, %s: rooms by rseq (%s)" % (name, skipped[0]))
        else:
            eq([l for l in out if "registered" in l],
               ["ok race: membarrier's rseq command registered"], name + ": rooms by rseq")


def signal_frees():
    """With headers, a handler's free is counted even when it lands inside
    a hook. The live table cannot be locked there (the hook may hold the
    shard): such a free leaves its entry behind, counted live, as before."""
    site = line_of("SITE_SIG")
    own, s = Run("signal").snap("signal")
    eq(own, {}, "headers: every block freed (3000 by the handler or main)")
    eq((s["untraced_frees"], s["dropped_allocs"]), (0, 0), "headers: untraced, dropped")
    own, s = Run("signal", MODES[1][1]).snap("signal")
    if site in own and (own[site][2] != 3000 or own[site][1] >= 3000):
        raise AssertionError("table: SITE_SIG %r, expected 3000 allocated" % (own[site],))


def fork_frees():
    for name, env in MODES:
        r = Run("fork", env)
        own, s = r.snap("child")
        eq(own, {line_of("SITE_CHILD"): (640, 10, 10)}, name + ": the child's sites")
        eq((s["freed_count"], s["untraced_frees"], s["allocated_count"] >= 110),
           (s["allocated_count"] - 10, 0, True), name + ": the parent's 100 freed by the child")
        own, s = r.snap("parent")
        eq(own, {line_of("SITE_PARENT"): (10000, 100, 100)}, name + ": the parent's sites")


def corrupt():
    r = Run("corrupt")
    own, s = r.snap("corrupt")
    # Two of three SITE_CORRUPT blocks and the realloc'ed one had their
    # header overwritten: counted, their bytes left live where they were.
    eq({k: v[:2] for k, v in own.items()},
       {line_of("SITE_CORRUPT"): (128, 2), line_of("SITE_CORRUPT_OLD"): (50, 1),
        line_of("SITE_CORRUPT_REALLOC"): (200, 1)}, "sites (size, count)")
    eq((s["corrupt_headers"], s["untraced_frees"], s["allocated_count"], s["freed_count"]),
       (3, 3, 5, 1), "overwritten headers, untraced frees, allocations, frees")
    text = subprocess.run([CPROF, "stats", os.path.join(r.dir, sorted(os.listdir(r.dir))[0])],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT).stdout
    if not re.search(r"^Overwritten: 3 blocks freed with their cprof header overwritten", text,
                     re.M):
        raise AssertionError("cprof stats does not say so:\n" + text)


def unshare():
    """The helper steps aside for unshare(CLONE_NEWUSER) and comes back at
    the next hook; util-linux's unshare -U works under the shim too."""
    plain = subprocess.run([prog("mem_engine"), "unshare"], capture_output=True, text=True,
                           timeout=TIMEOUT)
    if not plain.stdout.startswith("unshare 0 ok"):
        raise AssertionError("unshare(CLONE_NEWUSER) fails here even without cprof (user "
                             "namespaces disabled?): " + plain.stdout)
    # The helper runs for CPROF_INTERVAL (60 s: none is due).
    r = Run("unshare", {"CPROF_INTERVAL": "60"})
    eq(r.stdout.splitlines()[0], "unshare 0 ok threads 2 2",
       "unshare succeeds; threads before it (program + helper) and after the next malloc")
    own, s = r.snap("unshare")
    eq(own, {line_of("SITE_UN_BEFORE"): (100, 1, 1), line_of("SITE_UN_AFTER"): (200, 1, 1)},
       "sites")
    eq(r.snap("signal")[1]["seq"], 1, "the signal snapshot, written by the restarted helper")
    # By default a single-threaded program has no helper to step aside.
    r = Run("unshare")
    eq(r.stdout.splitlines()[0], "unshare 0 ok threads 1 1", "unshare, no helper")
    eq(r.snap("signal")[1]["seq"], 1, "the signal snapshot, written by the handler")
    d = tempfile.mkdtemp(dir=TMP)
    p = subprocess.run(["unshare", "-U", "-r", "id", "-u"], capture_output=True, text=True,
                       timeout=TIMEOUT, env=dict(os.environ, LD_PRELOAD=LIB, CPROF_OUTPUT=d))
    eq((p.returncode, p.stdout, p.stderr), (0, "0\n", ""), "unshare -U -r id -u under the shim")


def helper_threads():
    """A single-threaded program gets no helper (test_timeline.py has the
    multi-threaded side); with CPROF_INTERVAL a forked child has none
    until its first hook."""
    def counts(env=None):
        return [l for l in Run("threads", env).stdout.splitlines() if not l.startswith("ok ")]
    eq(counts(), ["parent 1", "child 1 1"], "threads: parent; child before/after malloc")
    eq(counts({"CPROF_INTERVAL": "60"}), ["parent 2", "child 1 2"],
       "threads with interval snapshots")
    eq(counts({"CPROF_SNAPSHOT_SIGNAL": "none", "CPROF_TIMELINE": "0", "CPROF_INTERVAL": "60"}),
       ["parent 2", "child 1 2"], "the interval alone keeps one")


CCT_SRC = "tests/progs/mem_cct.c"
INSTRUMENT = os.path.join(BUILD, "lib", "libcprof-instrument.so")


def cct_line(marker, src=CCT_SRC):
    with open(os.path.join(ROOT, src)) as f:
        for n, text in enumerate(f, 1):
            if "/* %s */" % marker in text:
                return n
    raise AssertionError("no %r in %s" % (marker, src))


def cct_run(unwind, preload, frames="16", name="mem_cct", env=None, compiler="gcc", info=None,
            exe=None):
    """mem_cct's exit snapshot: [(size, count, traceback)], each frame
    (file, line, function, inlined), innermost first; and its stderr.
    info: a dict that gets the snapshot's own fields; exe: another build
    of it to run."""
    d = tempfile.mkdtemp(prefix="cct-", dir=TMP)
    e = dict(os.environ, LD_PRELOAD=preload, CPROF_OUTPUT=d, CPROF_UNWIND=unwind,
             CPROF_FRAMES=frames, **(env or {}))
    p = subprocess.run([exe or prog(name, compiler)], env=e, capture_output=True, text=True,
                       timeout=TIMEOUT)
    eq((p.returncode, p.stdout), (0, "done\n"), "%s under CPROF_UNWIND=%s" % (name, unwind))
    snaps = [f for f in os.listdir(d) if f.endswith(".snap")]
    eq(len(snaps), 1, "snapshots")
    q = subprocess.run([CPROF, "stats", os.path.join(d, snaps[0]), "--json", "--by", "traceback",
                        "--limit", "0"], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    if q.returncode != 0:
        raise AssertionError("cprof stats: " + q.stderr)
    out = []
    if info is not None:
        info.update(json.loads(q.stdout)["snapshot"])
    for en in json.loads(q.stdout)["entries"]:
        # An address without a symbol moves with the library's load address.
        tb = tuple((f["file"], f["line"], "?" if f["function"].startswith("0x") else f["function"],
                    f["inlined"]) for f in en["traceback"])
        out.append((en["size"], en["count"], tb))
    return sorted(out), p.stderr


def cct_tracebacks():
    """CPROF_UNWIND=cct takes the instrumented frames from the call
    runtime's shadow stack, file:line for file:line as libunwind finds
    them, and ends at the outermost instrumented frame; where the shadow
    stack cannot vouch for the caller (qsort calling back, strdup inside
    libc, a signal handler) the stack is unwound, as in libunwind mode."""
    both = LIB + ":" + INSTRUMENT
    cct, err = cct_run("cct", both)
    unw, _ = cct_run("libunwind", both)
    eq(err, "", "stderr under cct")

    def fr(fn, marker, inlined=False):
        return (CCT_SRC, cct_line(marker), fn, inlined)
    main_l1 = fr("main", "CALL_LEVEL1")
    want = {
        480: (10, (fr("level3", "SITE_CHAIN"), fr("level2", "CALL_LEVEL3"),
                   fr("level1", "CALL_LEVEL2"), main_l1)),
        60: (1, (fr("level2", "SITE_CALLOC"), fr("level1", "CALL_LEVEL2"), main_l1)),
        70: (1, (fr("level1", "SITE_REALLOC"), main_l1)),
        90: (1, (fr("deep", "SITE_DEEP"),) + (fr("deep", "CALL_DEEP"),) * 15),
        110: (1, (fr("inlined_alloc", "SITE_INLINE", True), fr("has_inlined", "CALL_INLINE"),
                  fr("main", "CALL_HAS_INLINED"))),
        170: (1, (fr("thread_alloc", "SITE_THREAD"), fr("thread_main", "CALL_THREAD"))),
        190: (1, (fr("leaf_site", "SITE_TWICE"), fr("twice", "CALL_TWICE_A"),
                  fr("main", "CALL_TWICE"))),
        210: (1, (fr("leaf_site", "SITE_TWICE"), fr("twice", "CALL_TWICE_B"),
                  fr("main", "CALL_TWICE"))),
    }
    by_size = {size: (count, tb) for size, count, tb in cct}
    eq(len(by_size), len(cct), "distinct sizes")
    eq({k: by_size.get(k) for k in want}, want, "cct tracebacks of instrumented sites")
    unw_by = {size: (count, tb) for size, count, tb in unw}
    for size, (count, tb) in want.items():
        ucount, utb = unw_by[size]
        eq((ucount, utb[:len(tb)]), (count, tb), "libunwind's innermost frames, %d-byte site" % size)
        eq([f for f in utb[len(tb):] if f[0] == CCT_SRC], [],
           "libunwind's frames beyond cct's (none of them instrumented), %d-byte site" % size)
    # Everything else (libc's own blocks, the fallbacks) exactly as libunwind's.
    eq([e for e in cct if e[0] not in want], [e for e in unw if e[0] not in want],
       "the other sites, unwound")
    fallbacks = {130: fr("sorts", "CALL_QSORT"), 20: fr("dups", "SITE_STRDUP"),
                 150: fr("main", "CALL_RAISE")}
    for size, frame in fallbacks.items():
        if frame not in by_size[size][1]:
            raise AssertionError("%d-byte site: %r not in its traceback %r" %
                                 (size, frame, by_size[size][1]))
    # Deeper than the kept read (16): read whole each time, 64 through the
    # deep capture path.
    for frames in ("32", "64"):
        deep = {size: tb for size, _, tb in cct_run("cct", both, frames)[0]}[90]
        udeep = {size: tb for size, _, tb in cct_run("libunwind", both, frames)[0]}[90]
        want_deep = ((fr("deep", "SITE_DEEP"),) + (fr("deep", "CALL_DEEP"),) * 20 +
                     (fr("main", "CALL_DEEP_MAIN"),))
        eq((deep, udeep[:len(want_deep)]), (want_deep, want_deep),
           "the 90-byte site with CPROF_FRAMES=%s (cct, libunwind's innermost)" % frames)
    auto, _ = cct_run("auto", both)
    eq(auto, cct, "auto with the call runtime loaded: cct")
    alone, err = cct_run("cct", LIB)
    eq(alone, cct_run("libunwind", LIB)[0], "cct without the call runtime: libunwind's stacks")
    eq(err, "cprof: CPROF_UNWIND=cct needs the call runtime (libcprof-instrument.so) loaded too; "
       "using libunwind\n", "stderr without the call runtime")


REUSE_SRC = "tests/progs/mem_cct_reuse.c"


def reuse_fr(fn, marker):
    return (REUSE_SRC, cct_line(marker, REUSE_SRC), fn, False)


REUSE_CHAIN = (reuse_fr("leaf", "SITE_LEAF"), reuse_fr("mid", "CALL_LEAF"))
# Sites whose stacks cct leaves to the unwinder: they go on past main.
UNWOUND = (1700, 1850)
# mem_cct_reuse's sites by bytes: (blocks, the innermost frames).
CCT_REUSE_WANT = {
    500: (5, REUSE_CHAIN + (reuse_fr("via", "CALL_MID"), reuse_fr("main", "CALL_VIA_A"))),
    1000: (5, REUSE_CHAIN + (reuse_fr("via", "CALL_MID"), reuse_fr("main", "CALL_VIA_B"))),
    1250: (5, REUSE_CHAIN + (reuse_fr("via_other", "CALL_MID_OTHER"),
                             reuse_fr("main", "CALL_VIA_OTHER"))),
    2005: (5, (reuse_fr("inner", "SITE_INNER"), reuse_fr("outer", "CALL_INNER"),
               reuse_fr("main", "CALL_OUTER_A"))),
    2050: (5, (reuse_fr("outer", "SITE_OUTER"), reuse_fr("main", "CALL_OUTER_B"))),
    2055: (5, (reuse_fr("inner", "SITE_INNER"), reuse_fr("outer", "CALL_INNER"),
               reuse_fr("main", "CALL_OUTER_B"))),
    1600: (5, (reuse_fr("maybe_jump", "SITE_JUMP"), reuse_fr("jumps", "CALL_JUMP_A"),
              reuse_fr("main", "CALL_JUMPS"))),
    1650: (5, (reuse_fr("maybe_jump", "SITE_JUMP"), reuse_fr("jumps", "CALL_JUMP_B"),
              reuse_fr("main", "CALL_JUMPS"))),
    # UNWOUND under cct too: the two calls jumped over are still on the
    # shadow stack (a cct stack would also lack jumps_over, whose callee
    # plain_alloc has no hooks). 1850: the same after calls checked at an
    # allocation, far below (their slots still hold what they held).
    1700: (5, (reuse_fr("plain_alloc", "SITE_PLAIN"), reuse_fr("jumps_over", "CALL_PLAIN_ALLOC"),
               reuse_fr("main", "CALL_JUMPS_OVER"))),
    1800: (5, (reuse_fr("far_b", "SITE_FAR_B"), reuse_fr("far_a", "CALL_FAR_B"),
               reuse_fr("jumps_far", "CALL_FAR_A"), reuse_fr("main", "CALL_JUMPS_FAR"))),
    1850: (5, (reuse_fr("plain_alloc", "SITE_PLAIN"),
               reuse_fr("jumps_far", "CALL_PLAIN_ALLOC_FAR"), reuse_fr("main", "CALL_JUMPS_FAR"))),
}


def cct_reuse():
    """cct's kept stacks are never another stack's: the same functions at
    the same depths called again from other lines (one differing call
    below two that are the same); a call read for its own block before
    it calls what it called from another line before; a call of the
    same function at the depth a longjmp left behind, from another line;
    and an allocation right after a longjmp over two calls, with no hook
    between, also over calls checked at an allocation whose slots the
    allocation's frames do not reach (both unwound: their stacks go on
    past main). Each site's traceback is libunwind's, file:line for
    file:line, in every round; in counts-only mode too (no entry stamps:
    every stack read whole). Keyed by the site's bytes: five blocks of
    100, 200, 250, 401, 410, 411, 320, 330, 340, 360 and 370."""
    both = LIB + ":" + INSTRUMENT
    want = CCT_REUSE_WANT
    unw = {size: (n, tb) for size, n, tb in cct_run("libunwind", both, name="mem_cct_reuse")[0]}
    for size, (n, tb) in want.items():
        eq((unw[size][0], unw[size][1][:len(tb)]), (n, tb), "libunwind, %d-byte site" % size)
    for env in ({}, {"CPROF_COUNTS_ONLY": "1"}):
        cct, err = cct_run("cct", both, name="mem_cct_reuse", env=env)
        eq(err, "", "stderr under cct %r" % env)
        got = {size: (n, tb) for size, n, tb in cct if size in want}
        for size in UNWOUND:
            eq(len(got[size][1]) > len(want[size][1]), True,
               "the %d-byte site unwound past main %r" % (size, env))
            got[size] = (got[size][0], got[size][1][:len(want[size][1])])
        eq(got, want, "cct tracebacks %r" % env)


def fp_reuse():
    """CPROF_UNWIND=fp on mem_cct_reuse built with frame pointers: the same
    functions at the same depths, in turn called from other lines (frames
    at the same addresses with other return addresses), each site's
    traceback the one the program's lines give. (A walk that reused the
    thread's last walk above a frame it reached again, checking the words
    it had read, failed this when it skipped the return addresses.)"""
    exe = os.path.join(TMP, "mem_cct_reuse-fp")
    subprocess.run(["cc", "-std=gnu11", "-g", "-O2", "-fno-inline", "-fno-ipa-icf",
                    "-fno-omit-frame-pointer", "-fno-optimize-sibling-calls", "-o", exe, REUSE_SRC],
                   cwd=ROOT, check=True, timeout=TIMEOUT)
    got = {size: (n, tb[:len(CCT_REUSE_WANT[size][1])])
           for size, n, tb in cct_run("fp", LIB, name="mem_cct_reuse", exe=exe)[0]
           if size in CCT_REUSE_WANT}
    eq(got, CCT_REUSE_WANT, "fp tracebacks")


def cfi_walk():
    """CPROF_UNWIND=cfi, the default without the call runtime, gives
    libunwind's tracebacks, file:line for file:line, on gcc and clang
    builds: deep recursion, inlined code, qsort's callbacks and strdup
    inside libc, a thread, longjmp, alloca and variable-length arrays
    (rbp-based CFAs) at many depths. Only mem_cct's signal handler, whose
    stack passes the kernel's signal frame, is left to libunwind, and the
    snapshot counts it; in auto mode too, and deeper than the memo."""
    for name, handed in (("mem_cct", 1), ("mem_cct_reuse", 0), ("mem_frames", 0)):
        for compiler in ("gcc", "clang"):
            for frames in ("16", "40"):
                what = "%s (%s), %s frames" % (name, compiler, frames)
                unw_info, cfi_info, auto_info = {}, {}, {}
                unw, err = cct_run("libunwind", LIB, frames, name, compiler=compiler,
                                   info=unw_info)
                eq(err, "", "stderr under libunwind, " + what)
                cfi, err = cct_run("cfi", LIB, frames, name, compiler=compiler, info=cfi_info)
                eq(err, "", "stderr under cfi, " + what)
                auto, _ = cct_run("auto", LIB, frames, name, compiler=compiler, info=auto_info)
                if len(unw) < 5 or not any(len(tb) >= 4 for _, _, tb in unw):
                    raise AssertionError("%s: too few or too short tracebacks: %r" % (what, unw))
                eq(cfi, unw, "tracebacks, cfi against libunwind, " + what)
                eq(auto, unw, "tracebacks, auto against libunwind, " + what)
                eq((unw_info["libunwind_stacks"], cfi_info["libunwind_stacks"],
                    auto_info["libunwind_stacks"]), (0, handed, handed),
                   "stacks left to libunwind (libunwind, cfi, auto), " + what)


for fn in (foreign, aligned, chain, usable, zeroed, xthread, rooms, race, signal_frees, fork_frees,
           corrupt, unshare, helper_threads, cct_tracebacks, cct_reuse, fp_reuse, cfi_walk):
    c.case(fn.__name__, fn)
subprocess.run(["rm", "-rf", TMP])
c.done()
