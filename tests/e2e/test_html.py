"""
`cprof html` in a real browser: the page of calls's profile and mem_sites's
snapshots loads in Debian's headless chromium (driven by playwright-core)
without console errors or network requests, its tables sort on a header
click, a flame-graph click zooms (the graph's own script, in an
iframe) and its Reset zoom undoes it; a screenshot lands in
$O/test-artifacts/html-report.png. Two files of a kind get their diff.
Installs chromium (apt) and playwright-core (npm, into $O/npm) if missing.
"""
import json
import math
import os
import re
import shutil
import subprocess
import tempfile

from cprof_e2e import BUILD, CPROF, Checks, Run, eq, prog

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = "/usr/bin/chromium"
NPM_PREFIX = os.path.join(BUILD, "npm")
PLAYWRIGHT = "playwright-core@1.65.1"
ARTIFACTS = os.path.join(BUILD, "test-artifacts")
PNG = os.path.join(ARTIFACTS, "html-report.png")

c = Checks()
tmp = tempfile.mkdtemp(prefix="cprof-html-")
calls = Run([prog("calls")])
prof = calls.main_profile()
mem = Run([prog("mem_sites")])
snaps = sorted((os.path.join(mem.dir, f) for f in os.listdir(mem.dir) if f.endswith(".snap")),
               key=lambda f: int(f.split(".")[-2]))
page = os.path.join(tmp, "report.html")
facts = {}


def cprof(*args, status=0):
    p = subprocess.run([CPROF, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != status:
        raise AssertionError("cprof %s: exit %d, expected %d: %s"
                             % (" ".join(args), p.returncode, status, p.stderr))
    return p


def install_browser():
    """Debian's chromium and playwright-core, each only when missing."""
    if not os.path.exists(CHROMIUM):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True)
            subprocess.run(cmd, env=env, capture_output=True, check=True)
    if not os.path.exists(os.path.join(NPM_PREFIX, "node_modules", "playwright-core")):
        os.makedirs(NPM_PREFIX, exist_ok=True)
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund",
                        "--prefix", NPM_PREFIX, PLAYWRIGHT],
                       capture_output=True, check=True, timeout=300)


def page_is_self_contained():
    eq(len(snaps), 3, "mem_sites snapshots")
    cprof("html", prof, *snaps, "-o", page)
    html = open(page).read()
    # Nothing to fetch: no src attribute, every link a fragment, and the CSP
    # forbids the rest.
    if re.search(r"\ssrc\s*=", html):
        raise AssertionError("the page loads something by src=")
    hrefs = re.findall(r'href="([^"]*)"', html)
    if any(not h.startswith("#") for h in hrefs):
        raise AssertionError("links leave the page: %r" % hrefs)
    if "default-src 'none'" not in html:
        raise AssertionError("no Content-Security-Policy")
    eq(html.count("<iframe"), 4, "one flame graph per file")
    # The compensated total's range, as `cprof report --json` gives it.
    lo, hi = json.loads(cprof("report", "--json", prof).stdout)["total_time_range"]
    if "%.3f to %.3f s" % (lo, hi) not in html:
        raise AssertionError("the page does not give the total's range %.3f to %.3f s" % (lo, hi))
    eq('id="diff"' in html, False, "a diff for four files")


def browser_runs_the_page():
    install_browser()
    os.makedirs(ARTIFACTS, exist_ok=True)
    profile_dir = tempfile.mkdtemp(prefix="cprof-chromium-")
    try:
        p = subprocess.run(["node", os.path.join(HERE, "html_check.js"), NPM_PREFIX, page, PNG,
                            profile_dir], capture_output=True, text=True, timeout=240)
    finally:
        shutil.rmtree(profile_dir, True)
    if p.returncode != 0:
        raise AssertionError("html_check.js failed: " + p.stderr[-3000:])
    facts.update(json.loads(p.stdout))
    eq(facts["console_errors"], [], "console errors")
    eq(facts["page_errors"], [], "page errors")
    eq(facts["requests"], [], "network requests")
    eq(facts["sections"], ["file0", "file1", "file2", "file3"], "sections")
    print("screenshot: " + PNG)


