"""
The command line as a user meets it: one clear line and a non-zero exit
for bad files and options; stripped or vanished binaries still report
(addresses and a warning); an installed cprof finds its runtimes.
"""
import json
import os
import shutil
import subprocess
import tempfile

from cprof_e2e import CPROF, ROOT, BUILD, Checks, Run, by_name, dump, eq, prog

c = Checks()
tmp = tempfile.mkdtemp(prefix="cprof-cli-")


def cprof(*args):
    p = subprocess.run([CPROF, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def one_line_error(args, status, needle):
    def check():
        rc, out, err = cprof(*args)
        eq(rc, status, "exit status of cprof %s" % " ".join(args))
        eq(out, "", "stdout")
        lines = err.strip().splitlines()
        if not lines or not lines[0].startswith("cprof: ") or needle not in lines[0]:
            raise AssertionError("error line %r lacks %r" % (err, needle))
    return check


good = Run([prog("calls")]).main_profile()
data = open(good, "rb").read()


def write(name, content):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(content)
    return path


future = bytearray(data)
version = dump(good)["layout"]["fmt_header"]["fields"]["version"]
future[version["offset"]:version["offset"] + version["size"]] = (99).to_bytes(version["size"], "little")
cases = [
    ("missing_file", ["report", os.path.join(tmp, "nope.prof")], 1, "cannot open"),
    ("empty_file", ["report", write("empty.prof", b"")], 1, "is empty"),
    ("foreign_file", ["report", write("elf.prof", open("/bin/true", "rb").read())], 1,
     "not a cprof file"),
    ("truncated_half", ["report", write("half.prof", data[: len(data) // 2])], 1, "truncated"),
    ("truncated_last_byte", ["report", write("minus1.prof", data[:-1])], 1, "truncated"),
    ("future_version", ["report", write("future.prof", bytes(future))], 1, "version 99"),
    ("directory", ["report", tmp], 1, "not a regular file"),
    ("unknown_option", ["report", good, "--frobnicate"], 2, "unknown option"),
    ("bad_sort_key", ["report", good, "--sort", "speed"], 2, "unknown sort key"),
    ("bad_limit", ["report", good, "--limit", "ten"], 2, "--limit needs a number"),
    ("bad_regex", ["report", good, "--match", "("], 2, "bad --match"),
    ("unknown_command", ["frobnicate"], 2, "unknown command"),
    ("run_without_program", ["run"], 2, "needs a program"),
    ("run_missing_program", ["run", "--", "/nonexistent/prog"], 1, "cannot find"),
    ("whatif_bad_factor", ["whatif", good, "leaf=0"], 2, "positive number"),
    ("whatif_not_a_pair", ["whatif", good, "leaf"], 2, "not FUNCTION=FACTOR"),
    ("whatif_unknown_function", ["whatif", good, "nosuch=2"], 1, "no function 'nosuch'"),
    ("whatif_without_target", ["whatif", good], 2, "at least one"),
    ("diff_one_file", ["diff", good], 2, "two files"),
    ("dump_truncated", ["dump", write("dump-half.prof", data[: len(data) // 2])], 1, "truncated"),
    ("dump_without_file", ["dump"], 2, "one file"),
    ("dump_unknown_option", ["dump", good, "--frobnicate"], 2, "unknown option"),
]
for name, args, status, needle in cases:
    c.case(name, one_line_error(args, status, needle))


def stripped_binary_reports_addresses():
    copy = os.path.join(tmp, "calls-stripped")
    shutil.copy(prog("calls"), copy)
    subprocess.run(["strip", copy], check=True)
    r = Run([copy])
    rc, out, err = cprof("report", r.main_profile(), "--json")
    eq(rc, 0, "exit status")
    if "no debug info" not in err:
        raise AssertionError("no warning about the missing debug info: " + err)
    funcs = json.loads(out)["functions"]
    eq(sorted(f["calls"] for f in funcs), sorted([1, 1, 1000, 10, 4, 4, 1]), "counts survive")
    if not all(f["name"].startswith("0x") or f["name"] == "main" for f in funcs):
        raise AssertionError("unexpected names: %r" % [f["name"] for f in funcs])


def vanished_module_still_reports():
    copy = os.path.join(tmp, "calls-gone")
    shutil.copy(prog("calls"), copy)
    r = Run([copy])
    os.unlink(copy)
    rc, out, err = cprof("report", r.main_profile())
    eq(rc, 0, "exit status")
    if "cannot read" not in err or "calls-gone" not in err:
        raise AssertionError("no warning naming the vanished module: " + err)
    if "0x" not in out:
        raise AssertionError("addresses not shown: " + out)


def changed_binary_warns():
    copy = os.path.join(tmp, "calls-changed")
    shutil.copy(prog("calls"), copy)
    r = Run([copy])
    subprocess.run(["cc", "-g", "-finstrument-functions", "-DCHANGED=1", "-o", copy,
                    os.path.join(ROOT, "tests/progs/exitcode.c")], check=True)
    rc, out, err = cprof("report", r.main_profile())
    if "build-id differs" not in err:
        raise AssertionError("no build-id warning: " + err)


def installed_cprof_finds_runtimes():
    dest = os.path.join(tmp, "root")
    subprocess.run(["make", "-s", "-C", ROOT, "O=" + os.path.relpath(BUILD, ROOT), "install",
                    "PREFIX=/opt/cprof", "DESTDIR=" + dest], check=True, capture_output=True)
    installed = os.path.join(dest, "opt/cprof/bin/cprof")
    for f in ["lib/libcprof-instrument.so", "lib/libcprof-malloc.so", "include/cprof.h",
              "lib/pkgconfig/cprof.pc", "share/man/man1/cprof.1", "share/man/man3/cprof.3"]:
        if not os.path.exists(os.path.join(dest, "opt/cprof", f)):
            raise AssertionError("not installed: " + f)
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "cprof"], capture_output=True, text=True,
                        env=dict(os.environ, PKG_CONFIG_PATH=os.path.join(dest, "opt/cprof/lib/pkgconfig")))
    eq(pc.stdout.strip(), "-I/opt/cprof/include", "pkg-config --cflags --libs cprof")
    for cmd in ["run", "report", "stats", "diff", "whatif", "export", "flamegraph", "html", "check"]:
        h = subprocess.run([installed, cmd, "--help"], capture_output=True, text=True)
        eq((h.returncode, h.stdout.startswith("usage: cprof " + cmd)), (0, True), cmd + " --help")
    out = os.path.join(tmp, "inst-out")
    # from outside the source tree
    p = subprocess.run([installed, "run", "-o", out, "--", prog("calls")], capture_output=True,
                       text=True, timeout=60, cwd=tmp)
    eq(p.returncode, 0, "installed cprof run")
    if "wrote" not in p.stderr:
        raise AssertionError(p.stderr)


def whatif_on_a_real_profile():
    # Amdahl's law checked against the profile's own figures: under load,
    # preemption moves spin_50ms's share, never the arithmetic.
    rep = json.loads(subprocess.run([CPROF, "report", good, "--json"], capture_output=True,
                                    text=True, timeout=60).stdout)
    share = by_name(rep)["spin_50ms"]["cumtime"] / rep["total_time"]
    if share < 0.5:
        raise AssertionError("spin_50ms is %.1f%% of the run, not the bulk of it" % (100 * share))
    rc, out, err = cprof("whatif", good, "spin_50ms=2")
    eq(rc, 0, "exit status")
    import re
    m = re.search(r"(\d+\.\d)% +2\.00x", out)
    if not m or abs(float(m.group(1)) - 100 * share) > 0.051:
        raise AssertionError("spin_50ms should be %.2f%% of the run:\n%s" % (100 * share, out))
    sp = float(re.search(r"overall speedup (\d+\.\d+)x", out).group(1))
    want = 1 / ((1 - share) + share / 2)
    if abs(sp - want) > 0.0051:
        raise AssertionError("predicted speedup %g, Amdahl's law gives %.4f" % (sp, want))


def diff_of_two_runs():
    other = Run([prog("calls")]).main_profile()
    p = subprocess.run([CPROF, "diff", good, other, "--json"], capture_output=True, text=True)
    eq(p.returncode, 0, "exit status: " + p.stderr)
    d = json.loads(p.stdout)
    rows = {r["label"].split("(")[-1].rstrip(")"): r for r in d["functions"]}
    eq((rows["leaf"]["calls_old"], rows["leaf"]["calls_new"], rows["leaf"]["calls_diff"]),
       (1000, 1000, 0), "leaf calls in both runs")
    eq(rows["fact"]["calls_old"], 10, "fact")
    totals = [json.loads(subprocess.run([CPROF, "report", f, "--json"], capture_output=True,
                                        text=True, timeout=60).stdout)["total_time"]
              for f in (good, other)]
    eq((d["total_time_old"], d["total_time_new"]), tuple(totals), "totals of the two runs")
    # The speedup is printed with 6 decimals, from totals this test reads
    # back with 9: both roundings bound the difference.
    ratio = totals[0] / totals[1]
    slack = 5e-7 + ratio * (5e-10 / totals[0] + 5e-10 / totals[1]) + 1e-12
    if abs(d["speedup"] - ratio) > slack:
        raise AssertionError("speedup %r is not old/new = %r" % (d["speedup"], ratio))
    snap = [f for f in os.listdir(os.path.dirname(good)) if f.endswith(".snap")]
    if snap:
        rc, out, err = cprof("diff", good, os.path.join(os.path.dirname(good), snap[0]))
        eq(rc, 1, "profile against snapshot")
        if "two of a kind" not in err:
            raise AssertionError(err)


def signals_to_cprof_run_reach_the_program():
    """SIGUSR2 to `cprof run`'s own PID takes a snapshot in the program;
    SIGTERM ends the program, and cprof run still lists its files."""
    import glob
    import signal
    import time
    out = os.path.join(tmp, "signals")
    p = subprocess.Popen([CPROF, "run", "-o", out, "--", "sleep", "60"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Until the shim has installed its SIGUSR2 handler in the child.
        child, deadline = None, time.time() + 30
        while time.time() < deadline:
            kids = open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split()
            if kids:
                child = int(kids[0])
                # Before the exec, the forked child still has cprof's own
                # handlers: look only once it runs sleep.
                if not open("/proc/%d/cmdline" % child).read().startswith("sleep\0"):
                    time.sleep(0.02)
                    continue
                status = open("/proc/%d/status" % child).read()
                caught = int(status.split("SigCgt:")[1].split()[0], 16)
                if caught & (1 << (signal.SIGUSR2 - 1)):
                    break
            time.sleep(0.02)
        else:
            raise AssertionError("the program never caught SIGUSR2")
        p.send_signal(signal.SIGUSR2)
        while time.time() < deadline and not glob.glob(os.path.join(out, "sleep.%d.1.snap" % child)):
            time.sleep(0.02)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    eq(p.returncode, 128 + signal.SIGTERM, "cprof run's status")
    if "killed by signal 15" not in err:
        raise AssertionError("no 'killed by signal' line: " + err)
    snaps = sorted(os.path.basename(f) for f in glob.glob(os.path.join(out, "*.snap")))
    eq(snaps, ["sleep.%d.1.snap" % child], "the signal snapshot, and no exit one (SIGTERM)")
    if "wrote " not in err or snaps[0] not in err:
        raise AssertionError("cprof run did not list the snapshot: " + err)
    rc, text, err = cprof("stats", os.path.join(out, snaps[0]), "--json")
    eq(rc, 0, "stats of the signal snapshot: " + err)
    eq(json.loads(text)["snapshot"]["label"], "signal", "its label")


def dump_of_a_real_profile():
    """`cprof dump --json`: sections tile the file, records fill their
    sections, values match the file name and `cprof report`; a record
    whose length points past its section is refused (exit 1, stdout empty)."""
    rc, text, err = cprof("dump", "--json", good)
    eq(rc, 0, "exit status: " + err)
    d = json.loads(text)
    layout, secs = d["layout"], d["sections"]
    eq((d["size"], d["kind"]), (len(data), "call profile"), "size and kind")
    eq(d["header"]["fields"]["version"], 1, "version")
    eq(secs[0]["offset"], layout["fmt_header"]["size"], "first section after the header")
    for a, b in zip(secs, secs[1:]):
        eq(b["offset"], a["end"], "section after %s" % a["name"])
        eq(a["payload"], a["offset"] + layout["fmt_section"]["size"], a["name"] + " payload")
    eq((secs[-1]["name"], secs[-1]["end"]), ("end", len(data)), "END last, at the file's end")
    meta = secs[0]["records"][0]
    eq((secs[0]["name"], secs[0]["size"]), ("meta", layout["fmt_meta"]["size"]), "meta section")
    eq(meta["fields"]["pid"], int(good.split(".")[-2]), "meta pid")
    eq(meta["fields"]["program"], prog("calls"), "meta program")
    thread = next(s for s in secs if s["name"] == "thread")
    nodes = [r for r in thread["records"] if r["record"] == "fmt_node"]
    eq(len(nodes), thread["records"][0]["fields"]["nnodes"], "fmt_node records")
    eq(thread["size"], layout["fmt_thread"]["size"] + len(nodes) * layout["fmt_node"]["size"],
       "thread section size")
    calls = sum(n["fields"]["calls"] for n in nodes)
    rep = json.loads(subprocess.run([CPROF, "report", good, "--json"], capture_output=True,
                                    timeout=60).stdout)
    eq(calls, rep["total_calls"], "calls of every node: report's total")
    mods = next(s for s in secs if s["name"] == "modules")["records"]
    eq((len(mods), mods[0]["path"]), (mods[0] and secs[1]["count"], prog("calls")), "modules")
    # Damage a record inside an intact container: path_len past the section.
    off = mods[-1]["offset"] + layout["fmt_module"]["fields"]["path_len"]["offset"]
    bad = bytearray(data)
    bad[off:off + 2] = (0xFFFF).to_bytes(2, "little")
    one_line_error(["dump", write("dump-bad.prof", bytes(bad))], 1, "ends inside")()
    rc, text, err = cprof("dump", good)
    eq(rc, 0, "exit status of the text dump: " + err)
    for s in secs:
        if "%s (type %#x) @%d" % (s["name"], s["type"], s["offset"]) not in text:
            raise AssertionError("text dump lacks section %s @%d" % (s["name"], s["offset"]))


for fn in [dump_of_a_real_profile, whatif_on_a_real_profile, diff_of_two_runs, stripped_binary_reports_addresses, vanished_module_still_reports,
           changed_binary_warns, installed_cprof_finds_runtimes,
           signals_to_cprof_run_reach_the_program]:
    c.case(fn.__name__, fn)
shutil.rmtree(tmp, ignore_errors=True)
c.done()
