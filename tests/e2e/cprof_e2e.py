"""
Helpers for the end-to-end tests: run a test program under `cprof run`,
load `cprof report --json`, and collect named checks. Not a test itself.
"""
import atexit
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("O", "build"))
CPROF = os.path.join(BUILD, "bin", "cprof")
PROGS = os.path.join(BUILD, "tests", "progs")
# The same programs built by each compiler (the Makefile's progs-clang).
COMPILERS = {"gcc": PROGS, "clang": os.path.join(BUILD, "tests", "progs-clang")}
MALLOC_LIB = os.path.join(BUILD, "lib", "libcprof-malloc.so")


def scratch_dir(prefix):
    """A temporary directory, removed when the test exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def marker_line(src, marker):
    """The line number of the comment /* marker */ in the source file src:
    tests name a program's sites by marker, not by a line number."""
    with open(src) as f:
        for n, text in enumerate(f, 1):
            if "/* %s */" % marker in text:
                return n
    raise AssertionError("no /* %s */ in %s" % (marker, src))


def prog(name, compiler="gcc"):
    path = os.path.join(COMPILERS[compiler], name)
    if not os.path.exists(path):
        raise AssertionError("missing %s (build it: make %s)" % (path, os.path.relpath(path, ROOT)))
    return path


def cprof_cmd(*argv, status=0, timeout=120):
    """cprof ARGV run from ROOT (text output); its exit status must be status."""
    p = subprocess.run([CPROF, *argv], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if p.returncode != status:
        raise AssertionError("cprof %s: exit %d, not %d: %s" % (" ".join(argv), p.returncode,
                                                               status, p.stderr))
    return p


def shim_snapshots(name, parent, args=(), env=None, timeout=120):
    """Runs test program name (ARGS) under the malloc shim, writing into a new
    directory in parent: its snapshots as {label: path}."""
    out = tempfile.mkdtemp(dir=parent)
    e = dict(os.environ, LD_PRELOAD=MALLOC_LIB, CPROF_OUTPUT=out, **(env or {}))
    p = subprocess.run([prog(name), *args], env=e, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (name, p.returncode, p.stderr[-500:]))
    return {json.loads(cprof_cmd("stats", os.path.join(out, f), "--json").stdout)
            ["snapshot"]["label"]: os.path.join(out, f)
            for f in os.listdir(out) if f.endswith(".snap")}


class Run:
    """One `cprof run` of a program in a fresh output directory."""

    def __init__(self, argv, env=None, stdin=b"", run_args=()):
        self.dir = tempfile.mkdtemp(prefix="cprof-e2e-")
        atexit.register(shutil.rmtree, self.dir, True)
        full_env = dict(os.environ)
        full_env.update(env or {})
        cmd = [CPROF, "run", "-o", self.dir, *run_args, "--", *argv]
        p = subprocess.run(cmd, input=stdin, capture_output=True, env=full_env, timeout=120)
        self.status, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr.decode()

    def profiles(self):
        return sorted(glob.glob(os.path.join(self.dir, "*.prof")))

    def report(self, path=None, *extra):
        path = path or self.main_profile()
        # From the repository root, so source paths below it print relative.
        p = subprocess.run([CPROF, "report", path, "--json", *extra],
                           capture_output=True, timeout=120, cwd=ROOT)
        if p.returncode != 0:
            raise AssertionError("cprof report failed: " + p.stderr.decode())
        return json.loads(p.stdout)

    def main_profile(self):
        profs = self.profiles()
        if not profs:
            raise AssertionError("no profile written; stderr:\n" + self.stderr)
        return min(profs, key=lambda f: int(f.split(".")[-2]))


def by_name(report):
    return {f["name"]: f for f in report["functions"]}


class Checks:
    """Named checks; the process exits 1 if any failed."""

    def __init__(self):
        self.failed = 0

    def case(self, name, fn):
        try:
            fn()
            print("ok   " + name)
        except Exception as e:  # a failed check or an unexpected error
            self.failed += 1
            print("FAIL " + name + ": " + str(e))

    def done(self):
        sys.exit(1 if self.failed else 0)


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def within(actual, expected, rel, what):
    if abs(actual - expected) > rel * expected:
        raise AssertionError("%s: expected %g within %g%%, got %g" % (what, expected, rel * 100, actual))


def dump(path):
    """`cprof dump --json PATH`: the file's sections and records with their
    byte offsets, and "layout" (each record's size and fields' offsets),
    so tests reach the format through common/format.h, never re-encode it."""
    p = subprocess.run([CPROF, "dump", "--json", path], capture_output=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("cprof dump failed: " + p.stderr.decode())
    return json.loads(p.stdout)


STRUCT_CHAR = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q", "f64": "d"}


def field(layout, record, name):
    """(offset in the record, struct format) of one field, from a dump's layout."""
    f = layout[record]["fields"][name]
    return f["offset"], STRUCT_CHAR[f["type"]]


IS_CI = os.environ.get("CI") == "true"


def skip(why):
    """Says a check did not run: run-all.sh counts each "SKIP " line as
    skipped, never as passed."""
    print("SKIP " + why, flush=True)


def have_tool(name):
    """True when name is on PATH. scripts/install-deps.sh installs every
    tool the tests use: missing under CI=true it fails the test (exit 1);
    elsewhere it prints a SKIP line and returns False."""
    if shutil.which(name):
        return True
    why = "%s is missing (scripts/install-deps.sh build installs it)" % name
    if IS_CI:
        raise SystemExit("FAIL " + why + ": under CI=true that is a failure")
    skip(why)
    return False
