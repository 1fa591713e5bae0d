#!/usr/bin/env bash
# The API benchmark of the README: /receipt/make throughput and latency with a real 12 MP portrait
# (about 4 MB), and /receipt/query requests per second. Release build, embedded defaults
# (SQLite + local files) on a temporary data dir, load from wrk on the same machine.
#
#   bench/api.sh                     # 30 s of make at 4 connections, 15 s of query at 32
#   MAKE_SECONDS=60 MAKE_CONNECTIONS=8 bench/api.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MAKE_SECONDS=${MAKE_SECONDS:-30}
MAKE_CONNECTIONS=${MAKE_CONNECTIONS:-4}
QUERY_SECONDS=${QUERY_SECONDS:-15}
QUERY_CONNECTIONS=${QUERY_CONNECTIONS:-32}
ITEM=${ITEM:-111}

if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
python3 -c 'import PIL' 2>/dev/null || python3 -m pip install --quiet pillow

cargo build --release -p photoreceipt
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
    >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER=$!
for _ in $(seq 100); do
    grep -q '^photoreceipt listening on ' "$WORK/serve.out" 2>/dev/null && break
    sleep 0.1
done
BASE=$(sed -n 's/^photoreceipt listening on //p' "$WORK/serve.out")
[ -n "$BASE" ] || { cat "$WORK/serve.err"; exit 1; }
KEY=$("$BIN" app create --name bench --balance-yuan 1000 --json --data-dir "$WORK/data" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

# The form body, URL-encoded as a merchant sends it.
python3 - "$KEY" "$ITEM" "$WORK/portrait.jpg" >"$WORK/make.body" <<'EOF'
import base64, sys, urllib.parse
key, item, path = sys.argv[1:4]
image = base64.b64encode(open(path, "rb").read()).decode()
sys.stdout.write(urllib.parse.urlencode({"key": key, "item_id": item, "image": image}))
EOF
echo "make body: $(stat -c %s "$WORK/make.body") bytes, on $(nproc) cores"

# Warm-up, and a pic to order.
curl -s "$BASE/receipt/make" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary @"$WORK/make.body" >"$WORK/make.json"
PIC=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["code"]==0, d; print(d["data"]["pic_id"])' "$WORK/make.json")

echo
echo "== /receipt/make: ${MAKE_SECONDS}s, ${MAKE_CONNECTIONS} connections, 12 MP JPEG, item $ITEM"
BODY_FILE="$WORK/make.body" wrk -t2 -c"$MAKE_CONNECTIONS" -d"${MAKE_SECONDS}s" --timeout 60s --latency \
    -s bench/make.lua "$BASE/receipt/make"

ORDER=$(curl -s "$BASE/receipt/submit" -d key="$KEY" -d pic_id="$PIC" \
    --data-urlencode notice_url=https://shop.example/notify \
    --data-urlencode 'param={"text_mobile":"13800138000","text_city":"深圳","text_name":"张三","text_idcard":"11010519491231002X"}' |
    python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["code"]==0, d; print(d["data"]["order_no"])')

echo
echo "== /receipt/query: ${QUERY_SECONDS}s, ${QUERY_CONNECTIONS} connections"
wrk -t2 -c"$QUERY_CONNECTIONS" -d"${QUERY_SECONDS}s" --latency \
    "$BASE/receipt/query?key=$KEY&order_no=$ORDER"