def label(row):
    return row[-1]


def tables_sort_on_click():
    s = facts["sorts"]
    # Profile: cumtime order first, then by tottime, calls and name.
    if not label(s["profile_initial"]).endswith("(main)"):
        raise AssertionError("first row by cumtime: %r" % s["profile_initial"])
    if not label(s["profile_tottime"]).endswith("(spin_50ms)"):
        raise AssertionError("first row by tottime: %r" % s["profile_tottime"])
    eq(s["profile_ncalls"][0], "1000", "largest ncalls")
    if not label(s["profile_ncalls"]).endswith("(leaf)"):
        raise AssertionError("first row by ncalls: %r" % s["profile_ncalls"])
    if not label(s["profile_name_asc"]).endswith(":14(leaf)"):
        raise AssertionError("first row by name: %r" % s["profile_name_asc"])
    if not label(s["profile_name_desc"]).endswith(":61(main)"):
        raise AssertionError("first row by name, reversed: %r" % s["profile_name_desc"])
    # The exit snapshot: size order first (keep_blocks, 500 x 1000 B).
    eq(s["snap_initial"][1], "keep_blocks", "first site by size")
    eq(s["snap_initial"][3], "500", "its count")
    eq(s["snap_average"][1], "grow", "first site by average (4096 B)")
    eq(s["snap_count_desc"][1], "keep_blocks", "first site by count")
    eq(s["snap_count_asc"][1], "grow", "first site by count, reversed (1 block)")


def flame_graph_zooms():
    z = facts["zoom"]
    eq(z["graphs"], 4, "flame graphs on the page")

    def first(frames, name):
        return [f for f in frames if f["name"] == name][0]

    # Before the zoom fact shares the width with spin_50ms, whatever their
    # times (fact spins too, and a loaded machine stretched it to 276 of
    # 1200 pixels once, over an old bound of 100).
    fact_w, spin_w = first(z["before"], "fact")["width"], first(z["before"], "spin_50ms")["width"]
    if not (spin_w > 0 and fact_w + spin_w <= 1200.02):
        raise AssertionError("fact %g and spin_50ms %g wide before the zoom" % (fact_w, spin_w))
    eq(round(first(z["after"], "fact")["width"]), 1200, "the outer fact's width after the zoom")
    eq(round(first(z["after"], "main")["width"]), 1200, "an ancestor spans the width")
    eq(first(z["after"], "spin_50ms")["shown"], False, "a frame outside the zoom is hidden")
    # The SVG says widths to 0.01, the script sets them more exactly.
    eq([f["name"] for f in z["after_reset"]], [f["name"] for f in z["before"]], "frames")
    if any(abs(a["width"] - b["width"]) > 0.011 for a, b in zip(z["after_reset"], z["before"])):
        raise AssertionError("widths after Reset: %r" % z["after_reset"])
    eq(all(f["shown"] for f in z["after_reset"]), True, "every frame shown after Reset")
    # After zooming into fact (its base case spins, so it is drawn whatever
    # the compensation), a mouse click on main zooms back out.
    eq(first(z["after_main"], "spin_50ms")["shown"], True, "spin_50ms after zooming on main")
    if abs(first(z["after_main"], "spin_50ms")["width"] - first(z["before"], "spin_50ms")["width"]) > 0.011:
        raise AssertionError("spin_50ms's width under main: %r" % z["after_main"])


