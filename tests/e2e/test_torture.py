"""
Torture tests: hostile programs (tests/progs/torture_*.c) under both
runtimes at once (`cprof run` preloads both), with exact counts: 32
threads with thread churn; fork (from main and from a thread, while
threads allocate and snapshot), fork+exec, posix_spawn, system(); signal
handlers that allocate, SIGUSR2 storms, a blocked, ignored or owned
SIGUSR2; longjmp over 100,001 frames, siglongjmp out of handlers; _exit,
abort, exit from a thread; dlopen/dlclose; RLIMIT_AS; the trace table's
limit. Every run is bounded by a timeout: a deadlock fails, it never
hangs. Env: O=build dir (default build).

What abort() loses (SIGABRT kills the process: no atexit handler or
destructor runs, so neither runtime writes anything at the end):
  - the call profile (PROG.PID.prof) entirely;
  - every allocation and free after the last snapshot written, and the
    "exit" snapshot itself.
Snapshots written before (cprof_snapshot(), SIGUSR2, CPROF_INTERVAL)
stay, whole: no temporary file is left behind. _exit() loses the same
(nothing at all is written without an earlier snapshot), and so does a
shell that ends with _exit, as dash does: its children write their own.
exit() from a thread loses nothing: the other threads' calls still open
are counted as returning at exit.

Run some cases only: test_torture.py CASE...
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from cprof_e2e import Checks, CPROF, PROGS, ROOT, dump, eq

SRC = os.path.join(ROOT, "tests", "progs")
TIMEOUT = 60    # per run: a deadlock fails the case instead of stalling
c = Checks()
TMP = tempfile.mkdtemp(prefix="cprof-torture-")


class Run:
    """`cprof run -o DIR -- torture_NAME ARGS`, bounded by TIMEOUT."""

    def __init__(self, name, *args, env=None, preexec_fn=None, run_args=()):
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=TMP)
        full_env = dict(os.environ)
        full_env.update(env or {})
        cmd = [CPROF, "run", "-o", self.dir, *run_args, "--", os.path.join(PROGS, name), *args]
        p = subprocess.run(cmd, capture_output=True, env=full_env, timeout=TIMEOUT,
                           preexec_fn=preexec_fn)
        self.status, self.stdout, self.stderr = p.returncode, p.stdout.decode(), p.stderr.decode()

    def files(self):
        """Every entry of the output directory, dot files included."""
        return sorted(os.listdir(self.dir))

    def by_pid(self):
        out = {}
        for f in self.files():
            m = re.match(r"^[^.]+\.(\d+)\.(?:\d+\.snap|prof)$", f)
            if not m:
                raise AssertionError("unexpected file in the output: %r" % f)
            out.setdefault(int(m.group(1)), []).append(f)
        return {k: sorted(v) for k, v in out.items()}

    def path(self, f):
        return os.path.join(self.dir, f)


def cprof_json(*args):
    p = subprocess.run([CPROF, *args, "--json"], capture_output=True, timeout=TIMEOUT, cwd=ROOT)
    if p.returncode != 0:
        raise AssertionError("cprof %s failed: %s" % (args[0], p.stderr.decode().strip()))
    return json.loads(p.stdout)


def calls(prof):
    """name -> (calls, primitive calls); the report itself under '_'."""
    rep = cprof_json("report", prof)
    out = {f["name"]: (f["calls"], f["primitive_calls"]) for f in rep["functions"]}
    out["_"] = rep
    return out


def line_of(prog, marker):
    with open(os.path.join(SRC, prog + ".c")) as f:
        for n, text in enumerate(f, 1):
            if marker in text:
                return n
    raise AssertionError("no %r in %s.c" % (marker, prog))


def sites(snap, prog, *extra):
    """(line -> entry) of prog's own sites in a snapshot, and the snapshot."""
    d = cprof_json("stats", snap, "--limit", "0", *extra)
    own = {}
    for e in d["entries"]:
        if e["file"] == "tests/progs/%s.c" % prog:
            own[e["line"]] = e
    return own, d["snapshot"]


