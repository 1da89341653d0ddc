#!/usr/bin/env bash
# `make bench`: cprof's per-call overhead beside no-op hooks, a floor runtime,
# uftrace, gprof and callgrind (paired rounds), the target checks and the
# profile size at N and 10xN. BENCH_N (steps, 41 calls each), BENCH_ROUNDS.
# A FAIL is only reported; a tool that fails to run makes it exit non-zero.
set -euo pipefail

cd "$(dirname "$0")/.."
O=${O:-build}
N=${BENCH_N:-2000000}
# 11 rounds by default: check (bench/lib.sh) then judges on the 3rd and
# 9th of the sorted margins; with 5, on the smallest and largest.
ROUNDS=${BENCH_ROUNDS:-11}
CC=${CC:-gcc}
LIB=$(cd "$O/lib" && pwd)/libcprof-instrument.so
mkdir -p "$O/bench"
B=$(cd "$O/bench" && pwd)
RUN=$B/run		# scratch: one folder per variant, emptied after each run
TIMES=$B/times	# raw "wall cpu" lines per variant, kept
# shellcheck source=bench/lib.sh
. bench/lib.sh

die() { echo "bench: $*" >&2; exit 1; }

case $N in '' | *[!0-9]*) die "BENCH_N must be a number of steps, not '$N'" ;; esac
[ "$N" -ge 100 ] || die "BENCH_N must be at least 100 (the slow tools run N/10)"
case $ROUNDS in '' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a positive number" ;; esac
[ -f "$LIB" ] || die "'$LIB' is missing (run make first)"
scripts/install-deps.sh bench || die "cannot install the competitors (scripts/install-deps.sh bench)"
for tool in uftrace valgrind gprof; do
	command -v "$tool" >/dev/null || die "'$tool' is not installed"
done

# ---- build: one source, three builds, plus the floor runtime and the timer ----
warn=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
# No sibling-call rewriting, so the plain build makes every call the
# instrumented builds make (noipa in the source does the rest).
prog_flags=(-std=gnu11 "${warn[@]}" -g -O2 -fno-optimize-sibling-calls)
echo "bench: building into $B" >&2
$CC "${prog_flags[@]}" -o "$B/callheavy-plain" bench/callheavy.c
$CC "${prog_flags[@]}" -finstrument-functions -o "$B/callheavy-fi" bench/callheavy.c
$CC "${prog_flags[@]}" -pg -o "$B/callheavy-pg" bench/callheavy.c
$CC -std=gnu11 "${warn[@]}" -g -O2 -fPIC -shared -fvisibility=hidden -o "$B/floor.so" bench/floor.c
$CC -std=gnu11 "${warn[@]}" -O2 -o "$B/timeit" bench/timeit.c

# ---- the variants: name, steps divisor (slow tools get fewer steps) ----
# uftrace and callgrind run a scaled-down N; their per-call figures are
# taken against plain runs of the same size, so they stay comparable.
VARIANTS=(plain noop-hooks floor cprof cprof-counts gprof
	plain/4 uftrace-t1ms-pg uftrace-t1ms-fi
	plain/10 uftrace-pg uftrace-fi callgrind)
