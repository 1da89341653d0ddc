"""
The process's edges, with exact counts: instrumented code run before
main (from .preinit_array, before libc has set up environ; from a
DT_NEEDED library's constructor; from the program's constructor) must
see the configuration; the exit profile and the exit snapshot come after
every destructor (a library's destructor that calls and frees); the
runtimes' own work never shows (a program with its own instrumented
malloc); a hook that cannot attach its thread keeps errno; threads racing
the runtime's initialization wait for all of it.
The programs in tests/progs/early/ are built here with gcc -O1 (CC).
Env: O=build dir (default build).
"""
import atexit
import glob
import json
import os
import shutil
import subprocess
import tempfile

from cprof_e2e import Checks, CPROF, PROGS, ROOT, eq

c = Checks()
TMP = tempfile.mkdtemp(prefix="cprof-lifecycle-")
atexit.register(shutil.rmtree, TMP, True)
EARLY = os.path.join(ROOT, "tests", "progs", "early")
CC = os.environ.get("CC", "gcc")
FLAGS = ["-std=gnu11", "-g", "-O1", "-finstrument-functions"]


def build(name, *defines, lib=None):
    """The program early/NAME_main.c (with -DDEFINES), linked with lib."""
    exe = os.path.join(TMP, "-".join((name,) + defines).replace("-D", ""))
    if not os.path.exists(exe):
        cmd = [CC, *FLAGS, *["-D" + d for d in defines], "-o", exe,
               os.path.join(EARLY, name + "_main.c")]
        if lib:
            cmd += ["-L" + TMP, "-l" + lib, "-Wl,-rpath," + TMP]
        subprocess.run(cmd, check=True, timeout=120)
    return exe


def build_lib(name, *defines):
    so = os.path.join(TMP, "lib%s.so" % name)
    if not os.path.exists(so):
        subprocess.run([CC, *FLAGS, "-shared", "-fPIC", *["-D" + d for d in defines], "-o", so,
                        os.path.join(EARLY, name + "_lib.c"), "-lpthread"],
                       check=True, timeout=120)
    return so


class Run:
    """`cprof run -o DIR` from an empty working directory."""

    def __init__(self, argv, env=None, run_args=()):
        self.dir = tempfile.mkdtemp(dir=TMP)
        self.cwd = tempfile.mkdtemp(dir=TMP)
        full_env = dict(os.environ)
        full_env.update(env or {})
        p = subprocess.run([CPROF, "run", "-o", self.dir, *run_args, "--", *argv],
                           capture_output=True, env=full_env, timeout=120, cwd=self.cwd)
        self.status, self.stdout, self.stderr = p.returncode, p.stdout.decode(), p.stderr.decode()

    def only(self, pattern):
        found = glob.glob(os.path.join(self.dir, pattern))
        if len(found) != 1:
            raise AssertionError("expected one %s in %s, found %r; in the working directory: %r; "
                                 "stderr:\n%s" % (pattern, self.dir, found, os.listdir(self.cwd),
                                                  self.stderr))
        return found[0]

    def calls(self):
        """{name: (calls, primitive calls, {caller: calls})} and the report."""
        p = subprocess.run([CPROF, "report", self.only("*.prof"), "--json", "--callers"],
                           capture_output=True, timeout=120)
        if p.returncode:
            raise AssertionError("cprof report: " + p.stderr.decode())
        rep = json.loads(p.stdout)
        return {f["name"]: (f["calls"], f["primitive_calls"],
                            {e["name"]: e["calls"] for e in f["callers"]})
                for f in rep["functions"]}, rep

    def snapshot(self):
        p = subprocess.run([CPROF, "stats", self.only("*.snap"), "--json", "--limit", "0"],
                           capture_output=True, timeout=120, check=True)
        return json.loads(p.stdout)


def one(n, caller):
    return (n, n, {caller: n})


def roots(*names):
    return {n: (1, 1, {}) for n in names}


# ---- instrumented code before main: the configuration is seen ----

def check_early(exe, want):
    r = Run([exe], env={"CPROF_COUNTS_ONLY": "1"})
    eq((r.status, r.stdout), (0, "done\n"), "status, stdout")
    got, rep = r.calls()     # the profile is in CPROF_OUTPUT (cprof run -o)
    eq(os.listdir(r.cwd), [], "nothing written to the working directory (./cprof-out)")
    eq(rep["counts_only"], True, "CPROF_COUNTS_ONLY=1 seen")
    eq(got, want, "calls, primitive calls, callers")


