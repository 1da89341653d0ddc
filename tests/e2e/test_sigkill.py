"""
SIGKILL at any moment leaves nothing half-written under a final name
(SPEC, Files: "written whole or not at all"), and the snapshots written
before the kill stay readable. tests/progs/killme allocates from two
threads with a snapshot every 0.05 s (~0.5 MiB each) and is killed:

  spread     40 kills at evenly spread moments of its run and its exit
             (20 under `cprof run`, 20 with plain LD_PRELOAD)
  mid-write  stopped (SIGSTOP) the moment a temporary is created, seen
             to be still mid-write, then killed: once inside a snapshot,
             once inside the exit .prof
  launcher   `cprof run` itself killed: the program runs on, ends with
             status 0 and writes whole files

After each kill: every final-named file is a complete container (header,
sections in bounds, END marker, no stray byte) whose name matches its
pid, SEQ and label; SEQs run 1..m without a gap; `cprof stats --json`
and `cprof report --json` accept the first and the newest (rc 0), with
exact figures where the program finished; the only other files are the
temporaries of the writes the kill interrupted (".NAME.tmpPID", at most
one snapshot, SEQ m+1, and one .prof), which `cprof run` never names but
removes once the writer is gone, saying "cprof: removed PATH, left
half-written by process PID".

No assertion counts snapshots by wall-clock time: interval snapshots are
written by a helper thread, which a loaded machine delays. The whole run
waits (killme's second argument) until it has seen its third snapshot.
"""
import ctypes
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time

from cprof_e2e import BUILD, CPROF, ROOT, Checks, dump, eq, prog

KILLME = prog("killme")
ROUNDS = 60		# ~0.3 s of work on this 2-core VM
NPATHS = 1024		# killme's allocation paths a thread
NTHREADS = 2
LIB = os.path.join(BUILD, "lib")
TIMEOUT = 30		# per subprocess: a hang fails instead of stalling CI
SITE_ALLOC = next(i for i, line in enumerate(open(os.path.join(ROOT, "tests/progs/killme.c")), 1)
                  if "/* SITE_ALLOC */" in line)

RUN_ENV = dict(os.environ, CPROF_FRAMES="32")
PLAIN_ENV = dict(RUN_ENV, CPROF_INTERVAL="0.05",
                 LD_PRELOAD="%s/libcprof-malloc.so:%s/libcprof-instrument.so" % (LIB, LIB))

c = Checks()
tmp = tempfile.mkdtemp(prefix="cprof-sigkill-")
stats = {"runs": 0, "killed": 0, "finished": 0, "left_temp": 0, "files": 0}


def start(mode, out, rounds=ROUNDS, min_snapshots=0):
    args = [KILLME, str(rounds), str(min_snapshots)]
    if mode == "run":
        cmd = [CPROF, "run", "-o", out, "--interval", "0.05", "--frames", "32", "--"] + args
        env = RUN_ENV
    else:
        os.makedirs(out, exist_ok=True)
        cmd, env = args, dict(PLAIN_ENV, CPROF_OUTPUT=out)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    ready, _, _ = select.select([p.stdout], [], [], TIMEOUT)
    line = p.stdout.readline() if ready else b""
    if not line.strip().isdigit():
        p.kill()
        raise AssertionError("killme did not print its pid: %r" % line)
    return p, int(line)


def finish(p):
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        raise
    return p.returncode, out.decode(), err.decode()


# ---- the container: `cprof dump` refuses a partial file as
# fmt_file_parse() does, and reads the fields as common/format.h lays them out ----

KIND_PROFILE, KIND_SNAPSHOT = 1, 2


def parse(path):
    """(kind, pid, seq, label) of a whole file; raises for a partial one."""
    d = dump(path)
    meta = next(s for s in d["sections"] if s["name"] == "meta")["records"][0]["fields"]
    return d["header"]["fields"]["kind"], meta["pid"], meta["seq"], meta["label"]


SNAP = re.compile(r"^killme\.(\d+)\.(\d+)\.snap$")
PROF = re.compile(r"^killme\.(\d+)\.prof$")
TEMP = re.compile(r"^\.killme\.(\d+)(?:\.(\d+))?\.(snap|prof)\.tmp(\d+)$")


