#!/bin/sh
# The ingest benchmark of issue 5: builds deliveryd and ingest_bench, prepares build/bench/ingest-ledger.db with
# 5 million pending sends on the first run (reused for 12 h, while unused sends are left), then loads two httplib
# ceilings (one answers at once, one after a group fdatasync of each body: issue 20) and the daemon's Twilio and
# SendGrid webhooks and its intake from a one-thread epoll client on loopback, loads both ceilings again (the daemon
# is compared with the mean of each ceiling's two runs), checks that every acknowledged event and send is in the
# ledger, and prints each figure against its target.
#
#   bench/ingest.sh                      # 5M sends, 400k Twilio callbacks, 3000 SendGrid batches, 400 intake batches
#   bench/ingest.sh --sends 200000 --ledger build/bench/small-ingest.db --requests 50000 --batches 300 --intake-batches 40
#
# With --backend postgresql (issue 17) it then runs the Twilio and intake phases on a PostgreSQL ledger of as many
# sends (database `ingest` of the cluster it keeps in build/bench/pg), with one daemon and then two, and prints
# them beside the SQLite figures of the same run:
#
#   bench/ingest.sh --backend postgresql
#   bench/ingest.sh --backend postgresql --sends 200000 --ledger build/bench/small-ingest.db \
#     --pg-database small_ingest --requests 20000 --batches 100 --intake-batches 20
#
# With --ab it runs two deliveryd builds in turn instead (A: --daemon, B: the path after --ab), --rounds N times
# each in the order A B, B A, ..., without the ceilings, and prints every run's rates, the medians and B / A:
#
#   bench/ingest.sh --daemon OLD --ab NEW --rounds 6 --requests 50000 --batches 800 --intake-batches 50
#
# Extra arguments go to ingest_bench (--ledger, --sends, --daemon, --port, --requests, --batches, --intake-batches,
# --intake-without-ids, --prepare-only, --backend, --pg-dir, --pg-database, --ab, --rounds).
set -eu
cd "$(dirname "$0")/.."
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --target ingest_bench deliveryd -j2
exec build/bench/ingest_bench "$@"
