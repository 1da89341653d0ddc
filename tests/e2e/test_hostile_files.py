"""
Hostile files. Real .prof and .snap files of tests/progs/calls and
mem_sites, broken the ways a disk, a network copy or an attacker breaks
them: zero-length; truncated at every section and record boundary and at
sampled offsets; every count and size field set huge; calling-context
trees with cycles and out-of-range parents; a future version, unknown
features, bad magic. Every reader command (report, stats, diff, whatif,
export in each format, flamegraph, html) must exit 1 with exactly one
"cprof: " line naming the file, nothing on stdout, no output file, no
crash and no sanitizer report; the deepest cases also run under valgrind
(or, in a SAN= build, every run is under ASan+UBSan, truncations with 4
of the 14 commands and other cases with a third of them, in turn, to stay
within time).
Module paths that name a FIFO, a directory or a device must not hang the
symbolizer. Output side: -o through a planted symlink, unwritable output
directories, and `cprof run -o DIR` with symlinks planted at the names
the runtimes will write: nothing is written outside the output
directory. Also sensor-pipeline's CSV regressions from fuzz/corpus-csv.
Ends with a table: kind -> cases -> all survived.
"""
import atexit
import concurrent.futures
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time

from cprof_e2e import BUILD, CPROF, ROOT, Checks, Run, dump, eq, field, have_tool, prog, skip

c = Checks()
TMP = tempfile.mkdtemp(prefix="cprof-hostile-")
atexit.register(shutil.rmtree, TMP, True)
os.chmod(TMP, 0o755)  # the unprivileged user of the permission cases reads below it
TIMEOUT = 20
PIPELINE = os.path.join(BUILD, "bin", "sensor-pipeline")
IS_ROOT = os.geteuid() == 0
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

# Failures of bugs already reported, each with where the fix goes. A listed
# case that fails is shown as "xfail"; one that passes fails the test, so
# the entry is removed once the fix is in.
KNOWN_BUGS = {}  # case name -> why it still fails (none today)

# ---- the real files ----
calls_run = Run([prog("calls")])
mem_run = Run([prog("mem_sites")])
# Another process's profile: what `report --merge` sums a bad file with.
PARTNER = Run([prog("forker")]).main_profile()
GOOD = {"prof": calls_run.main_profile()}
snaps = sorted((f for f in os.listdir(mem_run.dir) if f.endswith(".snap")),
               key=lambda f: int(f.split(".")[-2]))
GOOD["snap"] = os.path.join(mem_run.dir, snaps[-1])  # "exit": the most traces
DATA = {k: open(p, "rb").read() for k, p in GOOD.items()}

# ---- the container: sections, records and their offsets as `cprof dump`
# reads them; the layout comes from common/format.h through it, so it is
# defined once ----
DUMPS = {DATA[k]: dump(p) for k, p in GOOD.items()}
LAYOUT = DUMPS[DATA["prof"]]["layout"]
HDR_SIZE = LAYOUT["fmt_header"]["size"]
SEC = struct.Struct("<" + "".join(
    field(LAYOUT, "fmt_section", f)[1] for f in ("type", "count", "size")))
U32, U64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def at(base, record, name):
    """(file offset, struct format) of field name of the record at base."""
    off, fmt = field(LAYOUT, record, name)
    return base + off, fmt


def pad8(n):
    return (8 - n % 8) % 8


class Sec:
    def __init__(self, s):
        self.off, self.type, self.name = s["offset"], s["type"], s["name"]
        self.count, self.size, self.payload = s["count"], s["size"], s["payload"]
        self.records = s["records"]


def sections(data):
    """The sections of one of the good files."""
    return [Sec(s) for s in DUMPS[data]["sections"]]


def find(data, name):
    return next(s for s in sections(data) if s.name == name)


END = find(DATA["prof"], "end").type


def modules(data):
    """(offset of fmt_module, path_len) of each module."""
    return [(r["offset"], r["fields"]["path_len"]) for r in find(data, "modules").records]


def traces(data):
    """(offset, nframes) of each fmt_trace."""
    return [(r["offset"], r["fields"]["nframes"]) for r in find(data, "traces").records]


def patched(data, *edits):
    """A copy with (offset, struct format, value) edits applied."""
    d = bytearray(data)
    for off, fmt, value in edits:
        struct.pack_into("<" + fmt, d, off, value)
    return bytes(d)


def rebuilt(data, replace):
    """The file with section payloads replaced ({index: payload}), sizes,
    padding and the end marker recomputed."""
    out = bytearray(data[:HDR_SIZE])
    secs = [s for s in sections(data) if s.type != END]
    for i, s in enumerate(secs):
        payload = replace.get(i, data[s.payload:s.payload + s.size])
        out += SEC.pack(s.type, s.count, len(payload)) + payload + bytes(pad8(len(payload)))
    out += SEC.pack(END, len(secs), 0)
    return bytes(out)


def with_module_path(data, path):
    """The file with its first module (the program) renamed to path."""
    secs = [s for s in sections(data) if s.type != END]
    i = next(n for n, s in enumerate(secs) if s.name == "modules")
    s = secs[i]
    (off, plen), rest = modules(data)[0], modules(data)[1:]
    head = bytearray(data[off:off + LAYOUT["fmt_module"]["size"]])
    path_len, fmt = field(LAYOUT, "fmt_module", "path_len")
    struct.pack_into("<" + fmt, head, path_len, len(path))
    first = bytes(head) + path + bytes(pad8(len(path)))
    tail_from = rest[0][0] if rest else s.payload + s.size
    return rebuilt(data, {i: first + data[tail_from:s.payload + s.size]})


