#!/usr/bin/env bash
# /receipt/make at saturation: more connections than make workers + queue, a real 12 MP portrait,
# for SECONDS_RUN (60) seconds. Reports the answers by HTTP status and code, latency p50/p99
# and the server's resident set over time (bench/loadgen.py). Only 0 and 7002 (busy) are
# expected; anything else is an error.
#
#   bench/saturate.sh                       # 60 s, 16 connections, default workers and queue
#   SECONDS_RUN=30 CONNECTIONS=32 PROFILE=dev bench/saturate.sh -- --make-queue 4
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
SECONDS_RUN=${SECONDS_RUN:-60}
CONNECTIONS=${CONNECTIONS:-16}
[[ ${1:-} == -- ]] && shift

build
bench_python
WORK=$(mktemp -d)
SERVER=""
trap '[[ -n $SERVER ]] && kill $SERVER 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
"$PY" bench/portrait-12mp.py "$WORK/portrait.jpg" >/dev/null
start_server "$WORK/data" "$WORK/serve" --rate-limit 0 "$@"
KEY=$(app_key "$WORK/data")
python3 - "$KEY" "$WORK/portrait.jpg" >"$WORK/make.body" <<'PY'
import base64, sys, urllib.parse
key, path = sys.argv[1:3]
image = base64.b64encode(open(path, "rb").read()).decode()
sys.stdout.write(urllib.parse.urlencode({"key": key, "item_id": "111", "image": image}))
PY
echo "make at saturation: ${SECONDS_RUN}s, $CONNECTIONS connections, body $(stat -c %s "$WORK/make.body") bytes," \
    "$(nproc) cores, $PROFILE build, serve flags: ${*:-defaults}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/loadgen.py --base "$BASE" --path /receipt/make --body "$WORK/make.body" \
    --connections "$CONNECTIONS" --seconds "$SECONDS_RUN" --pid "$SERVER" --allow 0,7002
