"""
Many processes and libraries, exact (issue 10, items 2, 3, 4, 6, 7, 8):
  - every child followed: posix_spawn[p] and exec* with an explicit
    environment lacking cprof's variables, a cleared environ, system and
    popen (also after clearenv), fork, another program
    (tests/progs/procs_spawn.c): the exact
    files, one profile (and one snapshot) per process;
  - `cprof report --merge`: calls, primitive calls and callers summed by
    function over processes and programs, a forked child's inherited
    calls counted once while their time adds up; export, flamegraph,
    html and diff of a merged set (a directory); a snapshot among
    profiles refused (exit 2);
  - libraries loaded by a relative path, a library loaded where another
    was unloaded (its calls and its allocation sites), instrumented libraries (linked or dlopen'ed) under a
    main built without -finstrument-functions (tests/progs/procs_dlopen.c);
  - `cprof run` says why the program's own profile is missing.
Env: O=build dir (default build). Run some cases only: test_procs.py CASE...
"""
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

from cprof_e2e import Checks, CPROF, PROGS, ROOT, eq

SRC = os.path.join(ROOT, "tests", "progs")
TIMEOUT = 120
c = Checks()
TMP = tempfile.mkdtemp(prefix="cprof-procs-")


class Run:
    """`cprof run -o DIR RUN_ARGS -- ARGV` from cwd (ROOT by default)."""

    def __init__(self, argv, run_args=(), cwd=ROOT):
        self.dir = tempfile.mkdtemp(dir=TMP)
        cmd = [CPROF, "run", "-o", self.dir, *run_args, "--", *argv]
        p = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, cwd=cwd)
        self.status, self.stdout, self.stderr = p.returncode, p.stdout.decode(), p.stderr.decode()

    def files(self):
        return sorted(os.listdir(self.dir))

    def path(self, f):
        return os.path.join(self.dir, f)


def cprof(*args, check=True):
    p = subprocess.run([CPROF, *args], capture_output=True, timeout=TIMEOUT, cwd=ROOT)
    if check and p.returncode != 0:
        raise AssertionError("cprof %s failed: %s" % (args[0], p.stderr.decode().strip()))
    return p


def report(*args):
    return json.loads(cprof("report", *args, "--json").stdout)


def counts(rep, prog=None):
    """(file basename, name) -> (calls, primitive calls)."""
    return {(os.path.basename(f["file"]), f["name"]): (f["calls"], f["primitive_calls"])
            for f in rep["functions"]}


def callers(rep, name):
    for f in rep["functions"]:
        if f["name"] == name:
            return sorted((e["name"], e["calls"]) for e in f["callers"])
    raise AssertionError("no %s in the report" % name)


# ---- every child (item 7) ----

SPAWN_ROLES = ["spawn", "spawnp", "execve", "execle", "execv", "execvp", "system", "popen",
               "fork", "other", "system2", "popen2"]
SPAWN = {}


def spawn_run(no_mem=False):
    key = "no_mem" if no_mem else "both"
    if key not in SPAWN:
        r = Run([os.path.join(PROGS, "procs_spawn"), os.path.join(PROGS, "exitcode")],
                run_args=["--no-mem"] if no_mem else [])
        eq((r.status, r.stdout), (0, "".join(role + " ok\n" for role in SPAWN_ROLES)),
           "status, stdout (every child ran)")
        SPAWN[key] = r
    return SPAWN[key]


def by_process(r):
    """pid -> sorted file kinds, and pid -> program, from the file names."""
    kinds, progs = {}, {}
    for f in r.files():
        m = re.match(r"^(procs_spawn|exitcode)\.(\d+)\.(prof|1\.snap)$", f)
        if not m:
            raise AssertionError("unexpected file %r in %r" % (f, r.files()))
        kinds.setdefault(int(m.group(2)), []).append(m.group(3))
        progs[int(m.group(2))] = m.group(1)
    return {k: sorted(v) for k, v in kinds.items()}, progs


def every_child_followed():
    r = spawn_run()
    kinds, progs = by_process(r)
    eq(sorted(progs.values()), ["exitcode"] + ["procs_spawn"] * 12,
       "one process per role and the parent")
    eq(set(map(tuple, kinds.values())), {("1.snap", "prof")},
       "each process wrote its own profile and exit snapshot")
    eq(len(r.files()), 26, "files")
    if "cprof: merged the call profiles of 13 processes" not in r.stderr:
        raise AssertionError("no merged summary of 13 processes:\n" + r.stderr)


