#!/usr/bin/env python3
"""
Totals over the run per site (tests/progs/mem_totals.c), each exact:
calls, bytes allocated and temporaries (heaptrack's definition, per
thread) under the malloc shim with in-band headers and with the live
table only; `cprof stats --sort` by each total, with the sites whose
blocks were all freed listed; `cprof diff` of two runs; an older file
(no temporaries) still read; and heaptrack on the same binary.
Env: O=build dir (default build). Exit 0 when every check passes.
"""
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from heaptrack_view import Heaptrack  # noqa: E402
from cprof_e2e import (Checks, ROOT, cprof_cmd, dump, eq, have_tool,  # noqa: E402
                       marker_line, prog, scratch_dir, shim_snapshots)

SRC = os.path.join(ROOT, "tests", "progs", "mem_totals.c")
REL = "tests/progs/mem_totals.c"
N, M, THREADS = 100000, 5000, 4
c = Checks()
TMP = scratch_dir("cprof-totals-")


def line_of(marker):
    return marker_line(SRC, marker)


# site -> (calls, bytes allocated, temporaries, live blocks), the program's own.
CHAIN_BYTES = sum(32 + 16 * i for i in range(100))
WANT = {
    "SITE_PAIR": (N, 32 * N, N, 0),
    "SITE_A": (1000, 24000, 0, 0),
    "SITE_B": (1000, 40000, 0, 0),
    "SITE_CHAIN0": (1, 16, 1, 0),
    "SITE_CHAIN": (100, CHAIN_BYTES, 100, 0),
    "SITE_THREAD": (THREADS * M, 48 * THREADS * M, THREADS * M, 0),
    "SITE_XFER": (1000, 50000, 0, 0),
    "SITE_KEEP": (10, 1000, 0, 10),
}
LINES = {line_of(k): k for k in WANT}


def run(n=N, env=None):
    """mem_totals under the shim: its exit snapshot."""
    snaps = shim_snapshots("mem_totals", TMP, args=(str(n), str(M)), env=env)
    eq(list(snaps), ["exit"], "snapshots written")
    return snaps["exit"]


cprof = cprof_cmd


def own(entries):
    """site -> (calls, bytes, temporaries, live blocks) of mem_totals.c's entries."""
    return {LINES[e["line"]]: (e["allocated_count"], e["allocated_size"], e["temporary_count"],
                               e["count"])
            for e in entries if e["file"] == REL and e["line"] in LINES}


SNAPS = {}


def exact(mode, env):
    def check():
        snap = SNAPS[mode] = run(env=env)
        for sort in ("allocated_size", "allocated_count", "temporary_count"):
            d = json.loads(cprof("stats", snap, "--json", "--sort", sort).stdout)
            eq(d["sort"], sort, "JSON sort")
            eq(own(d["entries"]), WANT, "sites sorted by " + sort)
            key = {"allocated_size": "allocated_size", "allocated_count": "allocated_count",
                   "temporary_count": "temporary_count"}[sort]
            values = [e[key] for e in d["entries"]]
            eq(values, sorted(values, reverse=True), "entries ranked by " + sort)
            eq(d["allocated_count"], sum(e["allocated_count"] for e in d["entries"]),
               "allocated_count total")
            eq(d["temporary_count"], sum(e["temporary_count"] for e in d["entries"]),
               "temporary_count total")
        # Sorted by live size, the sites with nothing live are left out.
        d = json.loads(cprof("stats", snap, "--json").stdout)
        eq(own(d["entries"]), {"SITE_KEEP": WANT["SITE_KEEP"]}, "sites sorted by size")
    return check


for mode, env in (("headers", {}), ("table", {"CPROF_HEADERS": "0"})):
    c.case("totals exact, " + mode, exact(mode, env))


def text_shape():
    out = cprof("stats", SNAPS["headers"], "--sort", "temporary_count").stdout
    want = "%s:%d: size=0 B, count=0, calls=%d, allocated=3.1 MiB, temporary=%d" % (
        REL, line_of("SITE_PAIR"), N, N)
    eq(out.splitlines()[1], want, "first line sorted by temporaries")
    keep = "%s:%d: size=1000 B, count=10, average=100 B, calls=10, allocated=1000 B, temporary=0" % (
        REL, line_of("SITE_KEEP"))
    if keep not in cprof("stats", SNAPS["headers"], "--sort", "allocated_count", "--limit",
                         "0").stdout.splitlines():
        raise AssertionError("no line %r" % keep)
    last = out.splitlines()[-1]
    if not re.fullmatch(r"Total: size=\S+ \S+, count=\d+, calls=\d+, allocated=\S+ \S+, "
                        r"temporary=\d+", last):
        raise AssertionError("total line %r" % last)
    plain = cprof("stats", SNAPS["headers"]).stdout
    if "calls=" in plain or "temporary=" in plain:
        raise AssertionError("totals shown when sorted by size:\n" + plain)


c.case("text shape sorted by a total", text_shape)