def preinit_first():
    build_lib("early")
    want = dict(roots("preinit", "lib_init", "ctor", "main", "lib_fini", "lib_atexit",
                      "exe_atexit"),
                pre_work=one(1, "preinit"), lib_init_work=one(3, "lib_init"),
                ctor_work=one(2, "ctor"), main_work=one(4, "main"),
                early_lib_value=one(1, "main"), lib_fini_work=one(5, "lib_fini"),
                lib_atexit_work=one(7, "lib_atexit"), exe_atexit_work=one(3, "exe_atexit"))
    check_early(build("early", lib="early"), want)


def library_constructor_first():
    build_lib("early")
    want = dict(roots("lib_init", "ctor", "main", "lib_fini", "lib_atexit"),
                lib_init_work=one(3, "lib_init"), ctor_work=one(2, "ctor"),
                main_work=one(4, "main"), early_lib_value=one(1, "main"),
                lib_fini_work=one(5, "lib_fini"), lib_atexit_work=one(7, "lib_atexit"))
    check_early(build("early", "NO_PREINIT", lib="early"), want)


def program_constructor_first():
    want = dict(roots("ctor", "main"), ctor_work=one(2, "ctor"), main_work=one(4, "main"))
    check_early(build("early", "NO_PREINIT", "NO_LIB"), want)


# ---- exit: after every destructor and exit handler ----

def exit_after_library_destructors():
    build_lib("early")
    r = Run([build("early", "NO_PREINIT", lib="early")])
    eq((r.status, r.stdout), (0, "done\n"), "status, stdout")
    got, rep = r.calls()
    eq((got.get("lib_fini"), got.get("lib_fini_work")), ((1, 1, {}), one(5, "lib_fini")),
       "the library destructor's calls")
    eq(got.get("lib_atexit_work"), one(7, "lib_atexit"),
       "the calls of an atexit handler registered before the runtimes started")
    s = r.snapshot()["snapshot"]
    eq((s["label"], s["allocated_size"], s["allocated_count"], s["freed_count"],
        s["traced_size"], s["traced_count"]), ("exit", 77777, 1, 1, 0, 0),
       "exit snapshot: the block the destructor freed is not live")


# ---- the runtimes' own work is not the program's ----

def own_malloc_counts_exact():
    exe = os.path.join(PROGS, "own_malloc")
    for run_args in ((), ("--no-mem",)):
        r = Run([exe], env={"CPROF_COUNTS_ONLY": "1"}, run_args=run_args)
        eq((r.status, r.stdout), (0, "done\n"), "status, stdout %r" % (run_args,))
        got, rep = r.calls()
        eq(got, dict(roots("main"), work=one(1, "main"), malloc=one(1, "work"),
                     free=one(1, "work")),
           "calls with %s (the memory runtime's start-up allocates through the program's "
           "malloc)" % ("both runtimes" if not run_args else "the call runtime only"))
        eq(rep["threads"], 1, "threads (the snapshot thread is the runtime's)")


# ---- attaching a thread, initializing the runtime ----

def hook_keeps_errno():
    r = Run([os.path.join(PROGS, "rt_errno")])
    eq((r.status, r.stdout), (0, "entry EDOM exit ERANGE\n"),
       "errno as the program set it, around hooks that could not map the thread's tables")
    got, rep = r.calls()
    eq(rep["dropped"]["nodes"], 2, "the thread's two calls, counted as not recorded")
    eq(("probe" in got, "probe_exit" in got), (False, False), "the thread's calls")


def threads_racing_initialization():
    build_lib("race")
    exe = build("race", lib="race")
    r = Run([exe])
    eq(r.status, 0, "status")
    got, rep = r.calls()
    eq({k: v[:2] for k, v in got.items()},
       {"main": (1, 1), "main_work": (1, 1), "race_sink": (1, 1), "worker": (8, 8),
        "recurse": (8 * 1000 * 41, 8000)}, "calls of 8 threads racing the first hook")
    eq(rep["dropped"], {"nodes": 0, "frames": 0, "mismatched_exits": 0,
                        "skipped_in_signal_handlers": 0}, "dropped (full-size tables)")
    # Paused from the start: a thread that went on before the runtime was
    # ready recorded the calls made while it calibrated its hooks.
    for i in range(5):
        r = Run([exe], env={"CPROF_PAUSED": "1"})
        got, rep = r.calls()
        eq(got, {}, "calls with CPROF_PAUSED=1 (run %d of 5)" % (i + 1))


for name, fn in list(globals().items()):
    if callable(fn) and getattr(fn, "__module__", "") == "__main__" and not name[0].isupper() \
            and name not in ("build", "build_lib", "check_early", "one", "roots", "eq"):
        c.case(name, fn)
c.done()
