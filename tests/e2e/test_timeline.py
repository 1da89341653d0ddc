#!/usr/bin/env python3
"""
Memory over time (tests/progs/mem_timeline.c), on facts that do not
depend on timing: samples in time order, none above the exact peak, the
peak and its time the snapshot's own (not a sample), a snapshot's last
sample its traced bytes, RSS > 0, each snapshot carrying the samples of
the one before; CPROF_TIMELINE=0 writes no section; a single-threaded
program stays so (the helper thread comes with a second thread or
CPROF_INTERVAL) and its SIGUSR2 snapshot is written by the handler (or,
when that cannot take the lock, by the next hook); a long run with a
tiny interval stays within the store as its interval doubles; a
timeline that goes back in time is refused in one line. The chart is
checked in test_html.py.
Env: O=build dir (default build). Exit 0 when every check passes.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cprof_e2e import CPROF, MALLOC_LIB, ROOT, Checks, dump, eq, field, prog, scratch_dir  # noqa: E402

TIMEOUT = 120
STEP = 1 << 20		# mem_timeline.c's STEP_BYTES
STORE = 4096		# common/format.h's FMT_TIMELINE_MAX
c = Checks()
TMP = scratch_dir("cprof-timeline-")


def cprof(*argv, status=0):
    p = subprocess.run([CPROF, *argv], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    if p.returncode != status:
        raise AssertionError("cprof %s: exit %d, expected %d: %s"
                             % (" ".join(argv), p.returncode, status, p.stderr))
    return p


def run(args=(), env=None, status=0):
    """mem_timeline under the shim: (label -> snapshot path, process)."""
    out = tempfile.mkdtemp(dir=TMP)
    e = dict(os.environ, LD_PRELOAD=MALLOC_LIB, CPROF_OUTPUT=out, **(env or {}))
    p = subprocess.run([prog("mem_timeline"), *args], env=e, capture_output=True, text=True,
                       timeout=TIMEOUT)
    eq(p.returncode, status, "mem_timeline %s: exit status (%s)" % (" ".join(args), p.stderr[-300:]))
    snaps = {}
    for f in os.listdir(out):
        path = os.path.join(out, f)
        snaps[json.loads(cprof("stats", path, "--json").stdout)["snapshot"]["label"]] = path
    return snaps, p


def timeline(path):
    return json.loads(cprof("stats", path, "--timeline", "--json").stdout)


def in_order_and_bounded(d, what):
    samples = d["timeline"]["samples"]
    ts = [x["t"] for x in samples]
    eq(ts, sorted(ts), "%s: samples in time order" % what)
    over = [x for x in samples if x["traced"] > d["peak"]["traced"]]
    eq(over, [], "%s: samples above the exact peak" % what)
    eq([x for x in samples if x["rss"] <= 0], [], "%s: samples without RSS" % what)


def steps():
    snaps, _ = run()
    eq(sorted(snaps), ["exit", "quiet"], "snapshots")
    quiet, last = timeline(snaps["quiet"]), timeline(snaps["exit"])
    for what, d in (("quiet", quiet), ("exit", last)):
        in_order_and_bounded(d, what)
        # The peak is the runtime's exact counter, not the largest sample.
        eq(d["peak"]["traced"], 4 * STEP, "%s: peak" % what)
        eq(d["peak"]["traced"], d["snapshot"]["peak_size"], "%s: peak against the header" % what)
        eq(round(d["peak"]["t"], 6), d["snapshot"]["peak_time"], "%s: peak time" % what)
        eq(d["timeline"]["interval_ms"], 10, "%s: default interval" % what)
        eq(d["timeline"]["decimations"], 0, "%s: decimations" % what)
        # The snapshot's own moment is its last sample: its traced bytes.
        eq(d["timeline"]["samples"][-1]["traced"], d["snapshot"]["traced_size"],
           "%s: last sample against the snapshot" % what)
    eq(quiet["snapshot"]["traced_size"], 2 * STEP, "quiet: traced bytes after freeing half")
    # Each 1 MiB block ticks at once and the steps are 30 ms apart (3
    # intervals): the samples up to the top are one a step.
    ups = [x["traced"] for x in quiet["timeline"]["samples"]]
    if 4 * STEP not in ups:
        raise AssertionError("no sample at the top: %r" % ups)
    eq([x for x in ups[:ups.index(4 * STEP) + 1] if x >= STEP], [STEP, 2 * STEP, 3 * STEP, 4 * STEP],
       "quiet: a sample after each step")
    # Each snapshot carries every sample so far: the exit one extends quiet's.
    qs, es = quiet["timeline"]["samples"], last["timeline"]["samples"]
    eq(es[:len(qs)], qs, "exit's samples begin with quiet's")
    if len(es) <= len(qs):
        raise AssertionError("exit has no sample of its own")
    d = dump(snaps["quiet"])
    sec = [s for s in d["sections"] if s["name"] == "timeline"]
    eq(len(sec), 1, "cprof dump: one timeline section")
    eq(sec[0]["count"], len(qs), "cprof dump: the section's count")


def off():
    snaps, p = run(env={"CPROF_TIMELINE": "0"})
    for label, path in snaps.items():
        eq([s["name"] for s in dump(path)["sections"] if s["name"] == "timeline"], [],
           "%s: no timeline section with CPROF_TIMELINE=0" % label)
    r = cprof("stats", snaps["exit"], "--timeline", "--json", status=1)
    eq(r.stdout, "", "no output without a timeline")
    eq(len(r.stderr.strip().splitlines()), 1, "one line: %r" % r.stderr)
    if "no timeline" not in r.stderr:
        raise AssertionError("the error does not say why: %r" % r.stderr)
    # A bad value is said once and turns it off.
    snaps, p = run(env={"CPROF_TIMELINE": "10ms"})
    if "CPROF_TIMELINE" not in p.stderr:
        raise AssertionError("a bad CPROF_TIMELINE is not reported: %r" % p.stderr)
    eq([s["name"] for s in dump(snaps["exit"])["sections"] if s["name"] == "timeline"], [],
       "no timeline with a bad CPROF_TIMELINE")


def threads():
    """The program's thread count is its exit status. A single-threaded
    program stays so (a second thread makes glibc's malloc lock); the
    helper comes with the program's second thread, or CPROF_INTERVAL."""
    run(["tasks"], {"CPROF_TIMELINE": "0", "CPROF_SNAPSHOT_SIGNAL": "0"}, status=1)
    run(["tasks"], {}, status=1)
    run(["tasks"], {"CPROF_INTERVAL": "60"}, status=2)
    run(["tasks-thread"], {}, status=2)	# main and the helper; the thread is joined
    run(["tasks-thread"], {"CPROF_TIMELINE": "0"}, status=2)	# for the signal alone
    run(["tasks-thread"], {"CPROF_TIMELINE": "0", "CPROF_SNAPSHOT_SIGNAL": "none"}, status=1)


def signal_single_threaded():
    """SIGUSR2 in a single-threaded program outside the shim: the handler
    writes the snapshot before raise() returns, no thread starts; raised
    while the shim holds its snapshot lock: the next hook writes it."""
    snaps, _ = run(["signal"], status=11)	# 1 thread, 1 file (10 x files + threads)
    eq(sorted(snaps), ["exit", "signal"], "snapshots")
    d = timeline(snaps["signal"])
    in_order_and_bounded(d, "signal")
    eq(d["timeline"]["samples"][-1]["traced"], d["snapshot"]["traced_size"],
       "signal: last sample against the snapshot")
    # Raised by a fork prepare handler while the shim holds its snapshot
    # lock: not written then (nor deadlocked), written by the next hook.
    snaps, _ = run(["fork-signal"], status=1)
    eq(sorted(snaps), ["exit", "signal"], "fork-signal: snapshots")


def decimation():
    # 10 us between samples over 1.5 s of malloc and free, sampled by the
    # hooks every 128 calls: the store fills and is thinned however slowly
    # a loaded machine runs (> 4096 samples at 10 us each).
    snaps, _ = run(["churn", "1500"], {"CPROF_TIMELINE": "0.01"})
    d = timeline(snaps["exit"])
    tl = d["timeline"]
    in_order_and_bounded(d, "decimated")
    if tl["decimations"] < 1:
        raise AssertionError("no decimation in %d samples" % len(tl["samples"]))
    eq(tl["base_interval_ms"], 0.01, "base interval")
    eq(abs(tl["interval_ms"] - 0.01 * 2 ** tl["decimations"]) < 1e-9, True,
       "interval doubled per decimation (%r)" % tl)
    n = len(tl["samples"])
    # A decimation leaves half the store; samples are added until it is full.
    eq(STORE // 2 < n <= STORE, True, "samples within the store (%d)" % n)


def refuses_time_going_back():
    snaps, _ = run()
    path = snaps["quiet"]
    d = dump(path)
    sec = [s for s in d["sections"] if s["name"] == "timeline"][0]
    off_t, fmt = field(d["layout"], "fmt_timeline_sample", "t_ns")
    head = d["layout"]["fmt_timeline"]["size"]
    one = d["layout"]["fmt_timeline_sample"]["size"]
    data = bytearray(open(path, "rb").read())
    at0 = sec["payload"] + head + off_t
    at1 = at0 + one
    t0 = struct.unpack_from("<" + fmt, data, at0)[0]
    t1 = struct.unpack_from("<" + fmt, data, at1)[0]
    struct.pack_into("<" + fmt, data, at0, t1 + 1)
    struct.pack_into("<" + fmt, data, at1, t0)
    bad = os.path.join(TMP, "backwards.snap")
    open(bad, "wb").write(bytes(data))
    for argv in (("stats", bad), ("stats", bad, "--timeline", "--json"), ("html", bad, "-o",
                                                                         bad + ".html")):
        r = cprof(*argv, status=1)
        eq(len(r.stderr.strip().splitlines()), 1, "one line: %r" % r.stderr)
        if "back in time" not in r.stderr:
            raise AssertionError("the error does not say what is wrong: %r" % r.stderr)


def needs_json():
    snaps, _ = run()
    r = cprof("stats", snaps["exit"], "--timeline", status=2)
    if "--json" not in r.stderr:
        raise AssertionError("--timeline without --json does not say to add it: %r" % r.stderr)
    cprof("diff", snaps["quiet"], snaps["exit"], "--timeline", status=2)


c.case("steps: in order, under the exact peak, the snapshot's last sample", steps)
c.case("CPROF_TIMELINE=0: no section, stats --timeline refuses in one line", off)
c.case("helper thread only in a multi-threaded program, or for CPROF_INTERVAL", threads)
c.case("SIGUSR2 in a single-threaded program: by the handler, or the next hook", signal_single_threaded)
c.case("decimation: a long run stays in the store, the interval doubles", decimation)
c.case("a timeline going back in time is refused", refuses_time_going_back)
c.case("--timeline needs --json and is stats' only", needs_json)
c.done()
