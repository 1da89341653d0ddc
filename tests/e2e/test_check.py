"""
Budgets end to end, on real files: `cprof check FILE... RULE...`,
`cprof diff OLD NEW --fail-over`, `cprof run --check`. tests/progs/
mem_sites has exactly known memory figures (its opening comment) and
tests/progs/calls exactly known calls, so every rule kind is checked at
its exact boundary: at the value it passes, one byte (one call) over it
fails. Bad rules and files: one line, exit 2, nothing on stdout.
"""
import json
import os
import re
import subprocess
import tempfile

from cprof_e2e import CPROF, ROOT, Checks, Run, eq, prog

c = Checks()
tmp = tempfile.mkdtemp(prefix="cprof-check-")
MEM_SITES = os.path.join(ROOT, "tests/progs/mem_sites.c")


def site_line(tag):
    return next(i for i, line in enumerate(open(MEM_SITES), 1) if "/* %s */" % tag in line)


# mem_sites' own arithmetic (see its opening comment).
PEAK = 500 * 1000 + 300 * 64 + (1 << 20)
LIVE_AT_EXIT = 500 * 1000 + 300 * 64 + 4096 + 7 * 333
ALLOCATIONS = 1000 + 10 + 300 + 1 + 9 + 7	# realloc 16 -> 4096: 9 calls

mem = Run([prog("mem_sites")])
snaps = sorted((f for f in os.listdir(mem.dir) if f.endswith(".snap")),
               key=lambda f: int(f.split(".")[-2]))
SNAP = [os.path.join(mem.dir, f) for f in snaps]	# before, after, exit
calls = Run([prog("calls")])
PROF = calls.main_profile()


