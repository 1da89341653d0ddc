"""
Exports checked by the programs that read them: callgrind_annotate parses
our Callgrind file and its program total equals the profile's; folded
stacks add up to the profile's time and to a snapshot's live bytes; the
flame graph is well-formed SVG whose widest frame is the hotspot.
"""
import json
import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from cprof_e2e import CPROF, Checks, Run, by_name, eq, prog

c = Checks()
tmp = tempfile.mkdtemp(prefix="cprof-export-")
calls = Run([prog("calls")])
prof = calls.main_profile()
snap = sorted(f for f in os.listdir(calls.dir) if f.endswith(".snap"))


def cprof(*args):
    p = subprocess.run([CPROF, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("cprof %s failed: %s" % (" ".join(args), p.stderr))
    return p.stdout


def report_ns():
    rep = json.loads(cprof("report", prof, "--json"))
    return sum(round(f["tottime"] * 1e9) for f in rep["functions"]), rep


def callgrind_annotate_agrees():
    out = os.path.join(tmp, "calls.callgrind")
    cprof("export", prof, "--format", "callgrind", "-o", out)
    ann = subprocess.run(["callgrind_annotate", out], capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"^([\d,]+)\s.*PROGRAM TOTALS", ann, re.M).group(1).replace(",", ""))
    ours, _ = report_ns()
    eq(total, ours, "callgrind_annotate's total vs cprof's (ns)")
    if "calls.c:spin_50ms" not in ann:
        raise AssertionError("hotspot missing from callgrind_annotate:\n" + ann)
    text = open(out).read()
    eq(len(re.findall(r"^calls=1000 ", text, re.M)), 1, "the loop_caller -> leaf edge with 1000 calls")
    # The overhead taken out, and the times' range, as the report says them.
    comp = json.loads(cprof("report", prof, "--json"))
    said = ("Compensation: cprof took %.6f s of the hooks' overhead out of the times (%.6f s are "
            "left); each time stands for 15%% of the overhead taken out of it lower to 10%% higher"
            % (comp["overhead_taken"], comp["total_time"]))
    if said not in ann:
        raise AssertionError("callgrind_annotate does not show %r:\n%s" % (said, ann[:800]))
    # A counts-only profile has no times, so nothing was taken out of them.
    counts = Run([prog("calls")], env={"CPROF_COUNTS_ONLY": "1"})
    cprof("export", counts.main_profile(), "--format", "callgrind", "-o", out)
    if "desc: Compensation" in open(out).read():
        raise AssertionError("a counts-only export speaks of compensation")


def callgrind_of_a_snapshot():
    r = Run([prog("mem_sites")])
    last = max((os.path.join(r.dir, f) for f in os.listdir(r.dir) if f.endswith(".snap")),
               key=lambda f: int(f.split(".")[-2]))
    out = os.path.join(tmp, "mem.callgrind")
    cprof("export", last, "--format", "callgrind", "-o", out)
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"^([\d,]+) \([^)]*\)\s+([\d,]+) \([^)]*\)\s+PROGRAM TOTALS", ann, re.M)
    stats = json.loads(cprof("stats", last, "--json"))
    eq((int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))),
       (stats["total_size"], stats["total_count"]), "callgrind_annotate's bytes and blocks")
    if "mem_sites.c:keep_blocks" not in ann:
        raise AssertionError("keep_blocks missing:\n" + ann)


def folded_adds_up():
    lines = cprof("export", prof, "--format", "folded").splitlines()
    total = sum(int(l.rsplit(" ", 1)[1]) for l in lines)
    ours, rep = report_ns()
    # stacks.h rounds per function: each function's stacks add up to its
    # tottime in ns exactly, so the whole does too.
    eq(total, ours, "folded total vs the report's (ns)")
    leaf = [int(l.rsplit(" ", 1)[1]) for l in lines if l.rsplit(" ", 1)[0].endswith(";leaf")]
    eq(sum(leaf), round(by_name(rep)["leaf"]["tottime"] * 1e9), "leaf's stacks vs its tottime (ns)")
    if not any(l.startswith("main;spin_50ms ") for l in lines):
        raise AssertionError("no main;spin_50ms stack")
    if not any(l.startswith("main;fact;fact;fact;fact;fact;fact;fact;fact;fact;fact ") for l in lines):
        raise AssertionError("recursion not kept as a path")


