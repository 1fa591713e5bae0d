#!/usr/bin/env bash
# Issue 9's benchmark (bench/nodes.py): submit + query throughput on 1 vs 3 nodes over one
# PostgreSQL, and make throughput with blobs on the local dir vs S3 (s3s-fs). Release build.
#
#   bench/nodes.sh                     # 300 submits a run, 10 s of queries, 16 client threads
#   PICS=1000 CLIENTS=32 bench/nodes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-postgres
scripts/setup-s3
source bench/lib.sh
build
bench_python
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# A 1 MP portrait (896×1120), so the runs measure the cluster more than the engine.
"$PY" - "$WORK/portrait.jpg" <<'PY'
import sys
from PIL import Image
Image.open("../shared/testdata/portraits/obama.jpg").convert("RGB").resize((896, 1120)).save(sys.argv[1], quality=90)
PY
python3 bench/nodes.py "$BIN" "$WORK/portrait.jpg"
