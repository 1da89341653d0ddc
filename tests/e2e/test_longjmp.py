"""
longjmp and siglongjmp over instrumented frames, whatever their sizes:
tests/progs/longjmp_shapes.c built with gcc -O1 and clang -O1, each mode
under `cprof run`, with exact calls, primitive calls and callers. A frame
jumped over must be closed before the next call, whether that call's
frame is bigger, equal or smaller, and however deep the jump; a full
shadow stack (CPROF_MAX_DEPTH=50) must not fill up with dead frames.
Env: O=build dir (default build), CC (default gcc).
"""
import atexit
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

from cprof_e2e import Checks, CPROF, ROOT, eq

c = Checks()
TMP = tempfile.mkdtemp(prefix="cprof-longjmp-")
atexit.register(shutil.rmtree, TMP, True)
SRC = os.path.join(ROOT, "tests", "progs", "longjmp_shapes.c")
COMPILERS = [os.environ.get("CC", "gcc"), "clang"]
NO_DROPS = {"nodes": 0, "frames": 0, "mismatched_exits": 0, "skipped_in_signal_handlers": 0}


def build(cc):
    exe = os.path.join(TMP, "longjmp_shapes-" + os.path.basename(cc))
    if not os.path.exists(exe):
        subprocess.run([cc, "-std=gnu11", "-g", "-O1", "-finstrument-functions", "-o", exe, SRC],
                       check=True, timeout=120)
    return exe


def profile(cc, mode, env=None):
    """{name: (calls, primitive calls, {caller: (calls, primitive calls)})}, dropped."""
    out = tempfile.mkdtemp(dir=TMP)
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run([CPROF, "run", "-o", out, "--", build(cc), mode], capture_output=True,
                       env=full_env, timeout=120)
    eq((p.returncode, p.stdout.decode()), (0, mode + " done\n"), "%s %s: status, stdout" % (cc, mode))
    prof, = glob.glob(os.path.join(out, "*.prof"))
    r = subprocess.run([CPROF, "report", prof, "--json", "--callers"], capture_output=True,
                       timeout=120, check=True)
    rep = json.loads(r.stdout)
    got = {f["name"]: (f["calls"], f["primitive_calls"],
                       {e["name"]: (e["calls"], e["primitive_calls"]) for e in f["callers"]})
           for f in rep["functions"]}
    return got, rep["dropped"]


def once(n, caller):
    return (n, n, {caller: (n, n)})


def top(mode):
    return {"main": (1, 1, {}), "mode_" + mode: once(1, "main")}


EXPECTED = {
    "bigger": dict(top("bigger"), small_jumper=once(100, "mode_bigger"),
                   big_after=once(100, "mode_bigger")),
    "equal": dict(top("equal"), eq_jumper=once(100, "mode_equal"),
                  eq_after=once(100, "mode_equal")),
    "smaller": dict(top("smaller"), big_jumper=once(100, "mode_smaller"),
                    small_after=once(100, "mode_smaller")),
    "signal": dict(top("signal"), raiser=once(100, "mode_signal"),
                   on_signal=once(100, "raiser"), handler_work=once(100, "on_signal"),
                   after_signal=once(100, "mode_signal")),
    "nested": dict(top("nested"), level1=once(100, "mode_nested"), level2=once(100, "level1"),
                   thrower=once(100, "level2"), after_inner=once(100, "level1"),
                   after_outer=once(100, "mode_nested"),
                   rec=(900, 100, {"mode_nested": (100, 100), "rec": (800, 100)}),
                   rec_after=once(100, "rec")),
    "inlined": dict(top("inlined"), container=once(100, "mode_inlined"),
                    inl_leaf=once(100, "container"), inl_jump=once(100, "container")),
    "deep": dict(top("deep"), dive=(10000, 10, {"mode_deep": (10, 10), "dive": (9990, 10)}),
                 after_dive=once(10, "mode_deep")),
}


def shape_case(mode):
    def run():
        for cc in COMPILERS:
            got, dropped = profile(cc, mode)
            eq(got, EXPECTED[mode], "%s -O1, %s: calls, primitive calls, callers" % (cc, mode))
            eq(dropped, NO_DROPS, "%s -O1, %s: dropped" % (cc, mode))
    return run


def full_stack_keeps_no_dead_frames():
    # 100 jumps with room for 50 frames: nothing may be dropped.
    for cc in COMPILERS:
        got, dropped = profile(cc, "bigger", {"CPROF_MAX_DEPTH": "50"})
        eq(got, EXPECTED["bigger"], "%s: calls with CPROF_MAX_DEPTH=50" % cc)
        eq(dropped, NO_DROPS, "%s: dropped with CPROF_MAX_DEPTH=50" % cc)


def jump_out_of_unrecorded_frames():
    # 1,000 frames deep with room for 50: main, mode_deep and 48 dive
    # frames recorded a round, 952 counted as dropped; after the jump out
    # of them all, after_dive is mode_deep's again.
    for cc in COMPILERS:
        got, dropped = profile(cc, "deep", {"CPROF_MAX_DEPTH": "50"})
        want = dict(EXPECTED["deep"], dive=(480, 10, {"mode_deep": (10, 10), "dive": (470, 10)}))
        eq(got, want, "%s: calls with CPROF_MAX_DEPTH=50" % cc)
        eq(dropped, dict(NO_DROPS, frames=9520), "%s: dropped with CPROF_MAX_DEPTH=50" % cc)


if not shutil.which("clang"):
    # scripts/install-deps.sh installs it: its absence is a failure.
    print("FAIL clang is missing (scripts/install-deps.sh installs it)")
    sys.exit(1)
for m in EXPECTED:
    c.case("next_frame_" + m if m in ("bigger", "equal", "smaller") else m, shape_case(m))
c.case("full_stack_keeps_no_dead_frames", full_stack_keeps_no_dead_frames)
c.case("jump_out_of_unrecorded_frames", jump_out_of_unrecorded_frames)
c.done()
