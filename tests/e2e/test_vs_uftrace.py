"""
Call counts checked against an independent tool: uftrace records the same
-finstrument-functions binaries, and every function's call count must
agree exactly with cprof's.
"""
import os
import re
import shutil
import subprocess
import tempfile

from cprof_e2e import Checks, Run, by_name, eq, prog

c = Checks()


def uftrace_counts(argv):
    d = tempfile.mkdtemp(prefix="cprof-uftrace-")
    try:
        subprocess.run(["uftrace", "record", "--no-libcall", "--max-stack=65535", "--depth=65535", "-d", d + "/data", *argv],
                       check=True, capture_output=True, timeout=300)
        out = subprocess.run(["uftrace", "report", "-d", d + "/data", "-s", "call", "--no-pager"],
                             check=True, capture_output=True, text=True, timeout=300).stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)
    counts = {}
    for line in out.splitlines():
        m = re.match(r"^\s*[\d.]+ \w+\s+[\d.]+ \w+\s+(\d+)\s+(\S+)$", line)
        if m and ":" not in m.group(2):
            counts[m.group(2)] = int(m.group(1))
    return counts


def agree(name):
    def check():
        theirs = uftrace_counts([prog(name)])
        ours = {n: f["calls"] for n, f in by_name(Run([prog(name)]).report()).items()}
        if not ours:
            raise AssertionError("cprof recorded nothing")
        eq({n: theirs.get(n) for n in ours}, ours, "calls per function (uftrace vs cprof)")
        print("     %s: %d functions, %d calls agree" % (name, len(ours), sum(ours.values())))
    return check


if shutil.which("uftrace") is None:
    raise SystemExit("uftrace is missing: run scripts/install-deps.sh build")
# deep.c recurses 100,000 deep, past uftrace's 65535 stack limit: not compared.
for name in ["calls", "threads", "longjmp"]:
    c.case("counts_match_uftrace_" + name, agree(name))
c.done()
