#!/bin/sh
# The ingest benchmark of issue 5: builds deliveryd and ingest_bench, prepares build/bench/ingest-ledger.db with
# 5 million pending sends on the first run (reused for 12 h, while unused sends are left), then loads an httplib
# ceiling and the daemon's Twilio and SendGrid webhooks and its intake from a one-thread epoll client on loopback,
# checks that every acknowledged event and send is in the ledger, and prints each figure against its target.
#
#   bench/ingest.sh                      # 5M sends, 400k Twilio callbacks, 3000 SendGrid batches, 400 intake batches
#   bench/ingest.sh --sends 200000 --ledger build/bench/small-ingest.db --requests 50000 --batches 300 --intake-batches 40
#
# Extra arguments go to ingest_bench (--ledger, --sends, --daemon, --port, --requests, --batches, --intake-batches,
# --prepare-only).
set -eu
cd "$(dirname "$0")/.."
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target ingest_bench deliveryd -j2
exec build/bench/ingest_bench "$@"