def every_child_followed_calls_only():
    r = spawn_run(no_mem=True)
    kinds, progs = by_process(r)
    eq((len(progs), set(map(tuple, kinds.values()))), (13, {("prof",)}),
       "one profile per process under --no-mem (the call runtime follows children too)")


def children_keep_their_own_environment():
    # The explicit environment is the child's, plus cprof's variables only.
    d = tempfile.mkdtemp(dir=TMP)
    src = os.path.join(d, "envdump.c")
    with open(src, "w") as f:
        f.write('#include <spawn.h>\n#include <stdio.h>\n#include <string.h>\n'
                '#include <sys/wait.h>\nextern char **environ;\n'
                'int main(int argc, char **argv) {\n'
                '  if (argc > 1) { for (char **e = environ; *e; e++) puts(*e); return 0; }\n'
                '  char *args[] = { argv[0], "child", NULL };\n'
                '  char *env[] = { "MINE=1", "LD_PRELOAD=/nonexistent/libmine.so", NULL };\n'
                '  pid_t pid; int st;\n'
                '  if (posix_spawn(&pid, argv[0], NULL, NULL, args, env)) return 1;\n'
                '  waitpid(pid, &st, 0); return 0; }\n')
    exe = os.path.join(d, "envdump")
    subprocess.run(["cc", "-o", exe, src], check=True, timeout=TIMEOUT)
    r = Run([exe], run_args=["--no-mem"])
    lines = r.stdout.splitlines()
    preload = [l for l in lines if l.startswith("LD_PRELOAD=")]
    eq(len(preload), 1, "one LD_PRELOAD")
    entries = preload[0][len("LD_PRELOAD="):].split(":")
    eq((os.path.basename(entries[0]), entries[-1]),
       ("libcprof-instrument.so", "/nonexistent/libmine.so"),
       "cprof's runtime first, the child's own entry kept last")
    eq(sorted(l.split("=")[0] for l in lines if not l.startswith("LD_PRELOAD=")),
       ["CPROF_FOLLOW", "CPROF_LAZY", "CPROF_OUTPUT", "MINE"], "the child's variables and cprof's")


# ---- merging (item 8) ----

def merged_counts_across_programs():
    r = spawn_run()
    rep = report("--merge", r.dir, "--callers")
    got = counts(rep)
    eq(got, {
        ("procs_spawn.c", "main"): (11, 11),        # the parent and 10 exec'd images
        ("procs_spawn.c", "run_all"): (1, 1),       # the forked child's counts once
        ("procs_spawn.c", "forked_exec"): (4, 4),
        ("procs_spawn.c", "waited"): (8, 8),
        ("procs_spawn.c", "role_work"): (50, 50),
        ("procs_spawn.c", "shell_children"): (2, 2),
        ("procs_spawn.c", "fork_work"): (3, 3),
        ("procs_spawn.c", "parent_work"): (2, 2),
        ("exitcode.c", "main"): (1, 1),
        ("exitcode.c", "copy_stdin"): (1, 1),
    }, "calls and primitive calls summed over 13 processes of 2 programs")
    eq(callers(rep, "role_work"), [("main", 50)], "role_work's callers")
    eq(callers(rep, "fork_work"), [("run_all", 3)], "fork_work's callers")
    eq(len(rep["processes"]), 13, "processes in the header")
    eq(sorted({os.path.basename(p["program"]) for p in rep["processes"]}),
       ["exitcode", "procs_spawn"], "programs in the header")
    eq(rep["inherited_calls_counted_once"], 2, "main and run_all, open at the fork")
    # Each process keeps its own overhead figures in the merged header
    # (each exec'd image calibrates anew: they differ).
    own = {}
    for f in glob.glob(r.path("*.prof")):
        one = report(f)
        own[one["processes"][0]["pid"]] = (one["overhead_per_call"],
                                           one["overhead_measured_in_run"])
    eq({pr["pid"]: (pr["overhead_per_call"], pr["overhead_measured_in_run"])
        for pr in rep["processes"]}, own,
       "each process's overhead per call and measured in the run, merged as alone")
    if len({json.dumps(v, sort_keys=True) for v in own.values()}) < 2:
        raise AssertionError("13 processes with one overhead figure: %r" % own)
    text = cprof("report", "--merge", *glob.glob(r.path("*.prof"))).stdout.decode()
    if "Merged 13 processes:" not in text or text.count(" (parent ") != 13:
        raise AssertionError("the text header does not list the 13 processes:\n" + text)


