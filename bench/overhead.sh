#!/usr/bin/env bash
# What the server adds on top of the engine for a 12 MP upload (issue 4: at most 10 %).
# Release build, embedded defaults, one make at a time over a kept-alive connection, so no queueing:
# each answer's Server-Timing header says how long reading the body, base64, the engine and storage
# took, and the client measures the whole request. Prints medians over RUNS makes.
#
#   bench/overhead.sh                # 20 makes of item 111 (photo + PNG + print sheet)
#   RUNS=40 ITEM=1 bench/overhead.sh    # PROFILE=dev or BIN=… as in bench/lib.sh
#   KEEP=/tmp/serve.err bench/overhead.sh   # keep the server's log
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/lib.sh
RUNS=${RUNS:-20}
ITEM=${ITEM:-111}

build
bench_python
WORK=$(mktemp -d)
SERVER=""
trap '[[ -n $SERVER ]] && kill $SERVER 2>/dev/null; wait 2>/dev/null; [[ -n ${KEEP:-} ]] && cp "$WORK/serve.err" "$KEEP"; rm -rf "$WORK"' EXIT
"$PY" bench/portrait-12mp.py "$WORK/portrait.jpg" >/dev/null
start_server "$WORK/data" "$WORK/serve" --rate-limit 0
KEY=$(app_key "$WORK/data")

python3 - "$BASE" "$KEY" "$ITEM" "$WORK/portrait.jpg" "$RUNS" <<'EOF'
import base64, http.client, json, statistics, sys, time, urllib.parse
base, key, item, path, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
jpeg = open(path, "rb").read()
body = urllib.parse.urlencode({"key": key, "item_id": item, "image": base64.b64encode(jpeg).decode()}).encode()
host = urllib.parse.urlparse(base).netloc
conn = http.client.HTTPConnection(host)
rows = []
for i in range(runs + 2):
    t0 = time.perf_counter()
    conn.request("POST", "/receipt/make", body, {"Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    wall = (time.perf_counter() - t0) * 1000
    assert answer["code"] == 0, answer
    stages = {p.split(";")[0].strip(): float(p.split("dur=")[1]) for p in resp.getheader("Server-Timing").split(",")}
    stages["client"] = wall
    if i >= 2:  # the first two warm the models and the caches
        rows.append(stages)
med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
print(f"{len(jpeg)/1e6:.1f} MB JPEG, {len(body)/1e6:.1f} MB form body, item {item}, {runs} makes, medians in ms:")
for k in ["read", "decode", "engine", "store", "total", "client"]:
    print(f"  {k:7s} {med[k]:7.1f}")
over = med["client"] - med["engine"]
print(f"server on top of the engine: {over:.1f} ms = {over / med['engine'] * 100:.1f} % (goal <= 10 %)")
EOF