divisor() {
	case $1 in
	plain/4 | uftrace-t1ms-*) echo 4 ;;
	plain/10 | uftrace-pg | uftrace-fi | callgrind) echo 10 ;;
	*) echo 1 ;;
	esac
}
label() {
	case $1 in
	plain) echo "plain (no instrumentation)" ;;
	noop-hooks) echo "no-op hooks (-finstr., glibc)" ;;
	floor) echo "floor runtime (bench/floor.c)" ;;
	cprof) echo "cprof (libcprof-instrument.so)" ;;
	cprof-counts) echo "cprof CPROF_COUNTS_ONLY=1" ;;
	gprof) echo "gprof (-pg, gmon.out)" ;;
	plain/*) echo "plain, N/$(divisor "$1")" ;;
	uftrace-t1ms-pg) echo "uftrace record -t 1ms (-pg)" ;;
	uftrace-t1ms-fi) echo "uftrace record -t 1ms (-finstr.)" ;;
	callgrind) echo "valgrind --tool=callgrind" ;;
	uftrace-pg) echo "uftrace record (-pg)" ;;
	uftrace-fi) echo "uftrace record (-finstr.)" ;;
	esac
}

# run_variant NAME STEPS TAG: runs it once in its scratch folder, appends
# the wall time to $B/times/SLUG.TAG; the program's stdout goes to
# $RUN/SLUG.out and must be what the plain build prints for STEPS.
run_variant() {
	local v=$1 steps=$2 s dir
	s=$(slug "$v")
	dir=$RUN/$s
	rm -rf "$dir" && mkdir -p "$dir"
	local t=(env -C "$dir" "$B/timeit" "$TIMES/$s.$3")
	local status=0
	case $v in
	plain | plain/*) "${t[@]}" "$B/callheavy-plain" "$steps" ;;
	noop-hooks) "${t[@]}" "$B/callheavy-fi" "$steps" ;;
	floor) "${t[@]}" env LD_PRELOAD="$B/floor.so" "$B/callheavy-fi" "$steps" ;;
	cprof) "${t[@]}" env CPROF_OUTPUT="$dir/out" LD_PRELOAD="$LIB" "$B/callheavy-fi" "$steps" ;;
	cprof-counts) "${t[@]}" env CPROF_COUNTS_ONLY=1 CPROF_OUTPUT="$dir/out" LD_PRELOAD="$LIB" \
		"$B/callheavy-fi" "$steps" ;;
	gprof) "${t[@]}" "$B/callheavy-pg" "$steps" ;;
	uftrace-t1ms-pg) "${t[@]}" uftrace record -t 1ms -d "$dir/uftrace.data" "$B/callheavy-pg" "$steps" ;;
	uftrace-t1ms-fi) "${t[@]}" uftrace record -t 1ms -d "$dir/uftrace.data" "$B/callheavy-fi" "$steps" ;;
	uftrace-pg) "${t[@]}" uftrace record -d "$dir/uftrace.data" "$B/callheavy-pg" "$steps" ;;
	uftrace-fi) "${t[@]}" uftrace record -d "$dir/uftrace.data" "$B/callheavy-fi" "$steps" ;;
	callgrind) "${t[@]}" valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
		"$B/callheavy-plain" "$steps" ;;
	*) die "unknown variant '$v'" ;;
	esac >"$RUN/$s.out" 2>"$RUN/$s.err" || status=$?
	if [ "$status" != 0 ]; then
		cat "$RUN/$s.err" >&2
		die "variant '$v' failed (exit status $status)"
	fi
	# Each tool must have done its job, not just exited 0.
	case $v in
	cprof | cprof-counts) compgen -G "$dir/out/*.prof" >/dev/null || die "'$v' wrote no .prof" ;;
	gprof) [ -s "$dir/gmon.out" ] || die "gprof run wrote no gmon.out" ;;
	uftrace-*) [ -d "$dir/uftrace.data" ] || die "'$v' wrote no uftrace.data" ;;
	callgrind) [ -s "$dir/callgrind.out" ] || die "callgrind wrote no profile" ;;
	esac
	local want
	want=$(cat "$RUN/expect.$steps")
	[ "$(cat "$RUN/$s.out")" = "$want" ] ||
		die "'$v' printed '$(cat "$RUN/$s.out")', expected '$want'"
	rm -rf "$dir"	# uftrace.data can be hundreds of MB
}

# ---- expected output per size, and a check of the program's call count ----
rm -rf "$RUN" "$TIMES" && mkdir -p "$RUN" "$TIMES"
trap 'rm -rf "$RUN"' EXIT	# $B/times stays: the raw "wall cpu" lines
for steps in 1 $N $((N / 4)) $((N / 10)); do
	"$B/callheavy-plain" "$steps" >"$RUN/expect.$steps"
done
floor_count=$(BENCH_FLOOR_REPORT=1 LD_PRELOAD="$B/floor.so" "$B/callheavy-fi" $((N / 10)) 2>&1 >/dev/null |
	sed -n 's/^floor: calls=\([0-9]*\).*/\1/p')
