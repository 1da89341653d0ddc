"""
End to end: names, files and lines do not depend on the compiler (gcc;
clang with DWARF 5, DWARF 4, and -finstrument-functions-after-inlining)
in the report, the exports and the flame graph; memory sites and
tracebacks through two levels of inlined code match valgrind's.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile

from cprof_e2e import BUILD, CPROF, ROOT, Checks, Run, eq, prog, skip

c = Checks()
TMP = tempfile.mkdtemp(prefix="cprof-symbols-")
LIB_MALLOC = os.path.join(BUILD, "lib", "libcprof-malloc.so")
# ASan must own malloc itself: under SAN= the preload cases are not run
# (a SKIP line: run-all.sh counts them skipped, not passed).
PRELOAD_OK = not os.environ.get("SAN")


def clang_build(src, name, *flags):
    """tests/progs/SRC built by clang from the repository root, as the
    Makefile builds it, with FLAGS instead of the Makefile's."""
    out = os.path.join(TMP, name)
    subprocess.run(["clang", "-std=gnu11", "-g", "-O2", "-Iinclude", *flags, "-o", out,
                    "tests/progs/" + src, "-lpthread"], cwd=ROOT, check=True)
    return out


def marker(src, name):
    """The line of tests/progs/SRC holding the comment /* NAME */."""
    with open(os.path.join(ROOT, "tests", "progs", src)) as f:
        for i, text in enumerate(f, 1):
            if "/* %s */" % name in text:
                return i
    raise AssertionError("no /* %s */ in %s" % (name, src))


def file_lines(report):
    return {f["name"]: (f["file"], f["line"]) for f in report["functions"]}


def cprof(*args):
    p = subprocess.run([CPROF, *args], capture_output=True, cwd=ROOT, timeout=120)
    if p.returncode != 0:
        raise AssertionError("cprof %s failed: %s" % (" ".join(args), p.stderr.decode()))
    return p.stdout.decode()


def clang_file_lines_match_gcc():
    want = file_lines(Run([prog("calls")]).report())
    eq(want["leaf"], ("tests/progs/calls.c", 14), "gcc: leaf")
    for label, path, same_set in [
            ("clang DWARF 5", prog("calls", "clang"), True),
            ("clang -gdwarf-4", clang_build("calls.c", "calls-dwarf4", "-gdwarf-4", "-fno-inline",
                                            "-finstrument-functions"), True),
            # Inlined functions get no hooks: fewer functions, same places.
            ("clang after inlining", clang_build("calls.c", "calls-after-inlining",
                                                 "-finstrument-functions-after-inlining"), False)]:
        got = file_lines(Run([path]).report())
        if same_set:
            eq(sorted(got), sorted(want), label + ": functions")
        for name in ("main", "leaf", "spin_50ms"):
            if name not in got:
                raise AssertionError("%s: %s missing from %s" % (label, name, sorted(got)))
        for name, fl in got.items():
            eq(fl, want.get(name), "%s: %s file:line" % (label, name))


def exports(profile):
    """What a profile's exports and flame graph say about places."""
    callgrind = cprof("export", profile, "--format", "callgrind")
    speedscope = json.loads(cprof("export", profile, "--format", "speedscope"))
    svg = os.path.join(TMP, "f.svg")
    cprof("flamegraph", profile, "-o", svg)
    with open(svg) as f:
        titles = re.findall(r"<title>(\S+ at \S+:\d+) \(", f.read())
    return {
        "callgrind": sorted(set(l for l in callgrind.splitlines() if re.match(r"c?f[ln]=", l))),
        "speedscope": sorted((fr["name"], fr.get("file"), fr.get("line"))
                             for fr in speedscope["shared"]["frames"]),
        # Boxes narrower than a pixel may be left out: name -> place.
        "flamegraph": dict(t.split(" at ") for t in titles),
    }


def clang_exports_match_gcc():
    want = exports(Run([prog("calls")]).main_profile())
    got = exports(Run([prog("calls", "clang")]).main_profile())
    if "fl=tests/progs/calls.c" not in want["callgrind"] or not want["flamegraph"]:
        raise AssertionError("gcc exports lack places: %r" % want)
    for what in ("callgrind", "speedscope"):
        eq(got[what], want[what], "clang vs gcc " + what)
    if "main" not in got["flamegraph"]:
        raise AssertionError("clang flame graph without main: %r" % got["flamegraph"])
    # Which narrow boxes are drawn depends on each run's times: compare
    # the places of those both graphs drew (main and spin_50ms at least).
    both = set(got["flamegraph"]) & set(want["flamegraph"])
    if not {"main", "spin_50ms"} <= both:
        raise AssertionError("flame graphs without main or spin_50ms: %r, %r" % (got, want))
    for name in sorted(both):
        eq(got["flamegraph"][name], want["flamegraph"][name], "clang vs gcc flame graph: " + name)


