#!/bin/bash
# ThreadSanitizer on the runtimes' own code (tests/tsan/run.sh): the
# malloc shim's tables and snapshots, and the call profiler's runtime,
# compiled with -fsanitize=thread into $O/tsan/ and driven from 16-72
# threads. Passes when TSan reports no race (beyond those listed, with
# their fix, in tests/tsan/known-races.supp) and every figure is exact.
# Env: O=build dir (default build). Budget: under 90 s with the compile.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
exec timeout --kill-after=10 300 "$ROOT/tests/tsan/run.sh"