[ "$floor_count" = "$(ncalls_of $((N / 10)))" ] ||
	die "the floor runtime counted '$floor_count' calls, the program says $(ncalls_of $((N / 10)))"

# ---- paired alternating rounds: every variant once per round, in order ----
# Each variant also runs with 1 step right after, so its fixed start-up and
# exit cost (uftrace ~30 ms, valgrind ~300 ms) can be taken out of the
# per-call figure the checks use.
bench_rounds bench

# ---- the table ----
echo
echo "cprof call-profiler benchmark: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "  $($CC --version | head -1); $(uftrace --version | head -1); $(valgrind --version)"
echo "  workload bench/callheavy.c, N=$N steps; medians of $ROUNDS paired rounds"
echo
print_table
echo "  median_s: wall clock; cpu_s: median user+system seconds of the whole process tree"
echo "  (uftrace's recorder runs beside the program on the other core); slowdown: wall clock"
echo "  added_ns: (median - median of plain at the same steps) / calls, per call (enter+exit)"
echo "  no_start: the same after subtracting each side's median 1-step run (start-up, exit);"
echo "  the checks below use no_start. uftrace and callgrind run N/4 or N/10 steps: the same"
echo "  call paths, repeated fewer times, against plain runs of the same size."

# ---- target checks ----
lower() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'; }
noop=$(slope_ns noop-hooks)
# Against uftrace, the cheaper of its two instrumentation modes.
uft=$(lower "$(slope_ns uftrace-pg)" "$(slope_ns uftrace-fi)")
uft_t=$(lower "$(slope_ns uftrace-t1ms-pg)" "$(slope_ns uftrace-t1ms-fi)")
echo
echo "target checks (no_start ns per call):"
paste <(per_round cprof) <(per_round floor) | awk '{ print $1, 1.25 * $2 }' |
	check "cprof <= 1.25 x floor" "<="
# Each round against the cheaper of uftrace's two modes in that round.
cheaper() { paste <(per_round "$1") <(per_round "$2") | awk '{ print ($1 < $2) ? $1 : $2 }'; }
paste <(per_round cprof) <(cheaper uftrace-pg uftrace-fi) | awk '{ print $1, $2 / 8 }' |
	check "cprof <= 1/8 x uftrace record (cheaper of -pg/-finstr.: $uft ns)" "<="
paste <(per_round cprof) <(cheaper uftrace-t1ms-pg uftrace-t1ms-fi) | awk '{ print $1, $2 / 2 }' |
	check "cprof <= 1/2 x uftrace -t 1ms (cheaper of -pg/-finstr.: $uft_t ns)" "<="
# "About the cost of the no-op hooks", read as within the floor target's 1.25x.
paste <(per_round cprof-counts) <(per_round noop-hooks) | awk '{ print $1, 1.25 * $2 }' |
	check "cprof counts-only <= 1.25 x no-op hooks ($noop ns)" "<="
paste <(per_round cprof-counts) <(per_round gprof) | check "cprof counts-only < gprof" "<"

# ---- memory: the profile grows with call paths, not calls ----
echo
echo "profile size (cprof, same call paths):"
for mult in 1 10; do
	dir=$RUN/mem-$mult
	rm -rf "$dir" && mkdir -p "$dir"
	CPROF_OUTPUT="$dir" LD_PRELOAD="$LIB" "$B/callheavy-fi" $((N * mult)) >"$dir/stdout" ||
		die "cprof run with $((N * mult)) steps failed"
	prof=$(compgen -G "$dir/*.prof" | head -1) || die "cprof wrote no .prof for $((N * mult)) steps"
	printf '  %3sxN: %11s calls -> %s bytes (%s)\n' "$mult" \
		"$(sed -n 's/.*ncalls=\([0-9]*\).*/\1/p' "$dir/stdout")" "$(stat -c %s "$prof")" "$(basename "$prof")"
done
bash "$(dirname "$0")/mem.sh"
bash "$(dirname "$0")/scale.sh"
