#!/usr/bin/env bash
# Builds the libFuzzer targets for the .prof reader (seeds fuzz/corpus/)
# and the .snap reader (seeds fuzz/corpus-snap/) into $O/fuzz/ and runs
# each for $FUZZ_SECONDS (default 30); the seed folders are never
# modified. Exits non-zero when either finds a crasher; crashers are kept
# in $O/fuzz/crashes/ (.prof) and $O/fuzz/crashes-snap/ (.snap).
set -u
cd "$(dirname "$0")/.."
O=${O:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
CLANG=${CLANG:-clang}
out=$O/fuzz

if ! command -v "$CLANG" >/dev/null; then
	echo "fuzz: '$CLANG' not found (install clang and libclang-rt-14-dev)" >&2
	exit 1
fi

# fuzz_one NAME SEEDS SUFFIX SOURCES...: builds $out/NAME from the
# readers' own sources (none needs libdw or libelf) and runs it.
fuzz_one() {
	local name=$1 seeds=$2 suffix=$3
	shift 3
	mkdir -p "$out/corpus$suffix" "$out/crashes$suffix" || return 1
	if ! "$CLANG" -std=gnu11 -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o "$out/$name" "$@" -lm; then
		echo "fuzz: cannot build $name (is libclang-rt-14-dev installed?)" >&2
		return 1
	fi
	# New inputs go to the first directory; the seeds are only read.
	"$out/$name" "$out/corpus$suffix" "$seeds" \
		-max_len=65536 -max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=2048 \
		-artifact_prefix="$out/crashes$suffix/" -print_final_stats=1
	local rc=$?
	if [ "$rc" != 0 ]; then
		echo "fuzz: $name found a crash (exit $rc); reproduce with $out/$name $out/crashes$suffix/<file>" >&2
		ls -l "$out/crashes$suffix" >&2
		return 1
	fi
	echo "fuzz: $name: no crash in ${FUZZ_SECONDS}s"
}

status=0
fuzz_one fuzz_profile fuzz/corpus "" fuzz/fuzz_profile.c common/format.c common/modmap.c \
	reporter/profile.c reporter/callstats.c reporter/util.c || status=1
# The snapshot target brings its own stand-in symbolizer (no libdw).
fuzz_one fuzz_snapshot fuzz/corpus-snap -snap fuzz/fuzz_snapshot.c common/format.c \
	common/modmap.c reporter/snapshot.c reporter/util.c || status=1
exit $status
