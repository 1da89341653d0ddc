#!/usr/bin/env python3
"""
The peak's composition (tests/progs/mem_peak.c), each figure exact: grow
A, grow B, free B, grow C past the old peak: at the peak, A + C per site
to the byte; after cprof_reset_peak(), the peak is what was live then plus
E. `cprof stats --peak` (text, JSON, --by), `cprof diff --peak`, an older
file refused with one line, and heaptrack's peak on the same binary.
Env: O=build dir (default build). Exit 0 when every check passes.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from heaptrack_view import Heaptrack  # noqa: E402
from cprof_e2e import (Checks, ROOT, cprof_cmd, dump, eq, have_tool, marker_line,  # noqa: E402
                       prog, scratch_dir, shim_snapshots)

SRC = os.path.join(ROOT, "tests", "progs", "mem_peak.c")
REL = "tests/progs/mem_peak.c"
c = Checks()
TMP = scratch_dir("cprof-peak-")


def line_of(marker):
    return marker_line(SRC, marker)


SITES = {line_of(k): k for k in ("SITE_A", "SITE_B", "SITE_C", "SITE_D", "SITE_E")}
# label -> site -> (bytes, blocks) live at the peak; and live at the snapshot.
AT_PEAK = {
    "first": {"SITE_A": (100000, 100), "SITE_C": (150000, 150)},
    "reset": {"SITE_C": (75000, 75), "SITE_D": (1000, 10), "SITE_E": (10000, 20)},
}
LIVE = {"SITE_C": (75000, 75), "SITE_D": (1000, 10)}


cprof = cprof_cmd


def run(env=None):
    """mem_peak under the shim: label -> snapshot path."""
    return shim_snapshots("mem_peak", TMP, env=env)


def own(entries):
    return {SITES[e["line"]]: (e["size"], e["count"])
            for e in entries if e["file"] == REL and e["line"] in SITES}


RUNS = {}


def exact(mode, env):
    def check():
        snaps = RUNS[mode] = run(env)
        for label, want in AT_PEAK.items():
            d = json.loads(cprof("stats", snaps[label], "--json", "--peak").stdout)
            eq(d["peak"], True, "JSON peak")
            eq(own(d["entries"]), want, "%s: live at the peak by site" % label)
            # Every byte of the peak is in a site: the sites add up to it.
            eq(d["total_size"], d["snapshot"]["peak_size"], "%s: sites' sum against the peak" % label)
            eq(sum(e["size"] for e in d["entries"]), d["total_size"], "%s: entries' sum" % label)
            # Without --peak: what is live at the snapshot.
            d = json.loads(cprof("stats", snaps[label], "--json").stdout)
            eq(own(d["entries"]), LIVE, "%s: live at the snapshot" % label)
        # --by function: the same figures grouped by function.
        d = json.loads(cprof("stats", snaps["first"], "--json", "--peak", "--by",
                             "function").stdout)
        got = {e["function"]: (e["size"], e["count"]) for e in d["entries"] if e["file"] == REL}
        eq(got, {"grow_a": (100000, 100), "grow_c": (150000, 150)}, "by function")
    return check


for mode, env in (("headers", {}), ("table", {"CPROF_HEADERS": "0"})):
    c.case("peak composition exact, " + mode, exact(mode, env))


def text_and_diff():
    snaps = RUNS["headers"]
    out = cprof("stats", snaps["first"], "--peak").stdout.splitlines()
    if not re.fullmatch(r"Live at the peak \(244 KiB at \d+\.\d{3} s\), by site:", out[1]):
        raise AssertionError("second line %r" % out[1])
    eq(out[2], "%s:%d: size=146 KiB, count=150, average=1000 B" % (REL, line_of("SITE_C")),
       "first site")
    eq(out[3], "%s:%d: size=98 KiB, count=100, average=1000 B" % (REL, line_of("SITE_A")),
       "second site")
    d = json.loads(cprof("diff", snaps["first"], snaps["reset"], "--peak", "--json").stdout)
    got = {SITES[e["line"]]: (e["size_diff"], e["count_diff"])
           for e in d["entries"] if e["file"] == REL}
    eq(got, {"SITE_A": (-100000, -100), "SITE_C": (-75000, -75), "SITE_D": (1000, 10),
             "SITE_E": (10000, 20)}, "diff --peak by site")
    p = cprof("stats", snaps["first"], "--peak", "--leaks", status=2)
    eq(len(p.stderr.strip().splitlines()), 1, "--peak --leaks refused in one line")


c.case("text and diff --peak", text_and_diff)


def flame_export_html():
    snaps = RUNS["headers"]
    folded = cprof("export", snaps["first"], "--peak", "--format", "folded").stdout
    got = {l.rsplit(";", 1)[1] for l in folded.splitlines() if ";grow_" in l}
    eq(got, {"grow_a 100000", "grow_c 150000"}, "export --peak, folded")
    now = cprof("export", snaps["first"], "--format", "folded").stdout
    got = {l.rsplit(";", 1)[1] for l in now.splitlines() if ";grow_" in l}
    eq(got, {"grow_c 75000", "grow_d 1000"}, "export without --peak")
    svg = os.path.join(TMP, "peak.svg")
    cprof("flamegraph", snaps["first"], "--peak", "-o", svg)
    text = open(svg).read()
    for want in ("grow_a (100000 bytes, 40.00%)", "grow_c (150000 bytes, 60.00%)"):
        if want not in text:
            raise AssertionError("flamegraph --peak lacks %r" % want)
    if "grow_d" in text:
        raise AssertionError("flamegraph --peak shows grow_d, allocated after the peak")
    page = os.path.join(TMP, "p.html")
    cprof("html", snaps["first"], "-o", page)
    text = open(page).read()
    if "<p>2 sites, 244 KiB in 250 blocks, at " not in text.split('id="peak"', 1)[1]:
        raise AssertionError("html: no peak table beside the snapshot's")


c.case("flamegraph, export and html of the peak", flame_export_html)


def older_file_refused():
    """A file without the peak's bit: --peak says why in one line."""
    path = RUNS["headers"]["first"]
    data = bytearray(open(path, "rb").read())
    lay = dump(path)["layout"]
    feat = lay["fmt_header"]["fields"]["features"]["offset"]
    data[feat] &= ~4
    older = os.path.join(TMP, "older.snap")
    open(older, "wb").write(data)
    p = cprof("stats", older, "--peak", status=1)
    if not re.fullmatch(r"cprof: '.*' was written by an older cprof that did not record what was live at the peak \(take a new snapshot for --peak\)\n", p.stderr):
        raise AssertionError("refusal %r" % p.stderr)
    cprof("stats", older)  # still read without --peak
    p = cprof("flamegraph", older, "--peak", "-o", os.path.join(TMP, "x.svg"), status=1)
    eq(len(p.stderr.strip().splitlines()), 1, "flamegraph --peak refusal in one line")


