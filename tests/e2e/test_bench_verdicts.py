#!/usr/bin/env python3
"""
The verdicts `make bench` prints (bench/lib.sh): per_round pairs each
round's variant with that round's reference, and check gives PASS, FAIL
or NOISE from the rounds' margins and an order-statistic interval of
their median. Fed made-up rounds whose right answer is known.
"""
import os
import shutil
import subprocess
import tempfile

from cprof_e2e import ROOT, Checks, eq

c = Checks()


def check(rounds, op="<=", text="t"):
    """check's line for rounds, a list of (actual, limit)."""
    stdin = "".join("%s %s\n" % r for r in rounds)
    p = subprocess.run(["bash", "-c", '. bench/lib.sh && check "$0" "$1"', text, op],
                       input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60)
    eq(p.returncode, 0, "check: " + p.stderr)
    return p.stdout.rstrip("\n")


def five_rounds_take_their_extremes():
    # 5 rounds: [smallest, largest] margin holds the median with 94%.
    eq(check([(20, 30), (25, 30), (29, 30), (22, 30), (21, 30)]),
       "PASS  t: 22.00 ns <= 30.00 ns (5 rounds: margin -8.00 ns, 94% interval -10.00 to -1.00)",
       "all five below")
    eq(check([(20, 30), (25, 30), (31, 30), (22, 30), (21, 30)]),
       "NOISE t: 22.00 ns <= 30.00 ns (5 rounds: margin -8.00 ns, 94% interval -10.00 to +1.00)",
       "one above: the median passes, the interval does not")
    eq(check([(31, 30), (35, 30), (32, 30), (40, 30), (33, 30)]),
       "FAIL  t: 33.00 ns <= 30.00 ns (5 rounds: margin +3.00 ns, 94% interval +1.00 to +10.00)",
       "all five above")


def limits_pair_by_round():
    # Each round's margin is against its own limit: the margins here are
    # -1 each, though the medians of actual and limit alone differ by 0.
    eq(check([(10, 11), (20, 21), (30, 31), (40, 41), (50, 51)]),
       "PASS  t: 30.00 ns <= 31.00 ns (5 rounds: margin -1.00 ns, 94% interval -1.00 to -1.00)",
       "paired")


def more_rounds_drop_the_extremes():
    # 11 rounds: the 3rd and 9th of the sorted margins (93.5%), so two
    # wild rounds at each end leave the verdict alone.
    rounds = [(m, 0) for m in (-9, -8, -7, -6, -5, -4, -3, -2, -1, 40, 50)]
    eq(check(rounds),
       "PASS  t: -4.00 ns <= 0.00 ns (11 rounds: margin -4.00 ns, 93% interval -7.00 to -1.00)",
       "11 rounds")
    rounds = [(m, 0) for m in (-50, -40, -9, -8, -7, -6, -5, -4, -3, 1, 2)]
    eq(check(rounds),
       "PASS  t: -6.00 ns <= 0.00 ns (11 rounds: margin -6.00 ns, 93% interval -9.00 to -3.00)",
       "11 rounds, the other tail")
    eq(check([(m, 0) for m in range(1, 8)]),
       "FAIL  t: 4.00 ns <= 0.00 ns (7 rounds: margin +4.00 ns, 98% interval +1.00 to +7.00)",
       "7 rounds: the extremes again (87.5% is too little)")


def too_few_rounds_give_no_verdict():
    eq(check([(1, 30)] * 4),
       "NOISE t: 1.00 ns <= 30.00 ns (4 rounds: too few for a 90% interval, run BENCH_ROUNDS=5 or more)",
       "4 rounds")


def strict_bound():
    eq(check([(30, 30), (29, 30), (28, 30), (27, 30), (26, 30)], op="<"),
       "NOISE t: 28.00 ns < 30.00 ns (5 rounds: margin -2.00 ns, 94% interval -4.00 to +0.00)",
       "< with a round at the limit")
    eq(check([(30, 30), (29, 30), (28, 30), (27, 30), (26, 30)], op="<="),
       "PASS  t: 28.00 ns <= 30.00 ns (5 rounds: margin -2.00 ns, 94% interval -4.00 to +0.00)",
       "<= with a round at the limit")


def per_round_pairs_line_by_line():
    # Round r is line r of each file: (wall - its 1-step wall) less the
    # same of the reference, over the calls less the 1-step run's.
    tmp = tempfile.mkdtemp(prefix="cprof-bench-")
    try:
        times, run = os.path.join(tmp, "times"), os.path.join(tmp, "run")
        os.makedirs(times)
        os.makedirs(run)
        files = {"v.full": ["1.5 9", "2.5 9"], "v.one": ["0.5 9", "0.25 9"],
                 "plain.full": ["0.75 9", "1.0 9"], "plain.one": ["0.25 9", "0.5 9"]}
        for name, lines in files.items():
            with open(os.path.join(times, name), "w") as f:
                f.write("\n".join(lines) + "\n")
        for steps, calls in ((1000, 1000000001), (1, 1)):
            with open(os.path.join(run, "expect.%d" % steps), "w") as f:
                f.write("steps=%d ncalls=%d\n" % (steps, calls))
        p = subprocess.run(
            ["bash", "-c", '. bench/lib.sh; divisor() { echo 1; }; per_round v'],
            env=dict(os.environ, N="1000", RUN=run, TIMES=times), capture_output=True,
            text=True, cwd=ROOT, timeout=60)
        eq(p.returncode, 0, "per_round: " + p.stderr)
        # (1.5 - 0.5) - (0.75 - 0.25) = 0.5 s; (2.5 - 0.25) - (1.0 - 0.5) = 1.75 s
        eq(p.stdout.split(), ["0.5000", "1.7500"], "ns a call, per round")
    finally:
        shutil.rmtree(tmp, True)


c.case("five_rounds_take_their_extremes", five_rounds_take_their_extremes)
c.case("limits_pair_by_round", limits_pair_by_round)
c.case("more_rounds_drop_the_extremes", more_rounds_drop_the_extremes)
c.case("too_few_rounds_give_no_verdict", too_few_rounds_give_no_verdict)
c.case("strict_bound", strict_bound)
c.case("per_round_pairs_line_by_line", per_round_pairs_line_by_line)
c.done()
