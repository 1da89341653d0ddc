"""
The calling-context tree grows on demand: a program with more distinct
call paths than the first tables hold (tests/progs/many_paths.c, 2^21
paths) is exact with the default settings; CPROF_MAX_MEMORY caps what
the trees may take, calls past it are counted as not recorded, and the
report names the variable. Env: O=build dir (default build).
"""
import re
import subprocess

from cprof_e2e import Checks, Run, by_name, eq, prog, CPROF

c = Checks()
PATHS = 2 ** 21 - 2     # below main, each call its own path


def exact_by_default():
    r = Run([prog("many_paths")], env={"CPROF_COUNTS_ONLY": "1"}, run_args=["--no-mem"])
    eq((r.status, r.stdout), (0, b"calls %d\n" % PATHS), "status, stdout")
    rep = r.report()
    f = by_name(rep)
    eq((f["main"]["calls"], f["left"]["calls"], f["right"]["calls"]),
       (1, PATHS // 2, PATHS // 2), "calls")
    eq(rep["dropped"], {"nodes": 0, "frames": 0, "mismatched_exits": 0,
                        "skipped_in_signal_handlers": 0}, "dropped")


def memory_cap_counts_drops():
    # 16 MiB hold 2^18 nodes (40 bytes each, 8 of slots): the tree stops
    # doubling there, the root included; every further path is dropped.
    r = Run([prog("many_paths")], env={"CPROF_COUNTS_ONLY": "1", "CPROF_MAX_MEMORY": "16M"},
            run_args=["--no-mem"])
    eq(r.status, 0, "status")
    rep = r.report()
    f = by_name(rep)
    recorded = f["main"]["calls"] + f["left"]["calls"] + f["right"]["calls"]
    eq((recorded, rep["dropped"]["nodes"]), (2 ** 18 - 1, PATHS + 1 - (2 ** 18 - 1)),
       "recorded and dropped calls")
    err = subprocess.run([CPROF, "report", r.main_profile()], capture_output=True,
                         text=True).stderr
    if "raise CPROF_MAX_MEMORY" not in err:
        raise AssertionError("the drop warning does not name CPROF_MAX_MEMORY: " + err)


def bad_memory_values():
    for bad in ("lots", "12X", "-5", "1K"):
        r = Run([prog("calls")], env={"CPROF_MAX_MEMORY": bad})
        eq(r.status, 0, "program runs with CPROF_MAX_MEMORY=%s" % bad)
        eq(len(re.findall("ignoring bad CPROF_MAX_MEMORY", r.stderr)), 1,
           "one message for CPROF_MAX_MEMORY=%s" % bad)
        eq(by_name(r.report())["leaf"]["calls"], 1000, "default used for %s" % bad)


c.case("exact_by_default", exact_by_default)
c.case("memory_cap_counts_drops", memory_cap_counts_drops)
c.case("bad_memory_values", bad_memory_values)
c.done()