c.case("older file refused by --peak", older_file_refused)


def heaptrack():
    """heaptrack's peak on the same binary: the same bytes per site in its
    peak consumers; its total also counts heaptrack's own libstdc++ pool,
    allocated before main (cprof's shim is not loaded then either)."""
    if not have_tool("heaptrack"):
        return
    ht = Heaptrack([prog("mem_peak")], TMP)
    txt = ht.print("-n", "100", "-s", "1", "-a", "0", "-p", "1", "-l", "0", "-T", "0")
    body = txt.split("PEAK MEMORY CONSUMERS", 1)[1].split("\n\n\n", 1)[0]
    found = {}
    for m in re.finditer(r"^(\S+) peak memory consumed over (\d+) calls from\n\S.*\n  at %s:(\d+)$"
                         % re.escape(REL), body, re.M):
        found[SITES.get(int(m.group(3)))] = m.group(1)
    # heaptrack prints sizes rounded (e.g. "150.00K" for 150000 B, in 1000s).
    eq(found.get("SITE_A"), "100.00K", "heaptrack's peak share of SITE_A")
    eq(found.get("SITE_C"), "150.00K", "heaptrack's peak share of SITE_C")
    peak = re.search(r"peak heap memory consumption: (\S+)", txt).group(1)
    print("     heaptrack: peak heap memory consumption %s (cprof: 250000 B; the rest is "
          "heaptrack's libstdc++ pool)" % peak)


c.case("heaptrack agrees", heaptrack)
c.done()
