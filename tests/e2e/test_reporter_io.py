"""
How the reporter touches files: every command opens each input file
exactly once (one loader reads it and learns its kind from the header),
counted with strace; and a full disk while writing an output is one
`cprof: ...` error and a non-zero exit, never "wrote" nor a half file.
"""
import glob
import os
import resource
import shutil
import signal
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


# LeakSanitizer cannot run under ptrace: the sanitizer build's leak check
# stays off under strace (the other tests keep it).
STRACE_ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")


def opens(args, paths):
    """Runs cprof under strace; how many times each path was opened."""
    log = os.path.join(tmp, "strace.log")
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", log, CPROF, *args],
                       capture_output=True, text=True, timeout=120, cwd=tmp, env=STRACE_ENV)
    if p.returncode != 0:
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
                       timeout=120, env=STRACE_ENV)
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

# ---- a full disk ----

writers = [["export", prof[0], "--format", f] for f in ("callgrind", "folded", "pprof", "speedscope")]
writers += [["export", snap_new, "--format", f] for f in ("callgrind", "folded", "pprof", "speedscope")]
writers += [["flamegraph", prof[0]], ["flamegraph", snap_old, snap_new], ["html", prof[0]],
            ["html", prof[0], prof[1]]]


def one_error(p, what):
    lines = p.stderr.splitlines()
    eq(p.returncode, 1, "exit status of %s (stderr %r)" % (what, p.stderr))
    if len(lines) != 1 or not lines[0].startswith("cprof: ") or "wrote" in p.stderr:
        raise AssertionError("%s: want one 'cprof: ' error line and no 'wrote', got %r"
                             % (what, p.stderr))
    return lines[0]


def full_stdout():
    # /dev/full: every write fails with ENOSPC, as on a full disk.
    for args in writers:
        with open("/dev/full", "w") as full:
            p = subprocess.run([CPROF, *args], stdout=full, stderr=subprocess.PIPE, text=True,
                               timeout=120)
        line = one_error(p, " ".join(args[:1]) + " > /dev/full")
        eq(line, "cprof: cannot write 'standard output': No space left on device", "the error")


def small_file_limit():
    # A file may not grow past 10 bytes (RLIMIT_FSIZE, SIGXFSZ ignored so
    # the write fails with EFBIG): the -o file must not appear, nor stay
    # half-written, nor may a temporary stay behind.
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (10, 10))
    d = out("fsize")
    os.makedirs(d, exist_ok=True)
    for args in writers:
        target = os.path.join(d, "out")
        p = subprocess.run([CPROF, *args, "-o", target], capture_output=True, text=True,
                           timeout=120, preexec_fn=limit)
        line = one_error(p, " ".join(args[:1]) + " -o (file size limit)")
        if not line.startswith("cprof: cannot write '%s': File too large" % target):
            raise AssertionError("%s: error %r" % (args[0], line))
        eq(os.listdir(d), [], "files left by %s" % " ".join(args))


def full_tmpfs():
    # A real full file system: a 16 KiB tmpfs already holding 12 KiB.
    if os.geteuid() != 0:
        raise AssertionError("mounting a tmpfs needs root (run the tests as root)")
    d = out("tiny")
    os.makedirs(d)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", d], check=True)
    try:
        with open(os.path.join(d, "filler"), "wb") as f:
            f.write(b"x" * 12288)
        for args in writers:
            target = os.path.join(d, "out")
            p = subprocess.run([CPROF, *args, "-o", target], capture_output=True, text=True,
                               timeout=120)
            if p.returncode == 0:
                # Small enough to fit: then the whole file is there.
                ref = subprocess.run([CPROF, *args], capture_output=True, timeout=120).stdout
                eq(open(target, "rb").read(), ref, "%s written whole" % " ".join(args))
                os.unlink(target)
                continue
            line = one_error(p, " ".join(args[:1]) + " -o (full tmpfs)")
            if not line.startswith("cprof: cannot write '%s': No space left on device" % target):
                raise AssertionError("%s: error %r" % (args[0], line))
            eq(sorted(os.listdir(d)), ["filler"], "files left by %s" % " ".join(args))
    finally:
        subprocess.run(["umount", d])


c.case("full_disk_on_stdout_is_an_error", full_stdout)
c.case("file_size_limit_is_an_error", small_file_limit)
c.case("full_tmpfs_is_an_error", full_tmpfs)
shutil.rmtree(tmp, ignore_errors=True)
c.done()
