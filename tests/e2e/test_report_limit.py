#!/usr/bin/env python3
"""
`cprof report --limit N` and `cprof html` name only what they print (a
top-k selection in callstats.c instead of naming and sorting every
function): their rows must still be exactly the first N of the full
order, ties included. A generated program of 400 functions
(bench/gen_callgraph.py) profiled counts-only, so that many functions tie
on every key and only the name decides among them.
"""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

from cprof_e2e import CPROF, ROOT, Checks, Run, eq

FUNCS = 400
c = Checks()
tmp = tempfile.mkdtemp(prefix="cprof-limit-")
atexit.register(shutil.rmtree, tmp, True)
src = os.path.join(tmp, "src")
subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_callgraph.py"), src,
                str(FUNCS), "4", "6"], check=True)
exe = os.path.join(tmp, "prog")
files = open(os.path.join(src, "files")).read().split()
subprocess.run(["gcc", "-O1", "-g", "-finstrument-functions", "-o", exe,
                *(os.path.join(src, f) for f in files)], check=True, timeout=300)
run = Run([exe], env={"CPROF_COUNTS_ONLY": "1"})
prof = run.main_profile()


def report(*args):
    p = subprocess.run([CPROF, "report", prof, *args], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    eq(p.returncode, 0, "cprof report %s: %s" % (" ".join(args), p.stderr))
    return p.stdout


def rows(text):
    return [line for line in text.splitlines() if re.match(r"^ *\d+(/\d+)?( +\d+\.\d{3}){4} \S", line)]


def limited_rows_are_the_full_orders_head():
    for sort in ["cumulative", "tottime", "calls", "pcalls", "calls,name", "name"]:
        full = rows(report("--sort", sort))
        called = len(full)
        if called < 100:
            raise AssertionError("only %d functions called" % called)
        for k in [0, 1, 2, 7, 50, called - 1, called, called + 5]:
            text = report("--sort", sort, "--limit", str(k))
            eq(rows(text), full[:k], "--sort %s --limit %d" % (sort, k))
            if k < called:
                eq("List reduced from %d to %d due to restriction <%d>" % (called, k, k) in text,
                   True, "--sort %s --limit %d: the header" % (sort, k))


def ties_are_many():
    # The test means something only if the k-th row ties with others.
    calls = [int(r.split()[0].split("/")[0]) for r in rows(report("--sort", "calls"))]
    eq(calls[49] in (calls[48], calls[50]), True, "the 50th function's calls tie")


c.case("limited_rows_are_the_full_orders_head", limited_rows_are_the_full_orders_head)
c.case("ties_are_many", ties_are_many)
c.done()