def forker_merged():
    r = Run([os.path.join(PROGS, "forker")])
    profs = sorted(glob.glob(r.path("*.prof")))
    eq(len(profs), 2, "profiles")
    rep = report("--merge", *profs, "--callers")
    eq(counts(rep), {("forker.c", "main"): (1, 1), ("forker.c", "before_fork"): (1, 1),
                     ("forker.c", "parent_work"): (3, 3), ("forker.c", "child_work"): (5, 5)},
       "merged: main once, though open in both processes")
    eq(callers(rep, "child_work"), [("main", 5)], "child_work's caller")
    # Alone, the child's file still shows the main it ran in.
    child = max(profs, key=lambda f: int(f.split(".")[-2]))
    eq(counts(report(child)), {("forker.c", "main"): (1, 1), ("forker.c", "child_work"): (5, 5)},
       "the child's own report")
    # Times add up: main's cumulative time is the parent's plus the child's.
    raw = [report(p, "--no-compensate") for p in profs]
    main_each = [f["cumtime"] for rr in raw for f in rr["functions"] if f["name"] == "main"]
    merged = report("--merge", *profs, "--no-compensate")
    main_merged = [f["cumtime"] for f in merged["functions"] if f["name"] == "main"][0]
    if abs(main_merged - sum(main_each)) > 1e-6 or min(main_each) <= 0:
        raise AssertionError("main's cumtime merged %r, each %r" % (main_merged, main_each))
    if "merged the call profiles of 2 processes" not in r.stderr:
        raise AssertionError("cprof run did not end with the merged summary:\n" + r.stderr)


def merge_refuses_a_snapshot():
    r = spawn_run()
    prof = sorted(glob.glob(r.path("*.prof")))[0]
    snap = sorted(glob.glob(r.path("*.snap")))[0]
    p = cprof("report", "--merge", prof, snap, check=False)
    err = p.stderr.decode()
    eq((p.returncode, err.count("\n"), p.stdout), (2, 1, b""), "exit status, one line, no output")
    if not err.startswith("cprof: ") or "snapshot" not in err:
        raise AssertionError(err)
    p = cprof("report", "--merge", prof, prof, check=False)
    eq((p.returncode, p.stderr.decode().count("\n")), (2, 1), "the same file twice")
    p = cprof("report", r.dir, check=False)
    if p.returncode != 1 or "--merge" not in p.stderr.decode():
        raise AssertionError("a directory without --merge: %r" % p.stderr)


def merged_set_everywhere():
    r = spawn_run()
    folded = cprof("export", r.dir, "--format", "callgrind").stdout.decode()
    m = re.findall(r"cfn=role_work\ncalls=(\d+) ", folded)
    eq(sorted(map(int, m)), [50], "callgrind: role_work called 50 times from main")
    stacks = {l.rsplit(" ", 1)[0] for l in
              cprof("export", r.dir, "--format", "folded").stdout.decode().splitlines()}
    eq({"main;role_work", "main;run_all;fork_work", "main;copy_stdin"} <= stacks, True,
       "folded stacks of three kinds of process")
    svg = os.path.join(TMP, "merged.svg")
    cprof("flamegraph", r.dir, "-o", svg)
    html = os.path.join(TMP, "merged.html")
    cprof("html", r.dir, "-o", html)
    # The flame graph leaves out frames too narrow to see.
    for f, names in ((svg, ("run_all", "copy_stdin")), (html, ("role_work", "fork_work"))):
        text = open(f).read()
        if not all(n in text for n in names):
            raise AssertionError("%s lacks %r" % (f, names))
    d = json.loads(cprof("diff", r.dir, r.dir, "--json").stdout)
    rows = {x["label"].rsplit("(", 1)[1][:-1]: x for x in d["functions"]}
    eq((rows["role_work"]["calls_old"], rows["role_work"]["calls_new"]), (50, 50),
       "diff of two merged sets")


# ---- libraries (items 2, 3, 4) ----

LIBS = {}


def libs_dir():
    if "dir" not in LIBS:
        d = tempfile.mkdtemp(dir=TMP, prefix="libs-")
        src = os.path.join(SRC, "procs_dlopen.c")
        for x in "abcd":
            subprocess.run(["cc", "-shared", "-fPIC", "-g", "-O2", "-fno-inline",
                            "-finstrument-functions", "-DPROCS_LIB=" + x,
                            "-o", os.path.join(d, "libprocs_%s.so" % x), src],
                           check=True, timeout=TIMEOUT)
        subprocess.run(["cc", "-g", "-O2", "-DPROCS_NEEDED", "-o", os.path.join(d, "plain"), src,
                        "-L" + d, "-lprocs_d", "-Wl,-rpath," + d], check=True, timeout=TIMEOUT)
        subprocess.run(["cc", "-g", "-O2", "-fno-inline", "-finstrument-functions", "-o",
                        os.path.join(d, "instrumented"), src], check=True, timeout=TIMEOUT)
        LIBS["dir"] = d
    return LIBS["dir"]


