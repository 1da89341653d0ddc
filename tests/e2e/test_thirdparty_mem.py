#!/usr/bin/env python3
"""
cprof's memory figures against heaptrack's on a real third-party code
base: the SQLite driver of test_thirdparty.py (sqlite_build.py; its
object reused when test_thirdparty.py built it), run once under `cprof
run --no-calls` and once under heaptrack. Exact, in total and per stack
(every frame's function, file and line, down to main): allocation calls,
bytes allocated, the peak, temporaries and what is live at exit. Every
heaptrack stack must be a cprof stack and the reverse, once heaptrack's
own allocation is taken out. The differences, each asserted to the unit:
  - heaptrack's injected library links libstdc++, whose emergency pool
    for exceptions (72,704 B, one malloc from _dl_init, before main) is in
    heaptrack's calls, bytes and peak; the program itself never loads
    libstdc++, and cprof does not see it;
  - heaptrack_print counts that pool as one more temporary: it takes a
    free as temporary when the freed block's allocation record (a size and
    stack, numbered from 0) is the latest allocation's, resets the latest
    to 0 after every free, and the pool is record 0, freed at exit after
    other frees. heaptrack's recorder (heaptrack_interpret) counts by
    address as cprof does, and agrees with cprof;
  - glibc's internal aliases: heaptrack names a libc function by its
    hidden alias (__GI__IO_file_doallocate), cprof by its exported name
    (_IO_file_doallocate), the same address.
Prints the figures ("figure: ...").
Env: O=build dir (default build). Exit 0 when every check passes.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cprof_e2e import CPROF, ROOT, Checks, Run, eq, have_tool, scratch_dir  # noqa: E402
from heaptrack_view import Heaptrack  # noqa: E402
from sqlite_build import EXE, build  # noqa: E402

ROWS, STATIONS = 50000, 16
ARGV = [EXE, str(ROWS), str(STATIONS)]
# Deeper than any stack here (the deepest has 34 frames), so that cprof
# keeps each stack whole, as heaptrack does; the test checks none reached it.
FRAMES = 128
# libstdc++'s emergency exception pool, allocated when heaptrack's
# injected library loads libstdc++: room for 64 exceptions of 1 KiB and 64
# dependent-exception records of 112 B on x86-64 (65,536 + 7,168 B).
POOL = 72704
GLIBC_ALIAS = "__GI_"
c = Checks()
TMP = scratch_dir("cprof-thirdparty-mem-")
facts = {}


def cprof(*args):
    p = subprocess.run([CPROF, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)
    if p.returncode != 0:
        raise AssertionError("cprof %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout


def norm_file(path):
    """Source files below the repository as cprof prints them (relative)."""
    if path and os.path.isabs(path):
        real = os.path.realpath(path)
        if real.startswith(os.path.realpath(ROOT) + os.sep):
            return os.path.relpath(real, os.path.realpath(ROOT))
    return path


def up_to_main(frames):
    """frames (innermost first) down to main, inclusive: heaptrack stops
    there, cprof goes on to _start."""
    out = []
    for f in frames:
        out.append(f)
        if f[0] == "main":
            return out
    return None  # no main: allocated before or after it


def line_key(frames):
    """A stack as both tools print it: (function, file, line) per frame
    (a heaptrack frame's module left out)."""
    return tuple((strip_alias(f[0]), norm_file(f[1]), f[2]) for f in frames)


def cprof_frames(entry):
    return [(f["function"], f["file"] or None, f["line"] if f["file"] else None)
            for f in entry["traceback"]]


def flame_key(entry):
    """entry's stack in heaptrack's flame graph order: from main outwards,
    and within one instruction pointer the inlined function before the
    one it was inlined into (cprof marks the first as "inlined")."""
    ips, ip = [], []
    for f in entry["traceback"]:
        ip.append(strip_alias(f["function"]))
        if not f["inlined"]:
            ips.append(ip)
            ip = []
        if f["function"] == "main":
            break
    return tuple(name for ip in reversed(ips) for name in ip)


def strip_alias(name):
    return name[len(GLIBC_ALIAS):] if name.startswith(GLIBC_ALIAS) else name


def add(table, key, value):
    table[key] = table.get(key, 0) + value


def short(stack):
    """A stack in one line: frames with lines innermost first (a < its
    caller), flame graph names from main outwards (a;callee)."""
    if stack and isinstance(stack[0], tuple):
        return " < ".join("%s:%s" % (f[0], f[2]) for f in stack)
    return ";".join(stack)


def same_per_stack(theirs, ours, what):
    """{stack: figure} from heaptrack and from cprof: the same stacks, the
    same figures; else the differences, counted, the first few shown."""
    only_ht = [k for k in theirs if k not in ours]
    only_cp = [k for k in ours if k not in theirs]
    differ = [k for k in ours if k in theirs and theirs[k] != ours[k]]
    if only_ht or only_cp or differ:
        raise AssertionError(
            "%s: %d stacks only in heaptrack, %d only in cprof, %d with other figures "
            "(heaptrack, cprof); e.g. %s" % (
                what, len(only_ht), len(only_cp), len(differ),
                "; ".join("%r, %r: %s" % (theirs.get(k), ours.get(k), short(k))
                          for k in (only_ht[:2] + only_cp[:2] + differ[:2]))))


RUN = {}


def run_both():
    build(reuse=True)
    plain = subprocess.run(ARGV, capture_output=True, timeout=120)
    eq(plain.returncode, 0, "plain run's exit status (%r)" % plain.stderr[-300:])
    # Memory only: the call runtime changes no allocation (test_thirdparty's
    # valgrind check runs with it), and this keeps the run short.
    run = Run(ARGV, env={"CPROF_FRAMES": str(FRAMES)}, run_args=["--no-calls"])
    eq(run.status, 0, "exit status under cprof (%s)" % run.stderr[-300:])
    eq(run.stdout, plain.stdout, "stdout under cprof")
    snaps = [f for f in os.listdir(run.dir) if f.endswith(".snap")]
    snap = None
    for f in snaps:
        path = os.path.join(run.dir, f)
        d = json.loads(cprof("stats", path, "--json", "--by", "traceback",
                             "--sort", "allocated_count"))
        if d["snapshot"]["label"] == "exit":
            snap, RUN["cprof"] = path, d
    if snap is None:
        raise AssertionError("no exit snapshot among %r" % snaps)
    RUN["cprof_peak"] = json.loads(cprof("stats", snap, "--json", "--by", "traceback", "--peak"))
    s = RUN["cprof"]["snapshot"]
    eq((s["dropped_allocs"], s["dropped_traces"], s["untraced_frees"]), (0, 0, 0),
       "dropped allocations, traces and untraced frees")
    deepest = max(sum(not f["inlined"] for f in e["traceback"]) for e in RUN["cprof"]["entries"])
    if deepest >= FRAMES:
        raise AssertionError("a stack of %d frames reached CPROF_FRAMES=%d: raise it" % (deepest, FRAMES))
    facts["deepest"] = deepest
    ht = RUN["heaptrack"] = Heaptrack(ARGV, TMP)
    if plain.stdout not in ht.stdout:
        raise AssertionError("the program's stdout differs under heaptrack")


def heaptrack_own():
    """Sorts heaptrack's stacks: the program's (through main) and
    heaptrack's own, which must be exactly the libstdc++ pool."""
    ht = RUN["heaptrack"]
    calls = ht.stacks("MOST CALLS TO ALLOCATION FUNCTIONS",
                      r"(\d+) calls to allocation functions with \S+ peak consumption from")
    own = [(int(g[0]), frames) for g, frames in calls if up_to_main(frames) is None]
    eq(len(own), 1, "heaptrack stacks outside main")
    n, frames = own[0]
    eq(n, 1, "calls of heaptrack's stack outside main")
    if "libstdc++" not in (frames[0][3] or "") or "_dl_init" not in [f[0] for f in frames]:
        raise AssertionError("heaptrack's stack outside main is not libstdc++'s, run by _dl_init: %r"
                             % frames)
    RUN["own_names"] = tuple(f[0] for f in reversed(frames))
    # cprof's every stack goes through main: the program's own.
    eq([e["function"] for e in RUN["cprof"]["entries"]
        if up_to_main(cprof_frames(e)) is None], [], "cprof stacks outside main")
    RUN["ht_calls"] = {}
    for g, fr in calls:
        if up_to_main(fr):
            add(RUN["ht_calls"], line_key(up_to_main(fr)), int(g[0]))


def totals():
    ht, s = RUN["heaptrack"], RUN["cprof"]["snapshot"]
    hist = ht.histogram()
    peak_fg = ht.flamegraph("peak")
    leaked_fg = ht.flamegraph("leaked")
    figures = {
        "calls": (int(ht.total("calls to allocation functions")), s["allocated_count"]),
        "bytes": (sum(size * n for size, n in hist.items()), s["allocated_size"]),
        "peak": (sum(peak_fg.values()), s["peak_size"]),
        "temporary": (int(ht.total("temporary memory allocations")), RUN["cprof"]["temporary_count"]),
        "temporary (heaptrack's recorder)": (ht.recorder_stat("temporary allocations"),
                                             RUN["cprof"]["temporary_count"]),
        "live at exit": (sum(leaked_fg.values()), s["traced_size"]),
    }
    facts["totals"] = figures
    facts["heaptrack peak text"] = ht.total("peak heap memory consumption")
    # The pool: one call of POOL bytes, live from before main to the end
    # (so in the peak), freed at exit by heaptrack (so not live at exit).
    eq(hist.get(POOL, 0) >= 1, True, "a %d-byte allocation in heaptrack's histogram" % POOL)
    eq(peak_fg.get(RUN["own_names"]), POOL, "the pool's bytes at heaptrack's peak")
    want = {"calls": 1, "bytes": POOL, "peak": POOL, "temporary": 1,
            "temporary (heaptrack's recorder)": 0, "live at exit": 0}
    eq({k: h - c for k, (h, c) in figures.items()}, want, "heaptrack minus cprof")
    if s["allocated_count"] < 1000 or s["peak_size"] < 1000000:
        raise AssertionError("too little work to compare: %r" % figures)


def calls_per_stack():
    ours = {}
    for e in RUN["cprof"]["entries"]:
        add(ours, line_key(up_to_main(cprof_frames(e))), e["allocated_count"])
    same_per_stack(RUN["ht_calls"], ours, "calls per stack")
    facts["stacks"] = len(ours)


def temporaries_per_stack():
    temps = RUN["heaptrack"].stacks("MOST TEMPORARY ALLOCATIONS",
                                    r"(\d+) temporary allocations of (\d+) allocations in total.*")
    theirs = {}
    for g, fr in temps:
        if up_to_main(fr) is None:  # the pool: heaptrack_print's record 0
            eq((int(g[0]), int(g[1]), tuple(f[0] for f in reversed(fr))), (1, 1, RUN["own_names"]),
               "heaptrack's temporary outside main")
            continue
        add(theirs, line_key(up_to_main(fr)), int(g[0]))
    ours = {}
    for e in RUN["cprof"]["entries"]:
        if e["temporary_count"]:
            add(ours, line_key(up_to_main(cprof_frames(e))), e["temporary_count"])
    same_per_stack(theirs, ours, "temporaries per stack")
    facts["temporary stacks"] = len(ours)


def peak_and_exit_per_stack():
    """Bytes at the peak and live at exit, per stack, exact: from
    heaptrack's flame graph stacks, which name functions without lines."""
    ht = RUN["heaptrack"]
    for what, cost, d in (("at the peak", "peak", RUN["cprof_peak"]),
                          ("live at exit", "leaked", RUN["cprof"])):
        theirs = {k: v for k, v in ht.flamegraph(cost).items() if v}
        theirs = {tuple(strip_alias(n) for n in k): v for k, v in theirs.items()}
        eq(theirs.pop(RUN["own_names"], 0), POOL if cost == "peak" else 0,
           "the pool's bytes " + what)
        ours = {}
        for e in d["entries"]:
            if e["size"]:
                add(ours, flame_key(e), e["size"])
        same_per_stack(theirs, ours, "bytes %s per stack" % what)
        facts["stacks " + what] = len(ours)


if have_tool("heaptrack") and have_tool("heaptrack_print"):
    c.case("run under cprof and heaptrack", run_both)
    if "heaptrack" in RUN:
        for fn in [heaptrack_own, totals, calls_per_stack, temporaries_per_stack,
                   peak_and_exit_per_stack]:
            c.case(fn.__name__, fn)

print("figure: %s %d %d under heaptrack and cprof (CPROF_FRAMES=%d; deepest stack %s frames)"
      % (os.path.basename(EXE), ROWS, STATIONS, FRAMES, facts.get("deepest")))
for what, (h, ours) in facts.get("totals", {}).items():
    print("figure: %s: heaptrack %d, cprof %d" % (what, h, ours))
for k in ("heaptrack peak text", "stacks", "temporary stacks", "stacks at the peak",
          "stacks live at exit"):
    if k in facts:
        print("figure: %s = %r" % (k, facts[k]))
c.done()
