#!/bin/bash
# cprof at scale: generated programs (bench/gen_callgraph.py: two random
# callees per function, main starts a depth-12 tree from R roots, so
# R * 8191 calls along about as many paths), built with gcc -O1 -g
# (-finstrument-functions for the profiled build). Per program: the
# plain run, the run under the call runtime with its defaults (slowdown,
# bytes per call path from the peak RSS over the plain run's, calls not
# recorded), the profile's size, then the wall time and peak RSS of
# `cprof report`, `report --limit 20`, `html` and `flamegraph`, and the
# reporter's peak against the profile's size. Rows (FUNCTIONS:ROOTS):
#   1000:10 10000:100 100000:1000   the cost per function reported
#   20000:200 20000:2000            issue 17's 1M- and 16M-path programs
# Checks: the 20k R=200 report in <= 2 s; at 16M paths nothing dropped
# with the defaults, every reporter command within 4x the profile's size,
# the flame graph under 4 MB. With chromium and playwright-core (see
# tests/e2e/test_html.py) the 16M-path SVG and HTML are timed loading.
#   SCALE_ROWS="1000:10 20000:200"   other rows
#   CPROF_BASELINE=/path/to/cprof    also time an older `cprof report`
#                                    (rows up to BASELINE_MAX_FUNCS=20000)
# Env: O=build dir (default build). Nothing generated is kept.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
CPROF=$O/bin/cprof
LIB=$O/lib/libcprof-instrument.so
ROWS=${SCALE_ROWS:-1000:10 10000:100 20000:200 20000:2000 100000:1000}
BASELINE=${CPROF_BASELINE:-}
BASELINE_MAX=${BASELINE_MAX_FUNCS:-20000}
NPM_PREFIX=$O/npm
die() { echo "bench/scale.sh: $*" >&2; exit 1; }
[ -x "$CPROF" ] || die "no $CPROF (run make first)"
[ -f "$LIB" ] || die "no $LIB (run make first)"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (apt-get install time)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cprof-scale.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# timed OUT CMD...: runs CMD with stdout discarded; OUT gets "seconds KB
# cpu_seconds" (wall seconds from date: time's %e has 10 ms steps, a
# plain run takes less; CPU seconds, user + system, for a busy machine).
timed() {
	local out=$1 t0 t1
	shift
	t0=$(date +%s%N)
	/usr/bin/time -f '%M %U %S' -o "$out.kb" "$@" >/dev/null 2>"$out.err" ||
		die "failed: $* ($(tail -1 "$out.err"))"
	t1=$(date +%s%N)
	tail -1 "$out.kb" | awk -v d=$((t1 - t0)) '{ printf "%.3f %s %.2f\n", d / 1e9, $1, $2 + $3 }' >"$out"
}
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# build N R: the program of N functions and R roots in $WORK/nN/rR, as
# prog (instrumented) and plain. The part files depend on N only (the
# generator draws the callees first): each is compiled once per N.
build() {
	local n=$1 r=$2 dir=$WORK/n$1/r$2 cache=$WORK/n$1/obj f
	python3 "$ROOT/bench/gen_callgraph.py" "$dir" "$n" "$r" || die "generator failed"
	mkdir -p "$cache"
	for f in $(<"$dir/files"); do
		if [ "$f" != main.c ] && cmp -s "$dir/$f" "$cache/$f"; then
			cp "$cache/$f.fi.o" "$cache/$f.o" "$dir/"
			continue
		fi
		echo "$f"
	done >"$dir/tobuild"
	# shellcheck disable=SC2016
	(cd "$dir" && xargs -P2 -n1 sh -c 'gcc -O1 -g -finstrument-functions -c "$0" -o "$0.fi.o" &&
		gcc -O1 -g -c "$0" -o "$0.o"' <tobuild) || die "building the $n-function program failed"
	for f in $(<"$dir/tobuild"); do
		[ "$f" = main.c ] || cp "$dir/$f" "$dir/$f.fi.o" "$dir/$f.o" "$cache/"
	done
	# shellcheck disable=SC2046
	(cd "$dir" && gcc -o prog ./*.fi.o && gcc -o plain $(sed 's/\.c/.c.o/g' files)) ||
		die "linking the $n-function program failed"
}

# The profile's call paths (nodes other than the roots), from its thread
# sections (common/format.h: fmt_section, then fmt_thread's nnodes).
paths_of() {
	python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, nodes = 16, 0
while off + 16 <= len(d):
    typ, count, size = struct.unpack_from("<IIQ", d, off)
    if typ == 3:
        nodes += struct.unpack_from("<Q", d, off + 16 + 8 + 16)[0] - 1
    if typ == 0x454E44:
        break
    off += 16 + (size + 7) // 8 * 8
print(nodes)
EOF
}

# page_load FILE: seconds chromium takes to load FILE and the frames it
# holds, or "- -" without chromium, node or playwright-core (fetched into
# $O/npm as tests/e2e/test_html.py does).
page_load() {
	if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null; then echo "- -"; return; fi
	[ -d "$NPM_PREFIX/node_modules/playwright-core" ] ||
		npm install --no-save --no-audit --no-fund --prefix "$NPM_PREFIX" \
			playwright-core@1.65.1 >/dev/null 2>&1 || { echo "- -"; return; }
	node "$ROOT/bench/page_load.js" "$NPM_PREFIX" "$1" "$WORK/chromium" 2>"$WORK/load.err" ||
		die "chromium could not load $1 ($(tail -1 "$WORK/load.err"))"
}

echo
echo "cprof at scale (gcc -O1 -g, generated programs; runtime and reporter with their defaults):"
printf '%8s %5s %9s %8s %7s %7s %6s %6s %6s %7s %8s %6s %8s %6s %8s %6s %8s %6s %8s %6s %6s %7s\n' \
	functions roots paths dropped plain_s run_s slow cpu_x B/path prof_MB \
	report_s MB limit_s MB html_s MB flame_s MB svg_MB html_MB xfile report_us/fn
twenty_k="" big_failed="" big_row=""
for row in $ROWS; do
	n=${row%%:*} r=${row##*:}
	dir=$WORK/n$n/r$r
	build "$n" "$r"
	timed "$dir/plain.time" "$dir/plain"
	mkdir -p "$dir/out"
	timed "$dir/run.time" env LD_PRELOAD="$LIB" CPROF_OUTPUT="$dir/out" "$dir/prog"
	prof=$(compgen -G "$dir/out/*.prof" | head -1) || die "no profile for $n functions, R=$r"
	paths=$(paths_of "$prof")
	size=$(stat -c %s "$prof")
	"$CPROF" report "$prof" --json 2>/dev/null >"$dir/report.json"
	read -r reported dropped < <(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(len(d["functions"]), d["dropped"]["nodes"] + d["dropped"]["frames"])' "$dir/report.json")
	timed "$dir/report.time" "$CPROF" report "$prof"
	timed "$dir/limit.time" "$CPROF" report "$prof" --limit 20
	timed "$dir/html.time" "$CPROF" html "$prof" -o "$dir/report.html"
	timed "$dir/flame.time" "$CPROF" flamegraph "$prof" -o "$dir/flame.svg"
	read -r plain_s plain_kb plain_cpu <"$dir/plain.time"
	read -r run_s run_kb run_cpu <"$dir/run.time"
	read -r report_s report_kb _ <"$dir/report.time"
	read -r limit_s limit_kb _ <"$dir/limit.time"
	read -r html_s html_kb _ <"$dir/html.time"
	read -r flame_s flame_kb _ <"$dir/flame.time"
	peak_kb=$(printf '%s\n' "$report_kb" "$limit_kb" "$html_kb" "$flame_kb" | sort -n | tail -1)
	xfile=$(awk -v k="$peak_kb" -v b="$size" 'BEGIN { printf "%.2f", k * 1024 / b }')
	svg_mb=$(awk -v b="$(stat -c %s "$dir/flame.svg")" 'BEGIN { printf "%.2f", b / 1048576 }')
	html_mb=$(awk -v b="$(stat -c %s "$dir/report.html")" 'BEGIN { printf "%.2f", b / 1048576 }')
	printf '%8s %5s %9s %8s %7s %7s %6.1f %6s %6.1f %7.1f %8s %6s %8s %6s %8s %6s %8s %6s %8s %6s %6s %7.2f\n' \
		"$n" "$r" "$paths" "$dropped" "$plain_s" "$run_s" \
		"$(awk -v a="$run_s" -v b="$plain_s" 'BEGIN { print (b > 0 ? a / b : 0) }')" \
		"$(awk -v a="$run_cpu" -v b="$plain_cpu" 'BEGIN { if (b >= 0.05) printf "%.1f", a / b; else print "-" }')" \
		"$(awk -v a="$run_kb" -v b="$plain_kb" -v p="$paths" 'BEGIN { print (a - b) * 1024 / p }')" \
		"$(awk -v b="$size" 'BEGIN { print b / 1048576 }')" \
		"$report_s" "$(mb "$report_kb")" "$limit_s" "$(mb "$limit_kb")" "$html_s" \
		"$(mb "$html_kb")" "$flame_s" "$(mb "$flame_kb")" "$svg_mb" "$html_mb" "$xfile" \
		"$(awk -v s="$report_s" -v f="$reported" 'BEGIN { print s * 1e6 / f }')"
	if [ -n "$BASELINE" ] && [ "$n" -le "$BASELINE_MAX" ]; then
		timed "$dir/base.time" "$BASELINE" report "$prof"
		read -r bsecs bkb _ <"$dir/base.time"
		printf '%8s %5s   report by %s: %s s, %s MB\n' "" "" "$BASELINE" "$bsecs" "$(mb "$bkb")"
	fi
	[ "$row" = 20000:200 ] && twenty_k=$report_s
	if [ "$row" = 20000:2000 ]; then
		big_row="$paths paths: $dropped dropped, reporter peak ${xfile}x the profile, SVG $svg_mb MB"
		[ "$dropped" = 0 ] || big_failed="$big_failed dropped"
		awk -v x="$xfile" 'BEGIN { exit !(x <= 4) }' || big_failed="$big_failed memory"
		awk -v s="$svg_mb" 'BEGIN { exit !(s < 4) }' || big_failed="$big_failed svg"
		read -r svg_load svg_frames < <(page_load "$dir/flame.svg")
		read -r html_load html_frames < <(page_load "$dir/report.html")
		echo "  chromium (headless) loads the 16M-path flame graph in $svg_load s ($svg_frames" \
			"frames), the HTML report in $html_load s ($html_frames frames)"
	fi
	rm -rf "$dir"
done
echo "(paths: call paths in the profile; slow: wall time over the plain run's;"
echo " cpu_x: the same in CPU time (user + system; '-' when the plain run took"
echo " under 50 ms of it); B/path: the run's peak RSS over the plain run's, per"
echo " path; xfile: the largest reporter peak over the profile's size)"
if [ -n "$twenty_k" ]; then
	verdict=$(awk -v s="$twenty_k" 'BEGIN { print (s <= 2) ? "PASS" : "FAIL" }')
	echo "$verdict cprof report of the 20k-function R=200 profile: $twenty_k s (target <= 2 s)"
fi
if [ -n "$big_row" ]; then
	echo "$([ -z "$big_failed" ] && echo PASS || echo "FAIL($big_failed )") 16M-path" \
		"run with the defaults: $big_row (targets: 0, <= 4x, < 4 MB)"
fi
