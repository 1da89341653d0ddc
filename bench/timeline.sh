#!/usr/bin/env bash
# What the memory timeline costs (README, "Memory over time"):
#  1. the helper thread's CPU time per second of run, from its
#     /proc/PID/task/TID/schedstat (ns on CPU), for an idle program under
#     CPROF_TIMELINE=10 (the default), 1 and 0; CPROF_INTERVAL=3600 keeps
#     a helper there (a single-threaded program has none otherwise);
#  2. the program's own instructions per allocation call, with and without
#     the timeline: callgrind's count of mem_churn, single-threaded, whose
#     hooks take the timeline's samples (snapshot_tick).
# usage: O=build bench/timeline.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
O=${O:-build}
SECS=${1:-5}
LIB=$PWD/$O/lib/libcprof-malloc.so
PROG=$PWD/$O/tests/progs/mem_timeline
CHURN=$PWD/$O/tests/progs/mem_churn
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

helper_ns() {	# pid: ns on CPU of its cprof-snap thread (0: none)
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = cprof-snap ]; then
			cut -d' ' -f1 "$t/schedstat"
			return
		fi
	done
	echo 0
}

echo "helper CPU time per second of run (idle program, ${SECS} s, CPROF_INTERVAL=3600):"
for tl in 10 1 0; do
	CPROF_OUTPUT=$tmp/o LD_PRELOAD=$LIB CPROF_TIMELINE=$tl CPROF_INTERVAL=3600 \
		"$PROG" idle $((SECS * 1000 + 2000)) &
	pid=$!
	sleep 1
	a=$(helper_ns $pid)
	sleep "$SECS"
	b=$(helper_ns $pid)
	wait $pid
	awk -v tl="$tl" -v a="$a" -v b="$b" -v s="$SECS" \
		'BEGIN { printf "  CPROF_TIMELINE=%-3s %8.1f us/s (%.4f%% of a CPU)\n", tl, (b - a) / s / 1e3, (b - a) / s / 1e7 }'
done

if command -v valgrind >/dev/null; then
	echo "instructions per allocation call (mem_churn 8 100000: 400000 calls, one thread):"
	for tl in 0 10; do
		out=$tmp/cg.$tl
		CPROF_OUTPUT=$tmp/o LD_PRELOAD=$LIB CPROF_TIMELINE=$tl CPROF_SNAPSHOT_SIGNAL=0 \
			valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" \
			"$CHURN" 8 100000 >/dev/null 2>&1
		ir=$(grep -h '^summary:' "$out"-01 | awk '{ print $2 }')
		awk -v tl="$tl" -v ir="$ir" \
			'BEGIN { printf "  CPROF_TIMELINE=%-3s %d instructions, %.2f a call\n", tl, ir, ir / 400000 }'
	done
fi
