"""
cprof on a real third-party code base: SQLite 3.53.0, the amalgamation
bundled in the npm package better-sqlite3@12.9.0, compiled with
-finstrument-functions together with our driver
tests/thirdparty/sqlite_workload.c (sqlite_build.py; compiled once for
every test and pass that uses the same gcc and flags). Checks that the driver's output and
status are unchanged under `cprof run`, that the profile's call counts are
exactly the driver's (plus the calls SQLite makes itself, named), that
functions resolve to their definition lines in sqlite3.c, that the
snapshots' allocation sites and totals agree with SQLite's own heap
accounting and with valgrind's, and that export and flame graph work.
Prints the figures it measured ("figure: ...").
"""
import json
import os
import re
import subprocess
import tempfile
import time

from cprof_e2e import CPROF, ROOT, Checks, Run, eq
from sqlite_build import DRIVER, EXE, SQLITE_C, SQLITE_FLAGS, SQLITE_VERSION, build

REAL_SQLITE_C, REAL_DRIVER = os.path.realpath(SQLITE_C), os.path.realpath(DRIVER)
ROWS, STATIONS = 50000, 16


def cprof(*args):
    p = subprocess.run([CPROF, *args], capture_output=True, timeout=120, cwd=ROOT)
    if p.returncode != 0:
        raise AssertionError("cprof %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.decode()))
    return p.stdout


def definition_lines(name):
    """Lines of name's definitions in sqlite3.c: declarators followed by '{'
    (some functions have one per #if branch)."""
    found = []
    for i, line in enumerate(SOURCE):
        if re.match(r"[A-Za-z_].*\b%s\(" % name, line):
            text = " ".join(SOURCE[i:i + 12])
            rest = text[text.index(name + "("):]
            if rest.find("{") >= 0 and (rest.find(";") < 0 or rest.find("{") < rest.find(";")):
                found.append(i + 1)
    if not found:
        raise AssertionError("no definition of %s in sqlite3.c" % name)
    return found


def source_line(text):
    """The one line of sqlite3.c holding text."""
    found = [i + 1 for i, line in enumerate(SOURCE) if text in line]
    eq(len(found), 1, "lines of sqlite3.c with %r" % text)
    return found[0]


def same_file(entry, path):
    """entry's file (relative to ROOT when below it) is path."""
    return bool(entry["file"]) and os.path.realpath(os.path.join(ROOT, entry["file"])) == path


def is_sqlite(entry):
    return same_file(entry, REAL_SQLITE_C)


def is_driver(entry):
    return same_file(entry, REAL_DRIVER)


facts = {"compile_s": build(reuse=True)}
SOURCE = open(SQLITE_C, encoding="latin-1").read().split("\n")
c = Checks()

t0 = time.monotonic()
plain = subprocess.run([EXE, str(ROWS), str(STATIONS)], capture_output=True, timeout=120)
facts["plain_s"] = time.monotonic() - t0
t0 = time.monotonic()
run = Run([EXE, str(ROWS), str(STATIONS)])
facts["cprof_s"] = time.monotonic() - t0

# What the driver calls, from the SQL it runs (see sqlite_workload.c):
# prepares: 6 run() + 2 fill + 4 queries + 1 delete + 2 totals;
# steps: 6 run() + S + R inserts + 2 totals + (S + 1) summary + (5 + 1)
# busiest + S x (3 + 1) top readings + 1 delete.
R, S = ROWS, STATIONS
API = {"prepare": 14, "step": R + 6 * S + 16, "bind_int": 2 * R + 2 * S + 2,
       "bind_text": R + S, "reset": R + 2 * S, "finalize": 14}


def output_unchanged():
    eq(plain.returncode, 0, "plain run's exit status (stderr: %r)" % plain.stderr[-300:])
    eq(run.status, plain.returncode, "exit status under cprof run")
    if run.stdout != plain.stdout:
        raise AssertionError("stdout differs under cprof run (%d vs %d bytes)"
                             % (len(run.stdout), len(plain.stdout)))
    eq(plain.stdout.splitlines()[0], b"sqlite " + SQLITE_VERSION.encode(), "first line")
    last = plain.stdout.decode().splitlines()[-1]
    tallies = dict(kv.split("=") for kv in last.split()[1:])
    eq({k: int(v) for k, v in tallies.items()}, API, "the driver's own tallies")


prof = {}


def load_profile():
    rep = run.report(None, "--callers")
    prof["json"] = rep
    prof["by_name"] = {f["name"]: f for f in rep["functions"]}
    eq(rep["dropped"], {"nodes": 0, "frames": 0, "mismatched_exits": 0,
                        "skipped_in_signal_handlers": 0}, "dropped")
    eq(rep["threads"], 1, "threads")


def func(name):
    f = prof["by_name"].get(name)
    if f is None:
        raise AssertionError("%s is not in the profile" % name)
    return f


def callers(name):
    return {c["name"]: c["calls"] for c in func(name)["callers"]}


def exact_call_counts():
    # SQLite runs its schema SQL through sqlite3_exec: once to load the
    # (empty) schema at the first prepare (one step, no rows), and once per
    # CREATE (2 tables, 1 index) to read back the new sqlite_schema row
    # (row + done: two steps, inside the CREATE's own step, so recursive).
    ddl = 3
    f = func("sqlite3_step")
    eq(callers("sqlite3_step"), {"step": API["step"], "sqlite3_exec": 1 + 2 * ddl},
       "sqlite3_step's callers")
    eq((f["calls"], f["primitive_calls"]), (API["step"] + 1 + 2 * ddl, API["step"] + 1),
       "sqlite3_step calls/primitive")
    eq(func("sqlite3VdbeExec")["calls"], f["calls"], "one VDBE run per step")
    eq(callers("sqlite3_exec"), {"sqlite3InitOne": 1, "sqlite3VdbeExec": ddl}, "sqlite3_exec's callers")
    eq(callers("sqlite3_prepare_v2"), {"prepare": API["prepare"], "sqlite3_exec": 1 + ddl},
       "sqlite3_prepare_v2's callers")
    eq(func("sqlite3_prepare_v2")["calls"], API["prepare"] + 1 + ddl, "sqlite3_prepare_v2 calls")
    eq(callers("sqlite3_bind_int"), {"bind_int": API["bind_int"]}, "sqlite3_bind_int's callers")
    eq(func("sqlite3_bind_int")["calls"], API["bind_int"], "sqlite3_bind_int calls")
    # sqlite3_bind_int is a wrapper of sqlite3_bind_int64 (inlined at -O2,
    # still counted: -finstrument-functions instruments inlined bodies).
    eq(callers("sqlite3_bind_int64"), {"sqlite3_bind_int": API["bind_int"]}, "sqlite3_bind_int64's callers")
    eq(func("sqlite3_bind_text")["calls"], API["bind_text"], "sqlite3_bind_text calls")
    eq(callers("sqlite3_reset"), {"reset": API["reset"]}, "sqlite3_reset's callers")
    eq(func("sqlite3_open")["calls"], 1, "sqlite3_open calls")
    eq(func("sqlite3_close")["calls"], 1, "sqlite3_close calls")
    eq(func("main")["calls"], 1, "main calls")


def counts_only_agrees():
    # CPROF_COUNTS_ONLY=1 reads no clock: the same calls, function for function.
    co = Run([EXE, str(ROWS), str(STATIONS)], env={"CPROF_COUNTS_ONLY": "1"}, run_args=["--no-mem"])
    eq(co.stdout, plain.stdout, "stdout with CPROF_COUNTS_ONLY=1")
    rep = co.report()
    eq(rep["counts_only"], True, "counts_only")
    calls = {f["name"]: (f["calls"], f["primitive_calls"]) for f in rep["functions"]}
    eq(calls, {f["name"]: (f["calls"], f["primitive_calls"]) for f in prof["json"]["functions"]},
       "calls per function, counts-only vs timed")
    facts["total_calls"] = rep["total_calls"]


def resolves_to_sqlite3_c():
    fs = prof["json"]["functions"]
    facts["functions"] = len(fs)
    facts["sqlite_functions"] = sum(1 for f in fs if is_sqlite(f))
    strays = [f["name"] for f in fs if not (is_sqlite(f) or is_driver(f)) or f["line"] <= 0]
    eq(strays, [], "functions not resolved to sqlite3.c or the driver")
    eq(sorted(f["name"] for f in fs if is_driver(f)),
       sorted(["main", "prepare", "step", "bind_int", "bind_text", "reset", "finalize", "run",
               "lcg", "fill", "per_station_summary", "busiest_stations", "top_readings",
               "totals", "snapshot_loaded"]), "the driver's functions")
    for name in ["sqlite3_step", "sqlite3_prepare_v2", "sqlite3_bind_int", "sqlite3VdbeExec",
                 "sqlite3BtreeInsert", "sqlite3MemMalloc", "pcache1AllocPage", "sqlite3Parser"]:
        f = func(name)
        if not is_sqlite(f):
            raise AssertionError("%s is in %r, not sqlite3.c" % (name, f["file"]))
        if f["line"] not in definition_lines(name):
            raise AssertionError("%s at line %d, defined at %r" % (name, f["line"], definition_lines(name)))


def times_are_plausible():
    # Raw (--no-compensate) figures: each is a sum of measured intervals,
    # so its bounds hold however loaded the machine. The compensated
    # figures subtract a calibrated estimate whose error on 20M calls
    # depends on that load; `make bench` measures their accuracy, and this
    # test keeps only what holds by construction for them.
    raw = run.report(None, "--no-compensate")
    total = raw["total_time"]
    tot_sum = sum(f["tottime"] for f in raw["functions"])
    if abs(tot_sum - total) > 1e-6 * len(raw["functions"]):
        raise AssertionError("tottimes sum to %.9f, total_time is %.9f" % (tot_sum, total))
    raw_by_name = {f["name"]: f for f in raw["functions"]}
    main = raw_by_name["main"]
    facts["main_cumtime_raw"] = main["cumtime"]
    facts["main_cumtime"] = func("main")["cumtime"]
    if main["cumtime"] < 0.9 * total:
        raise AssertionError("main's cumtime %.3f s < 90%% of %.3f s" % (main["cumtime"], total))
    # Raw time holds the whole uninstrumented work and fits in the wall
    # time of its run.
    if not 0.5 * facts["plain_s"] <= main["cumtime"] <= facts["cprof_s"]:
        raise AssertionError("main's raw cumtime %.3f s outside [%.3f, %.3f]"
                             % (main["cumtime"], 0.5 * facts["plain_s"], facts["cprof_s"]))
    top = sorted(raw["functions"], key=lambda f: -f["tottime"])
    facts["top5"] = [(f["name"], f["calls"], round(f["tottime"], 4)) for f in top[:5]]
    # The bytecode interpreter is SQLite's hot loop, far ahead of the rest.
    if "sqlite3VdbeExec" not in [f["name"] for f in top[:3]]:
        raise AssertionError("sqlite3VdbeExec not in the top 3 by tottime: %r" % facts["top5"])
    for name in ["sqlite3VdbeExec", "sqlite3BtreeInsert", "sqlite3BtreeIndexMoveto",
                 "sqlite3VdbeRecordCompareWithSkip"]:
        if not raw_by_name[name]["tottime"] > 0:
            raise AssertionError("%s has no tottime" % name)
    # The driver's own share is its snprintf and printf calls (about 5%).
    share = sum(f["tottime"] for f in raw["functions"] if is_sqlite(f)) / total
    facts["sqlite_share"] = share
    if share < 0.8:
        raise AssertionError("sqlite3.c holds %.1f%% of the tottime, expected >= 80%%" % (100 * share))


snaps = {}


def snapshots():
    files = sorted((f for f in os.listdir(run.dir) if f.endswith(".snap")),
                   key=lambda f: int(f.split(".")[-2]))
    eq(len(files), 2, "snapshots")
    for f in files:
        path = os.path.join(run.dir, f)
        for by in ("lineno", "traceback"):
            d = json.loads(cprof("stats", path, "--json", "--by", by))
            snaps[(d["snapshot"]["label"], by)] = d
    eq(sorted({label for label, _ in snaps}), ["exit", "loaded"], "snapshot labels")
    for (label, by), d in snaps.items():
        eq((d["snapshot"]["dropped_allocs"], d["snapshot"]["dropped_traces"]), (0, 0),
           "dropped in %s" % label)


def loaded_matches_sqlite_accounting():
    # The driver prints SQLite's own count of its live heap just before the
    # snapshot "loaded": rounded request sizes, without the 8-byte size
    # prefix sqlite3MemMalloc puts in front of each block.
    m = re.search(rb"sqlite heap: (\d+) bytes in (\d+) blocks", plain.stdout)
    sq_bytes, sq_blocks = int(m.group(1)), int(m.group(2))
    d = snaps[("loaded", "lineno")]
    ours = [e for e in d["entries"] if is_sqlite(e)]
    eq(sum(e["count"] for e in ours), sq_blocks, "live blocks allocated in sqlite3.c")
    eq(sum(e["size"] for e in ours), sq_bytes + 8 * sq_blocks, "live bytes allocated in sqlite3.c")
    # The rest is at most stdout's buffer, allocated by libc itself.
    others = [e for e in d["entries"] if not is_sqlite(e)]
    if sum(e["count"] for e in others) > 1:
        raise AssertionError("live blocks outside sqlite3.c: %r" % others)
    # Every SQLite allocation goes through its default allocator's two calls.
    sites = {(e["function"], e["line"]) for e in ours}
    known = {("sqlite3MemMalloc", source_line("p = SQLITE_MALLOC( nByte+8 );")),
             ("sqlite3MemRealloc", source_line("p = SQLITE_REALLOC(p, nByte+8 );"))}
    if not sites <= known or ("sqlite3MemMalloc", source_line("p = SQLITE_MALLOC( nByte+8 );")) not in sites:
        raise AssertionError("sites %r, expected within %r" % (sites, known))
    facts["loaded"] = (d["snapshot"]["traced_size"], d["snapshot"]["traced_count"],
                       d["snapshot"]["traces"], sq_bytes, sq_blocks)


def tracebacks_name_sqlite_internals():
    d = snaps[("loaded", "traceback")]
    entries = d["entries"]
    eq(sum(e["count"] for e in entries), d["snapshot"]["traced_count"], "blocks over tracebacks")
    # The biggest: B-tree pages in the page cache (an in-memory database).
    top = [f["function"] for f in entries[0]["traceback"]]
    for name in ("sqlite3MemMalloc", "pcache1AllocPage", "sqlite3BtreeInsert"):
        if name not in top:
            raise AssertionError("%s not in the biggest traceback %r" % (name, top))
    # The lookaside buffer sqlite3_open sets up: SQLITE_DEFAULT_LOOKASIDE
    # 1200,40 = 48000 bytes, plus the size prefix, one block.
    look = [e for e in entries if any(f["function"] == "setupLookaside" for f in e["traceback"])]
    eq([(e["size"], e["count"]) for e in look], [(48008, 1)], "lookaside block")
    frames = [f for e in entries for f in e["traceback"] if f["file"].endswith("sqlite3.c")]
    for f in frames:
        if f["line"] <= 0 or f["line"] > len(SOURCE):
            raise AssertionError("frame outside sqlite3.c's lines: %r" % f)


def sqlite_frames(entry):
    return tuple((f["function"], f["line"]) for f in entry["traceback"]
                 if is_sqlite(f) or is_driver(f))


def fp_unwinder_agrees():
    # SQLite is built with frame pointers: the frame-pointer walk must find
    # the same SQLite and driver frames as libunwind, site for site (it
    # stops at libc's frames, which libunwind goes on through).
    fp = Run([EXE, str(ROWS), str(STATIONS)], env={"CPROF_UNWIND": "fp"}, run_args=["--no-calls"])
    eq(fp.status, 0, "exit status with CPROF_UNWIND=fp")
    eq(fp.stdout, plain.stdout, "stdout with CPROF_UNWIND=fp")
    path = [os.path.join(fp.dir, f) for f in os.listdir(fp.dir) if f.endswith(".1.snap")]
    eq(len(path), 1, "snapshot 'loaded' with CPROF_UNWIND=fp")
    d = json.loads(cprof("stats", path[0], "--json", "--by", "traceback"))
    eq(d["snapshot"]["label"], "loaded", "label")

    def sites(snap):
        out = {}
        for e in snap["entries"]:
            if is_sqlite(e):
                key = sqlite_frames(e)
                size, count = out.get(key, (0, 0))
                out[key] = (size + e["size"], count + e["count"])
        return out
    lib, fpw = sites(snaps[("loaded", "traceback")]), sites(d)
    if lib != fpw:
        only = set(lib.items()) ^ set(fpw.items())
        raise AssertionError("%d traces differ between libunwind and fp, e.g. %r"
                             % (len(only), sorted(only)[:2]))
    facts["fp_traces"] = len(fpw)


VALGRIND_RE = re.compile(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes allocated")
INUSE_RE = re.compile(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks")


def num(s):
    return int(s.replace(",", ""))


def valgrind_agrees():
    # No freeres: libc keeps stdout's buffer at exit, as under cprof.
    p = subprocess.run(["valgrind", "--tool=memcheck", "--run-libc-freeres=no",
                        EXE, str(ROWS), str(STATIONS)], capture_output=True, timeout=300)
    eq(p.returncode, 0, "valgrind's exit status")
    eq(p.stdout, plain.stdout, "stdout under valgrind")
    err = p.stderr.decode()
    m, inuse = VALGRIND_RE.search(err), INUSE_RE.search(err)
    if not m or not inuse:
        raise AssertionError("no heap summary from valgrind: " + err[-500:])
    allocs, frees, nbytes = num(m.group(1)), num(m.group(2)), num(m.group(3))
    s = snaps[("exit", "lineno")]["snapshot"]
    facts["valgrind"] = (allocs, frees, nbytes, num(inuse.group(1)), num(inuse.group(2)))
    facts["cprof_exit"] = (s["allocated_count"], s["freed_count"], s["allocated_size"],
                           s["traced_size"], s["traced_count"])
    # Same definitions: an allocation is every successful malloc, calloc,
    # realloc (its new size), and a realloc also frees the old block.
    eq(s["allocated_count"], allocs, "allocation calls (cprof vs valgrind)")
    eq(s["allocated_size"], nbytes, "bytes allocated (cprof vs valgrind)")
    eq(s["freed_count"], frees, "frees (cprof vs valgrind)")
    eq((s["traced_size"], s["traced_count"]), (num(inuse.group(1)), num(inuse.group(2))),
       "live at exit (cprof vs valgrind)")
    eq(s["untraced_frees"], 0, "untraced frees")


def export_and_flamegraph():
    tmp = tempfile.mkdtemp(prefix="cprof-thirdparty-", dir=run.dir)
    prof_path = run.main_profile()
    facts["prof_bytes"] = os.path.getsize(prof_path)
    cg = os.path.join(tmp, "callgrind.out")
    cprof("export", prof_path, "--format", "callgrind", "-o", cg)
    text = open(cg).read()
    m = re.search(r"^summary: (\d+)$", text, re.M)
    if not m:
        raise AssertionError("no summary line in the callgrind export")
    summary = int(m.group(1))
    # Nanoseconds, each function's tottime rounded on its own.
    rep = prof["json"]
    if abs(summary - rep["total_time"] * 1e9) > len(rep["functions"]):
        raise AssertionError("callgrind summary %d ns, report total %.9f s" % (summary, rep["total_time"]))
    p = subprocess.run(["callgrind_annotate", cg], capture_output=True, text=True, timeout=120)
    eq(p.returncode, 0, "callgrind_annotate's exit status")
    m = re.search(r"^([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", p.stdout, re.M)
    if not m:
        raise AssertionError("no PROGRAM TOTALS in callgrind_annotate's output")
    eq(num(m.group(1)), summary, "callgrind_annotate's total")
    if "sqlite3VdbeExec" not in p.stdout:
        raise AssertionError("callgrind_annotate does not list sqlite3VdbeExec")
    svg = os.path.join(tmp, "flame.svg")
    cprof("flamegraph", prof_path, "-o", svg)
    body = open(svg).read()
    if "<svg" not in body[:1000] or not body.rstrip().endswith("</svg>"):
        raise AssertionError("the flame graph is not an SVG")
    for name in ("main", "sqlite3_step", "sqlite3VdbeExec"):
        if name not in body:
            raise AssertionError("%s missing from the flame graph" % name)


for fn in [output_unchanged, load_profile, exact_call_counts, counts_only_agrees,
           resolves_to_sqlite3_c, times_are_plausible, snapshots, loaded_matches_sqlite_accounting,
           tracebacks_name_sqlite_internals, fp_unwinder_agrees, valgrind_agrees, export_and_flamegraph]:
    c.case(fn.__name__, fn)

print("figure: sqlite3.c %d lines, %s (gcc %s)" % (
    len(SOURCE) - 1, "compile %.1f s" % facts["compile_s"] if facts["compile_s"] is not None
    else "compiled by an earlier run with the same gcc and flags", " ".join(SQLITE_FLAGS)))
print("figure: workload %d rows: plain %.3f s, cprof run %.3f s" % (ROWS, facts["plain_s"], facts["cprof_s"]))
for k in ("total_calls", "main_cumtime_raw", "main_cumtime", "prof_bytes", "functions", "sqlite_functions", "sqlite_share", "top5",
          "loaded", "fp_traces", "valgrind", "cprof_exit"):
    if k in facts:
        print("figure: %s = %r" % (k, facts[k]))
c.done()
