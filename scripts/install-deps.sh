#!/bin/sh
# Installs cprof's build, test and benchmark dependencies from Debian's
# packages, once. Called by the Makefile when pkg-config misses a library;
# safe to run again (it only installs what is missing).
#
#   scripts/install-deps.sh build   libraries and tools to build and test
#   scripts/install-deps.sh bench   the competitors `make bench` measures
set -eu

want=${1:-build}

build_pkgs="pkg-config libunwind-dev libdw-dev libelf-dev libcriterion-dev zlib1g-dev
            valgrind uftrace binutils clang clang-format libclang-rt-14-dev python3
            chromium protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
            golang-github-google-pprof-dev strace heaptrack"
# npm fetches test-time sources (playwright-core; SQLite from better-sqlite3).
# A Node.js that bundles its own npm (NodeSource's) conflicts with Debian's
# npm package: ask for it only when no npm is installed at all.
command -v npm >/dev/null 2>&1 || build_pkgs="$build_pkgs npm"
bench_pkgs="uftrace valgrind heaptrack google-perftools libgoogle-perftools-dev binutils time"

case $want in
build) pkgs=$build_pkgs ;;
bench) pkgs=$bench_pkgs ;;
*) echo "install-deps: unknown set '$want' (use build or bench)" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ]; then
	echo "cprof: missing packages:$missing; run 'sudo $0 $want' or install them" >&2
	exit 1
fi

echo "cprof: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# LLVM's libunwind-14-dev declares a conflict with libunwind-dev (the one
# with libunwind.pc and the unw_* API we build against). The trailing '-'
# removes it in the same transaction, so apt never stops to ask.
extra=""
case "$missing" in
*libunwind-dev*)
	if dpkg-query -W -f='${Status}' libunwind-14-dev 2>/dev/null | grep -q 'install ok installed'; then
		extra="libunwind-14-dev-"
	fi ;;
esac
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing $extra >/dev/null