def check_dir(out, pid, finished):
    """Checks every file of out; returns (snapshots by SEQ, profiles, temporaries)."""
    snaps, profs, temps = {}, [], []
    for name in os.listdir(out):
        path = os.path.join(out, name)
        m = SNAP.match(name) or PROF.match(name)
        if m:
            kind, fpid, seq, label = parse(path)
            eq(int(m.group(1)), pid, name + ": pid in the name")
            eq(fpid, pid, name + ": pid inside")
            if m.re is SNAP:
                eq(kind, KIND_SNAPSHOT, name + ": kind")
                eq(seq, int(m.group(2)), name + ": SEQ inside")
                snaps[seq] = (path, label)
            else:
                eq(kind, KIND_PROFILE, name + ": kind")
                profs.append(path)
            continue
        m = TEMP.match(name)
        if not m:
            raise AssertionError("unexpected file %r in the output directory" % name)
        eq((int(m.group(1)), int(m.group(4))), (pid, pid), name + ": pids in the temporary")
        temps.append((path, m.group(3), int(m.group(2) or 0)))
    stats["files"] += len(snaps) + len(profs)
    seqs = sorted(snaps)
    eq(seqs, list(range(1, len(seqs) + 1)), "snapshot SEQs (no gap)")
    for seq in seqs:
        want = "exit" if snaps[seq][1] == "exit" and seq == len(seqs) else "interval"
        eq(snaps[seq][1], want, "label of snapshot %d of %d" % (seq, len(seqs)))
    snap_temps = [t for t in temps if t[1] == "snap"]
    eq(len(snap_temps) <= 1 and len(temps) - len(snap_temps) <= 1, True,
       "at most one snapshot and one profile being written: %r" % temps)
    for t in snap_temps:
        eq(t[2], len(seqs) + 1, "SEQ of the interrupted snapshot")
    if finished:
        eq(temps, [], "temporaries after a finished run")
        eq(snaps[seqs[-1]][1] if seqs else None, "exit", "last snapshot of a finished run")
        eq(len(profs), 1, "profiles of a finished run")
    return snaps, profs, temps


def cprof_json(*args):
    p = subprocess.run([CPROF, *args, "--json"], capture_output=True, text=True, timeout=TIMEOUT)
    eq(p.returncode, 0, "exit status of cprof %s (%s)" % (" ".join(args), p.stderr.strip()))
    return json.loads(p.stdout)


def check_with_reporter(snaps, profs, temps, rounds=ROUNDS):
    """The reporter reads the first and the newest snapshot and every
    profile, exact where the run is known to be over; refuses or reads
    whole a leftover temporary, in one line."""
    first_alloc = None
    for seq in sorted({1, len(snaps)} & set(snaps)):
        path, label = snaps[seq]
        d = cprof_json("stats", path, "--include", "*killme.c")
        eq((d["snapshot"]["seq"], d["snapshot"]["label"]), (seq, label), path)
        site = [e for e in d["entries"] if e["line"] == SITE_ALLOC]
        eq(len(site), len(d["entries"]), "killme.c entries outside SITE_ALLOC")
        allocated = d["snapshot"]["allocated_count"]	# every site, ever
        if first_alloc is not None and allocated < first_alloc:
            raise AssertionError("allocations went down from snapshot 1 to %d" % seq)
        first_alloc = allocated
        if label == "exit":	# 16 paths a thread keep one 32-byte block
            eq([(e["size"], e["count"]) for e in site], [(NTHREADS * 16 * 32, NTHREADS * 16)],
               "live at SITE_ALLOC at exit")
            if allocated < NTHREADS * rounds * NPATHS:
                raise AssertionError("%d allocations at exit" % allocated)
    for path in profs:	# written at exit, after all the work
        fns = {f["name"]: f for f in cprof_json("report", path)["functions"]}
        eq(fns["alloc_at"]["calls"], NTHREADS * rounds * NPATHS, "alloc_at calls")
        eq(fns["main"]["calls"], 1, "main calls")
    for path, kind, _ in temps:
        p = subprocess.run([CPROF, "stats" if kind == "snap" else "report", path],
                           capture_output=True, text=True, timeout=TIMEOUT)
        lines = p.stderr.strip().splitlines()
        if p.returncode == 1:
            eq(len(lines) == 1 and lines[0].startswith("cprof: ") and path in lines[0], True,
               "one error line naming the partial temporary: %r" % p.stderr)
        else:	# stopped between the fsync and the rename: whole, not yet named
            eq(p.returncode, 0, "cprof on a temporary")


def check_run_listing(err, out, pid, killed):
    """`cprof run` names exactly the final files, never a temporary.
    Returns the temporaries it says it removed (none today: it leaves
    them; each one it says it removed must be gone)."""
    removed = re.findall(r"^cprof: removed (.*), left half-written by process (\d+)", err, re.M)
    for path, wpid in removed:
        eq((TEMP.match(os.path.basename(path)) is not None, int(wpid), os.path.exists(path)),
           (True, pid, False), "temporary %s said removed" % path)
    named = sorted(re.findall(r"^cprof: wrote (.*)$", err, re.M))
    finals = sorted(os.path.join(out, n) for n in os.listdir(out) if not n.startswith("."))
    eq(named, finals, "files named by cprof run")
    if killed:
        if "cprof: '%s' was killed by signal 9 (Killed)" % KILLME not in err:
            raise AssertionError("cprof run did not say the program was killed:\n" + err)
    if not finals and "no files were written" not in err:
        raise AssertionError("cprof run did not say no file was written:\n" + err)
    return [os.path.basename(path) for path, _ in removed]


