#!/bin/sh
# The console benchmark of issue 16: builds deliveryd and report_bench, fills build/bench/report-ledger.db with 10
# million sends on the first run (the ledger of bench/report.sh, reused), starts the daemon on it and measures the
# console in Debian's Chromium: the time to show a month and a 1,000-row day page (the page's Performance API
# entries) and the page's weight, each against its target.
#
#   bench/console.sh                                   # the 10M-send ledger
#   bench/console.sh --ledger build/bench/small.db     # another ledger of report_bench's (filled if new)
#
# Other arguments go to bench/console.py (--months, --days).
set -eu
cd "$(dirname "$0")/.."
ledger=build/bench/report-ledger.db
if [ "${1:-}" = "--ledger" ]; then
  ledger=$2
  shift 2
fi
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target report_bench deliveryd -j2
build/bench/report_bench --ledger "$ledger" --fill-only
exec /usr/bin/python3 -B bench/console.py --daemon build/daemon/deliveryd --ledger "$ledger" "$@"
