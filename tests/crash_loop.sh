#!/bin/sh
# The long crash loop: builds deliveryd and the integration tests, then runs the crash-loop test with 25 SIGKILLs
# (at random moments under a mixed load of every vendor, one during the start-up purge, one in the middle of a
# JSONL download, one of an XLSX download, one while an XLSX export is written), restarting the daemon on the same
# ledger after each. It prints one line per kill, then the checks and "acknowledged N, stored N, lost 0"; it exits
# non-zero when anything acknowledged is missing or any other check fails. About 1.5 minutes on the 2-core host.
#
#   tests/crash_loop.sh                                  # 25 kills, 100,000 sends for the purge, in build/
#   DELIVERYD_CRASH_KILLS=50 tests/crash_loop.sh         # more kills
#   DELIVERYD_CRASH_SEED=1234 tests/crash_loop.sh        # the random delays of an earlier run (its first line)
#   BUILD_DIR=build-asan tests/crash_loop.sh             # another build tree (configured already)
#
# The short loop (5 kills, about 30 s) is part of ctest: ctest -R 'crash loop'.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" --target deliveryd deliveryctl integration_tests -j2
export DELIVERYD_CRASH_KILLS="${DELIVERYD_CRASH_KILLS:-25}"
export DELIVERYD_CRASH_OLD_SENDS="${DELIVERYD_CRASH_OLD_SENDS:-100000}"
started=$(date +%s)
status=0
"$build/tests/integration_tests" "[crash]" || status=$?
echo "crash loop: $(($(date +%s) - started)) s in all, exit status $status"
exit "$status"
