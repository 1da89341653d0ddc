"""
End to end: programs of known structure under `cprof run`, with exact
call counts, primitive calls, callers, and timing within stated bounds.
"""
import re
import subprocess

from cprof_e2e import Checks, Run, by_name, dump, eq, prog, within, CPROF

c = Checks()


def counts_exact(compiler="gcc"):
    r = Run([prog("calls", compiler)])
    eq(r.status, 0, "exit status")
    eq(re.sub(rb"spin_50ms [0-9.]+\n", b"", r.stdout), b"fact(9)=362880 even(7)=0\n",
       "program stdout")
    f = by_name(r.report())
    for name, calls, pcalls in [("main", 1, 1), ("loop_caller", 1, 1), ("leaf", 1000, 1000),
                                ("fact", 10, 1), ("is_even", 4, 1), ("is_odd", 4, 1),
                                ("spin_50ms", 1, 1)]:
        eq((f[name]["calls"], f[name]["primitive_calls"]), (calls, pcalls), name)
    # clang's DWARF 5 has no .debug_aranges and names the source file 0.
    for name, line in [("main", 61), ("loop_caller", 19), ("leaf", 14), ("fact", 25),
                       ("is_even", 32), ("is_odd", 37), ("spin_50ms", 51)]:
        eq((f[name]["file"], f[name]["line"]), ("tests/progs/calls.c", line),
           name + " file (relative to the current directory) and definition line")


def counts_exact_clang():
    counts_exact("clang")


def timing_50ms():
    # The profiler's figure is compared with the program's own clock over
    # the same interval (about 50 ms, more when preempted near its end),
    # so load, which both see, cannot move it out of the bound: the hooks
    # add well under a microsecond inside that interval.
    r = Run([prog("calls")])
    f = by_name(r.report())
    m = re.search(rb"^spin_50ms ([0-9.]+)$", r.stdout, re.M)
    if not m:
        raise AssertionError("calls did not print its spin time: %r" % r.stdout)
    spin = float(m.group(1))
    within(spin, 0.050, 0.5, "the program's own spin time (sanity)")
    within(f["spin_50ms"]["tottime"], spin, 0.01, "spin_50ms tottime")
    within(f["spin_50ms"]["cumtime"], spin, 0.01, "spin_50ms cumtime")
    # main's own work is a few printf calls: were the spin charged to it,
    # its tottime would hold the whole spin; a preemption is far less.
    if f["main"]["tottime"] > spin / 2:
        raise AssertionError("main absorbed its callee's time: tottime %g" % f["main"]["tottime"])


def recursion_cumtime_outermost():
    r = Run([prog("calls")])
    rep = r.report(None, "--callers")
    f = by_name(rep)
    # cumtime of a recursive function counts its outermost activation only
    if f["fact"]["cumtime"] > f["main"]["cumtime"]:
        raise AssertionError("fact cumtime exceeds main's")
    callers = {e["name"]: (e["calls"], e["primitive_calls"]) for e in f["fact"]["callers"]}
    eq(callers, {"main": (1, 1), "fact": (9, 1)}, "fact callers")
    callers = {e["name"]: e["calls"] for e in f["is_odd"]["callers"]}
    eq(callers, {"is_even": 4}, "is_odd callers")


def threads_merged():
    r = Run([prog("threads")])
    rep = r.report()
    f = by_name(rep)
    eq(rep["threads"], 17, "threads in profile")
    eq(f["thread_main"]["calls"], 16, "thread_main")
    eq(f["work"]["calls"], 16000, "work")
    eq(f["leaf"]["calls"], 48000, "leaf")
    eq(f["after_join"]["calls"], 1, "after_join")


def fork_child_profile():
    r = Run([prog("forker")])
    profs = r.profiles()
    eq(len(profs), 2, "profiles written (parent and child)")
    parent = by_name(r.report(profs[0]))
    child = by_name(r.report(profs[1]))
    eq(parent["parent_work"]["calls"], 3, "parent_work in parent")
    eq(parent["before_fork"]["calls"], 1, "before_fork in parent")
    eq("child_work" in parent, False, "child_work absent from parent")
    eq(child["child_work"]["calls"], 5, "child_work in child")
    eq("before_fork" in child, False, "parent's calls absent from child")