def check(*args):
    p = subprocess.run([CPROF, "check", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def verdict(files, rule, holds, measured=None):
    """One rule on files: its exit status and its line (rule, value, pass/FAIL)."""
    def run():
        rc, out, err = check(*files, rule)
        eq((rc, err), (0 if holds else 1, ""), "exit status and stderr of check %s" % rule)
        lines = out.splitlines()
        eq(len(lines), 2, "a verdict line and a summary: %r" % out)
        m = re.match(r"^(\S+)\s+measured (.+?)\s+(pass|FAIL)$", lines[0])
        if not m:
            raise AssertionError("verdict line %r" % lines[0])
        eq((m.group(1), m.group(3)), (rule, "pass" if holds else "FAIL"), "verdict of " + rule)
        if measured is not None:
            eq(m.group(2), measured, "measured value of " + rule)
        eq(lines[1], "the 1 rule holds" if holds else "1 of 1 rule failed", "summary")
    return run


def json_value(files, rule):
    rc, out, err = check(*files, rule, "--json")
    if rc not in (0, 1):
        raise AssertionError("check %s: %d %s" % (rule, rc, err))
    return json.loads(out)


def exit_snapshot_is_exact():
    eq(len(SNAP), 3, "mem_sites' snapshots (before, after, exit)")
    d = json.loads(subprocess.run([CPROF, "stats", SNAP[2], "--json"], capture_output=True,
                                  text=True, timeout=60).stdout)["snapshot"]
    eq((d["label"], d["peak_size"], d["traced_size"], d["allocated_count"]),
       ("exit", PEAK, LIVE_AT_EXIT, ALLOCATIONS), "the exit snapshot, as cprof stats says")
    j = json_value([SNAP[2]], "peak<=%dB" % PEAK)
    eq(j["rules"][0]["value"], PEAK, "JSON value")
    eq((j["pass"], j["rules"][0]["measure"], j["rules"][0]["unit"], j["rules"][0]["limit"]),
       (True, "peak", "bytes", PEAK), "JSON verdict")


L = {t: site_line(t) for t in ("SITE_KEEP", "SITE_TEMP", "SITE_LATER")}
E = [SNAP[2]]
cases = [
    ("peak_at_its_value", E, "peak<=%dB" % PEAK, True, "1.5 MiB (%d B)" % PEAK),
    ("peak_one_byte_over", E, "peak<=%dB" % (PEAK - 1), False, None),
    ("peak_in_MiB", E, "peak<=1.5MiB", True, None),
    ("live_at_its_value", E, "live<=%dB" % LIVE_AT_EXIT, True, None),
    ("live_one_byte_over", E, "live<%dB" % LIVE_AT_EXIT, False, None),
    ("leaks_zero_fails", E, "leaks==0", False, "513 KiB (%d B)" % LIVE_AT_EXIT),
    ("leaks_at_value", E, "leaks<=%dB" % LIVE_AT_EXIT, True, None),
    ("allocations_at_value", E, "allocations<=%d" % ALLOCATIONS, True, str(ALLOCATIONS)),
    ("allocations_one_over", E, "allocations<=%d" % (ALLOCATIONS - 1), False, None),
    ("site_by_line", E, "mem_sites.c:%d:size<=500000B" % L["SITE_KEEP"], True, "488 KiB (500000 B)"),
    ("site_by_line_over", E, "mem_sites.c:%d:size<=499999B" % L["SITE_KEEP"], False, None),
    ("site_by_function", E, "later_blocks:size==19200B", True, "19 KiB (19200 B)"),
    ("site_all_freed_is_zero", E, "mem_sites.c:%d:size==0" % L["SITE_TEMP"], True, "0 B"),
    ("site_path_tail", E, "tests/progs/mem_sites.c:%d:size<=1KiB" % L["SITE_LATER"], False, None),
    # Snapshots of one process: the newest counts (here the exit one).
    ("newest_of_a_process", SNAP, "live<=%dB" % LIVE_AT_EXIT, True, None),
    ("calls_exact", [PROF], "leaf:calls==1000", True, "1000"),
    ("calls_one_over", [PROF], "leaf:calls<=999", False, None),
    ("calls_by_label", [PROF], "tests/progs/calls.c:25(fact):calls==10", True, None),
    ("time_rule", [PROF], "main:cumtime<=60s", True, None),
    ("time_rule_fails", [PROF], "spin_50ms:tottime<1ms", False, None),
]
for name, files, rule, holds, measured in cases:
    c.case(name, verdict(files, rule, holds, measured))
c.case("exit_snapshot_is_exact", exit_snapshot_is_exact)


def processes_add_up():
    other = Run([prog("mem_sites")])
    both = SNAP + [os.path.join(other.dir, f) for f in os.listdir(other.dir) if f.endswith(".snap")]
    eq(json_value(both, "peak<=1B")["rules"][0]["value"], 2 * PEAK, "peaks of two processes")
    eq(json_value(both, "allocations<=1")["rules"][0]["value"], 2 * ALLOCATIONS, "allocations")
    three = json_value([PROF, Run([prog("calls")]).main_profile(), Run([prog("calls")]).main_profile()],
                       "leaf:calls<=1")
    eq(three["rules"][0]["value"], 3000, "profiles of three processes add up")
    rc, out, err = check(PROF, PROF, "leaf:calls<=1")
    eq((rc, out), (2, ""), "the same profile twice: " + err)
    # A forked child continues main: merged, as `report --merge` does,
    # main was called once, not once per process.
    forked = Run([prog("forker")])
    eq(len(forked.profiles()), 2, "profiles of forker (parent and child)")
    eq(json_value(forked.profiles(), "main:calls<=1")["rules"][0]["value"], 1,
       "main of a parent and its forked child")


def total_matches_report():
    rep = json.loads(subprocess.run([CPROF, "report", PROF, "--json"], capture_output=True,
                                    text=True, timeout=60).stdout)
    v = json_value([PROF], "total<=1s")["rules"][0]["value"]
    if abs(v - rep["total_time"]) > 1e-9:
        raise AssertionError("check's total %r, report's %r" % (v, rep["total_time"]))
    eq(check(PROF, "total<=%.17gs" % v)[0], 0, "total at its own value")
    eq(check(PROF, "total<%.17gs" % v)[0], 1, "total strictly under its own value")


def several_rules_one_verdict():
    rc, out, err = check(SNAP[2], PROF, "peak<=2MiB", "leaf:calls==1000", "leaks==0")
    eq(rc, 1, "one of three fails")
    eq(out.splitlines()[-1], "1 of 3 rules failed", "summary")
    eq([l.split()[-1] for l in out.splitlines()[:3]], ["pass", "pass", "FAIL"], "verdicts in order")


c.case("processes_add_up", processes_add_up)
c.case("total_matches_report", total_matches_report)
c.case("several_rules_one_verdict", several_rules_one_verdict)


def refused(args, needle):
    def run():
        rc, out, err = check(*args)
        eq((rc, out), (2, ""), "exit status and stdout of check %s" % " ".join(args))
        lines = err.strip().splitlines()
        if not lines or not lines[0].startswith("cprof: ") or needle not in lines[0]:
            raise AssertionError("error %r lacks %r" % (err, needle))
    return run


for name, args, needle in [
    ("unknown_measure", [SNAP[2], "pek<=1MiB"], "unknown measure 'pek'"),
    ("size_without_unit", [SNAP[2], "peak<=64"], "needs a unit"),
    ("time_rule_on_snapshot", [SNAP[2], "total<=1s"], "measures call profiles"),
    ("size_rule_on_profile", [PROF, "peak<=1MiB"], "measures memory snapshots"),
    ("missing_function", [PROF, "nosuch:cumtime<=1s"], "no function 'nosuch'"),
    ("missing_site", [SNAP[2], "nosuch.c:1:size<=1KiB"], "no allocation site 'nosuch.c:1'"),
    ("leaks_need_exit", [SNAP[0], "leaks==0"], "give its 'exit' snapshot"),
    ("missing_file", [os.path.join(tmp, "nope.snap"), "peak<=1MiB"], "cannot open"),
    ("no_rule", [SNAP[2]], "at least one file and one rule"),
    ("unknown_option", [SNAP[2], "peak<=1MiB", "--frob"], "unknown option"),
]:
    c.case("refuses_" + name, refused(args, needle))


def diff(*args):
    p = subprocess.run([CPROF, "diff", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def fail_over_snapshots():
    # before -> after: live goes from 1000 x 1000 + ... down to about half.
    before = 1000 * 1000
    after = 500 * 1000 + 300 * 64 + 4096 + 7 * 333
    rc, out, err = diff(SNAP[0], SNAP[1], "--fail-over", "0%")
    eq(rc, 0, "a shrinking total within 0%: " + err)
    if "Total:" not in out:
        raise AssertionError("the diff itself is printed: %r" % out)
    if not re.search(r"--fail-over 0%%: the total went from .*\(%d B\) to .*\(%d B\).*: pass"
                     % (before, after), err):
        raise AssertionError("verdict line: %r" % err)
    growth = (before - after) / after * 100	# after -> before
    rc, out, err = diff(SNAP[1], SNAP[0], "--fail-over", "%.3f%%" % (growth - 0.01))
    eq(rc, 1, "growth of %.3f%% over a budget just under it" % growth)
    if "grew most:" not in err or "mem_sites.c:%d" % L["SITE_KEEP"] not in err:
        raise AssertionError("the entries that grew most are named: %r" % err)
    eq(diff(SNAP[1], SNAP[0], "--fail-over", "%.3f%%" % (growth + 0.01))[0], 0,
       "the same growth within a budget just over it")
    rc, out, err = diff(SNAP[0], SNAP[1], "--fail-over", "later_blocks=1000%")
    eq(rc, 1, "a site that grew from nothing: " + err)
    eq(diff(SNAP[0], SNAP[1], "--fail-over", "mem_sites.c:%d=0%%" % L["SITE_KEEP"])[0], 0,
       "a site that shrank")
    rc, out, err = diff(SNAP[0], SNAP[1], "--fail-over", "nosuch.c:9=1%")
    eq((rc, out), (2, ""), "a site in neither file: " + err)


def fail_over_profiles():
    a, b = PROF, Run([prog("calls")]).main_profile()
    totals = [json.loads(subprocess.run([CPROF, "report", f, "--json"], capture_output=True,
                                        text=True, timeout=60).stdout)["total_time"] for f in (a, b)]
    old, new = (a, b) if totals[0] <= totals[1] else (b, a)
    lo, hi = sorted(totals)
    growth = (hi - lo) / lo * 100
    eq(diff(old, new, "--fail-over", "%.6f%%" % (growth * 2 + 0.001))[0], 0, "within twice the growth")
    if growth > 0.001:	# two runs of one program never take the very same time
        rc, out, err = diff(old, new, "--fail-over", "%.6f%%" % (growth / 2), "--json")
        eq(rc, 1, "over half the growth: " + err)
        json.loads(out)	# stdout stays the diff's JSON
    eq(diff(old, new, "--fail-over", "spin_50ms=100%")[0], 0, "a function within its budget (50 ms both times)")
    rc, out, err = diff(old, new, "--fail-over", "nosuch=5%")
    eq((rc, out), (2, ""), "a function in neither profile: " + err)
    rc, out, err = diff(old, new, "--fail-over", "five")
    eq((rc, out), (2, ""), "a bad budget: " + err)


c.case("fail_over_snapshots", fail_over_snapshots)
c.case("fail_over_profiles", fail_over_profiles)


def run_check(rules, argv):
    out_dir = tempfile.mkdtemp(dir=tmp)
    p = subprocess.run([CPROF, "run", "-o", out_dir, "--check", *rules, "--", *argv],
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(), out_dir


def run_with_check():
    rc, out, err, d = run_check(["peak<=2MiB", "leaks<=%dB" % LIVE_AT_EXIT], [prog("mem_sites")])
    eq(rc, 0, "rules that hold: " + err)
    plain = subprocess.run([prog("mem_sites")], capture_output=True).stdout
    eq(out.split(b"\n")[1:], plain.split(b"\n")[1:], "the program's stdout, verdict not in it")
    if "all 2 rules hold" not in err:
        raise AssertionError(err)
    rc, out, err, d = run_check(["peak<=1MiB", "keep_blocks:calls==1"], [prog("mem_sites")])
    eq(rc, 1, "a rule that fails: " + err)
    if not re.search(r"^peak<=1MiB\s+measured .*FAIL$", err, re.M):
        raise AssertionError(err)
    rc, out, err, d = run_check(["leaks==0"], [prog("exitcode"), "3"])
    eq(rc, 3, "the failing program's own status wins")
    rc, out, err, d = run_check(["peak<=64"], [prog("mem_sites")])
    eq((rc, os.listdir(d)), (2, []), "a bad rule is refused before the program runs")


c.case("run_with_check", run_with_check)


def demo_ends_on_budgets():
    # `make demo`'s last step: the memory budget from the struct layout's
    # peak passes the struct run and fails the dynamic one (exact bytes,
    # deterministic); the time verdicts depend on load, so only shown.
    p = subprocess.run(["bash", os.path.join(ROOT, "scripts/demo.sh")], capture_output=True,
                       text=True, timeout=300, env=dict(os.environ, DEMO_RECORDS="20000"))
    eq(p.returncode, 0, "demo exit status: " + p.stderr[-500:])
    step = p.stdout[p.stdout.index("7. Budgets from evidence"):]
    runs = re.findall(r"--layout (struct|dynamic) --hold 1000\n(peak<=\d+B)\s+measured .*?(pass|FAIL)\n"
                      r".*\n\(exit status (\d)\)", step)
    eq([(layout, verdict, status) for layout, _, verdict, status in runs],
       [("struct", "pass", "0"), ("dynamic", "FAIL", "1")], "memory budget verdicts")
    eq(len(re.findall(r"features_update:cumtime<=[0-9.]+s\s+measured", step)), 2, "time budget lines")


c.case("demo_ends_on_budgets", demo_ends_on_budgets)
c.done()