def one_kill(mode, delay, k):
    out = os.path.join(tmp, "%s-%d" % (mode, k))
    p, pid = start(mode, out)
    time.sleep(delay)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass	# already over and reaped by cprof run
    status, stdout, err = finish(p)
    killed = status == (128 + signal.SIGKILL if mode == "run" else -signal.SIGKILL)
    finished = not killed
    if finished:
        eq((status, stdout), (0, "done\n"), "exit status and stdout of a run not killed")
    elif stdout not in ("", "done\n"):
        raise AssertionError("stdout of a killed run: %r" % stdout)
    snaps, profs, temps = check_dir(out, pid, finished)
    check_with_reporter(snaps, profs, temps)
    if mode == "run":
        check_run_listing(err, out, pid, not finished)
    stats["runs"] += 1
    stats["finished" if finished else "killed"] += 1
    stats["left_temp"] += bool(temps)
    shutil.rmtree(out, True)


duration = [0.0]


def finished_run_is_exact():
    out = os.path.join(tmp, "whole")
    t0 = time.monotonic()
    p, pid = start("run", out, min_snapshots=3)
    status, stdout, err = finish(p)
    duration[0] = time.monotonic() - t0
    eq((status, stdout), (0, "done\n"), "status and stdout after the pid line")
    snaps, profs, temps = check_dir(out, pid, True)
    if len(snaps) < 4:	# the 3 it waited for, then the exit one
        raise AssertionError("%d snapshots, though killme waited for its third" % len(snaps))
    check_with_reporter(snaps, profs, temps)
    check_run_listing(err, out, pid, False)
    print("     one whole run: %.2f s, %d snapshots of %d bytes" %
          (duration[0], len(snaps), os.path.getsize(snaps[1][0])))


def spread(mode, offset):
    def check():
        n = 20
        span = max(duration[0], 0.3) * 1.15
        killed = stats["killed"]
        for k in range(n):	# the two modes interleave: 40 distinct moments
            one_kill(mode, 0.02 + span * (k + offset) / n, k)
        # Kills spread over the length of a whole run: on any machine,
        # the earliest (20 ms after its pid line) lands mid-run.
        if stats["killed"] == killed:
            raise AssertionError("none of the %d kills landed before the program ended" % n)
    return check


# ---- stopped mid-write: inotify says when a temporary is created ----

IN_CREATE = 0x100
libc = ctypes.CDLL(None, use_errno=True)


def stopped(pid):
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in "Tt":
                    return False
    except FileNotFoundError:
        return True	# gone: nothing runs either
    return True


def stop_at_temp(mode, out, suffix, skip, rounds):
    """Starts killme, SIGSTOPs it when the (skip+1)-th temporary ending
    in suffix appears; returns (process, pid, temporary, still there)."""
    os.makedirs(out, exist_ok=True)
    fd = libc.inotify_init1(os.O_CLOEXEC)
    if fd < 0 or libc.inotify_add_watch(fd, out.encode(), IN_CREATE) < 0:
        raise AssertionError("inotify: %s" % os.strerror(ctypes.get_errno()))
    try:
        p, pid = start(mode, out, rounds)
        want = suffix % pid
        seen, caught, deadline = 0, None, time.monotonic() + TIMEOUT
        while caught is None and time.monotonic() < deadline:
            if not select.select([fd], [], [], deadline - time.monotonic())[0]:
                break
            buf, off = os.read(fd, 65536), 0
            while off < len(buf) and caught is None:
                _, _, _, namelen = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16:off + 16 + namelen].split(b"\0")[0].decode()
                off += 16 + namelen
                if name.endswith(want):
                    seen += 1
                    if seen > skip:
                        try:
                            os.kill(pid, signal.SIGSTOP)
                        except ProcessLookupError:
                            pass	# it ended and was reaped first; stopped() says so
                        caught = name
    finally:
        os.close(fd)
    if caught is None:
        p.kill()
        finish(p)
        raise AssertionError("no temporary *%s appeared" % want)
    deadline = time.monotonic() + 5
    while not stopped(pid) and time.monotonic() < deadline:
        time.sleep(0.001)
    if not stopped(pid):
        os.kill(pid, signal.SIGKILL)	# never leave a stopped process behind
        finish(p)
        raise AssertionError("killme did not stop within 5 s of SIGSTOP")
    return p, pid, caught, os.path.exists(os.path.join(out, caught))


