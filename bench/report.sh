#!/bin/sh
# The reporting benchmark of issue 4: builds deliveryd and report_bench, fills build/bench/report-ledger.db
# with 10 million sends on the first run (reused afterwards), starts the daemon on it and prints summary and
# day-page latency, JSONL/XLSX export rows/s and the daemon's RSS during exports, each against its target.
#
#   bench/report.sh                      # 10M sends
#   bench/report.sh --sends 300000 --ledger build/bench/small.db
#
# With --backend postgresql (issue 17) the ledger is database `report` of the PostgreSQL cluster it keeps in
# build/bench/pg, filled once with the same sends and measured the same way:
#
#   bench/report.sh --backend postgresql
#   bench/report.sh --backend postgresql --sends 200000 --pg-database small_report
#
# Extra arguments go to report_bench (--ledger, --sends, --daemon, --port, --seed, --fill-only, --backend,
# --pg-dir, --pg-database).
set -eu
cd "$(dirname "$0")/.."
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target report_bench deliveryd
exec build/bench/report_bench "$@"
