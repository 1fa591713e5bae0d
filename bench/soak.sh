#!/usr/bin/env bash
# The soak of issue 8: the full order cycle (make, submit, query; sandbox review and completion;
# callbacks) for MINUTES (30) with a receiver that fails 30 % of callbacks, then a drain that
# waits for every callback. Reports every 10 s: orders, callbacks, RSS, database and blob sizes
# (bench/soak.py). Fails when a callback is never delivered or a client call fails.
#
# Retention runs every 30 s and keeps finished orders' files RETENTION (3m), so the blobs and
# the database must level off rather than grow with the run.
#
#   bench/soak.sh                  # 30 minutes, 2 clients
#   MINUTES=5 CLIENTS=2 PROFILE=dev bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
MINUTES=${MINUTES:-30}
CLIENTS=${CLIENTS:-2}
RETENTION=${RETENTION:-3m}

build
WORK=$(mktemp -d)
SERVER=""
trap '[[ -n $SERVER ]] && kill $SERVER 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
# Short waits so retries happen within the run (the production schedule is 5s,5m,30m,…);
# ten attempts, so 30 % failures exhaust one with odds of 0.3^10 ≈ 6e-6.
start_server "$WORK/data" "$WORK/serve" --rate-limit 0 --sandbox-delay 2s \
    --callback-allow-cidr 127.0.0.0/8 --callback-schedule 1s,2s,3s,5s,5s,5s,5s,5s,5s,5s \
    --retention "$RETENTION" --retention-every 30s
KEY=$(app_key "$WORK/data" --sandbox)
echo "soak: ${MINUTES} min, $CLIENTS clients, receiver fails 30 %, retention $RETENTION, $PROFILE build, $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/soak.py --base "$BASE" --key "$KEY" --image ../shared/testdata/portraits/obama.jpg \
    --minutes "$MINUTES" --clients "$CLIENTS" --pid "$SERVER" --data "$WORK/data" \
    --retention "$RETENTION"