def container_label(path):
    """The label of a whole snapshot file, else raises: `cprof dump` refuses
    a file without its END section or with bytes after it."""
    d = dump(path)
    if d["kind"] != "memory snapshot":
        raise AssertionError("%s: a %s, not a snapshot" % (path, d["kind"]))
    meta = next(s for s in d["sections"] if s["name"] == "meta")
    return meta["records"][0]["fields"]["label"]


def site(own, prog, marker):
    return own.get(line_of(prog, "/* %s */" % marker))


def size_count(e):
    return None if e is None else (e["size"], e["count"])


def names_pids(stdout, what):
    """Lines 'WHAT ROLE A B' as (role, a, b)."""
    return [(m[0], int(m[1]), int(m[2]))
            for m in re.findall(r"^%s (\S+) (-?\d+) (-?\d+)$" % what, stdout, re.M)]


# ---- threads ----

def threads_32_with_churn():
    r = Run("torture_threads")
    eq(r.status, 0, "exit status")
    eq(r.stdout, "workers=32 iter=10000 short=200 failed=0\n", "stdout")
    profs = glob.glob(r.path("*.prof"))
    eq(len(profs), 1, "profiles")
    f = calls(profs[0])
    rep = f.pop("_")
    eq(rep["threads"], 1 + 32 + 200, "threads in the profile (main, workers, short-lived)")
    want = {"main": (1, 1), "worker_main": (32, 32), "work": (320000, 320000),
            "churn_site": (320000, 320000), "leaf": (640200, 640200),
            "short_main": (200, 200), "short_site": (200, 200)}
    eq(f, want, "calls per function")
    eq(rep["dropped"], {"nodes": 0, "frames": 0, "mismatched_exits": 0,
                        "skipped_in_signal_handlers": 0}, "dropped")
    own, snap = sites(glob.glob(r.path("*.snap"))[0], "torture_threads")
    churn = site(own, "torture_threads", "SITE_CHURN")
    # thread t allocates 16 + t bytes; every 100th kept
    eq((churn["size"], churn["count"], churn["allocated_size"], churn["allocated_count"]),
       (100 * sum(16 + t for t in range(32)), 3200, 10000 * sum(16 + t for t in range(32)),
        320000), "SITE_CHURN: live and allocated, bytes and blocks")
    eq(size_count(site(own, "torture_threads", "SITE_SHORT")), (200 * 64, 200), "SITE_SHORT")
    eq((snap["label"], snap["dropped_allocs"], snap["dropped_traces"]), ("exit", 0, 0),
       "exit snapshot without drops")


# ---- fork, exec, posix_spawn, system ----

def is_dash():
    return os.path.basename(os.path.realpath("/bin/sh")) == "dash"


