"""
The pprof and speedscope exports checked by real readers: protoc decodes
our gzipped perftools.profiles.Profile against pprof's own profile.proto (Debian golang-github-google-pprof-dev)
and its totals equal cprof's (time, calls, live bytes); speedscope's JSON
parses, its frames are valid indices and its weights add up the same.
"""
import ast
import gzip
import json
import os
import re
import subprocess
import tempfile

from cprof_e2e import CPROF, ROOT, Checks, Run, eq, prog

PROTO = "/usr/share/gocode/src/github.com/google/pprof/proto/profile.proto"
c = Checks()
tmp = tempfile.mkdtemp(prefix="cprof-pprof-")
calls = Run([prog("calls")])
prof = calls.main_profile()
mem = Run([prog("mem_sites")])
snap = os.path.join(mem.dir, sorted((f for f in os.listdir(mem.dir) if f.endswith(".snap")),
                                    key=lambda f: int(f.split(".")[-2]))[-1])


def cprof(*args):
    p = subprocess.run([CPROF, *args], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError("cprof %s failed: %s" % (" ".join(args), p.stderr))
    return p.stdout


def decode(path):
    """protoc's text form of the gzipped profile, parsed into plain dicts."""
    with open(path, "rb") as f:
        raw = f.read()
    eq(raw[:2], b"\x1f\x8b", "gzip magic")
    p = subprocess.run(["protoc", "--decode=perftools.profiles.Profile",
                        "--proto_path=" + os.path.dirname(PROTO), os.path.basename(PROTO)],
                       input=gzip.decompress(raw), capture_output=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError("protoc --decode failed: " + p.stderr.decode())
    return parse_text(p.stdout.decode())


def parse_text(text):
    """protobuf text format -> {field: [values or dicts]}."""
    root, stack = {}, []
    cur = root
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.endswith("{"):
            child = {}
            cur.setdefault(line[:-1].strip(), []).append(child)
            stack.append(cur)
            cur = child
        elif line == "}":
            cur = stack.pop()
        else:
            key, val = line.split(":", 1)
            val = val.strip()
            if val.startswith('"'):  # C-style escapes, octal for other bytes
                val = ast.literal_eval("b" + val).decode("utf-8", "replace")
            cur.setdefault(key, []).append(val)
    return root


def strings(pb):
    return pb.get("string_table", [])


def sample_types(pb):
    st = strings(pb)
    return [(st[int(v["type"][0])], st[int(v["unit"][0])]) for v in pb["sample_type"]]


def totals(pb):
    n = len(pb["sample_type"])
    sums = [0] * n
    for s in pb.get("sample", []):
        vals = [int(v) for v in s.get("value", [])]
        eq(len(vals), n, "values per sample")
        for i, v in enumerate(vals):
            sums[i] += v
    return dict(zip([t for t, _ in sample_types(pb)], sums))


def report_ns():
    rep = json.loads(cprof("report", prof, "--json"))
    return sum(round(f["tottime"] * 1e9) for f in rep["functions"]), rep


def check_references(pb):
    """Every id a sample or line uses exists; string indices are in range."""
    st = strings(pb)
    eq(st[0], "", "string_table[0]")
    locs = {int(l["id"][0]): l for l in pb["location"]}
    funcs = {int(f["id"][0]): f for f in pb["function"]}
    maps = {int(m["id"][0]): m for m in pb["mapping"]}
    for s in pb.get("sample", []):
        for lid in s.get("location_id", []):
            if int(lid) not in locs:
                raise AssertionError("sample uses unknown location %s" % lid)
    for l in locs.values():
        mid = int(l.get("mapping_id", ["0"])[0])
        if mid and mid not in maps:
            raise AssertionError("location uses unknown mapping %d" % mid)
        for ln in l.get("line", []):
            if int(ln["function_id"][0]) not in funcs:
                raise AssertionError("line uses unknown function")
    for f in funcs.values():
        for k in ("name", "filename"):
            if not 0 <= int(f.get(k, ["0"])[0]) < len(st):
                raise AssertionError("function %s out of the string table" % k)
    for m in maps.values():
        bid = st[int(m.get("build_id", ["0"])[0])]
        if not re.fullmatch(r"[0-9a-f]*", bid):
            raise AssertionError("build-id not hex: %r" % bid)
    return locs, funcs


def leaf_names(pb, locs, funcs):
    st = strings(pb)
    out = []
    for s in pb.get("sample", []):
        ids = s.get("location_id", [])
        names = []
        for lid in ids:  # leaf first; each location's lines innermost first
            for ln in locs[int(lid)].get("line", []):
                names.append(st[int(funcs[int(ln["function_id"][0])]["name"][0])])
        out.append((names, [int(v) for v in s["value"]]))
    return out


def pprof_profile_totals():
    out = os.path.join(tmp, "calls.pb.gz")
    cprof("export", prof, "--format", "pprof", "-o", out)
    pb = decode(out)
    eq(sample_types(pb), [("calls", "count"), ("cpu", "nanoseconds")], "sample types")
    ours, rep = report_ns()
    t = totals(pb)
    eq(t["cpu"], ours, "cpu nanoseconds vs report's tottime sum")
    eq(t["calls"], rep["total_calls"], "calls vs report's total_calls")
    eq(t["calls"], sum(f["calls"] for f in rep["functions"]), "calls vs report's per-function sum")
    locs, funcs = check_references(pb)
    if not pb.get("mapping") or not strings(pb)[int(pb["mapping"][0]["build_id"][0])]:
        raise AssertionError("the main binary's mapping has no build-id")
    stacks = leaf_names(pb, locs, funcs)
    spin = [v for names, v in stacks if names[:2] == ["spin_50ms", "main"]]
    if len(spin) != 1 or spin[0][1] < 40_000_000:
        raise AssertionError("spin_50ms under main: %r" % spin)
    if not any(names[:10] == ["fact"] * 10 and names[10:] == ["main"] for names, _ in stacks):
        raise AssertionError("recursion not kept as a path, leaf first")
    comments = [strings(pb)[int(i)] for i in pb.get("comment", [])]
    eq(sum(1 for s in comments if s.startswith("cprof took %.6f s of the hooks' overhead out"
                                                 % rep["overhead_taken"])), 1,
       "the compensation comment among %r" % comments)
    fn = [f for f in funcs.values() if strings(pb)[int(f["name"][0])] == "spin_50ms"][0]
    if not strings(pb)[int(fn["filename"][0])].endswith("calls.c") or int(fn["start_line"][0]) <= 0:
        raise AssertionError("spin_50ms without file and start line")


def pprof_snapshot_totals():
    out = os.path.join(tmp, "mem.pb.gz")
    cprof("export", snap, "--format", "pprof", "-o", out)
    pb = decode(out)
    eq(sample_types(pb), [("alloc_objects", "count"), ("alloc_space", "bytes"),
                          ("inuse_objects", "count"), ("inuse_space", "bytes")], "sample types")
    stats = json.loads(cprof("stats", snap, "--json"))
    t = totals(pb)
    eq(t["inuse_space"], stats["total_size"], "inuse_space vs stats' total_size")
    eq(t["inuse_objects"], stats["total_count"], "inuse_objects vs stats' total_count")
    if t["alloc_space"] < t["inuse_space"] or t["alloc_objects"] < t["inuse_objects"]:
        raise AssertionError("allocated less than live: %r" % t)
    locs, funcs = check_references(pb)
    stacks = leaf_names(pb, locs, funcs)
    keep = [v for names, v in stacks if "keep_blocks" in names]
    eq(sum(v[3] for v in keep), 500 * 1000, "keep_blocks live bytes")
    if not any(int(ln.get("line", ["0"])[0]) > 0 for l in locs.values() for ln in l.get("line", [])):
        raise AssertionError("no location has a line number")


def speedscope(path, unit):
    out = os.path.join(tmp, os.path.basename(path) + ".speedscope.json")
    cprof("export", path, "--format", "speedscope", "-o", out)
    with open(out) as f:
        doc = json.load(f)
    eq(doc["$schema"], "https://www.speedscope.app/file-format-schema.json", "$schema")
    frames = doc["shared"]["frames"]
    eq(len(doc["profiles"]), 1, "profiles")
    pr = doc["profiles"][0]
    eq((pr["type"], pr["unit"]), ("sampled", unit), "profile type and unit")
    eq(len(pr["samples"]), len(pr["weights"]), "one weight per sample")
    for st in pr["samples"]:
        if not st or any(not 0 <= i < len(frames) for i in st):
            raise AssertionError("bad stack %r" % st)
    eq(pr["endValue"] - pr["startValue"], sum(pr["weights"]), "endValue")
    names = [[frames[i]["name"] for i in st] for st in pr["samples"]]
    return sum(pr["weights"]), names, frames


def speedscope_profile():
    total, names, frames = speedscope(prof, "nanoseconds")
    ours, _ = report_ns()
    eq(total, ours, "speedscope weights vs report's tottime sum")
    if ["main", "spin_50ms"] not in names:
        raise AssertionError("no main;spin_50ms stack (outermost first)")
    spin = [f for f in frames if f["name"] == "spin_50ms"][0]
    if not spin.get("file", "").endswith("calls.c") or spin.get("line", 0) <= 0:
        raise AssertionError("spin_50ms frame without file and line: %r" % spin)


def speedscope_snapshot():
    total, names, _ = speedscope(snap, "bytes")
    stats = json.loads(cprof("stats", snap, "--json"))
    eq(total, stats["total_size"], "speedscope weights vs stats' total_size")
    keep = [n for n in names if n[-1] == "keep_blocks"]
    if not keep or keep[0].index("main") != len(keep[0]) - 2:
        raise AssertionError("no ...;main;keep_blocks stack (outermost first): %r" % keep)


def deep_recursion_is_bounded():
    deep = Run([prog("deep")]).main_profile()
    out = os.path.join(tmp, "deep.pb.gz")
    cprof("export", deep, "--format", "pprof", "-o", out)
    raw = gzip.decompress(open(out, "rb").read())
    if len(raw) > 200 << 20:
        raise AssertionError("deep recursion made %d bytes" % len(raw))
    pb = decode(out)
    st = strings(pb)
    if "[outer frames]" not in st:
        raise AssertionError("stacks deeper than the limit should end at '[outer frames]'")
    longest = max(len(s.get("location_id", [])) for s in pb["sample"])
    eq(longest, 128, "frames kept per sample")


def refusals():
    p = subprocess.run([CPROF, "export", prof, "--format", "pprof", "-o", "/nonexistent/x.pb.gz"],
                       capture_output=True, text=True)
    eq(p.returncode, 1, "unwritable output")


for fn in [pprof_profile_totals, pprof_snapshot_totals, speedscope_profile, speedscope_snapshot,
           deep_recursion_is_bounded, refusals]:
    c.case(fn.__name__, fn)
c.done()