def longjmp_consistent():
    r = Run([prog("longjmp")])
    rep = r.report(None, "--callers")
    f = by_name(rep)
    eq((f["dive"]["calls"], f["dive"]["primitive_calls"]), (1000, 100), "dive")
    eq(f["after_jump"]["calls"], 100, "after_jump")
    eq([e["name"] for e in f["after_jump"]["callers"]], ["main"], "after_jump's caller")
    for fn in rep["functions"]:
        if fn["tottime"] < 0 or fn["cumtime"] < 0 or fn["cumtime"] > f["main"]["cumtime"] * 1.01:
            raise AssertionError("inconsistent times for %s" % fn["name"])


def deep_recursion():
    r = Run([prog("deep")])
    eq(r.status, 0, "exit status")
    f = by_name(r.report())
    eq((f["recurse"]["calls"], f["recurse"]["primitive_calls"]), (100001, 1), "recurse")
    eq(r.report()["dropped"]["frames"], 0, "dropped frames")


def signal_handlers():
    r = Run([prog("signals")])
    handled = int(re.search(rb"handled (\d+)", r.stdout).group(1))
    rep = r.report()
    f = by_name(rep)
    skipped = rep["dropped"]["skipped_in_signal_handlers"]
    # Each handled signal calls on_alarm and in_handler: recorded or skipped.
    eq(f["in_handler"]["calls"] + f["on_alarm"]["calls"] + skipped, 2 * handled,
       "handler calls + skipped")
    eq(rep["dropped"]["mismatched_exits"], 0, "mismatched exits")


def paused_region():
    r = Run([prog("paused")], run_args=["--paused"])
    f = by_name(r.report())
    eq(f["inside"]["calls"], 5, "inside")
    eq("outside" in f, False, "outside absent")
    r = Run([prog("paused")], env={"CPROF_PAUSED": "1"})
    eq(set(by_name(r.report())), {"inside"}, "functions with CPROF_PAUSED=1")


def overhead_compensation():
    # What holds under any load: the compensation takes time out (never
    # below zero), and takes out the hooks' cost, not the program's. Each
    # run's preemption is taken out of both figures first: the share of
    # parent's wall time its thread was not running (the program measures
    # its wall and CPU time). Calibration at a loaded start-up can still
    # miss, so the accuracy is judged on the best of 5 runs here, and
    # measured properly by `make bench`.
    runs = []
    for _ in range(5):
        r = Run([prog("overhead")])
        figures = {k.decode(): int(v) for k, v in re.findall(rb"(\w+)_ns (\d+)", r.stdout)}
        truth = figures["plain"] / 1e9
        report = r.report()
        # Both parts of the calibration are measured, never 0: each of its
        # timings keeps its own fastest round, so an interrupted plain loop
        # cannot cancel the traced loop's extra time.
        per_call = report["overhead_per_call"]
        if not (per_call["inner"] > 0 and per_call["outer"] > 0):
            raise AssertionError("calibrated overhead per call %r: a part is 0" % per_call)
        comp = by_name(report)["parent"]["cumtime"]
        raw = by_name(r.report(None, "--no-compensate"))["parent"]["cumtime"]
        if not 0 <= comp < raw:
            raise AssertionError("compensated %g s is not below raw %g s" % (comp, raw))
        # Raw time is the program's own wall clock over the same call, less
        # what parent's own hooks do outside their clock reads (on its
        # first call: the call tree's node, the CFA scan; a page fault or
        # a preemption there can take some 100 us).
        wall = figures["parent_wall"] / 1e9
        if not wall - 0.002 <= raw <= wall * 1.001 + 1e-5:
            raise AssertionError("parent's raw cumtime %.6f s against its wall time %.6f s" % (raw, wall))
        running = min(1.0, figures["parent_cpu"] / max(1, figures["parent_wall"]))
        preempted = raw * (1 - running)
        runs.append((abs(comp - preempted - truth) * 3 < abs(raw - preempted - truth),
                     raw - preempted, comp - preempted, truth, preempted))
    for is_closer, raw, comp, truth, preempted in runs:
        print("     parent cumtime less %.6f s preempted: truth %.6f s, compensated %.6f s, raw %.6f s"
              % (preempted, truth, comp, raw))
    if not any(r[0] for r in runs):
        raise AssertionError("in 5 runs, compensation never brought parent's time 3x closer to the truth")


def exit_status_and_streams():
    plain = subprocess.run([prog("exitcode"), "3", "a b", "c"], input=b"in\x00put\n",
                           capture_output=True)
    r = Run([prog("exitcode"), "3", "a b", "c"], stdin=b"in\x00put\n")
    eq(r.status, 3, "exit status forwarded")
    eq(r.stdout, plain.stdout, "stdout byte for byte")
    if "wrote" not in r.stderr:
        raise AssertionError("cprof run did not name its files: " + r.stderr)


