#!/usr/bin/env bash
# Builds the libFuzzer targets into $O/fuzz/ and runs them one after the
# other, sharing $FUZZ_SECONDS (default 30) between them:
#   fuzz_profile   the .prof reader            seeds fuzz/corpus/
#   fuzz_snapshot  the .snap reader            seeds fuzz/corpus-snap/
#   fuzz_csv       sensor-pipeline's CSV input seeds fuzz/corpus-csv/
# Every run first replays its seeds, regress-* crashers of the past
# included. The seed folders are never modified. Exits non-zero when a
# target finds a crasher, kept in $O/fuzz/crashes-NAME/; each target's
# log is $O/fuzz/NAME.log.
set -u
cd "$(dirname "$0")/.."
O=${O:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
CLANG=${CLANG:-clang}
out=$O/fuzz
ntargets=3

if ! command -v "$CLANG" >/dev/null; then
	echo "fuzz: '$CLANG' not found (install clang and libclang-rt-14-dev)" >&2
	exit 1
fi
case $FUZZ_SECONDS in
'' | *[!0-9]*)
	echo "fuzz: FUZZ_SECONDS must be a whole number of seconds, not '$FUZZ_SECONDS'" >&2
	exit 2
	;;
esac
# A share of the budget each, so `make check` stays bounded however
# many targets there are.
each=$((FUZZ_SECONDS / ntargets))
[ "$each" -ge 1 ] || each=1

# fuzz_one NAME SEEDS SOURCES...: builds $out/NAME from the readers' own
# sources (none needs libdw or libelf) and runs it for $each seconds.
fuzz_one() {
	local name=$1 seeds=$2
	shift 2
	local corpus=$out/corpus-$name crashes=$out/crashes-$name log=$out/$name.log
	mkdir -p "$corpus" "$crashes" || return 1
	if ! "$CLANG" -std=gnu11 -g -O1 -fno-omit-frame-pointer -Iinclude \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o "$out/$name" "$@" -lm; then
		echo "fuzz: cannot build $name (is libclang-rt-14-dev installed?)" >&2
		return 1
	fi
	# New inputs go to the first directory; the seeds are only read.
	"$out/$name" "$corpus" "$seeds" \
		-max_len=65536 -max_total_time="$each" -timeout=20 -rss_limit_mb=2048 \
		-artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
	local rc=$?
	local runs
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ "$rc" != 0 ]; then
		tail -40 "$log" >&2
		echo "fuzz: $name found a crash (exit $rc); reproduce with $out/$name $crashes/<file>" >&2
		ls -l "$crashes" >&2
		return 1
	fi
	echo "fuzz: $name: no crash in ${each}s (${runs:-?} runs, seeds from $seeds; log $log)"
}

# All of common/, as cprof links it: its files call each other.
common=$(ls common/*.c)
status=0
fuzz_one fuzz_profile fuzz/corpus fuzz/fuzz_profile.c $common \
	reporter/profile.c reporter/callstats.c reporter/hashmap.c reporter/util.c || status=1
# The snapshot target brings its own stand-in symbolizer (no libdw), and
# draws the timeline chart (html_timeline.c and its escaping).
fuzz_one fuzz_snapshot fuzz/corpus-snap fuzz/fuzz_snapshot.c $common \
	reporter/snapshot.c reporter/hashmap.c reporter/util.c \
	reporter/html_timeline.c reporter/html_table.c || status=1
# The whole pipeline but its main(), as sensor-pipeline builds it.
fuzz_one fuzz_csv fuzz/corpus-csv fuzz/fuzz_csv.c \
	$(ls pipeline-demo/*.c | grep -v '/main\.c$') || status=1
exit $status
