#!/bin/sh
# The long crash and power-cut loops: builds deliveryd and the integration tests, then runs the crash loop with 25
# SIGKILLs (at random moments under a mixed load of every vendor, one during the start-up purge, one in the middle
# of a JSONL download, one of an XLSX download, one while an XLSX export is written), restarting the daemon on the
# same ledger after each; then the power-cut loop, the same with the ledger's folder under the fault layer
# (tests/faultfs/) and, after each SIGKILL, a power cut that throws away every write no fsync or fdatasync made
# durable. Each prints one line per kill or cut, then the checks and "acknowledged N, stored N, lost 0"; it exits
# non-zero when anything acknowledged is missing or any other check fails. About 4 minutes on the 2-core host.
#
#   tests/crash_loop.sh                                  # 25 kills, then 25 cuts, 100,000 sends for the purge
#   tests/crash_loop.sh '[power]'                        # only the power-cut loop ('[crash]~[power]': the other)
#   DELIVERYD_CRASH_KILLS=50 tests/crash_loop.sh         # more kills and cuts
#   DELIVERYD_CRASH_SEED=1234 tests/crash_loop.sh        # the random delays of an earlier run (its first line)
#   BUILD_DIR=build-asan tests/crash_loop.sh             # another build tree (configured already)
#
# The short loops (5 kills, 5 cuts, about 20 and 30 s) are part of ctest: ctest -R 'crash loop|power-cut loop'.
set -eu
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" --target deliveryd deliveryctl integration_tests -j2
export DELIVERYD_CRASH_KILLS="${DELIVERYD_CRASH_KILLS:-25}"
export DELIVERYD_CRASH_OLD_SENDS="${DELIVERYD_CRASH_OLD_SENDS:-100000}"
started=$(date +%s)
status=0
"$build/tests/integration_tests" "${1:-[crash]}" || status=$?
echo "crash loop: $(($(date +%s) - started)) s in all, exit status $status"
exit "$status"