def diff():
    small = run(n=1000)
    d = json.loads(cprof("diff", small, SNAPS["headers"], "--json", "--sort",
                         "temporary_count").stdout)
    e = next(e for e in d["entries"] if e["file"] == REL and e["line"] == line_of("SITE_PAIR"))
    eq((e["allocated_count"], e["allocated_count_diff"], e["temporary_count"],
        e["temporary_count_diff"], e["allocated_size_diff"]),
       (N, N - 1000, N, N - 1000, 32 * (N - 1000)), "SITE_PAIR's change")
    eq(d["entries"][0]["line"], line_of("SITE_PAIR"), "largest change first")
    eq(d["temporary_count_diff"], N - 1000, "total temporaries' change")
    text = cprof("diff", small, SNAPS["headers"], "--sort", "allocated_count").stdout
    want = "%s:%d: size=0 B (+0 B), count=0 (+0), calls=%d (+%d), allocated=3.1 MiB (+3.0 MiB), temporary=%d (+%d)" % (
        REL, line_of("SITE_PAIR"), N, N - 1000, N, N - 1000)
    eq(text.splitlines()[1], want, "diff's first line")


c.case("diff shows each total's change", diff)


def older_file():
    """The same snapshot as an older cprof wrote it: shorter trace records,
    no feature bit. Read with temporaries 0 and a warning."""
    path = SNAPS["headers"]
    data = bytearray(open(path, "rb").read())
    d = dump(path)
    lay = d["layout"]
    feat = lay["fmt_header"]["fields"]["features"]["offset"]
    new, old = lay["fmt_trace"]["size"], lay["fmt_trace_v1"]["size"]
    nf = lay["fmt_trace"]["fields"]["nframes"]["offset"]
    sec = next(s for s in d["sections"] if s["name"] == "traces")
    payload, out = bytes(data[sec["payload"]:sec["payload"] + sec["size"]]), bytearray()
    off = 0
    while off < len(payload):
        n = struct.unpack_from("<I", payload, off + nf)[0]
        out += payload[off:off + old] + payload[off + new:off + new + 8 * n]
        off += new + 8 * n
    pad = lambda n: (8 - n % 8) % 8  # noqa: E731
    size_at = sec["offset"] + lay["fmt_section"]["fields"]["size"]["offset"]
    struct.pack_into("<Q", data, size_at, len(out))
    end = sec["payload"] + sec["size"] + pad(sec["size"])
    data = data[:sec["payload"]] + out + b"\0" * pad(len(out)) + data[end:]
    struct.pack_into("<I", data, feat, struct.unpack_from("<I", data, feat)[0] & ~2)
    older = os.path.join(TMP, "older.snap")
    open(older, "wb").write(data)
    p = cprof_cmd("stats", older, "--json", "--sort", "temporary_count")
    if "did not count temporaries" not in p.stderr:
        raise AssertionError("no warning: %r" % p.stderr)
    got = own(json.loads(p.stdout)["entries"])
    eq(got, {k: (v[0], v[1], 0, v[3]) for k, v in WANT.items()}, "older file's sites")
    dumped = dump(older)
    eq(next(s for s in dumped["sections"] if s["name"] == "traces")["records"][0]["record"],
       "fmt_trace_v1", "dump's record")


c.case("older files still read", older_file)


def heaptrack():
    """heaptrack on the same binary: the same calls per site; the same
    temporaries where one thread allocates, fewer where threads interleave
    (heaptrack matches the free against the last allocation of the whole
    process, by size and stack)."""
    if not have_tool("heaptrack"):
        return
    ht = Heaptrack([prog("mem_totals"), str(N), str(M)], TMP)
    txt = ht.print("-n", "100", "-s", "0", "-a", "1", "-p", "0", "-l", "0", "-T", "1")
    def per_site(section, what):
        body = txt.split(section, 1)[1].split("\n\n\n", 1)[0]
        found = {}
        for m in re.finditer(r"^(\d+) %s.*\n\S.*\n  at %s:(\d+)$" % (what, re.escape(REL)),
                             body, re.M):
            found[LINES.get(int(m.group(2)))] = int(m.group(1))
        return found
    calls = per_site("MOST CALLS TO ALLOCATION FUNCTIONS", "calls to allocation functions")
    eq(calls, {k: v[0] for k, v in WANT.items()}, "heaptrack's calls per site")
    temps = per_site("MOST TEMPORARY ALLOCATIONS", "temporary allocations")
    ours = {k: v[2] for k, v in WANT.items() if v[2] and k != "SITE_THREAD"}
    eq({k: v for k, v in temps.items() if k != "SITE_THREAD"}, ours,
       "heaptrack's temporaries where one thread allocates")
    if not temps.get("SITE_THREAD", 0) <= WANT["SITE_THREAD"][2]:
        raise AssertionError("heaptrack counts more temporaries per thread: %r" % temps)
    print("     heaptrack: SITE_THREAD temporaries %d of cprof's %d (threads interleave)" %
          (temps.get("SITE_THREAD", 0), WANT["SITE_THREAD"][2]))


c.case("heaptrack agrees", heaptrack)
c.done()