def mid_write(kind):
    def check():
        caught = 0
        for attempt in range(6):	# the fsync alone takes ~3 ms: almost always the first
            out = os.path.join(tmp, "mid-%s-%d" % (kind, attempt))
            rounds = ROUNDS if kind == "snap" else 10
            p, pid, name, there = stop_at_temp("run", out, "." + kind + ".tmp%d",
                                               attempt % 3 if kind == "snap" else 0, rounds)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:	# on a busy machine it can finish first: try again
                finish(p)
                continue
            status, stdout, err = finish(p)
            eq(status, 128 + signal.SIGKILL, "cprof run's exit status")
            snaps, profs, temps = check_dir(out, pid, False)
            check_with_reporter(snaps, profs, temps, rounds)
            removed = check_run_listing(err, out, pid, True)
            if there:	# frozen between open and rename: the kill left it
                caught += 1
                eq(name in [os.path.basename(t[0]) for t in temps] + removed, True,
                   "the interrupted temporary %s is left (or said removed)" % name)
                if kind == "prof":
                    eq(profs, [], "no .prof under its final name")
                    if "function calls" in err:
                        raise AssertionError("cprof run summarized a profile that was not written")
                else:
                    eq(len(snaps) >= attempt % 3, True, "earlier snapshots kept")
                break
        eq(caught, 1, "times killme was caught mid-write of a %s in 6 tries" % kind)
    return check


# ---- the launcher killed ----

PR_SET_CHILD_SUBREAPER = 36


def launcher_killed():
    """Killing `cprof run` leaves the program running (it is not in a
    process group cprof run signals): it ends normally, status 0, and
    writes whole files; cprof run says nothing more."""
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise AssertionError("prctl(PR_SET_CHILD_SUBREAPER) failed")
    out = os.path.join(tmp, "launcher")
    rounds = ROUNDS
    # It waits for its 20th snapshot (>= 1 s at one every 0.05 s), so it
    # still runs when its launcher dies however fast the CPU: 3 * ROUNDS
    # of work alone took under 0.15 s on a fast VM, and it was gone.
    p, pid = start("run", out, rounds, min_snapshots=20)
    time.sleep(0.15)
    p.kill()
    eq(p.wait(timeout=TIMEOUT), -signal.SIGKILL, "cprof run's status")
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    eq(state not in ("Z", "gone"), True, "the program runs on (state %s)" % state)
    deadline = time.monotonic() + TIMEOUT
    while True:	# the orphan is ours now: its own exit status
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    eq(wpid, pid, "the orphaned program ended")
    eq(os.waitstatus_to_exitcode(status), 0, "the orphaned program's exit status")
    stdout, err = p.stdout.read().decode(), p.stderr.read().decode()
    eq(stdout, "done\n", "the program's stdout after the pid line")
    if "cprof: wrote" in err:
        raise AssertionError("a killed cprof run still listed files:\n" + err)
    snaps, profs, temps = check_dir(out, pid, True)
    check_with_reporter(snaps, profs, temps, rounds)


def exit_snapshot_is_last():
    """With a snapshot every 5 ms, the helper is often writing when the
    program ends: the exit snapshot still is the last (highest SEQ), and
    nothing is left half-written (before the fix in preload/snapshot.c,
    11 of 60 such runs wrote an "interval" snapshot after "exit" and 4
    left a temporary)."""
    for k in range(12):
        out = os.path.join(tmp, "last-%d" % k)
        os.makedirs(out)
        p = subprocess.run([KILLME, "4"], capture_output=True, timeout=TIMEOUT,
                           env=dict(PLAIN_ENV, CPROF_OUTPUT=out, CPROF_INTERVAL="0.005"))
        eq(p.returncode, 0, "exit status")
        pid = int(p.stdout.split()[0])
        snaps, profs, temps = check_dir(out, pid, True)
        check_with_reporter(snaps, profs, temps, 4)
        shutil.rmtree(out, True)


t_start = time.monotonic()
for name, fn in [("finished_run_is_exact", finished_run_is_exact),
                 ("exit_snapshot_is_last", exit_snapshot_is_last),
                 ("spread_kills_under_cprof_run", spread("run", 0.0)),
                 ("spread_kills_with_ld_preload", spread("plain", 0.5)),
                 ("killed_mid_snapshot_write", mid_write("snap")),
                 ("killed_mid_profile_write", mid_write("prof")),
                 ("cprof_run_itself_killed", launcher_killed)]:
    t0 = time.monotonic()
    c.case(name, fn)
    print("     (%.1f s)" % (time.monotonic() - t0))
print("     %(runs)d spread runs: %(killed)d killed, %(finished)d finished, "
      "%(left_temp)d left a temporary; %(files)d final files checked" % stats
      + " in %.1f s" % (time.monotonic() - t_start))
shutil.rmtree(tmp, True)
c.done()