def fork_exec_spawn_system():
    r = Run("torture_fork")
    eq(r.status, 0, "exit status (no deadlock, every child exited 0 or 7)")
    statuses = sorted((role, a) for role, a, _ in names_pids(r.stdout, "status"))
    eq(statuses, sorted([("fork", 0)] * 4 + [("tfork", 0)] * 2 + [("exec", 0)] * 2 +
                        [("spawn", 0)] * 2 + [("system", 0), ("sh", 7)]), "children's statuses")
    children = names_pids(r.stdout, "child")
    parent = names_pids(r.stdout, "parent")
    eq(len(parent), 1, "parent line")
    ppid, churned = parent[0][1], parent[0][2]
    eq(sorted(role for role, _, _ in children),
       sorted(["fork"] * 4 + ["tfork"] * 2 + ["exec"] * 2 + ["spawn"] * 2 + ["system", "sh"]),
       "children that ran")
    files = r.by_pid()
    want = {ppid: ["torture_fork.%d.%d.snap" % (ppid, s) for s in range(1, 12)] +
            ["torture_fork.%d.prof" % ppid]}
    for role, pid, parent_pid in children:
        want[pid] = ["torture_fork.%d.1.snap" % pid, "torture_fork.%d.prof" % pid]
        if role == "sh":
            # its shell is another process; dash ends with _exit: no files
            eq(parent_pid != ppid, True, "the 'sh' child runs under a shell")
            if not is_dash():
                want[parent_pid] = files.get(parent_pid, [])
        else:
            eq(parent_pid, ppid, "%s child's parent" % role)
    eq(files, {k: sorted(v) for k, v in want.items()}, "files per PID (no temporaries)")

    pf = calls("%s/torture_fork.%d.prof" % (r.dir, ppid))
    eq(pf.pop("_")["threads"], 6, "parent's threads")
    eq(pf, {"main": (1, 1), "parent_setup": (1, 1), "churner": (4, 4), "snapshotter": (1, 1),
            "churn_call": (churned, churned), "wait_status": (10, 10), "say": (13, 13)},
       "parent's calls (no child's)")
    own, snap = sites("%s/torture_fork.%d.11.snap" % (r.dir, ppid), "torture_fork")
    eq(snap["label"], "exit", "parent's last snapshot")
    eq({m: size_count(site(own, "torture_fork", m)) for m in
        ("SITE_PARENT", "SITE_AFTER", "SITE_CHILD", "SITE_EXEC")},
       {"SITE_PARENT": (10000, 100), "SITE_AFTER": (3000, 10), "SITE_CHILD": None,
        "SITE_EXEC": None}, "parent's exit snapshot")
    for s in range(1, 11):
        eq(sites("%s/torture_fork.%d.%d.snap" % (r.dir, ppid, s), "torture_fork")[1]["label"],
           "busy", "parent's snapshot %d" % s)

    for role, pid, _ in children:
        f = calls("%s/torture_fork.%d.prof" % (r.dir, pid))
        eq(f.pop("_")["threads"], 1, "%s child's threads" % role)
        own, snap = sites("%s/torture_fork.%d.1.snap" % (r.dir, pid), "torture_fork")
        eq((snap["label"], snap["pid"]), ("exit", pid), "%s child's snapshot" % role)
        got = {m: size_count(site(own, "torture_fork", m)) for m in
               ("SITE_PARENT", "SITE_CHILD", "SITE_EXEC", "SITE_AFTER")}
        if role in ("fork", "tfork"):
            # The forking thread's open calls go on in the child: main,
            # or the churning thread's churner.
            opener = "main" if role == "fork" else "churner"
            eq(f, {opener: (1, 1), "forked_child": (1, 1), "say": (1, 1), "child_work": (5, 5),
                   "child_alloc": (1, 1)}, "%s child %d's calls" % (role, pid))
            eq(got, {"SITE_PARENT": (10000, 100), "SITE_CHILD": (10000, 50), "SITE_EXEC": None,
                     "SITE_AFTER": None}, "%s child %d's live blocks" % (role, pid))
        else:
            eq(f, {"main": (1, 1), "exec_main": (1, 1), "say": (1, 1), "exec_work": (7, 7)},
               "%s child %d's calls (a new image)" % (role, pid))
            eq(got, {"SITE_PARENT": None, "SITE_CHILD": None, "SITE_EXEC": (9000, 30),
                     "SITE_AFTER": None}, "%s child %d's live blocks" % (role, pid))


# ---- signals ----

def signal_handlers_allocate():
    r = Run("torture_signals", "alloc")
    eq(r.status, 0, "exit status")
    m = re.match(r"^phase1 (\d+) spins (\d+) phase2 (\d+) main_allocs (\d+)\n$", r.stdout)
    if not m:
        raise AssertionError("stdout: %r" % r.stdout)
    phase1, spins, phase2, allocs = map(int, m.groups())
    f = calls(glob.glob(r.path("*.prof"))[0])
    rep = f.pop("_")
    eq((f["spin"], f["main_alloc"]), ((spins, spins), (allocs, allocs)), "main thread's calls")
    # Each handled signal enters on_alarm and one of in_handler or
    # handler_temp: recorded, or skipped when it landed inside a hook.
    handler_calls = sum(f.get(n, (0, 0))[0] for n in ("on_alarm", "in_handler", "handler_temp"))
    eq(handler_calls + rep["dropped"]["skipped_in_signal_handlers"], 2 * (phase1 + phase2),
       "handler calls + skipped")
    eq(rep["dropped"]["mismatched_exits"], 0, "mismatched exits")
    own, snap = sites(glob.glob(r.path("*.snap"))[0], "torture_signals")
    # Phase 1's handlers never interrupt the shim (main does not allocate
    # then): every block they keep is traced, at its file:line.
    eq(size_count(site(own, "torture_signals", "SITE_HANDLER")), (1000 * phase1, phase1),
       "blocks kept by handlers")
    e = site(own, "torture_signals", "SITE_MAIN")
    eq((e["count"], e["allocated_count"]), (1, allocs), "main's allocations, each traced")
    eq(site(own, "torture_signals", "SITE_TEMP"), None, "handlers' temporary blocks all freed")
    eq((snap["dropped_allocs"], snap["dropped_traces"]), (0, 0), "drops")


