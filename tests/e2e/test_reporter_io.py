"""
How the reporter touches files: every command opens each input file
exactly once (one loader reads it and learns its kind from the header),
counted with strace.
"""
import glob
import os
import shutil
import subprocess
import tempfile

from cprof_e2e import CPROF, Checks, Run, eq, prog

c = Checks()
tmp = tempfile.mkdtemp(prefix="cprof-io-")
if not shutil.which("strace"):
    # scripts/install-deps.sh installs it: missing is a failure, not a skip.
    raise SystemExit("FAIL strace is missing (scripts/install-deps.sh build installs it)")

calls = [Run([prog("calls")]) for _ in range(2)]
prof = [r.main_profile() for r in calls]
mem = Run([prog("mem_sites")])
snaps = sorted(glob.glob(os.path.join(mem.dir, "*.snap")))
snap_old, snap_new = snaps[-2], snaps[-1]


def opens(args, paths):
    """Runs cprof under strace; how many times each path was opened."""
    log = os.path.join(tmp, "strace.log")
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", log, CPROF, *args],
                       capture_output=True, text=True, timeout=120, cwd=tmp)
    if p.returncode not in (0, 1) or "cprof: " in p.stderr and "wrote" not in p.stderr:
        raise AssertionError("cprof %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
    text = open(log).read().splitlines()
    return [sum(1 for line in text if '"%s"' % path in line and "= -1" not in line)
            for path in paths]


def once_each(args, paths):
    def check():
        eq(opens(args, paths), [1] * len(paths), "opens of %s by cprof %s" % (paths, args[0]))
    return check


out = lambda name: os.path.join(tmp, name)
cases = [
    ("report", ["report", prof[0]], [prof[0]]),
    ("report_merge", ["report", "--merge", prof[0], prof[1]], prof),
    ("stats", ["stats", snap_new], [snap_new]),
    ("diff_profiles", ["diff", prof[0], prof[1]], prof),
    ("diff_snapshots", ["diff", snap_old, snap_new], [snap_old, snap_new]),
    ("whatif", ["whatif", prof[0], "main=2"], [prof[0]]),
    ("export_profile", ["export", prof[0], "--format", "folded", "-o", out("p.folded")], [prof[0]]),
    ("export_snapshot", ["export", snap_new, "--format", "pprof", "-o", out("s.pb.gz")],
     [snap_new]),
    ("flamegraph", ["flamegraph", prof[0], "-o", out("p.svg")], [prof[0]]),
    ("flamegraph_diff", ["flamegraph", prof[0], prof[1], "-o", out("d.svg")], prof),
    ("html", ["html", prof[0], snap_new, "-o", out("r.html")], [prof[0], snap_new]),
    ("html_diff", ["html", snap_old, snap_new, "-o", out("d.html")], [snap_old, snap_new]),
    ("check_profile", ["check", prof[0], "total<=100s"], [prof[0]]),
    ("check_set", ["check", prof[0], snap_new, "total<=100s", "peak<=1GiB"], [prof[0], snap_new]),
]
for name, args, paths in cases:
    c.case(name + "_opens_each_input_once", once_each(args, paths))


def run_summary_opens_each_file_once():
    # cprof run reads what it wrote for its summary: each file once.
    d = out("run")
    log = out("run.strace")
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", log, CPROF, "run",
                        "-o", d, "--", prog("mem_sites")], capture_output=True, text=True,
                       timeout=120)
    eq(p.returncode, 0, "cprof run: " + p.stderr)
    files = sorted(glob.glob(os.path.join(d, "*.prof")) + glob.glob(os.path.join(d, "*.snap")))
    text = open(log).read().splitlines()
    read = {}
    for f in files:
        read[os.path.basename(f)] = sum(1 for line in text if '"%s"' % f in line and "O_RDONLY" in line
                                        and "= -1" not in line)
    last = max((f for f in files if f.endswith(".snap")), key=lambda f: int(f.split(".")[-2]))
    prof_file = [f for f in files if f.endswith(".prof")][0]
    eq(read[os.path.basename(prof_file)], 1, "reads of the profile by the summary")
    eq(read[os.path.basename(last)], 1, "reads of the last snapshot by the summary")


c.case("run_summary_opens_each_file_once", run_summary_opens_each_file_once)
shutil.rmtree(tmp, ignore_errors=True)
c.done()
