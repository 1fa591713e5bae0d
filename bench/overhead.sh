#!/usr/bin/env bash
# What the server adds on top of the engine for a 12 MP upload (issue 4: at most 10 %).
# Release build, embedded defaults, one make at a time over a kept-alive connection, so no queueing:
# each answer's Server-Timing header says how long reading the body, base64, the engine and storage
# took, and the client measures the whole request. Prints medians over RUNS makes.
#
#   bench/overhead.sh                # 20 makes of item 111 (photo + PNG + print sheet)
#   RUNS=40 ITEM=1 bench/overhead.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-20}
ITEM=${ITEM:-111}
python3 -c 'import PIL' 2>/dev/null || python3 -m pip install --quiet pillow

cargo build --release -p photoreceipt --quiet
BIN="${CARGO_TARGET_DIR:-target}/release/photoreceipt"

WORK=$(mktemp -d)
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

python3 bench/portrait-12mp.py "$WORK/portrait.jpg"
PHOTORECEIPT_LOG=warn "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --rate-limit 0 \
    >"$WORK/serve.out" 2>"${SERVE_ERR:-$WORK/serve.err}" &
SERVER=$!
for _ in $(seq 100); do
    grep -q '^photoreceipt listening on ' "$WORK/serve.out" 2>/dev/null && break
    sleep 0.1
done
BASE=$(sed -n 's/^photoreceipt listening on //p' "$WORK/serve.out")
[ -n "$BASE" ] || { cat "$WORK/serve.err"; exit 1; }
KEY=$("$BIN" app create --name bench --balance-yuan 1000 --json --data-dir "$WORK/data" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

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