LIB_CALLS = {
    ("procs_dlopen.c", "a_work"): (3, 3), ("procs_dlopen.c", "a_leaf"): (6, 6),
    ("procs_dlopen.c", "b_work"): (5, 5), ("procs_dlopen.c", "b_leaf"): (10, 10),
    ("procs_dlopen.c", "c_work"): (7, 7), ("procs_dlopen.c", "c_leaf"): (14, 14),
}


def dlopen_case(which, *args):
    d = libs_dir()
    r = Run([os.path.join(d, which), d, *args])
    eq((r.status, r.stdout), (0, "same base yes\n"),
       "status, stdout (b was loaded where a had been)")
    profs = glob.glob(r.path("*.prof"))
    if len(profs) != 1:
        raise AssertionError("expected one profile, got %r; stderr:\n%s" % (profs, r.stderr))
    return r, report(profs[0], "--callers")


def relative_and_reloaded_instrumented_main():
    r, rep = dlopen_case("instrumented")
    expect = dict(LIB_CALLS)
    expect.update({("procs_dlopen.c", "main"): (1, 1),
                   ("procs_dlopen.c", "load_and_call"): (3, 3)})
    eq(counts(rep), expect, "every library function named, each library's own")
    eq(callers(rep, "b_leaf"), [("b_work", 10)], "b_leaf's caller")
    eq(callers(rep, "a_work"), [("load_and_call", 3)], "a_work's caller")
    files = {f["file"] for f in rep["functions"]}
    eq(files, {"tests/progs/procs_dlopen.c"}, "file of every function")


def reloaded_at_the_same_address():
    # By absolute path: only the reload is in question here.
    r, rep = dlopen_case("instrumented", "absolute")
    got = counts(rep)
    eq({k: v for k, v in got.items() if k[1][0] in "ab"},
       {k: v for k, v in LIB_CALLS.items() if k[1][0] in "ab"},
       "a's and b's functions, though b was mapped where a had been")
    eq(callers(rep, "b_leaf"), [("b_work", 10)], "b_leaf's caller")


def reloaded_library_sites():
    r, _ = dlopen_case("instrumented", "absolute")
    snap = glob.glob(r.path("*.snap"))
    eq(len(snap), 1, "snapshots")
    stats = json.loads(cprof("stats", snap[0], "--by", "function", "--limit", "0",
                             "--json").stdout)
    got = {e["function"]: (e["size"], e["count"]) for e in stats["entries"]
           if e["function"] in ("a_work", "b_work", "c_work")}
    eq(got, {"a_work": (72, 3), "b_work": (120, 5), "c_work": (168, 7)},
       "each library's blocks under its own function, b's though it was where a had been")


def instrumented_libraries_under_plain_main():
    r, rep = dlopen_case("plain")
    expect = dict(LIB_CALLS)
    expect.update({("procs_dlopen.c", "d_work"): (4, 4), ("procs_dlopen.c", "d_leaf"): (8, 8)})
    eq(counts(rep), expect, "the instrumented libraries' calls, linked and dlopen'ed")
    if "memory only" in r.stderr or "libprocs_d.so" not in r.stderr:
        raise AssertionError("cprof run does not say what it found:\n" + r.stderr)


# ---- a missing profile (item 6) ----

def missing_profile_explained():
    r = Run([os.path.join(PROGS, "torture_exits"), "_exit"])
    eq(r.status, 5, "exit status")
    m = re.search(r"cprof: no call profile from process (\d+) \(expected torture_exits\.\1\.prof "
                  r"in [^)]*\): it ended through _exit\(\)", r.stderr)
    if not m:
        raise AssertionError("no reason given:\n" + r.stderr)


CASES = [every_child_followed, every_child_followed_calls_only,
         children_keep_their_own_environment, merged_counts_across_programs, forker_merged,
         merge_refuses_a_snapshot, merged_set_everywhere,
         relative_and_reloaded_instrumented_main, reloaded_at_the_same_address,
         reloaded_library_sites,
         instrumented_libraries_under_plain_main,
         missing_profile_explained]
only = set(sys.argv[1:])
for case in CASES:
    if not only or case.__name__ in only:
        c.case(case.__name__, case)
shutil.rmtree(TMP, True)
c.done()
