#!/usr/bin/env python3
"""
The allocation-size histogram (`cprof stats SNAP --sizes`) on
tests/progs/mem_sizes.c, whose allocations between its snapshots "before"
and "after" are known exactly: every bucket of "after" is "before" plus
them, calls, bytes, live blocks and live bytes, in JSON and in text, with
in-band headers and with the live table only; the totals agree with the
snapshot's; `cprof dump` shows the section; the options --sizes refuses;
an older file without the section; heaptrack's size histogram of the same
program. Env: O=build dir (default build). Exit 0 when every check passes.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from heaptrack_view import Heaptrack  # noqa: E402
from cprof_e2e import (Checks, cprof_cmd, dump, eq, have_tool, prog, scratch_dir, shim_snapshots)  # noqa: E402

c = Checks()
TMP = scratch_dir("cprof-sizes-")

# (requested size, calls, of those still live at "after"): mem_sizes.c's
# allocations between its snapshots; a realloc allocates its new size.
EVENTS = [
    (0, 2, 1),
    (24, 1000, 0), (31, 1, 0), (32, 1, 0), (1023, 1, 0), (1024, 1, 0),
    (1, 1, 0), (100, 1, 0), (1000, 1, 0), (100000, 1, 1),  # the realloc chain
    (300, 1, 0),  # calloc(10, 30)
    (200, 1, 1),  # posix_memalign(64, 200)
    (4096, 10, 10),
    (48, 2 * 500, 0), (3000, 2 * 5, 0),  # the two threads
]


def bucket(size):
    """common/format.h: 0 for 0, else the bit length."""
    return size.bit_length()


def histogram(events):
    """bucket -> [calls, bytes, live blocks, live bytes]."""
    h = {}
    for size, calls, live in events:
        b = h.setdefault(bucket(size), [0, 0, 0, 0])
        b[0] += calls
        b[1] += size * calls
        b[2] += live
        b[3] += size * live
    return h


DELTA = histogram(EVENTS)


cprof = cprof_cmd


def run(env=None):
    """mem_sizes under the shim: label -> snapshot path."""
    snaps = shim_snapshots("mem_sizes", TMP, env=env)
    eq(sorted(snaps), ["after", "before", "exit"], "snapshots written")
    return snaps


def sizes_json(path):
    """bucket -> [calls, bytes, live blocks, live bytes], and the whole output."""
    d = json.loads(cprof("stats", path, "--sizes", "--json").stdout)
    h = {}
    for row in d["sizes"]:
        k = bucket(row["min"])
        eq((row["min"], row["max"]), ((1 << k) >> 1, (1 << k) - 1), "bucket %d's range" % k)
        h[k] = [row["allocated_count"], row["allocated_size"], row["count"], row["size"]]
    return h, d


def plus(a, b):
    keys = set(a) | set(b)
    return {k: [x + y for x, y in zip(a.get(k, [0] * 4), b.get(k, [0] * 4))] for k in keys}


SNAPS = {}


def exact(mode, env):
    def check():
        snaps = SNAPS[mode] = run(env)
        before, _ = sizes_json(snaps["before"])
        after, d = sizes_json(snaps["after"])
        eq(after, plus(before, DELTA), "after = before + mem_sizes' allocations")
        # Only glibc's TLS vectors of the two threads come before.
        eq(sum(v[0] for v in before.values()), 2, "calls before")
        exit_h, _ = sizes_json(snaps["exit"])
        eq(exit_h, after, "nothing allocated after 'after'")
        s = d["snapshot"]
        eq((d["allocated_count"], d["allocated_size"], d["count"], d["size"]),
           (s["allocated_count"], s["allocated_size"], s["traced_count"], s["traced_size"]),
           "histogram totals = the snapshot's")
        eq((d["allocated_count"], d["allocated_size"], d["count"], d["size"]),
           tuple(sum(v[i] for v in after.values()) for i in range(4)), "totals = sums of buckets")
    return check


for mode, env in (("headers", {}), ("table", {"CPROF_HEADERS": "0"})):
    c.case("every bucket exact, " + mode, exact(mode, env))


def text():
    path = SNAPS["headers"]["after"]
    lines = cprof("stats", path, "--sizes").stdout.splitlines()
    eq(lines[1], "Allocation sizes (requested bytes; [a, b): a <= size < b), over the run "
       "and live now:", "title")
    eq(lines[2].split(), ["size", "calls", "allocated", "live", "live", "size"], "column heads")
    # Buckets mem_sizes has to itself; the largest count gets the whole bar.
    for want in [
        "0 B                             2        0 B          1        0 B  #",
        "[1 B, 2 B)                      1        1 B          0        0 B  #",
        "[16 B, 32 B)                 1001     23 KiB          0        0 B  " + "#" * 30,
        "[32 B, 64 B)                 1001     47 KiB          0        0 B  " + "#" * 30,
        "[512 B, 1 KiB)                  2    2.0 KiB          0        0 B  #",
        "[4 KiB, 8 KiB)                 10     40 KiB         10     40 KiB  #",
        "[64 KiB, 128 KiB)               1     98 KiB          1     98 KiB  #",
    ]:
        if want not in lines:
            raise AssertionError("no line %r in:\n%s" % (want, "\n".join(lines)))
    # One row per non-empty bucket, the same numbers as JSON.
    h, d = sizes_json(path)
    rows = [l for l in lines if re.match(r"(0 B|\[)", l)]
    eq(len(rows), len(h), "rows")
    calls = [int(r[20:].split()[0]) for r in rows]  # after the 20-column range
    eq(calls, [h[k][0] for k in sorted(h)], "calls per row, smallest bucket first")
    total = "Total: calls=%d, allocated=241 KiB, live=%d, live size=138 KiB" % (
        d["allocated_count"], d["count"])
    eq(lines[-1], total, "total line")


c.case("text rows", text)


def refused():
    path = SNAPS["headers"]["after"]
    for opt in (["--by", "lineno"], ["--peak"], ["--leaks"], ["--sort", "allocated_size"],
                ["--include", "*x.c"], ["--limit", "3"]):
        p = cprof("stats", path, "--sizes", *opt, status=2)
        eq(p.stdout, "", "stdout with " + opt[0])
        eq(p.stderr, "cprof: stats: --sizes is one histogram of every allocation, not by site: "
           "give it without %s\n" % opt[0], "refusal of " + opt[0])
    p = cprof("stats", path, "--sizes", "--timeline", "--json", status=2)
    eq(p.stderr, "cprof: stats: --sizes and --timeline are two views of the snapshot: give one\n",
       "refusal of --sizes with --timeline")
    p = cprof("diff", path, path, "--sizes", status=2)
    if "unknown option '--sizes'" not in p.stderr:
        raise AssertionError("diff --sizes: %r" % p.stderr)


c.case("--sizes with a by-site option is refused in one line", refused)


def dumped():
    d = dump(SNAPS["headers"]["after"])
    sec = next(s for s in d["sections"] if s["name"] == "sizes")
    h, _ = sizes_json(SNAPS["headers"]["after"])
    eq(sec["count"], max(h) + 1, "buckets written: up to the last one used")
    for k, r in enumerate(sec["records"]):
        f = r["fields"]
        eq(r["record"], "fmt_size_bucket", "record name")
        eq((r["min"], r["max"]), ((1 << k) >> 1, (1 << k) - 1), "bucket %d's range" % k)
        eq([f["total_blocks"], f["total_bytes"], f["live_blocks"], f["live_bytes"]],
           h.get(k, [0, 0, 0, 0]), "dumped bucket %d" % k)


c.case("cprof dump shows the sizes section", dumped)


def older_file():
    """The snapshot as an older cprof wrote it: no sizes section. Read by
    every view; --sizes says it has none."""
    path = SNAPS["headers"]["after"]
    data = open(path, "rb").read()
    d = dump(path)
    secs = d["sections"]
    i = next(n for n, s in enumerate(secs) if s["name"] == "sizes")
    cut, nxt = secs[i]["offset"], secs[i + 1]["offset"]
    end = secs[-1]
    eq(end["name"], "end", "last section")
    lay = d["layout"]["fmt_section"]["fields"]["count"]["offset"]
    out = bytearray(data[:cut] + data[nxt:])
    at = end["offset"] - (nxt - cut) + lay
    out[at:at + 4] = (end["count"] - 1).to_bytes(4, "little")
    older = os.path.join(TMP, "older.snap")
    open(older, "wb").write(out)
    eq(json.loads(cprof("stats", older, "--json").stdout)["snapshot"]["allocated_count"],
       json.loads(cprof("stats", path, "--json").stdout)["snapshot"]["allocated_count"],
       "the older file's totals")
    for argv in (["--sizes"], ["--sizes", "--json"]):
        p = cprof("stats", older, *argv, status=1)
        eq(p.stdout, "", "stdout")
        eq(p.stderr, "cprof: '%s': this snapshot has no size histogram (written by an older "
           "cprof; take a new snapshot for --sizes)\n" % older, "refusal")


c.case("older files without a histogram", older_file)


def heaptrack():
    """heaptrack's size histogram (heaptrack_print --print-histogram: one
    line per requested size) of the same program, put in the same buckets:
    the same calls in every bucket, and the same calls and bytes in all,
    less what only one of the two runs has: libstdc++'s emergency pool
    (heaptrack's injected library loads libstdc++), and glibc's TLS
    vectors of the two threads, whose size follows the number of loaded
    libraries (the calls before cprof's "before" snapshot)."""
    if not have_tool("heaptrack"):
        return
    ht = Heaptrack([prog("mem_sizes")], TMP)
    sizes = ht.histogram()
    calls_total = int(ht.total("calls to allocation functions"))
    eq(sum(sizes.values()), calls_total, "heaptrack's histogram against its total")
    pool = sizes.pop(72704, 0)  # libstdc++'s emergency exception pool
    ours, d = sizes_json(SNAPS["headers"]["exit"])
    before, _ = sizes_json(SNAPS["headers"]["before"])
    theirs = {}
    for size, n in sizes.items():
        b = theirs.setdefault(bucket(size), [0, 0])
        b[0] += n
        b[1] += size * n
    eq({k: v[0] for k, v in theirs.items()}, {k: v[0] for k, v in ours.items()},
       "calls per bucket")
    eq(calls_total - pool, d["allocated_count"], "calls in total")
    program = set(s for s, _, _ in EVENTS)
    tls = {s: n for s, n in sizes.items() if s not in program}
    eq(sum(tls.values()), sum(v[0] for v in before.values()), "TLS vectors")
    eq(sum(s * n for s, n in sizes.items()) - sum(s * n for s, n in tls.items()),
       d["allocated_size"] - sum(v[1] for v in before.values()), "bytes in total")
    print("     heaptrack: %d calls (%d without libstdc++'s pool), cprof %d; TLS vectors "
          "%s B with heaptrack, %d B under cprof" % (
              calls_total, calls_total - pool, d["allocated_count"], sorted(tls),
              sum(v[1] for v in before.values())))


c.case("heaptrack agrees", heaptrack)
c.done()
