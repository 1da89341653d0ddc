#!/usr/bin/env bash
# Runs every test of `make check`: Criterion unit binaries, end-to-end
# scripts (tests/e2e/test_*.sh and test_*.py, each a pass when it exits 0,
# each under a timeout so a hang fails instead of stalling CI), and the
# bounded fuzz run. Ends with the line "N passed, N failed, N skipped".
# A skip is never a pass: a test that exits 77 is skipped whole, and each
# "SKIP reason" line a passing test prints counts as one skipped check
# (cprof_e2e.skip(); a tool scripts/install-deps.sh installs is never
# skipped under CI=true: its absence fails the test).
set -u
cd "$(dirname "$0")/.."
O=${O:-build}
export O CPROF=$PWD/$O/bin/cprof
passed=0 failed=0 skipped=0 failures=()

run_one() {	# name, timeout seconds, command...
	local name=$1 limit=$2 log
	shift 2
	log=$(mktemp)
	local t0=$SECONDS
	local rc=0
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 || rc=$?
	local nskip
	nskip=$(grep -c '^SKIP ' "$log")
	if [ $rc = 77 ]; then
		skipped=$((skipped + 1))
		printf 'SKIP %s (%d s)\n' "$name" $((SECONDS - t0))
		grep '^SKIP ' "$log" | sed 's/^/    /'
	elif [ $rc = 0 ]; then
		passed=$((passed + 1))
		skipped=$((skipped + nskip))
		printf 'PASS %s (%d s%s)\n' "$name" $((SECONDS - t0)) \
			"$([ "$nskip" = 0 ] || echo ", $nskip check(s) skipped")"
		grep '^SKIP ' "$log" | sed 's/^/    /'
	else
		failed=$((failed + 1))
		failures+=("$name")
		printf 'FAIL %s (exit %d%s, %d s)\n' "$name" "$rc" "$([ $rc = 124 ] && echo ', timed out')" \
			$((SECONDS - t0))
		sed 's/^/    /' "$log" | tail -40
	fi
	rm -f "$log"
}

for t in "$O"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" 300 "$t" --jobs 2
done
# Tests of the runtimes alone: the sanitizer build leaves the runtimes as
# they are (ASan must own malloc), so its pass would run the very same
# code again. It runs the rest: the reporter, the demo, the unit tests.
runtime_only=" test_tsan.sh test_torture.py test_memory.sh test_memengine.py test_sigkill.py
	test_vs_uftrace.py test_longjmp.py test_lifecycle.py test_growth.py "
for t in tests/e2e/test_*.sh tests/e2e/test_*.py; do
	[ -f "$t" ] || continue
	if [ -n "${SAN:-}" ] && [[ $runtime_only == *[[:space:]]$(basename "$t")[[:space:]]* ]]; then
		skipped=$((skipped + 1))
		printf 'SKIP %s (tests the runtimes, which SAN= leaves unsanitized: run in the plain pass)\n' \
			"e2e/$(basename "$t")"
		continue
	fi
	case $t in
	*.py) run_one "e2e/$(basename "$t")" 600 python3 "$t" ;;
	*) run_one "e2e/$(basename "$t")" 600 bash "$t" ;;
	esac
done
# 30 s: a smoke run that keeps `make check` under 10 minutes on CI's 2
# cores with its installs; `make fuzz` is the long one (30 minutes).
if [ -z "${SAN:-}" ] && [ -x fuzz/run.sh ]; then
	run_one "fuzz (bounded)" 900 env FUZZ_SECONDS="${FUZZ_SECONDS:-30}" fuzz/run.sh
fi

echo
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