def timeline_chart():
    """The last snapshot's memory over time: both lines with every sample,
    the exact peak and the run's three snapshots marked, round ticks, and
    at the plot's right edge the hover shows the last sample's values."""
    tl = facts["timeline"]
    eq(tl["charts"], 3, "one chart per snapshot")
    d = json.loads(cprof("stats", snaps[2], "--timeline", "--json").stdout)
    samples = d["timeline"]["samples"]
    eq(tl["lines"], [{"cls": "tl-rss", "points": len(samples)},
                     {"cls": "tl-traced", "points": len(samples)}], "lines and their points")
    m = re.match(r"^peak \S+ \S+ at (\d+\.\d{3}) s$", tl["peak_title"])
    if not m or float(m.group(1)) != round(d["peak"]["t"], 3):
        raise AssertionError("peak marker %r, peak %r" % (tl["peak_title"], d["peak"]))
    labels = [json.loads(cprof("stats", f, "--json").stdout)["snapshot"]["label"] for f in snaps]
    eq([re.match(r"snapshot \d+ '(.*)' at ", t).group(1) for t in tl["snapshot_titles"]], labels,
       "a marker per snapshot of the run")
    eq(tl["xticks"][0], "0 s", "time axis from 0")
    for ticks in (tl["xticks"], tl["yticks"]):
        vals = [float(t.split()[0]) for t in ticks]
        steps = {round(b - a, 9) for a, b in zip(vals, vals[1:])}
        eq(len(steps), 1, "evenly spaced ticks %r" % ticks)
        step = steps.pop()
        mant = step / 10 ** math.floor(math.log10(step))
        if round(mant, 6) not in (1, 2, 5):
            raise AssertionError("ticks not round: %r" % ticks)
    eq(tl["readout_before"], "", "no readout before hovering")
    eq(tl["guide"], "visible", "the hover guide shows")
    want = "%.3f s: traced " % samples[-1]["t"]
    if not tl["readout"].startswith(want) or ", RSS " not in tl["readout"]:
        raise AssertionError("hover readout %r, last sample %r" % (tl["readout"], samples[-1]))


def diff_of_two_snapshots():
    out = os.path.join(tmp, "snapdiff.html")
    cprof("html", snaps[0], snaps[1], "-o", out)
    html = open(out).read()
    m = re.search(r'<section class="diff" id="diff">(.*?)</section>', html, re.S)
    if not m:
        raise AssertionError("no diff section for two snapshots")
    # keep_blocks: 1000 blocks 'before', 500 'after'.
    row = re.search(r"<tr><td[^>]*>[^<]*:28</td><td[^>]*>keep_blocks</td>(.*?)</tr>", m.group(1))
    if not row:
        raise AssertionError("no keep_blocks row in the diff")
    cells = re.findall(r'data-v="([^"]*)"', row.group(1))
    eq([float(v) for v in cells[:4]], [500000.0, -500000.0, 500.0, -500.0],
       "keep_blocks size, size change, count, count change")


def diff_of_two_profiles():
    out = os.path.join(tmp, "profdiff.html")
    other = Run([prog("calls")]).main_profile()
    cprof("html", prof, other, "-o", out)
    html = open(out).read()
    m = re.search(r'<section class="diff" id="diff">(.*?)</section>', html, re.S)
    if not m or "(spin_50ms)" not in m.group(1):
        raise AssertionError("no profile diff with spin_50ms")


def escapes_names():
    odd = os.path.join(tmp, 'we<i>rd&"\'dir')
    os.makedirs(odd)
    exe = os.path.join(odd, "calls")
    shutil.copy(prog("calls"), exe)
    out = os.path.join(tmp, "odd.html")
    cprof("html", Run([exe]).main_profile(), "-o", out)
    html = open(out).read()
    if "<i>" in html or "we<" in html:
        raise AssertionError("a program path went into the page unescaped")
    if "we&lt;i&gt;rd&amp;&quot;&#39;dir/calls" not in html:
        raise AssertionError("the escaped program path is missing")


def refusals():
    eq(cprof("html", status=2).stderr.count("\n") >= 1, True, "usage message")
    bad = os.path.join(tmp, "bad.prof")
    with open(bad, "wb") as f:
        f.write(b"not a profile")
    out = os.path.join(tmp, "bad.html")
    p = cprof("html", prof, bad, "-o", out, status=1)
    eq(len(p.stderr.splitlines()), 1, "one error line: %r" % p.stderr)
    eq(os.listdir(tmp).count("bad.html"), 0, "no page after an error")
    eq([f for f in os.listdir(tmp) if ".tmp" in f], [], "no temporary left")
    cprof("html", prof, "--bogus", status=2)


for fn in [page_is_self_contained, browser_runs_the_page, tables_sort_on_click,
           flame_graph_zooms, timeline_chart, diff_of_two_snapshots, diff_of_two_profiles, escapes_names, refusals]:
    c.case(fn.__name__, fn)
c.done()
