#!/usr/bin/env bash
# Builds the libFuzzer target for the .prof reader into $O/fuzz/ and runs
# it for $FUZZ_SECONDS (default 30) from the seeds in fuzz/corpus/, which
# it never modifies. Exits non-zero when it finds a crasher; crashers are
# kept in $O/fuzz/crashes/.
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
mkdir -p "$out/corpus" "$out/crashes" || exit 1

# Only the reader's sources: none of them needs libdw or libelf.
src="fuzz/fuzz_profile.c common/format.c common/modmap.c reporter/profile.c
     reporter/callstats.c reporter/util.c"
# shellcheck disable=SC2086
if ! "$CLANG" -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-o "$out/fuzz_profile" $src -lm; then
	echo "fuzz: cannot build the fuzz target (is libclang-rt-14-dev installed?)" >&2
	exit 1
fi

# New inputs go to the first directory; fuzz/corpus/ is only read.
"$out/fuzz_profile" "$out/corpus" fuzz/corpus \
	-max_len=65536 -max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=2048 \
	-artifact_prefix="$out/crashes/" -print_final_stats=1
rc=$?
if [ "$rc" != 0 ]; then
	echo "fuzz: crash found (exit $rc); reproduce with $out/fuzz_profile $out/crashes/<file>" >&2
	ls -l "$out/crashes" >&2
	exit 1
fi
echo "fuzz: no crash in ${FUZZ_SECONDS}s"
