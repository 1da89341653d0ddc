#!/usr/bin/env python3
"""Snapshots of two builds of the malloc shim, field by field.

  python3 bench/snapcmp.py OLD.so NEW.so [O]

Runs the project's memory test programs and bench/memheavy (a mid-run
snapshot of 50,000 live blocks, then exit) under each shim, in every mode
(the default, the cfi walk in builds that have it; CPROF_UNWIND=libunwind;
CPROF_UNWIND=fp with 16 and 1 frames on frame-pointer builds;
CPROF_HEADERS=0; CPROF_UNWIND=cct, with the call runtime found beside
each shim, libcprof-instrument.so, also in counts-only mode), and
compares `cprof stats --json --by traceback`
of each snapshot, sorted by allocation calls so that sites with nothing
live are listed too (matched by program, process rank and SEQ) between the
two. Left out: file names, pids and the peak's time, and whatever differs
between two runs of the OLD shim (threads' timing: mem_threads' peak, always,
mem_fork's churners: only its parent's, children's and after-fork sites
are compared), said per run. Prints one line per comparison; exit 0 when all
are identical. O is the build directory (default build).
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(tmp, o):
    """Frame-pointer copies of the programs (the Makefile builds them without)."""
    progs = {}
    flags = ["-std=gnu11", "-g", "-O2", "-I" + os.path.join(ROOT, "include"), "-lpthread"]
    for name in ("mem_sites", "mem_churn", "mem_threads", "mem_fork", "mem_edge", "mem_cct",
                 "mem_cct_reuse"):
        src = os.path.join(ROOT, "tests/progs", name + ".c")
        progs[name] = os.path.join(o, "tests/progs", name)
        subprocess.run(["cc", src, "-o", os.path.join(tmp, name + "-fp"), "-fno-inline",
                        "-fno-omit-frame-pointer", "-finstrument-functions"] + flags, check=True)
    for suffix, extra in (("", []), ("-fp", ["-fno-omit-frame-pointer"]),
                          ("-instr", ["-finstrument-functions"])):
        subprocess.run(["cc", "-std=gnu11", "-g", "-O2", "-fno-optimize-sibling-calls"] + extra +
                       ["-o", os.path.join(tmp, "memheavy" + suffix),
                        os.path.join(ROOT, "bench/memheavy.c")], check=True)
    return progs


def runs(tmp, progs):
    """(name, argv, env, with the call runtime) of every run, in every mode."""
    heavy = {"MEMHEAVY_SNAPSHOT_AT": "100000"}
    out = []
    cct = {"CPROF_UNWIND": "cct"}
    for mode, env, fp, calls in (("default", {}, False, False),
                                 ("libunwind", {"CPROF_UNWIND": "libunwind"}, False, False),
                                 ("fp16", {"CPROF_UNWIND": "fp"}, True, False),
                                 ("fp1", {"CPROF_UNWIND": "fp", "CPROF_FRAMES": "1"}, True, False),
                                 ("headers0", {"CPROF_HEADERS": "0"}, False, False),
                                 ("cct", cct, False, True),
                                 ("cct-counts", dict(cct, CPROF_COUNTS_ONLY="1"), False, True)):
        for name, path in progs.items():
            exe = os.path.join(tmp, name + "-fp") if fp else path
            args = ["4", "20000"] if name == "mem_churn" else []
            out.append(("%s/%s" % (mode, name), [exe] + args, env, calls))
        exe = os.path.join(tmp, "memheavy-fp" if fp else "memheavy-instr" if calls else "memheavy")
        out.append(("%s/memheavy" % mode, [exe, "200000"], dict(env, **heavy), calls))
    return out


def preload(lib, calls):
    """The shim, and the call runtime of the same build when asked."""
    return lib + ":" + os.path.join(os.path.dirname(lib), "libcprof-instrument.so") if calls else lib


def snapshots(lib, argv, env, outdir, cprof):
    """{(rank of pid, seq): stats json without run-specific fields}."""
    os.makedirs(outdir)
    e = dict(os.environ, LD_PRELOAD=lib, CPROF_OUTPUT=outdir, **env)
    subprocess.run(argv, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, timeout=300)
    files = glob.glob(os.path.join(outdir, "*.snap"))
    pids = sorted({int(os.path.basename(f).split(".")[-3]) for f in files})
    got = {}
    for f in files:
        parts = os.path.basename(f).split(".")
        r = subprocess.run([cprof, "stats", f, "--json", "--by", "traceback",
                            "--sort", "allocated_count"],
                           capture_output=True, text=True, check=True)
        d = json.loads(r.stdout)
        for k in ("file", "pid", "peak_time"):
            d["snapshot"].pop(k, None)
        if os.path.basename(argv[0]).startswith("mem_threads"):
            d["snapshot"].pop("peak_size")	# where 16 threads' peaks meet: timing
        if os.path.basename(argv[0]).startswith("mem_fork"):
            # Its churner threads run by the clock: only the sites the
            # test asserts are the same from run to run.
            d = {"entries": [x for x in d["entries"] if x["function"] in
                             ("parent_alloc", "child_alloc", "after_alloc")]}
        d["entries"].sort(key=lambda x: json.dumps(x, sort_keys=True))
        got[(pids.index(int(parts[-3])), int(parts[-2]))] = d
    return got


def diff(a, b, path=""):
    """The first few differing fields, as 'path: a != b'."""
    if type(a) != type(b):
        return ["%s: %r != %r" % (path, a, b)]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += diff(a.get(k), b.get(k), path + "." + k)
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return ["%s: %d != %d items" % (path, len(a), len(b))]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, "%s[%d]" % (path, i))
        return out
    return [] if a == b else ["%s: %r != %r" % (path, a, b)]


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    old, new = (os.path.abspath(p) for p in sys.argv[1:3])
    o = os.path.abspath(sys.argv[3] if len(sys.argv) == 4 else os.path.join(ROOT, "build"))
    cprof = os.path.join(o, "bin/cprof")
    bad = 0
    with tempfile.TemporaryDirectory(prefix="snapcmp.") as tmp:
        progs = build(tmp, o)
        for name, argv, env, calls in runs(tmp, progs):
            a = snapshots(preload(old, calls), argv, env, os.path.join(tmp, "old", name), cprof)
            again = snapshots(preload(old, calls), argv, env, os.path.join(tmp, "old2", name),
                              cprof)
            b = snapshots(preload(new, calls), argv, env, os.path.join(tmp, "new", name), cprof)
            problems = [] if set(a) == set(b) else ["snapshots %s != %s" % (sorted(a), sorted(b))]
            varies = 0
            for key in sorted(set(a) & set(b)):
                # What differs between two runs of the old shim depends on
                # the run (threads' timing), not on the shim: left out.
                skip = {d.split(":")[0] for d in diff(a[key], again.get(key, {}))}
                varies += len(skip)
                problems += ["%s: %s" % (key, d) for d in diff(a[key], b[key])
                             if not any(d.split(":")[0].startswith(x) for x in skip)]
            nent = sum(len(d["entries"]) for d in a.values())
            what = "every field" if not varies else \
                "every field but %d that differ between two runs of the old shim" % varies
            if problems:
                bad += 1
                print("DIFFER %s (%d snapshots)" % (name, len(a)))
                for p in problems[:10]:
                    print("    " + p)
            else:
                print("same   %s: %d snapshots, %d traces, %s" % (name, len(a), nent, what))
    print("%d of %d runs differ" % (bad, len(runs("", {k: k for k in progs}))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