# ---- the cases: (kind, name, file kind, bytes, expectation) ----
CASES = []


GRIND = set()  # cases also run under valgrind: memcheck sees a read past a
               # buffer that a refusal with exit 1 would hide


def case(kind, name, fkind, data, expect="refuse", grind=False):
    if data == DATA[fkind]:
        raise AssertionError("case %s/%s changes nothing" % (kind, name))
    if grind:
        GRIND.add(len(CASES))
    CASES.append((kind, name, fkind, data, expect))


def truncation_points(d):
    """Every section and record boundary, inside the headers too."""
    pts = {HDR_SIZE, HDR_SIZE // 2}
    for s in sections(d):
        pts |= {s.off, at(s.off, "fmt_section", "size")[0], s.payload, s.payload + s.size}
        for r in s.records:
            pts |= {r["offset"], r["offset"] + LAYOUT[r["record"]]["size"]}
    return sorted(p for p in pts if 0 < p < len(d))


for fk in ("prof", "snap"):
    d = DATA[fk]
    secs = sections(d)
    eq(secs[-1].name, "end", fk + ": last section")
    case("zero-length", "empty", fk, b"")
    bounds = truncation_points(d)
    for p in bounds:
        case("truncated at a boundary", "at %d" % p, fk, d[:p])
    # Odd offsets between the boundaries: inside fields, mid-record.
    others = sorted({1, 7, 9, 13, len(d) - 1, len(d) - 3}
                    | {(a + b) // 2 + 1 for a, b in zip(bounds, bounds[1:]) if b - a > 2})
    for p in others:
        if p not in bounds:
            case("truncated elsewhere", "at %d" % p, fk, d[:p])

    # Every count and size a reader sizes something by.
    for s in secs:
        name = s.name
        for v in (U32, 0x80000000):
            case("huge count", "%s section count %#x" % (name, v), fk,
                 patched(d, (*at(s.off, "fmt_section", "count"), v)))
        for v in (U64, 1 << 63, 0xFFFFFFF8, s.size + 8):
            case("huge count", "%s section size %#x" % (name, v), fk,
                 patched(d, (*at(s.off, "fmt_section", "size"), v)))
    moff, plen = modules(d)[0]
    g = fk == "prof"  # one reader of the module map is enough under valgrind
    path_len, build_id_len = at(moff, "fmt_module", "path_len"), at(moff, "fmt_module", "build_id_len")
    case("huge count", "module path_len 0xffff", fk, patched(d, (*path_len, 0xFFFF)), grind=g)
    case("huge count", "module path_len +8", fk, patched(d, (*path_len, plen + 8)), grind=g)
    case("huge count", "module build_id_len 0xffff", fk, patched(d, (*build_id_len, 0xFFFF)),
         grind=g)
    case("huge count", "module build_id_len 33", fk, patched(d, (*build_id_len, 33)), grind=g)
    # Counters shown as they are, never used to size or index anything:
    # a huge one must be printed, not refused and not crash.
    meta = find(d, "meta").payload
    case("huge informational counter", "meta nthreads", fk,
         patched(d, (*at(meta, "fmt_meta", "nthreads"), U32)), "accept")
    case("huge informational counter", "meta dropped_nodes", fk,
         patched(d, (*at(meta, "fmt_meta", "dropped_nodes"), U64)), "accept")

    kind = DUMPS[d]["header"]["fields"]["kind"]
    for v in (2, 0xFFFF, 0):
        case("future or foreign header", "version %d" % v, fk,
             patched(d, (*at(0, "fmt_header", "version"), v)))
    case("future or foreign header", "unknown feature bit", fk,
         patched(d, (*at(0, "fmt_header", "features"), 1 << 31)))
    case("future or foreign header", "unknown kind", fk, patched(d, (*at(0, "fmt_header", "kind"), 7)))
    case("future or foreign header", "the other kind", fk,
         patched(d, (*at(0, "fmt_header", "kind"), 3 - kind)))
    case("bad magic", "first byte", fk, patched(d, (0, "B", d[0] ^ 0x20)))
    case("bad magic", "CRLF turned into LF", fk, d[:6] + b"\n" + d[8:])
    case("bad magic", "LF turned into CRLF", fk, d[:7] + b"\r\n" + d[8:])
    case("bad magic", "zeroed header", fk, bytes(HDR_SIZE) + d[HDR_SIZE:])
    case("bad magic", "an ELF file", fk, open("/bin/true", "rb").read())
    case("bad magic", "a CSV file", fk, b"timestamp,sensor,value\n0,0,20\n")

# The calling-context tree: node 0 is the root, every parent points back.
d = DATA["prof"]
th = find(d, "thread")
node = [r["offset"] for r in th.records if r["record"] == "fmt_node"]
nnodes = len(node)


def parent(n):
    return at(node[n], "fmt_node", "parent")


def fn(n):
    return at(node[n], "fmt_node", "fn")


NNODES = at(th.payload, "fmt_thread", "nnodes")
cct = [
    ("node 1 is its own parent", [(*parent(1), 1)]),
    ("nodes 1 and 2 each other's parent", [(*parent(1), 2), (*parent(2), 1)]),
    ("last node is its own parent", [(*parent(-1), nnodes - 1)]),
    ("node 1's parent is a later node", [(*parent(1), nnodes - 1)]),
    ("parent one past the last node", [(*parent(-1), nnodes)]),
    ("parent 0xffffffff", [(*parent(3), U32)]),
    ("root has a parent", [(*parent(0), 3)]),
    ("root has a function", [(*fn(0), 0x401000)]),
    ("second root inside the tree", [(*fn(4), 0)]),
]
for name, edits in cct:
    case("tree with a cycle or a bad index", name, "prof", patched(d, *edits), grind=True)
for v in (U64, 1 << 32):
    case("huge count", "thread nnodes %#x" % v, "prof", patched(d, (*NNODES, v)),
         grind=True)
case("huge count", "thread nnodes 2^32 + n (wraps to n)", "prof",
     patched(d, (*NNODES, (1 << 32) + nnodes)), grind=True)
case("huge count", "thread nnodes n+1", "prof", patched(d, (*NNODES, nnodes + 1)),
     grind=True)
case("huge count", "thread nnodes 0", "prof", patched(d, (*NNODES, 0)))
case("huge count", "calls 2^64-1 (the total wraps)", "prof", patched(d, (*at(node[1], "fmt_node", "calls"), U64)))
# The calls a forked child inherited open (fmt_meta.inherited_node, 1 +
# a node index in the thread whose tid is the pid) and the load
# generations (fmt_node.gen, fmt_module.unload_gen: any value names a
# module or none, never an index).
INHERITED = at(find(d, "meta").payload, "fmt_meta", "inherited_node")
for name, v in (("2^64-1", U64), ("n+1 (past the tree)", nnodes + 1), ("2^32+2 (wraps to 1)", (1 << 32) + 2),
                ("1 (the root)", 1)):
    case("tree with a cycle or a bad index", "inherited node " + name, "prof",
         patched(d, (*INHERITED, v)), grind=True)
case("huge informational counter", "inherited node 3 (a real one)", "prof",
     patched(d, (*INHERITED, 3)), "accept")
case("huge informational counter", "node generation 0xffffffff", "prof",
     patched(d, (*at(node[1], "fmt_node", "gen"), U32)), "accept")
case("huge informational counter", "module unload generation 0xffffffff", "prof",
     patched(d, (*at(modules(d)[0][0], "fmt_module", "unload_gen"), U32)), "accept")
# The clock's calibration and the hooks' overhead: a NaN or an infinity
# would turn every compensated time into nonsense without a word.
meta = find(d, "meta").payload
for name in ("ns_per_tick", "overhead_inner_ticks", "overhead_outer_ticks", "probe_inner_ticks",
             "probe_outer_ticks"):
    for label, v in (("NaN", float("nan")), ("+inf", float("inf")), ("1e308", 1e308)):
        case("clock calibration out of range", "%s %s" % (name, label), "prof",
             patched(d, (*at(meta, "fmt_meta", name), v)))
case("clock calibration out of range", "overhead_outer_ticks -1", "prof",
     patched(d, (*at(meta, "fmt_meta", "overhead_outer_ticks"), -1.0)))
case("huge informational counter", "probe_inner_ticks -40 (a loop slower than the program)",
     "prof", patched(d, (*at(meta, "fmt_meta", "probe_inner_ticks"), -40.0)), "accept")

# Snapshots: trace records and the info that describes them.
d = DATA["snap"]
info = find(d, "snap_info").payload
toff, tframes = traces(d)[0]
for name, (off, fmt), v in [
    ("info ntraces 0xffffffff", at(info, "fmt_snap_info", "ntraces"), U32),
    ("info ntraces +1", at(info, "fmt_snap_info", "ntraces"), len(traces(d)) + 1),
    ("info max_frames 0xffffffff", at(info, "fmt_snap_info", "max_frames"), U32),
    ("trace nframes 0xffffffff", at(toff, "fmt_trace", "nframes"), U32),
    ("trace nframes 257 (over FMT_FRAMES_MAX)", at(toff, "fmt_trace", "nframes"), 257),
    ("trace nframes +1 (past its record)", at(toff, "fmt_trace", "nframes"), tframes + 1),
    ("trace live_bytes 2^64-1", at(toff, "fmt_trace", "live_bytes"), U64),
    ("trace live_blocks 2^64-1", at(toff, "fmt_trace", "live_blocks"), U64),
    ("trace total_bytes 2^63 (sums overflow int64)", at(toff, "fmt_trace", "total_bytes"), 1 << 63),
    ("trace total_blocks 2^64-1", at(toff, "fmt_trace", "total_blocks"), U64),
    ("trace temporary_blocks 2^64-1 (over total_blocks)",
     at(toff, "fmt_trace", "temporary_blocks"), U64),
    ("trace peak_blocks 2^64-1 (over total_blocks)", at(toff, "fmt_trace", "peak_blocks"), U64),
    ("trace peak_bytes 2^63 (over total_bytes)", at(toff, "fmt_trace", "peak_bytes"), 1 << 63),
]:
    case("huge count", name, "snap", patched(d, (off, fmt, v)), grind="frames" in name or "ntraces" in name)
# The size histogram: record k is bucket k, at most 64 of them, live
# within allocated, totals that add up in 64 bits.
sz = find(d, "sizes")
used = [r for r in sz.records if r["fields"]["total_blocks"]]
freed = next(r for r in used if not r["fields"]["live_blocks"])
SZ_COUNT, SZ_SIZE = at(sz.off, "fmt_section", "count"), at(sz.off, "fmt_section", "size")
for name, edits in [
    ("sizes count +1 (size unchanged)", [(*SZ_COUNT, sz.count + 1)]),
    ("sizes count -1 (size unchanged)", [(*SZ_COUNT, sz.count - 1)]),
    ("sizes size -32 (one bucket short)", [(*SZ_SIZE, sz.size - 32)]),
    ("sizes bucket live_blocks over total_blocks",
     [(*at(used[0]["offset"], "fmt_size_bucket", "live_blocks"),
       used[0]["fields"]["total_blocks"] + 1)]),
    ("sizes bucket live_bytes over total_bytes",
     [(*at(used[-1]["offset"], "fmt_size_bucket", "live_blocks"), 1),
      (*at(used[-1]["offset"], "fmt_size_bucket", "live_bytes"),
       used[-1]["fields"]["total_bytes"] + 1)]),
    ("sizes bucket live_bytes without a live block",
     [(*at(freed["offset"], "fmt_size_bucket", "live_bytes"), 1)]),
    ("sizes total_bytes summing past 2^64",
     [(*at(r["offset"], "fmt_size_bucket", "total_bytes"), 1 << 63) for r in used[:2]]),
    ("sizes total_blocks summing past 2^64",
     [(*at(r["offset"], "fmt_size_bucket", "total_blocks"), U64) for r in used[:2]]),
]:
    case("huge count", name, "snap", patched(d, *edits), grind="size " in name)
# 65 buckets, the size to match: one more than format.h defines.
i = next(n for n, s in enumerate(sections(d)) if s.name == "sizes")
over = rebuilt(d, {i: d[sz.payload:sz.payload + sz.size] + bytes(32 * (65 - sz.count))})
case("huge count", "sizes 65 buckets (over FMT_SIZE_BUCKETS)", "snap",
     patched(over, (*SZ_COUNT, 65)), grind=True)
case("huge informational counter", "sizes total_bytes 2^63", "snap",
     patched(d, (*at(freed["offset"], "fmt_size_bucket", "total_bytes"), 1 << 63)), "accept")
# Memory over time: its header must match its samples, which go forward.
tl = find(d, "timeline")
tl_samples = [r["offset"] for r in tl.records if r["record"] == "fmt_timeline_sample"]
for name, (off, fmt), v in [
    ("timeline nsamples 0xffffffff", at(tl.payload, "fmt_timeline", "nsamples"), U32),
    ("timeline nsamples +1", at(tl.payload, "fmt_timeline", "nsamples"), len(tl_samples) + 1),
    ("timeline decimations 0xffffffff", at(tl.payload, "fmt_timeline", "decimations"), U32),
    ("timeline decimations 64", at(tl.payload, "fmt_timeline", "decimations"), 64),
    ("timeline interval_ns 0", at(tl.payload, "fmt_timeline", "interval_ns"), 0),
    ("timeline base_interval_ns 0", at(tl.payload, "fmt_timeline", "base_interval_ns"), 0),
    ("timeline base_interval_ns 2^64-1", at(tl.payload, "fmt_timeline", "base_interval_ns"), U64),
    ("timeline sample t_ns back in time", at(tl_samples[0], "fmt_timeline_sample", "t_ns"), U64),
]:
    case("huge count", name, "snap", patched(d, (off, fmt, v)))
for name in ("traced_bytes", "rss_bytes"):
    case("huge informational counter", "timeline sample %s 2^64-1" % name, "snap",
         patched(d, *[(*at(o, "fmt_timeline_sample", name), U64) for o in tl_samples]), "accept")
case("huge informational counter", "timeline sample t_ns 2^64-1, the last", "snap",
     patched(d, (*at(tl_samples[-1], "fmt_timeline_sample", "t_ns"), U64)), "accept")
case("huge informational counter", "info current_bytes", "snap",
     patched(d, (*at(info, "fmt_snap_info", "current_bytes"), U64)), "accept")
case("huge informational counter", "trace load generation 0xffffffff", "snap",
     patched(d, (*at(traces(d)[1][0], "fmt_trace", "gen"), U32)), "accept")


# ---- running the readers ----

def commands(fk, bad, out):
    """Every reader command a user can point at a file of kind fk."""
    good = GOOD[fk]
    cmds = ([["report", bad], ["report", bad, "--json"], ["whatif", bad, "main=2"],
             ["report", "--merge", PARTNER, bad]]
            if fk == "prof" else
            [["stats", bad], ["stats", bad, "--json"], ["stats", bad, "--leaks"],
             ["stats", bad, "--sizes"], ["stats", bad, "--timeline", "--json"]])
    cmds += [["diff", good, bad], ["diff", bad, good, "--json"]]
    for fmt in ("callgrind", "folded", "pprof", "speedscope"):
        cmds.append(["export", bad, "--format", fmt, "-o", os.path.join(out, "out." + fmt)])
    cmds += [["export", bad, "--format", "folded"],  # to stdout
             ["flamegraph", bad, "-o", os.path.join(out, "out.svg")],
             ["flamegraph", good, bad, "-o", os.path.join(out, "diff.svg")],
             ["html", bad, "-o", os.path.join(out, "out.html")],
             ["html", good, bad],  # to stdout
             ]
    return cmds


SANITIZER_MARKS = (b"Sanitizer", b"runtime error:", b"==ERROR", b"Invalid read", b"Invalid write")


def crash_of(p):
    """Why the process crashed, or None."""
    if p.returncode < 0 or p.returncode >= 128:
        return "killed by signal or crashed (status %d)" % p.returncode
    for mark in SANITIZER_MARKS:
        if mark in p.stderr:
            return "sanitizer or valgrind report: " + p.stderr.decode(errors="replace")[:300]
    return None


def one_line_refusal(p, bad):
    """Why p is not a one-line refusal naming bad, or None."""
    why = crash_of(p)
    if why:
        return why
    lines = p.stderr.decode(errors="replace").splitlines()
    if p.returncode != 1:
        return "exit status %d, not 1; stderr %r" % (p.returncode, p.stderr[:200])
    if p.stdout:
        return "%d bytes on stdout" % len(p.stdout)
    if len(lines) != 1 or not p.stderr.endswith(b"\n"):
        return "%d lines on stderr: %r" % (len(lines), p.stderr[:300])
    line = lines[0]
    if not line.startswith("cprof: ") or "'%s'" % bad not in line:
        return "the line does not name '%s': %r" % (bad, line)
    if any(ch < " " or ch > "~" for ch in line):
        return "unprintable characters in %r" % line
    return None


def run_reader(argv, cwd, timeout=TIMEOUT):
    return subprocess.run([CPROF, *argv], cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)


def check_pair(job):
    """One command on one case: None if it behaved, else why not."""
    idx, cmd_no, argv, bad, out, expect = job
    try:
        p = run_reader(argv, out)
    except subprocess.TimeoutExpired:
        return "hung for %d s" % TIMEOUT
    if expect == "refuse":
        # A merge refuses a snapshot among profiles as a usage error.
        if argv[1] == "--merge" and p.returncode == 2 and b"memory snapshot" in p.stderr:
            p = subprocess.CompletedProcess(p.args, 1, p.stdout, p.stderr)
        why = one_line_refusal(p, bad)
        if not why and os.listdir(out):
            why = "left %s in the output directory" % os.listdir(out)
    else:
        why = crash_of(p) or (None if p.returncode == 0 else
                              "exit status %d: %r" % (p.returncode, p.stderr[:300]))
    return why


def valgrind_pair(job):
    idx, argv, bad, cwd = job
    try:
        p = subprocess.run(["valgrind", "-q", "--error-exitcode=99", CPROF, *argv], cwd=cwd,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "hung under valgrind"
    return one_line_refusal(p, bad)


def uses_sanitizer():
    p = subprocess.run(["ldd", CPROF], capture_output=True, text=True)
    return "libasan" in p.stdout or "libubsan" in p.stdout


IS_SAN = uses_sanitizer()


FILES = os.path.join(TMP, "files")
OUTS = os.path.join(TMP, "outs")
os.makedirs(FILES)
os.makedirs(OUTS)
jobs, grind = [], []
for idx, (kind, name, fk, data, expect) in enumerate(CASES):
    bad = os.path.join(FILES, "case%03d.%s" % (idx, fk))
    with open(bad, "wb") as f:
        f.write(data)
    every = range(len(commands(fk, bad, "")))
    # Under ASan each start costs ~10 ms more (and ~70 on a slow VM, where
    # 3758 runs took 192 s): truncations, which the container check
    # refuses before any command's own code, get a sample; every other
    # case its first command and every third of the rest, shifted by the
    # case's index so that the commands take turns. The plain pass runs
    # them all.
    if not IS_SAN:
        picked = every
    elif kind.startswith("truncated"):
        picked = [0, 3, 7, 12]
    else:
        picked = [n for n in every if n == 0 or (n + idx) % 3 == 0]
    for n in picked:
        out = os.path.join(OUTS, "%03d-%02d" % (idx, n))
        os.mkdir(out)
        jobs.append((idx, n, commands(fk, bad, out)[n], bad, out, expect))
    if idx in GRIND:
        grind.append((idx, [commands(fk, bad, "")[0][0], bad], bad, OUTS))

before_tmp = sorted(os.listdir(TMP))
t0 = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(check_pair, jobs))
    t1 = time.monotonic()
    # valgrind needs a cprof without ASan (make check SAN=... builds one with it).
    has_valgrind = not IS_SAN and have_tool("valgrind")
    if IS_SAN:
        skip("valgrind runs of %d cases: this cprof is built with ASan, which every run used"
             % len(grind))
    grind_results = list(pool.map(valgrind_pair, grind)) if has_valgrind else []
print("%d reader runs in %.1f s, %d under valgrind in %.1f s%s" % (
    len(jobs), t1 - t0, len(grind_results), time.monotonic() - t1,
    "" if has_valgrind else " (no valgrind, or cprof built with a sanitizer)"))

failures = {}  # case index -> [why]
for job, why in zip(jobs, results):
    if why:
        failures.setdefault(job[0], []).append("cprof %s: %s" % (" ".join(
            os.path.basename(a) if a.startswith(TMP) else a for a in job[2]), why))
for job, why in zip(grind, grind_results):
    if why:
        failures.setdefault(job[0], []).append("valgrind cprof %s: %s" % (job[1][0], why))

TABLE = {}  # kind -> {"ok": n, "xfail": n, "fail": n}


def tally(kind, state):
    row = TABLE.setdefault(kind, {"ok": 0, "xfail": 0, "fail": 0})
    row[state] += 1


def table_case(kind, name, fn):
    """c.case, counted in the table under kind. A case named in KNOWN_BUGS
    is expected to fail; passing fails it, so the entry gets removed."""
    state = []

    def run():
        try:
            fn()
        except AssertionError as e:
            if name not in KNOWN_BUGS:
                raise
            state.append("xfail")
            print("xfail %s: %s [%s]" % (name, str(e).splitlines()[0][:160], KNOWN_BUGS[name]))
            return
        if name in KNOWN_BUGS:
            raise AssertionError("passes now: remove it from KNOWN_BUGS")
        state.append("ok")
    c.case(name + (" (known bug)" if name in KNOWN_BUGS else ""), run)
    tally(kind, state[0] if state else "fail")


for kind in dict.fromkeys(k for k, *_ in CASES):
    def check(kind=kind):
        bad = []
        for idx, (k, name, fk, data, expect) in enumerate(CASES):
            if k != kind:
                continue
            tally(kind, "fail" if idx in failures else "ok")
            if idx in failures:
                bad.append("%s %s (%d bytes): %s" % (fk, name, len(data), failures[idx][0]))
        if bad:
            raise AssertionError("%d case(s) failed:\n    " % len(bad) + "\n    ".join(bad[:12]))
    n = sum(1 for k, *_ in CASES if k == kind)
    c.case("%s: %d cases x every reader command" % (kind, n), check)


def nothing_written_outside():
    eq(sorted(os.listdir(TMP)), before_tmp, "the test folder after every reader ran")
    left = [job[4] for job in jobs if job[5] == "refuse" and os.listdir(job[4])]
    eq(left, [], "output folders of refused files with files in them")
    if has_valgrind:
        eq(len(grind_results), len(grind), "valgrind runs")


c.case("readers write nothing outside their -o and nothing at all on refusal: %d runs, "
       "%d under valgrind" % (len(jobs), len(grind)), nothing_written_outside)


def dump_reads_or_refuses_every_case():
    """`cprof dump` checks the container and the record lengths only (a
    tree with a cycle is dumped as it is): each case is either dumped as
    JSON whose sections end at the file's end, or refused in one line."""
    for idx, (kind, name, fk, data, expect) in enumerate(CASES):
        bad = os.path.join(FILES, "case%03d.%s" % (idx, fk))
        p = run_reader(["dump", "--json", bad], OUTS)
        why = crash_of(p)
        if not why and p.returncode == 0:
            d = json.loads(p.stdout)
            if (d["size"], d["sections"][-1]["end"]) != (len(data), len(data)):
                why = "sections end at %d of %d bytes" % (d["sections"][-1]["end"], len(data))
        elif not why:
            why = one_line_refusal(p, bad)
        if why:
            raise AssertionError("%s %s: %s" % (fk, name, why))


table_case("cprof dump", "cprof dump --json reads or refuses in one line each of the %d cases"
           % len(CASES), dump_reads_or_refuses_every_case)


# ---- module paths that name something other than an ELF file ----

def module_path_case(label, path):
    def check():
        d = with_module_path(DATA["prof"], path.encode())
        f = os.path.join(TMP, "modpath-%s.prof" % label.replace(" ", "-"))
        with open(f, "wb") as fh:
            fh.write(d)
        try:  # well under a second when it works
            p = run_reader(["report", f], TMP, timeout=5)
        except subprocess.TimeoutExpired:
            raise AssertionError("cprof report hung for 5 s on module '%s'" % path)
        finally:
            os.unlink(f)
        why = crash_of(p)
        if why:
            raise AssertionError(why)
        eq(p.returncode, 0, "exit status (stderr %r)" % p.stderr[:300])
        if b"1000" not in p.stdout or b"cannot read" not in p.stderr:
            raise AssertionError("no report with addresses and a warning:\n%s\n%s" % (
                p.stdout.decode()[:400], p.stderr.decode()[:400]))
    return check


fifo = os.path.join(TMP, "fifo")
os.mkfifo(fifo)
for label, path in [("directory", TMP), ("character device", "/dev/zero"), ("FIFO", fifo)]:
    table_case("module path not an ELF file", "module path is a " + label,
               module_path_case(label, path))


# ---- output side ----

OUTSIDE = os.path.join(TMP, "outside")
os.mkdir(OUTSIDE)
VICTIM = os.path.join(OUTSIDE, "victim")
with open(VICTIM, "w") as f:
    f.write("must stay as it is\n")


def victim_state():
    st = os.stat(VICTIM)
    return open(VICTIM).read(), st.st_mtime_ns, st.st_ino, sorted(os.listdir(OUTSIDE))


def symlinked_output(argv_of, label):
    def check():
        outdir = tempfile.mkdtemp(dir=TMP, prefix="symout-")
        link = os.path.join(outdir, "out")
        dangling = os.path.join(OUTSIDE, "not-there")
        for target in (VICTIM, dangling):
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(target, link)
            before = victim_state()
            p = run_reader(argv_of(link), outdir)
            why = crash_of(p)
            if why:
                raise AssertionError(why)
            eq(p.returncode, 0, "exit status (stderr %r)" % p.stderr[:200])
            eq(victim_state(), before, "the file outside the output directory")
            if os.path.exists(dangling):
                raise AssertionError("created %s through a dangling symlink" % dangling)
            if os.path.islink(link) or os.path.getsize(link) == 0:
                raise AssertionError("-o %s: the symlink was not replaced by the output" % label)
            eq(os.listdir(outdir), ["out"], "files in the output directory")
        shutil.rmtree(outdir)
    return check


output_cmds = [
    ("flamegraph", lambda o: ["flamegraph", GOOD["prof"], "-o", o]),
    ("html", lambda o: ["html", GOOD["snap"], "-o", o]),
] + [("export " + fmt, lambda o, fmt=fmt: ["export", GOOD["prof"], "--format", fmt, "-o", o])
     for fmt in ("callgrind", "folded", "pprof", "speedscope")]
for label, argv_of in output_cmds:
    table_case("-o through a symlink", "-o is a symlink to a file outside: %s replaces the "
               "link, not the file" % label, symlinked_output(argv_of, label))


def unwritable_output(label, argv_of, prefix=()):
    def check():
        before = sorted(os.listdir(TMP))
        p = subprocess.run([*prefix, CPROF, *argv_of()], cwd=OUTSIDE, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=TIMEOUT)
        why = crash_of(p)
        if why:
            raise AssertionError(why)
        lines = p.stderr.decode(errors="replace").splitlines()
        if p.returncode != 1 or len(lines) != 1 or not lines[0].startswith("cprof: cannot "):
            raise AssertionError("%s: exit %d, stderr %r" % (label, p.returncode, p.stderr[:400]))
        eq(sorted(os.listdir(TMP)), before, "the test folder")
        eq(sorted(os.listdir(OUTSIDE)), ["victim"], "the working directory")
    return check


RO = os.path.join(TMP, "read-only")
os.mkdir(RO, 0o555)
os.chmod(RO, 0o555)
NOT_DIR = os.path.join(TMP, "files", "case000.prof")
unwritable = [
    ("a path under /dev/null", "/dev/null/x", ()),
    ("a path under a regular file", NOT_DIR + "/x", ()),
    ("a missing directory", os.path.join(TMP, "no", "such", "x"), ()),
    ("an existing directory", OUTSIDE, ()),
    # Root ignores permissions: the 0555 case runs as nobody.
    ("a 0555 directory", os.path.join(RO, "x"), NOBODY if IS_ROOT else ()),
]
for label, target, prefix in unwritable:
    for cmd, argv_of in [
        ("flamegraph", lambda t=target: ["flamegraph", GOOD["prof"], "-o", t]),
        ("html", lambda t=target: ["html", GOOD["prof"], "-o", t]),
        ("export pprof", lambda t=target: ["export", GOOD["snap"], "--format", "pprof", "-o", t]),
    ]:
        table_case("unwritable output", "-o in %s: %s refuses in one line" % (label, cmd),
                   unwritable_output(label, argv_of, prefix))


def read_only_mount(cmd):
    """The same under a read-only bind mount (root only, if mounts are allowed)."""
    def check():
        mnt = tempfile.mkdtemp(dir=TMP, prefix="ro-mount-")
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
        p = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", mnt, CPROF, *cmd(mnt)],
                           capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        why = crash_of(p)
        if why:
            raise AssertionError(why)
        lines = p.stderr.decode().splitlines()
        if p.returncode != 1 or len(lines) != 1 or "Read-only file system" not in lines[0]:
            raise AssertionError("exit %d, stderr %r" % (p.returncode, p.stderr[:300]))
        eq(os.listdir(mnt), [], "files in the read-only directory")
    return check


def can_mount_read_only():
    probe = tempfile.mkdtemp(dir=TMP, prefix="probe-")
    p = subprocess.run(["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$0" && '
                        'mount -o remount,bind,ro "$0"', probe], capture_output=True, timeout=TIMEOUT)
    os.rmdir(probe)
    if p.returncode:
        skip("read-only bind mount cases: %s" % p.stderr.decode().strip())
    return p.returncode == 0


if IS_ROOT and shutil.which("unshare") and can_mount_read_only():
    for label, cmd in [("flamegraph", lambda m: ["flamegraph", GOOD["prof"], "-o", m + "/x.svg"]),
                       ("run", lambda m: ["run", "-o", m, "--", prog("calls")])]:
        table_case("unwritable output",
                   "-o on a read-only bind mount: %s refuses in one line" % label,
                   read_only_mount(cmd))


def run_unwritable(target, prefix=()):
    def check():
        p = subprocess.run([*prefix, CPROF, "run", "-o", target, "--", prog("calls")],
                           cwd=OUTSIDE, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        why = crash_of(p)
        if why:
            raise AssertionError(why)
        lines = p.stderr.decode().splitlines()
        if p.returncode != 1 or len(lines) != 1 or not lines[0].startswith("cprof: cannot "):
            raise AssertionError("exit %d, stderr %r" % (p.returncode, p.stderr[:400]))
        if p.stdout:
            raise AssertionError("the program ran: %r" % p.stdout[:100])
        eq(sorted(os.listdir(OUTSIDE)), ["victim"], "the working directory")
    return check


for label, target, prefix in [
    ("run -o under /dev/null", "/dev/null/x", ()),
    ("run -o under a regular file", NOT_DIR + "/x", ()),
    ("run -o existing unwritable directory", RO, NOBODY if IS_ROOT else ()),
    ("run -o is a regular file", NOT_DIR, ()),
]:
    table_case("unwritable output", label, run_unwritable(target, prefix))


def planted_symlinks_in_run_dir():
    """Symlinks at every name the runtimes could write for the next PIDs:
    the files they write must replace the links, never the target. On a
    busy machine other processes may take the whole window first: then
    the run is tried again in a fresh one (up to 5 times), so that a pass
    always means the program's PID was planted."""
    for attempt in range(5):
        out = os.path.join(TMP, "run-out-%d" % attempt)
        os.mkdir(out)
        try:
            with open("/proc/sys/kernel/ns_last_pid") as f:
                last = int(f.read())
        except OSError:  # a kernel without it: the last PID made, system-wide
            with open("/proc/loadavg") as f:
                last = int(f.read().split()[4])
        window = range(last + 1, last + 2000)  # room for what else starts meanwhile
        for pid in window:
            for name in ["calls.%d.prof" % pid, "calls.%d.1.snap" % pid, "calls.%d.2.snap" % pid]:
                os.symlink(VICTIM, os.path.join(out, name))
                os.symlink(VICTIM, os.path.join(out, ".%s.tmp%d" % (name, pid)))
        before, outside = victim_state(), sorted(os.listdir(TMP))
        p = subprocess.run([CPROF, "run", "-o", out, "--", prog("calls")], cwd=OUTSIDE,
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        eq(p.returncode, 0, "exit status (stderr %r)" % p.stderr[:300])
        eq(victim_state(), before, "the symlinks' target")
        eq(sorted(os.listdir(TMP)), outside, "the test folder")
        written = [f for f in os.listdir(out) if not os.path.islink(os.path.join(out, f))]
        prof = [f for f in written if f.endswith(".prof")]
        eq(len(prof), 1, "profiles written (%s)" % written)
        pid = int(prof[0].split(".")[1])
        if pid in window:
            break
        shutil.rmtree(out)
    else:
        raise AssertionError("pid %d outside the planted window %d..%d, 5 times: nothing was tested"
                             % (pid, window[0], window[-1]))
    eq(sorted(written), sorted(["calls.%d.prof" % pid, "calls.%d.1.snap" % pid]),
       "regular files written")
    for f in written:
        r = run_reader(["report" if f.endswith(".prof") else "stats", os.path.join(out, f)], out)
        eq(r.returncode, 0, "reading back %s (%r)" % (f, r.stderr[:200]))
    # The temporary names' links were replaced too, then renamed away.
    for name in ["calls.%d.prof" % pid, "calls.%d.1.snap" % pid]:
        if os.path.lexists(os.path.join(out, ".%s.tmp%d" % (name, pid))):
            raise AssertionError("temporary name of %s still there" % name)


table_case("symlink planted in cprof run's directory",
           "cprof run -o DIR with symlinks planted at the runtimes' names",
           planted_symlinks_in_run_dir)


# ---- sensor-pipeline: the CSV regressions the fuzzer found ----

def pipeline_csv(label, content, bad_lines, first_line, first_reason, records_out):
    def check():
        src = os.path.join(TMP, "in.csv")
        js = os.path.join(TMP, "metrics.json")
        with open(src, "wb") as f:
            f.write(content)
        p = subprocess.run([PIPELINE, "--input", src, "--sensors", "4", "--window", "3",
                            "--metrics-json", js], capture_output=True, timeout=60)
        why = crash_of(p)
        if why:
            raise AssertionError(why)
        eq(p.returncode, 0, "exit status (stderr %r)" % p.stderr)
        want = ("sensor-pipeline: %d bad line%s skipped (first at line %d: %s)\n" % (
            bad_lines, "" if bad_lines == 1 else "s", first_line, first_reason)).encode()
        eq(p.stderr, want, "stderr")
        with open(js, "rb") as f:
            m = json.loads(f.read().decode("utf-8"))  # strict: valid UTF-8 and JSON
        eq((m["bad_lines"]["count"], m["bad_lines"]["first_line"], m["bad_lines"]["first_reason"],
            m["records_out"]), (bad_lines, first_line, first_reason, records_out), "metrics")
        os.unlink(js)
    return check


csv_cases = [
    # fuzz/corpus-csv/regress-control-bytes.csv: raw bytes went to the
    # terminal and made --metrics-json invalid UTF-8.
    ("control and non-UTF-8 bytes in a bad field", b"0,0,20\n1,1,\x1b[2J\xff\xfe\n2,2,21\n",
     1, 2, "bad value '\\x1b[2J\\xff\\xfe'", 2),
    ("a long bad field is cut after 24 characters, escapes counted",
     b"0,0," + b"\x01" * 10 + b"\n", 1, 1, "bad value '" + "\\x01" * 6 + "...'", 0),
    # fuzz/corpus-csv/regress-header-nul.csv: the header with a NUL after
    # it was skipped as a header without being counted.
    ("header followed by a NUL byte", b"timestamp,sensor,value\x00,9\n0,0,20\n",
     1, 1, "line holds a NUL byte", 1),
    ("CR only lines", b"timestamp,sensor,value\r\n\r\n0,0,20\r\n", 1, 2, "empty line", 1),
]
for label, content, *expect in csv_cases:
    table_case("sensor-pipeline CSV regressions", "sensor-pipeline --input: " + label,
               pipeline_csv(label, content, *expect))


def regress_seeds_run_clean():
    seeds = sorted(f for f in os.listdir(os.path.join(ROOT, "fuzz", "corpus-csv")))
    if not any(f.startswith("regress-") for f in seeds):
        raise AssertionError("no regress-* seeds in fuzz/corpus-csv")
    for f in seeds:
        p = subprocess.run([PIPELINE, "--input", os.path.join(ROOT, "fuzz", "corpus-csv", f),
                            "--sensors", "4", "--window", "3"], capture_output=True, timeout=60)
        if crash_of(p) or p.returncode != 0 or len(p.stderr.splitlines()) > 1 or any(
                b < 0x20 or b > 0x7e for b in p.stderr.rstrip(b"\n")):
            raise AssertionError("%s: exit %d, stderr %r" % (f, p.returncode, p.stderr[:300]))


table_case("sensor-pipeline CSV regressions",
           "sensor-pipeline reads every fuzz/corpus-csv seed with one printable line",
           regress_seeds_run_clean)

print("\n%-42s %6s  %s" % ("kind", "cases", "all survived"))
for kind, row in TABLE.items():
    n = sum(row.values())
    print("%-42s %6d  %s" % (kind, n, "yes" if row["ok"] == n else ", ".join(
        "%d %s" % (row[k], w) for k, w in [("xfail", "known bug(s)"), ("fail", "FAILED")]
        if row[k])))
c.done()