def not_instrumented():
    r = Run(["/bin/true"], run_args=["--no-mem"])
    if "not built with -finstrument-functions" not in r.stderr:
        raise AssertionError("no explanation: " + r.stderr)


def counts_only_mode():
    r = Run([prog("calls")], env={"CPROF_COUNTS_ONLY": "1"})
    rep = r.report()
    eq(rep["counts_only"], True, "counts_only flag")
    f = by_name(rep)
    eq((f["fact"]["calls"], f["leaf"]["calls"]), (10, 1000), "counts")
    eq(f["spin_50ms"]["tottime"], 0, "no time without a clock")


def text_report_shape():
    r = Run([prog("calls")])
    out = subprocess.run([CPROF, "report", r.main_profile(), "--sort", "calls", "--limit", "2"],
                         capture_output=True, text=True).stdout
    lines = out.splitlines()
    if not re.match(r"^ +1021 function calls \(1006 primitive calls\) in \d+\.\d{3} seconds$", lines[0]):
        raise AssertionError("header: " + lines[0])
    eq(lines[2], "   Ordered by: call count", "ordered by")
    eq(lines[3], "   List reduced from 7 to 2 due to restriction <2>", "restriction")
    eq(lines[5], "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)", "columns")
    if not re.match(r"^ {5}1000 +\d\.\d{3} .*calls\.c:14\(leaf\)$", lines[6]):
        raise AssertionError("leaf row: " + lines[6])
    if not re.match(r"^ {5}10/1 .*calls\.c:25\(fact\)$", lines[7]):
        raise AssertionError("fact row: " + lines[7])


def full_tables_count_drops():
    r = Run([prog("deep")], env={"CPROF_MAX_DEPTH": "1000"})
    eq(r.status, 0, "exit status with a small shadow stack")
    rep = r.report()
    f = by_name(rep)
    eq(f["recurse"]["calls"] + rep["dropped"]["frames"], 100001, "recorded + dropped")
    eq(rep["dropped"]["frames"], 100001 - 999, "calls past depth 1000 dropped")
    r = Run([prog("calls")], env={"CPROF_MAX_NODES": "16"})
    rep = r.report()
    eq(r.status, 0, "exit status with a small node table")
    # calls.c makes 1021 calls along 22 call paths: main, loop_caller,
    # leaf (1000 calls), 10 of fact, 8 of is_even/is_odd, spin_50ms. The
    # root takes one of the 16 nodes, the first three paths three more, and
    # every other path holds one call: 22 - 15 of them find no node,
    # whichever of fact and is_even runs first.
    eq(rep["dropped"]["nodes"], 22 - 15, "calls dropped with 16 nodes")
    eq(rep["total_calls"] + rep["dropped"]["nodes"], 1021, "recorded + dropped")
    f = by_name(rep)
    eq((f["main"]["calls"], f["loop_caller"]["calls"], f["leaf"]["calls"]), (1, 1, 1000),
       "the first paths recorded")
    if "not recorded" not in subprocess.run([CPROF, "report", r.main_profile()],
                                            capture_output=True, text=True).stderr:
        raise AssertionError("report does not warn about dropped calls")


def bad_environment_values():
    r = Run([prog("calls")], env={"CPROF_MAX_NODES": "lots", "CPROF_PAUSED": "maybe"})
    eq(r.status, 0, "program still runs")
    eq(r.stderr.count("ignoring bad CPROF_MAX_NODES"), 1, "one message for CPROF_MAX_NODES")
    eq(r.stderr.count("ignoring bad CPROF_PAUSED"), 1, "one message for CPROF_PAUSED")
    eq(by_name(r.report())["leaf"]["calls"], 1000, "defaults used")


def meta_of(path):
    meta = [s for s in dump(path)["sections"] if s["name"] == "meta"]
    return meta[0]["records"][0]["fields"]


