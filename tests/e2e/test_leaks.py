"""
The leak view against valgrind: `cprof stats --leaks` leaves out the
blocks the C library keeps for the process's life (stdout's buffer,
locale and time-zone data, atexit records), as valgrind does by freeing
them (__libc_freeres) before it counts. On the same binaries, both must
report the same bytes and blocks in use at exit, record by record, and
`cprof check 'leaks==...'` must measure the same figure.
"""
import json
import os
import re
import shutil
import subprocess

from cprof_e2e import CPROF, Checks, Run, eq, prog

c = Checks()
if not shutil.which("valgrind"):
    raise SystemExit("valgrind is missing: scripts/install-deps.sh build installs it")


def valgrind_in_use(argv):
    """(bytes, blocks, sorted [(bytes, blocks)] per loss record) at exit."""
    p = subprocess.run(["valgrind", "--leak-check=full", "--show-leak-kinds=all", *argv],
                       capture_output=True, text=True, timeout=300)
    m = re.search(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks", p.stderr)
    if not m:
        raise AssertionError("no valgrind summary:\n" + p.stderr[-2000:])
    records = [(int(b.replace(",", "")), int(n.replace(",", "")))
               for b, n in re.findall(r"== ([\d,]+) bytes in ([\d,]+) blocks are", p.stderr)]
    return int(m.group(1).replace(",", "")), int(m.group(2).replace(",", "")), sorted(records)


def leaks_like_valgrind(name, want_bytes):
    def check():
        argv = [prog(name)]
        vg_bytes, vg_blocks, vg_records = valgrind_in_use(argv)
        run = Run(argv)
        snaps = sorted((f for f in os.listdir(run.dir) if f.endswith(".snap")),
                       key=lambda f: int(f.split(".")[-2]))
        path = os.path.join(run.dir, snaps[-1])	# the exit one
        d = json.loads(subprocess.run([CPROF, "stats", path, "--leaks", "--by", "traceback", "--json"],
                                      capture_output=True, text=True, timeout=60).stdout)
        eq((d["total_size"], d["total_count"]), (vg_bytes, vg_blocks),
           "%s: cprof --leaks against valgrind's in use at exit" % name)
        eq(d["total_size"], want_bytes, "%s: the program's own leaks" % name)
        ours = sorted((e["size"], e["count"]) for e in d["entries"])
        eq(ours, vg_records, "%s: leak records (bytes, blocks)" % name)
        every = json.loads(subprocess.run([CPROF, "stats", path, "--leaks=all", "--json"],
                                          capture_output=True, text=True, timeout=60).stdout)
        eq(every["total_size"], d["total_size"] + d["libc_kept_size"], "--leaks=all adds libc's back")
        p = subprocess.run([CPROF, "check", path, "leaks==%dB" % want_bytes],
                           capture_output=True, text=True, timeout=60)
        eq(p.returncode, 0, "cprof check leaks==%dB: %s" % (want_bytes, p.stdout + p.stderr))
    return check


c.case("libc_buffers_left_out", leaks_like_valgrind("leaks_libc", 15 + 777))
c.case("stdout_buffer_only", leaks_like_valgrind("calls", 0))
c.case("no_stdio", leaks_like_valgrind("mem_sites", 500 * 1000 + 300 * 64 + 4096 + 7 * 333))
c.done()
