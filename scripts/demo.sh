#!/usr/bin/env bash
# `make demo`: a short guided tour of the call profiler on one of the
# test programs (the sensor pipeline demo will take its place).
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
CPROF=$O/bin/cprof
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }

step "Profile a program built with -finstrument-functions -g" \
     "cprof run -- $O/tests/progs/calls"
"$CPROF" run -o "$out" -- "$O/tests/progs/calls"
prof=$(ls "$out"/calls.*.prof)

step "Where does the time go? (pstats layout, by internal time)" \
     "cprof report PROFILE --sort tottime --limit 5"
"$CPROF" report "$prof" --sort tottime --limit 5

step "Who calls the recursive function, and how often?" \
     "cprof report PROFILE --callers --match fact"
"$CPROF" report "$prof" --callers --match fact

step "Sixteen threads, merged into one profile" "cprof run -- $O/tests/progs/threads"
"$CPROF" run -o "$out" -- "$O/tests/progs/threads"

step "Machine-readable output" "cprof report PROFILE --json --limit 2"
"$CPROF" report "$prof" --json --limit 2

step "Memory, no rebuild needed: allocation sites, peak, what is live at exit" \
     "cprof run -- $O/tests/progs/mem_sites"
"$CPROF" run -o "$out" -- "$O/tests/progs/mem_sites" >/dev/null
snaps=($(ls "$out"/mem_sites.*.snap | sort -t. -k3 -n))

step "tracemalloc's statistics, by line" "cprof stats SNAPSHOT --by lineno --limit 5"
"$CPROF" stats "${snaps[-1]}" --by lineno --limit 5

step "What changed between two labelled snapshots (compare_to)" \
     "cprof diff FIRST.snap LAST.snap --by lineno --limit 5"
"$CPROF" diff "${snaps[0]}" "${snaps[-1]}" --by lineno --limit 5