def probes_in_band():
    # overhead.c makes 1,000,002 calls: some 2000 hook pairs probe
    # themselves (one in 256 to 767 at random). The probes' part of the
    # overhead is a difference of two timings, never exactly 0.0 in
    # practice; CPROF_PROBE=0 or too few calls leave it exactly 0.
    on, off = Run([prog("overhead")]), Run([prog("overhead"), ], env={"CPROF_PROBE": "0"})
    m_on, m_off = meta_of(on.main_profile()), meta_of(off.main_profile())
    if m_on["probe_inner_ticks"] == 0 or m_on["probe_outer_ticks"] == 0:
        raise AssertionError("no in-band probe figure with 1,000,002 calls: %r" % m_on)
    eq((m_off["probe_inner_ticks"], m_off["probe_outer_ticks"]), (0, 0), "CPROF_PROBE=0")
    # The probes' part is in the overhead, never taking it below zero.
    for m in (m_on, m_off):
        for part in ("inner", "outer"):
            if not m["overhead_%s_ticks" % part] >= 0:
                raise AssertionError("overhead %s below zero: %r" % (part, m))
    # Probing changes no count.
    counts = [{k: (v["calls"], v["primitive_calls"]) for k, v in by_name(r.report()).items()}
              for r in (on, off)]
    eq(counts[0], counts[1], "calls with and without probes")
    eq(counts[0]["empty"], (1000000, 1000000), "empty's calls")
    small = meta_of(Run([prog("calls")]).main_profile())  # 1021 calls: about 2 probes
    eq((small["probe_inner_ticks"], small["probe_outer_ticks"]), (0, 0), "too few probes")
    co = meta_of(Run([prog("overhead")], env={"CPROF_COUNTS_ONLY": "1"}).main_profile())
    eq((co["probe_inner_ticks"], co["probe_outer_ticks"]), (0, 0), "counts only")


# callstats.h: CALLSTATS_UNCERTAIN_HIGH and _LOW.
UNCERTAIN_HIGH, UNCERTAIN_LOW = 0.15, 0.10


def time_ranges():
    # Each compensated time t stands for [t - 0.15 x taken, t + 0.10 x
    # taken] (never below 0), taken = the raw time less t: exact,
    # whatever the run's timings. overhead.c's times are mostly overhead
    # (their low ends are 0); calls.c's spin_50ms is mostly its own.
    for name in ("overhead", "calls"):
        check_ranges(Run([prog(name)]))


def check_ranges(r):
    comp, raw = r.report(), r.report(None, "--no-compensate")

    def expect(t, taken):
        return [max(0.0, t - UNCERTAIN_HIGH * taken), t + UNCERTAIN_LOW * taken]

    def close(actual, expected, what):
        if any(abs(a - e) > 3e-9 for a, e in zip(actual, expected)):
            raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))

    taken = raw["total_time"] - comp["total_time"]
    if not taken > 0:
        raise AssertionError("no overhead taken out: raw %g, compensated %g" %
                             (raw["total_time"], comp["total_time"]))
    close([comp["overhead_taken"]], [taken], "overhead_taken")
    close(comp["total_time_range"], expect(comp["total_time"], taken), "total_time_range")
    rf = by_name(raw)
    for name, f in by_name(comp).items():
        close(f["cumtime_range"], expect(f["cumtime"], rf[name]["cumtime"] - f["cumtime"]),
              name + " cumtime_range")
        close(f["tottime_range"], expect(f["tottime"], rf[name]["tottime"] - f["tottime"]),
              name + " tottime_range")
        eq(rf[name]["cumtime_range"], [rf[name]["cumtime"]] * 2, name + " raw: no range")
    eq(raw["total_time_range"], [raw["total_time"]] * 2, "raw total: no range")
    text = subprocess.run([CPROF, "report", r.main_profile()], capture_output=True,
                          text=True).stdout
    lo, hi = comp["total_time_range"]
    line = "stands for %.3f to %.3f seconds" % (lo, hi)
    if line not in text.replace("\n   ", " "):
        raise AssertionError("the text report does not say %r:\n%s" % (line, text))
    raw_text = subprocess.run([CPROF, "report", "--no-compensate", r.main_profile()],
                              capture_output=True, text=True).stdout
    if "overhead taken out" in raw_text:
        raise AssertionError("--no-compensate speaks of overhead taken out:\n" + raw_text)


def whatif_ranges():
    # cprof whatif gives each prediction's range when overhead was taken
    # out (the arithmetic: tests/unit/test_whatif.c).
    r = Run([prog("overhead")])
    taken = r.report()["overhead_taken"]
    out = subprocess.run([CPROF, "whatif", r.main_profile(), "parent=4"], capture_output=True,
                         text=True).stdout
    said = "given the %.3f s of hook overhead taken out: " % taken
    eq(out.count(said), 2, "range lines (prediction, upper bound) in:\n" + out)


for name, fn in list(globals().items()):
    if callable(fn) and fn.__module__ == "__main__" and not name[0].isupper() and name not in ("by_name", "dump", "eq", "prog", "within", "meta_of", "check_ranges"):
        c.case(name, fn)
c.done()
