#!/usr/bin/env bash
# The store stage of /receipt/make on the local dir vs S3 (s3s-fs on loopback, scripts/setup-s3):
# N makes of one portrait, item 111 (photo, original, transparent PNG, print sheet: 4 blobs), one
# engine worker; prints each make's Server-Timing and the median `store` stage per back-end.
#
#   bench/store.sh                       # the debug binary of CARGO_TARGET_DIR (or target/)
#   BIN=target/release/photoreceipt N=30 bench/store.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/debug/photoreceipt}
N=${N:-12}
IMAGE=${IMAGE:-../shared/testdata/portraits/biden.jpg}
S3S=${S3S_FS:-${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs}
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

run() {
  local kind=$1 dir extra=() s3pid="" port spid key
  dir=$(mktemp -d)
  if [[ $kind == s3 ]]; then
    mkdir -p "$dir/s3/photoreceipt"
    port=$(free_port)
    "$S3S" --host 127.0.0.1 --port "$port" --access-key bench --secret-key bench-secret-key "$dir/s3" >/dev/null 2>&1 &
    s3pid=$!
    export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-key
    extra=(--store-url "s3://photoreceipt?endpoint=http://127.0.0.1:$port&region=us-east-1")
    sleep 1
  fi
  key=$("$BIN" app create --data-dir "$dir/data" --name bench --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])')
  port=$(free_port)
  PHOTORECEIPT_LOG=warn "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$dir/data" --rate-limit 0 \
    --make-workers 1 "${extra[@]}" >/dev/null 2>&1 &
  spid=$!
  sleep 3
  base64 -w0 "$IMAGE" >"$dir/img.b64"
  for _ in $(seq "$N"); do
    curl -s -o /dev/null -D - "http://127.0.0.1:$port/receipt/make" --data-urlencode "key=$key" \
      -d item_id=111 --data-urlencode "image@$dir/img.b64" | grep -i '^server-timing' | tr -d '\r'
  done | tee "$dir/timing"
  echo "$kind: median store stage $(sed -E 's/.*store;dur=([0-9.]+).*/\1/' "$dir/timing" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') ms over $N makes"
  kill "$spid"; [[ -n $s3pid ]] && kill "$s3pid"
  wait 2>/dev/null || true
  rm -rf "$dir"
}

run local
run s3