def check_storm(mode, first, why, live):
    """A storm of 300 SIGUSR2 (torture_signals MODE), whose stdout is
    FIRST (a regex of what comes before the counts; WHY says what its
    mismatch means), LIVE SITE_STORM blocks at the end. Returns the run
    and its snapshots' names in SEQ order."""
    r = Run("torture_signals", mode)
    eq(r.status, 0, "exit status")
    m = re.match(r"^%s storm_calls (\d+) storm_allocs (\d+)\n$" % first, r.stdout)
    if not m:
        raise AssertionError("%s, or stdout: %r" % (why, r.stdout))
    ncalls, nallocs = int(m.group(1)), int(m.group(2))
    files = r.by_pid()
    eq(len(files), 1, "one process wrote")
    (pid, names), = files.items()
    snaps = sorted((n for n in names if n.endswith(".snap")), key=lambda n: int(n.split(".")[2]))
    n = len(snaps)
    eq([int(s.split(".")[2]) for s in snaps], list(range(1, n + 1)), "snapshot SEQs 1..N")
    if not 2 <= n <= 301:
        raise AssertionError("%d snapshots for 300 SIGUSR2 (1..300 signal + exit)" % (n))
    print("     300 SIGUSR2 (%s) gave %d signal snapshots" % (mode, n - 1))
    # Every file whole (its sections end with END) and labelled; the
    # reporter reads the first, a middle one and the last.
    eq([container_label(r.path(s)) for s in snaps], ["signal"] * (n - 1) + ["exit"],
       "every snapshot complete, labelled")
    for s in (snaps[0], snaps[n // 2], snaps[-1]):
        eq(cprof_json("stats", r.path(s), "--limit", "1")["snapshot"]["pid"], pid, s)
    f = calls(r.path("torture_signals.%d.prof" % pid))
    eq((f["storm_call"], f["storm_site"]), ((ncalls, ncalls), (nallocs, nallocs)), "calls")
    own, snap = sites(r.path(snaps[-1]), "torture_signals")
    e = site(own, "torture_signals", "SITE_STORM")
    eq((e["count"], e["allocated_count"]), (live, nallocs), "SITE_STORM live and allocated")
    return r, snaps


def snapshot_signal_storm():
    check_storm("storm", "read 1", "a read() was not resumed after SIGUSR2", 2)


def snapshot_signal_storm_one_thread():
    """storm1: no helper thread; each SIGUSR2 is written by the handler,
    or by the next hook when it came inside one (the sender, a forked
    process, _exits: it writes nothing)."""
    r, snaps = check_storm("storm1", "threads 1", "not one thread", 1)
    # A signal snapshot falls between a free and the next malloc or not:
    # SITE_STORM has 0 or 1 live blocks in it, never more, never less.
    for s in (snaps[0], snaps[len(snaps) // 2], snaps[-2]):
        e = site(sites(r.path(s), "torture_signals")[0], "torture_signals", "SITE_STORM")
        if (e["count"] if e else 0) not in (0, 1):
            raise AssertionError("%s: %d live SITE_STORM blocks" % (s, e["count"]))


def sigusr2_blocked():
    r = Run("torture_signals", "blocked")
    eq(r.status, 0, "exit status")
    eq(r.stdout, "while_blocked 0 after_unblock 1\n", "no snapshot while blocked, one after")
    (pid, names), = r.by_pid().items()
    eq(names, ["torture_signals.%d.1.snap" % pid, "torture_signals.%d.2.snap" % pid,
               "torture_signals.%d.prof" % pid], "files")
    eq([cprof_json("stats", r.path(n))["snapshot"]["label"] for n in names[:2]],
       ["signal", "exit"], "labels: 20 raised while blocked, delivered once")


def sigusr2_ignored():
    # Ignored before the program starts (as nohup-like parents do): it
    # must stay ignored, as without cprof.
    ign = lambda: signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    plain = subprocess.run([os.path.join(PROGS, "torture_signals"), "ignored"],
                           capture_output=True, timeout=TIMEOUT, preexec_fn=ign)
    eq(plain.stdout.decode(), "at_start ignored\nsurvived 20\n", "stdout without cprof")
    r = Run("torture_signals", "ignored", preexec_fn=ign)
    eq((r.status, r.stdout), (0, plain.stdout.decode()), "status and stdout under cprof")
    (pid, names), = r.by_pid().items()
    eq(names, ["torture_signals.%d.1.snap" % pid, "torture_signals.%d.prof" % pid], "files")
    # Ignored by the program itself, over cprof's handler.
    r = Run("torture_signals", "ignored")
    eq((r.status, r.stdout.splitlines()[-1]), (0, "survived 20"), "status, stdout")
    (pid, names), = r.by_pid().items()
    eq(names, ["torture_signals.%d.1.snap" % pid, "torture_signals.%d.prof" % pid],
       "files: no signal snapshot")


def sigusr2_own_handler():
    r = Run("torture_signals", "own")
    eq((r.status, r.stdout), (0, "own_handled 50\n"), "the program's handler got all 50")
    (pid, names), = r.by_pid().items()
    eq(names, ["torture_signals.%d.1.snap" % pid, "torture_signals.%d.prof" % pid],
       "files: no signal snapshot")
    eq(calls(r.path(names[1]))["on_usr2"], (50, 50), "on_usr2 calls")


# ---- non-local exits, deep stacks ----

def longjmp_over_100k_frames():
    r = Run("torture_jumps", "deep")
    eq((r.status, r.stdout), (0, "recurse 100000 dive 100000\n"), "status, stdout")
    prof = glob.glob(r.path("*.prof"))[0]
    f = calls(prof)
    rep = f.pop("_")
    eq(f, {"main": (1, 1), "mode_deep": (1, 1), "recurse": (100001, 1), "dive": (100001, 1),
           "after_jump": (3, 3)}, "calls")
    eq(rep["dropped"], {"nodes": 0, "frames": 0, "mismatched_exits": 0,
                        "skipped_in_signal_handlers": 0}, "dropped")
    callers = {e["name"] for fn in cprof_json("report", prof, "--callers")["functions"]
               if fn["name"] == "after_jump" for e in fn["callers"]}
    eq(callers, {"mode_deep"}, "after_jump's callers once the 100,001 frames are gone")
    own, snap = sites(glob.glob(r.path("*.snap"))[0], "torture_jumps")
    eq(size_count(site(own, "torture_jumps", "SITE_DIVE")), (100001 * 64, 100001),
       "blocks left live by the longjmp")
    eq(size_count(site(own, "torture_jumps", "SITE_DEEP")), (48, 1), "the deepest block")
    eq((snap["traced_count"], snap["allocated_count"], snap["freed_count"], snap["peak_size"]),
       (100002, 200002, 100000, 48 + 100001 * 64), "totals and the exact peak")


def siglongjmp_out_of_hooks():
    r = Run("torture_jumps", "sig")
    eq((r.status, r.stdout), (0, "jumps 100 handler_runs 100\n"), "status, stdout")
    f = calls(glob.glob(r.path("*.prof"))[0])
    skipped = f.pop("_")["dropped"]["skipped_in_signal_handlers"]
    known = (" (a jump out of a handler that interrupted a hook must not leave the "
             "thread's busy flag set)")
    eq(f.get("final_call"), (1000, 1000), "calls after the last jump" + known)
    # Every handler run enters on_alarm: recorded, or skipped when it
    # landed inside a hook (most do: the loop spends its time in hooks).
    eq(f.get("on_alarm", (0, 0))[0] + skipped, 100, "on_alarm calls + skipped" + known)
    if skipped == 0:
        raise AssertionError("no signal landed inside a hook: the case was not exercised")
    # Both run with SIGALRM blocked, so no jump cuts their hooks short.
    # (Calls only: a frame jumped over at the very depth of the next call
    # looks like its caller, as an inlined function's does.)
    eq((f.get("after_sigjump", (0, 0))[0], f.get("busy_loop", (0, 0))[0]), (100, 100),
       "after_sigjump and busy_loop calls" + known)


def exit_variants():
    r = Run("torture_exits", "_exit")
    eq((r.status, r.stdout), (5, "calling _exit(5)\n"), "_exit: status, stdout")
    eq(r.files(), [], "_exit: nothing written (no destructor runs)")
    if "no files were written" not in r.stderr:
        raise AssertionError("_exit: cprof run does not say why nothing was written: " + r.stderr)

    r = Run("torture_exits", "abort")
    eq((r.status, r.stdout), (128 + signal.SIGABRT, "calling abort()\n"), "abort: status, stdout")
    if "killed by signal %d" % signal.SIGABRT not in r.stderr:
        raise AssertionError("abort: cprof run does not name the signal: " + r.stderr)
    (pid, names), = r.by_pid().items()
    eq(names, ["torture_exits.%d.1.snap" % pid], "abort: only the snapshot taken before "
       "(no profile, no exit snapshot, no temporary file)")
    own, snap = sites(r.path(names[0]), "torture_exits")
    eq(snap["label"], "before-abort", "abort: its label")
    eq({m: size_count(site(own, "torture_exits", m)) for m in ("SITE_WORK", "SITE_LATE")},
       {"SITE_WORK": (1000, 10), "SITE_LATE": None}, "abort: what the snapshot holds")


def exit_from_a_thread():
    r = Run("torture_exits", "thread")
    eq((r.status, r.stdout), (3, "exiting from a thread\n"), "status, stdout")
    (pid, names), = r.by_pid().items()
    eq(names, ["torture_exits.%d.1.snap" % pid, "torture_exits.%d.prof" % pid], "files")
    f = calls(r.path(names[1]))
    rep = f.pop("_")
    eq(rep["threads"], 5, "threads (main, idle, 2 spinners, exiter)")
    spins = f.pop("spin", (0, 0))
    # Calls still open in the other threads count as returning at exit.
    eq(f, {"main": (1, 1), "mode_thread": (1, 1), "setup": (1, 1), "idle_main": (1, 1),
           "idle_work": (100, 100), "idle_wait": (1, 1), "spinner": (2, 2), "exiter": (1, 1),
           "exiter_work": (50, 50), "do_exit": (1, 1), "say": (1, 1)}, "calls")
    if spins[0] < 1:
        raise AssertionError("the spinners' calls are missing")
    own, snap = sites(r.path(names[0]), "torture_exits")
    got = {m: size_count(site(own, "torture_exits", m)) for m in
           ("SITE_MAIN", "SITE_IDLE", "SITE_EXITER")}
    eq(got, {"SITE_MAIN": (640, 10), "SITE_IDLE": (2560, 20), "SITE_EXITER": (7680, 30)},
       "live blocks of every thread")
    spin = site(own, "torture_exits", "SITE_SPIN")
    if spin and spin["count"] > 2:
        raise AssertionError("spinners hold at most one block each: %r" % spin)
    eq((snap["label"], snap["dropped_allocs"]), ("exit", 0), "exit snapshot")


# ---- dlopen/dlclose ----

def build_plugin():
    lib = os.path.join(TMP, "libtorture_plugin.so")
    if not os.path.exists(lib):
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-shared", "-fPIC", "-g", "-O2", "-fno-inline",
                        "-finstrument-functions", "-DTORTURE_PLUGIN", "-o", lib,
                        os.path.join(SRC, "torture_dlopen.c")], check=True, timeout=TIMEOUT)
    return lib


DLOPEN = {}


def dlopen_run():
    if "run" not in DLOPEN:
        r = Run("torture_dlopen", build_plugin())
        eq((r.status, r.stdout), (0, "unloaded yes, reloaded elsewhere yes\n"),
           "status, stdout (library unmapped, its second load at another address)")
        DLOPEN["run"] = r
    return DLOPEN["run"]


def dlclose_calls_still_named():
    r = dlopen_run()
    prof = glob.glob(r.path("*.prof"))[0]
    rep = cprof_json("report", prof, "--callers")
    unnamed = [fn["name"] for fn in rep["functions"] if fn["file"] in ("?", "")]
    eq(unnamed, [], "functions without a file:line")
    total = {}
    for fn in rep["functions"]:
        key = (fn["name"], fn["file"], fn["line"])
        total[key] = total.get(key, 0) + fn["calls"]
    src = "tests/progs/torture_dlopen.c"
    entry_line = line_of("torture_dlopen", "void plugin_entry(int n, void **keep)\n")
    leaf_line = line_of("torture_dlopen", "static void plugin_leaf(int i)")
    eq({k: v for k, v in total.items() if k[0].startswith("plugin_")},
       {("plugin_entry", src, entry_line): 4, ("plugin_leaf", src, leaf_line): 34},
       "the unloaded library's calls (both loads), by name and file:line")
    f = {fn["name"]: fn for fn in rep["functions"]}
    eq({e["name"] for fn in rep["functions"] if fn["name"] == "plugin_entry"
        for e in fn["callers"]}, {"call_plugin"}, "plugin_entry's caller")
    eq((f["call_plugin"]["calls"], f["after_close"]["calls"]), (4, 2), "the program's calls")


def dlclose_reload_one_row():
    r = dlopen_run()
    rep = cprof_json("report", glob.glob(r.path("*.prof"))[0])
    rows = sorted((fn["name"], fn["calls"]) for fn in rep["functions"]
                  if fn["name"].startswith("plugin_"))
    eq(rows, [("plugin_entry", 4), ("plugin_leaf", 34)],
       "one row per function, as pstats keys them by file:line(function), when the library "
       "was loaded at two addresses")


def dlclose_sites_still_named():
    r = dlopen_run()
    snap = glob.glob(r.path("*.snap"))[0]
    own, info = sites(snap, "torture_dlopen")
    e = site(own, "torture_dlopen", "SITE_PLUGIN")
    known = (" (the shim's dlclose must keep the unloaded library in the snapshot's "
             "module map)")
    if e is None:
        raise AssertionError("no entry at SITE_PLUGIN; entries: %r%s"
                             % (cprof_json("stats", snap, "--limit", "0")["entries"], known))
    eq((e["function"], e["size"], e["count"]), ("plugin_entry", 20 * 72, 20), "SITE_PLUGIN")
    eq(size_count(site(own, "torture_dlopen", "SITE_MAIN")), (480, 10), "SITE_MAIN")
    # One traceback per load (the addresses differ), the same names.
    tb = [t for t in cprof_json("stats", snap, "--by", "traceback", "--limit", "0")["entries"]
          if t["traceback"] and t["traceback"][0]["function"] == "plugin_entry"]
    eq(({tuple(x["function"] for x in t["traceback"][:4]) for t in tb},
        sum(t["count"] for t in tb)),
       ({("plugin_entry", "call_plugin", "load_and_call", "main")}, 20),
       "SITE_PLUGIN's tracebacks and their blocks")


# ---- memory pressure ----

def rlimit_as_failing_allocations():
    plain = subprocess.run([os.path.join(PROGS, "torture_mem"), "rlimit", "16"],
                           capture_output=True, timeout=TIMEOUT).stdout.decode()
    eq(plain.splitlines()[0], "fill_failed yes errno ENOMEM", "without cprof")
    r = Run("torture_mem", "rlimit", "16")
    eq(r.status, 0, "exit status")
    lines = r.stdout.splitlines()
    eq((lines[0], lines[2]), ("fill_failed yes errno ENOMEM", "thread ran"),
       "the failing malloc: NULL and ENOMEM, as without cprof")
    filled = int(lines[1].split()[1])
    prof, snap = glob.glob(r.path("*.prof"))[0], glob.glob(r.path("*.snap"))[0]
    eq(calls(prof)["fill_site"], (10 + filled + 1, 10 + filled + 1), "fill_site calls")
    own, info = sites(snap, "torture_mem")
    e = site(own, "torture_mem", "SITE_FILL")
    # Traced or counted as dropped, never lost: the report says which.
    # (A line's allocated_count covers its traces with live blocks: the
    # fill loop's, whose first block stays; not the 10 warm-up calls'.)
    eq(e["allocated_count"] + info["dropped_allocs"], filled,
       "SITE_FILL: traced + dropped = successful allocations")
    eq(info["untraced_frees"], info["dropped_allocs"], "frees of dropped blocks, counted")
    eq(size_count(site(own, "torture_mem", "SITE_AFTER")), (100000, 100),
       "allocations after the failure traced again")
    print("     RLIMIT_AS: %d x malloc(16) before ENOMEM (%s without cprof), %d dropped"
          % (filled, plain.splitlines()[1].split()[1], info["dropped_allocs"]))


def rlimit_as_thread_profiled():
    r = Run("torture_mem", "rlimit", "1000")
    eq((r.status, r.stdout.splitlines()[-1]), (0, "thread ran"), "status, the thread ran")
    f = calls(glob.glob(r.path("*.prof"))[0])
    rep = f.pop("_")
    recorded = f.get("thread_main", (0, 0))[0] + f.get("thread_call", (0, 0))[0]
    dropped = rep["dropped"]["nodes"] + rep["dropped"]["frames"]
    eq(recorded + dropped, 101,
       "thread_main + thread_call x 100, recorded or counted as dropped")


def trace_table_full():
    r = Run("torture_mem", "traces", env={"CPROF_MAX_TRACES": "16"})
    eq((r.status, r.stdout), (0, "sites 40 x 10\n"), "status, stdout")
    if "cprof: dropped: 0 allocations not traced (table full), 250 without a stack" \
            not in r.stderr.splitlines():
        raise AssertionError("cprof run does not state the drop: " + r.stderr)
    snap = glob.glob(r.path("*.snap"))[0]
    d = cprof_json("stats", snap, "--limit", "0")
    s = d["snapshot"]
    eq((s["dropped_traces"], s["dropped_allocs"], s["traces"], s["traced_count"],
        s["traced_size"]), (250, 0, 16, 400, 6400), "drops, traces, totals (bytes kept)")
    first = line_of("torture_mem", "SITE(0) SITE(1)")
    got = sorted((e["file"], e["line"], e["size"], e["count"]) for e in d["entries"])
    eq(got, sorted([("<unknown>", 0, 4000, 250), ("tests/progs/torture_mem.c", first, 1600, 100),
                    ("tests/progs/torture_mem.c", first + 1, 800, 50)]),
       "the first 15 sites by file:line, the other 250 blocks without a stack")
    text = subprocess.run([CPROF, "stats", snap], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=ROOT).stdout
    if ("Dropped: 0 allocations not traced (table full), 250 filed without a stack "
            "(trace table full; raise CPROF_MAX_TRACES)") not in text.splitlines():
        raise AssertionError("cprof stats does not state the drop:\n" + text)
    f = calls(glob.glob(r.path("*.prof"))[0])
    eq(sorted(n for n in f if n.startswith("site_")), sorted("site_%d" % k for k in range(40)),
       "the call profile is whole")


CASES = [threads_32_with_churn, fork_exec_spawn_system, signal_handlers_allocate,
         snapshot_signal_storm, snapshot_signal_storm_one_thread, sigusr2_blocked,
         sigusr2_ignored, sigusr2_own_handler,
         longjmp_over_100k_frames, siglongjmp_out_of_hooks, exit_variants, exit_from_a_thread,
         dlclose_calls_still_named, dlclose_reload_one_row, dlclose_sites_still_named,
         rlimit_as_failing_allocations,
         rlimit_as_thread_profiled, trace_table_full]
only = sys.argv[1:]
for fn in CASES:
    if not only or fn.__name__ in only:
        t0 = time.time()
        c.case(fn.__name__, fn)
        print("     (%.1f s)" % (time.time() - t0))
shutil.rmtree(TMP, True)
c.done()
