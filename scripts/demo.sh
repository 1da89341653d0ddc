#!/usr/bin/env bash
# `make demo`: measure, then optimize, on the sensor pipeline. Every figure
# printed comes from this run: the stage table, the profile's hotspot,
# Amdahl's prediction, the measured speedup, and bytes per record of the
# two record layouts. DEMO_RECORDS changes the size (default 300000).
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
CPROF=$PWD/$O/bin/cprof
PIPE=$PWD/$O/bin/sensor-pipeline
RECORDS=${DEMO_RECORDS:-300000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Run from the repository root, so source paths print as pipeline-demo/...

step() { printf '\n\033[1m== %s\033[0m\n' "$1"; }
cmd() { printf '$ %s\n' "$*"; }
profile_of() { ls "$1"/*.prof | head -1; }
# The snapshot of a run carrying the given label.
snapshot_labelled() {
	local f
	for f in "$1"/*.snap; do
		"$CPROF" stats "$f" --json | grep -q "\"label\":\"$2\"" && { echo "$f"; return; }
	done
	echo "demo: no snapshot labelled '$2' in $1" >&2
	exit 1
}
json_number() { sed -n "s/.*\"$2\": \\([0-9.e+-]*\\).*/\\1/p" "$1" | head -1; }

step "1. Run the pipeline under the profiler (naive rolling features: the whole window re-summed per record)"
cmd cprof run -o naive -- sensor-pipeline --records "$RECORDS" --features naive
"$CPROF" run -o "$out/naive" -- "$PIPE" --records "$RECORDS" --features naive 2>/dev/null
echo "(above: the measured stages. 'wait' is how long a stage's consumer held its record: where time piles up downstream)"

step "2. Where does the time really go? Sort by internal time"
cmd cprof report naive/*.prof --sort tottime --limit 6
"$CPROF" report "$(profile_of "$out/naive")" --sort tottime --limit 6 2>/dev/null

hot=features_naive_update
step "3. Amdahl's law before touching code: what can making $hot faster gain?"
cmd cprof whatif naive/*.prof $hot=10
"$CPROF" whatif "$(profile_of "$out/naive")" $hot=10 2>/dev/null
echo
echo "Compare: a function that is a few percent of the run can never pay back its optimization:"
cmd cprof whatif naive/*.prof parse_next=10
"$CPROF" whatif "$(profile_of "$out/naive")" parse_next=10 2>/dev/null | tail -2

step "4. Optimize the hotspot (running sums in a ring buffer, monotonic deques for min/max) and measure again"
cmd cprof run -o incremental -- sensor-pipeline --records "$RECORDS" --features incremental
"$CPROF" run -o "$out/incremental" -- "$PIPE" --records "$RECORDS" --features incremental 2>/dev/null

step "5. Before and after, function by function"
cmd cprof diff naive/*.prof incremental/*.prof --limit 6
"$CPROF" diff "$(profile_of "$out/naive")" "$(profile_of "$out/incremental")" --limit 6 2>/dev/null
"$CPROF" diff "$(profile_of "$out/naive")" "$(profile_of "$out/incremental")" --json >"$out/diff.json" 2>/dev/null
"$CPROF" whatif "$(profile_of "$out/naive")" $hot=1e9 2>/dev/null >"$out/bound.txt"
measured=$(json_number "$out/diff.json" speedup)
bound=$(sed -n 's/.*upper bound.*speedup \([0-9.]*\)x.*/\1/p' "$out/bound.txt")
printf '\nmeasured speedup %.2fx; Amdahl bound for removing %s entirely: %sx\n' "$measured" "$hot" "$bound"
if awk -v m="$measured" -v b="$bound" 'BEGIN { exit !(m > b) }'; then
	echo "(above the bound: the rest of the pipeline got faster too; the naive loop"
	echo " streams the whole window through the cache for every record)"
else
	echo "(within the bound, as Amdahl's law says: the other $(awk -v b="$bound" 'BEGIN { printf "%.0f", 100 / b }')% of the run was untouched)"
fi

step "6. Memory, measured not guessed: a fixed struct (the __slots__ counterpart) against one allocation per field (__dict__)"
for layout in struct dynamic; do
	cmd cprof run -o "mem-$layout" -- sensor-pipeline --records 20000 --layout $layout --hold 1000
	"$CPROF" run -o "$out/mem-$layout" -- "$PIPE" --records 20000 --layout $layout --hold 1000 2>/dev/null |
		grep 'bytes per record' || true
done
old=$(snapshot_labelled "$out/mem-struct" sink-hold-full)
new=$(snapshot_labelled "$out/mem-dynamic" sink-hold-full)
cmd cprof diff mem-struct/...sink-hold-full.snap mem-dynamic/...sink-hold-full.snap --by function --limit 5
"$CPROF" diff "$old" "$new" --by function --limit 5 2>/dev/null

step "7. Budgets from evidence: set them from what was just measured, then let CI enforce them"
# The memory budget: the struct layout's measured peak, plus 10%.
# The time budget: the incremental feature stage's measured time, doubled.
# `cprof check --json` measures; its verdict (exit 1 here) does not matter.
measure() { "$CPROF" check "$@" --json >"$out/measured.json" 2>/dev/null || true; json_number "$out/measured.json" value; }
struct_peak=$(measure "$out"/mem-struct/*.snap 'peak<=0B')
mem_budget=$(awk -v p="$struct_peak" 'BEGIN { printf "%.0f", p * 1.10 }')
fast=$(measure "$(profile_of "$out/incremental")" 'features_update:cumtime<=0s')
time_budget=$(awk -v t="$fast" 'BEGIN { printf "%.3f", t * 2 }')
echo "struct layout peak: $struct_peak B -> memory budget ${mem_budget}B (+10%)"
echo "incremental features_update: $fast s -> time budget ${time_budget}s (x2)"
for layout in struct dynamic; do
	echo
	cmd cprof run --check "'peak<=${mem_budget}B'" -- sensor-pipeline --records 20000 --layout $layout --hold 1000
	status=0
	"$CPROF" run -o "$out/budget-$layout" --check "peak<=${mem_budget}B" -- "$PIPE" --records 20000 \
		--layout $layout --hold 1000 >/dev/null 2>"$out/budget.err" || status=$?
	sed -n '/budgets (--check)/,$p' "$out/budget.err" | tail -n +2
	echo "(exit status $status)"
done
for run in incremental naive; do
	echo
	cmd cprof check "$run/*.prof" "'features_update:cumtime<=${time_budget}s'"
	status=0
	"$CPROF" check "$(profile_of "$out/$run")" "features_update:cumtime<=${time_budget}s" 2>&1 || status=$?
	echo "(exit status $status)"
done
echo
echo "(a budget that fails exits 1: 'cprof run --check' in a Makefile or CI job stops the build)"