def folded_snapshot_is_live_bytes():
    r = Run([prog("mem_sites")])
    snaps = sorted((f for f in os.listdir(r.dir) if f.endswith(".snap")),
                   key=lambda f: int(f.split(".")[-2]))
    last = os.path.join(r.dir, snaps[-1])
    lines = cprof("export", last, "--format", "folded").splitlines()
    stats = json.loads(cprof("stats", last, "--json"))
    eq(sum(int(l.rsplit(" ", 1)[1]) for l in lines), stats["total_size"], "live bytes")
    if not any(";keep_blocks" in l for l in lines):
        raise AssertionError("keep_blocks site missing")


def flamegraph_svg():
    out = os.path.join(tmp, "calls.svg")
    cprof("flamegraph", prof, "-o", out)
    root = ET.parse(out).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    frames = []
    for g in root.iter(ns + "g"):
        title = g.find(ns + "title").text
        width = float(g.find(ns + "rect").get("width"))
        frames.append((width, title))
    frames.sort(reverse=True)
    root_width = [w for w, t in frames if t.startswith("all ")][0]
    eq(root_width, frames[0][0], "the root is the widest")
    widest = [t for w, t in frames if not t.startswith(("all ", "main "))][0]
    if not widest.startswith("spin_50ms "):
        raise AssertionError("widest frame under main is %r" % widest)


def flamegraph_of_deep_recursion():
    out = os.path.join(tmp, "deep.svg")
    cprof("flamegraph", Run([prog("deep")]).main_profile(), "-o", out)
    root = ET.parse(out).getroot()
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    if not any(t.startswith("[deeper frames]") for t in titles):
        raise AssertionError("100,000 levels should be cut at a '[deeper frames]' box")


def differential_flamegraph_of_two_snapshots():
    r = Run([prog("mem_sites")])
    snaps = sorted((os.path.join(r.dir, f) for f in os.listdir(r.dir) if f.endswith(".snap")),
                   key=lambda f: int(f.split(".")[-2]))
    out = os.path.join(tmp, "diff.svg")
    cprof("flamegraph", snaps[0], snaps[-1], "-o", out)
    root = ET.parse(out).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    fills = {g.find(ns + "rect").get("fill") for g in root.iter(ns + "g")}
    titles = [t.text for t in root.iter(ns + "title")]
    if not all("before" in t for t in titles):
        raise AssertionError("differential tooltips lack the older value")
    if not any(f.startswith("rgb(255,") for f in fills) or not any(f.endswith(",255)") for f in fills):
        raise AssertionError("expected both growth (red) and shrink (blue): %r" % fills)
    p = subprocess.run([CPROF, "flamegraph", snaps[0], prof], capture_output=True, text=True)
    eq(p.returncode, 1, "a snapshot against a profile")


def refusals():
    p = subprocess.run([CPROF, "export", prof, "--format", "png"], capture_output=True, text=True)
    eq(p.returncode, 2, "unknown format")
    p = subprocess.run([CPROF, "export", prof], capture_output=True, text=True)
    eq(p.returncode, 2, "no --format")


for fn in [callgrind_annotate_agrees, callgrind_of_a_snapshot, folded_adds_up, folded_snapshot_is_live_bytes,
           flamegraph_svg, flamegraph_of_deep_recursion,
           differential_flamegraph_of_two_snapshots, refusals]:
    c.case(fn.__name__, fn)
c.done()