def exit_snapshot(path):
    """Runs PATH with the memory profiler; its last snapshot."""
    out = tempfile.mkdtemp(dir=TMP)
    subprocess.run([path], env=dict(os.environ, LD_PRELOAD=LIB_MALLOC, CPROF_OUTPUT=out),
                   check=True, capture_output=True, timeout=120)
    snaps = glob.glob(os.path.join(out, "*.snap"))
    if not snaps:
        raise AssertionError("%s wrote no snapshot" % path)
    return max(snaps, key=lambda s: int(s.split(".")[-2]))


def clang_memory_sites_match_gcc():
    sites = {}
    for compiler in ("gcc", "clang"):
        d = json.loads(cprof("stats", exit_snapshot(prog("mem_sites", compiler)), "--json"))
        sites[compiler] = sorted((e["file"], e["line"], e["size"], e["count"])
                                 for e in d["entries"] if "mem_sites.c" in e["file"])
    src = "tests/progs/mem_sites.c"
    want = sorted([(src, marker("mem_sites.c", "SITE_KEEP"), 500000, 500),
                   (src, marker("mem_sites.c", "SITE_LATER"), 19200, 300),
                   (src, marker("mem_sites.c", "SITE_GROW"), 4096, 1),
                   (src, marker("mem_sites.c", "SITE_LEAK"), 2331, 7)])
    eq(sites["gcc"], want, "gcc sites at exit")
    eq(sites["clang"], want, "clang sites at exit")


def valgrind_leak_frames(path):
    """The first leak's frames below malloc, up to main, as valgrind
    prints them: (function, file base name, line)."""
    p = subprocess.run(["valgrind", "--leak-check=full", "--num-callers=40", path],
                       capture_output=True, timeout=300)
    frames, inside = [], False
    for line in p.stderr.decode().splitlines():
        if "definitely lost in loss record" in line:
            inside = True
            continue
        m = re.search(r"by 0x[0-9A-F]+: (\S+) \((?:\S*/)?([^/:]+):(\d+)\)", line)
        if inside and m:
            frames.append((m.group(1), m.group(2), int(m.group(3))))
            if m.group(1) == "main":
                return frames
    raise AssertionError("no leak traced to main in valgrind's output:\n" + p.stderr.decode())


def inline_chain_matches_valgrind():
    src = "mem_inline.c"
    want = [("make", src, marker(src, "SITE_MAKE"), True),
            ("wrap", src, marker(src, "CALL_WRAP"), True),
            ("outer", src, marker(src, "CALL_OUTER"), False),
            ("main", src, marker(src, "CALL_MAIN"), False)]
    # valgrind 3.19 reads no inline information from clang's DWARF 5;
    # that build is checked against the source markers only.
    for label, path, ask_valgrind in [
            ("gcc", prog("mem_inline"), True),
            ("clang DWARF 5", prog("mem_inline", "clang"), False),
            ("clang -gdwarf-4", clang_build(src, "mem_inline-dwarf4", "-gdwarf-4", "-fno-inline",
                                            "-finstrument-functions"), True)]:
        d = json.loads(cprof("stats", exit_snapshot(path), "--by", "traceback", "--json"))
        eq([(e["size"], e["count"]) for e in d["entries"]], [(144, 3)], label + ": the one site")
        tb = [(f["function"], os.path.basename(f["file"]), f["line"], f["inlined"])
              for f in d["entries"][0]["traceback"]]
        names = [f[0] for f in tb]
        got = tb[:names.index("main") + 1] if "main" in names else tb
        eq(got, want, label + ": traceback from the malloc to main")
        if ask_valgrind:
            eq(valgrind_leak_frames(path), [w[:3] for w in want], label + ": valgrind's traceback")


c.case("clang_file_lines_match_gcc", clang_file_lines_match_gcc)
c.case("clang_exports_match_gcc", clang_exports_match_gcc)
if PRELOAD_OK:
    c.case("clang_memory_sites_match_gcc", clang_memory_sites_match_gcc)
    c.case("inline_chain_matches_valgrind", inline_chain_matches_valgrind)
else:
    skip("memory cases under SAN=%s: the shim is not preloaded into an ASan build"
         % os.environ.get("SAN"))
shutil.rmtree(TMP, True)
c.done()
