#!/bin/bash
# The reporter at scale: generated programs of 1k, 10k, 20k and 100k
# functions (bench/gen_callgraph.py: two random callees each, main starts
# a depth-12 tree from R = functions/100 roots; 20k is issue 17's R=200
# case), built with gcc -O1 -g -finstrument-functions and run under
# cprof with its defaults; then the wall time and peak RSS of `cprof
# report`, and of `cprof html` and `cprof flamegraph` on the same profile.
# Prints the figures and checks the 20k report against its 2 s target.
#   SYM_SIZES="1000 10000"          other sizes
#   CPROF_BASELINE=/path/to/cprof  also time an older reporter on the same
#                                  profiles (up to BASELINE_MAX_FUNCS=20000
#                                  functions: a quadratic one takes minutes)
# Env: O=build dir (default build). Nothing generated is kept.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
CPROF=$O/bin/cprof
SIZES=${SYM_SIZES:-1000 10000 20000 100000}
BASELINE=${CPROF_BASELINE:-}
BASELINE_MAX=${BASELINE_MAX_FUNCS:-20000}
TARGET_S=2
die() { echo "bench/symbolize.sh: $*" >&2; exit 1; }
[ -x "$CPROF" ] || die "no $CPROF (run make first)"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (apt-get install time)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cprof-symbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# timed OUT CMD...: runs CMD with stdout discarded; OUT gets "seconds KB".
timed() {
	local out=$1
	shift
	/usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>"$out.err" ||
		die "failed: $* ($(tail -1 "$out.err"))"
}

echo
echo "reporter at scale (gcc -O1 -g -finstrument-functions, cprof run defaults):"
printf '%9s %6s %9s %8s %7s %8s %7s %8s %7s %8s %7s %11s %13s\n' functions roots reported calls \
	prof_MB report_s peak_MB html_s peak_MB flame_s peak_MB report_us/fn 'ns/(f*log2f)'
twenty_k=""
for n in $SIZES; do
	roots=$((n / 100 > 0 ? n / 100 : 1))
	dir=$WORK/n$n
	python3 "$ROOT/bench/gen_callgraph.py" "$dir" "$n" "$roots" || die "generator failed"
	# shellcheck disable=SC2016
	(cd "$dir" && tr ' ' '\n' <files | xargs -P2 -n1 sh -c \
		'gcc -O1 -g -finstrument-functions -c "$0" -o "$0.o"' && gcc -o prog ./*.o) ||
		die "building the $n-function program failed"
	timed "$dir/run.time" "$CPROF" run -o "$dir/out" -- "$dir/prog"
	prof=$(compgen -G "$dir/out/*.prof" | head -1) || die "no profile for $n functions"
	"$CPROF" report "$prof" --json 2>/dev/null >"$dir/report.json"
	read -r reported calls < <(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(len(d["functions"]), sum(f["calls"] for f in d["functions"]))' "$dir/report.json")
	timed "$dir/report.time" "$CPROF" report "$prof"
	timed "$dir/html.time" "$CPROF" html "$prof" -o "$dir/report.html"
	timed "$dir/flame.time" "$CPROF" flamegraph "$prof" -o "$dir/flame.svg"
	read -r secs kb <"$dir/report.time"
	read -r html_s html_kb <"$dir/html.time"
	read -r flame_s flame_kb <"$dir/flame.time"
	mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
	printf '%9s %6s %9s %8s %7.1f %8s %7s %8s %7s %8s %7s %11.2f %13.1f\n' "$n" "$roots" \
		"$reported" "$calls" "$(awk -v b="$(stat -c %s "$prof")" 'BEGIN { print b / 1048576 }')" \
		"$secs" "$(mb "$kb")" "$html_s" "$(mb "$html_kb")" "$flame_s" "$(mb "$flame_kb")" \
		"$(awk -v s="$secs" -v f="$reported" 'BEGIN { print s * 1e6 / f }')" \
		"$(awk -v s="$secs" -v f="$reported" 'BEGIN { print s * 1e9 / (f * log(f) / log(2)) }')"
	[ "$n" = 20000 ] && twenty_k=$secs
	if [ -n "$BASELINE" ] && [ "$n" -le "$BASELINE_MAX" ]; then
		timed "$dir/base.time" "$BASELINE" report "$prof"
		read -r bsecs bkb <"$dir/base.time"
		printf '%9s %6s %9s %8s %7s %8s %7s   (report by %s)\n' "" "" "" "" "" "$bsecs" \
			"$(mb "$bkb")" "$BASELINE"
	fi
	rm -rf "$dir"
done
echo "(calls: recorded ones; past the default node table they are dropped and"
echo " counted, so the larger programs' profiles hold about 1M call paths each)"
if [ -n "$twenty_k" ]; then
	verdict=$(awk -v s="$twenty_k" -v t="$TARGET_S" 'BEGIN { print (s <= t) ? "PASS" : "FAIL" }')
	echo "$verdict cprof report of the 20k-function R=200 profile: $twenty_k s (target <= $TARGET_S s)"
fi
