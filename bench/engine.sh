#!/usr/bin/env bash
# The engine benchmark of the README, in one run:
#   1. inputs (bench/make-inputs.py): 12 MP (~4 MB) and 1 MP JPEGs, progressive and EXIF-rotated
#      variants, in bench/out/ (git-ignored);
#   2. criterion (crates/engine/benches/make.rs): make on one thread, two makes on two threads,
#      the bare libjpeg-turbo round trip of each file, decode scales, the KB band;
#   3. the throughput run (benches/throughput.rs): p50/p90, photos/s with one and two workers,
#      per-stage medians, peak RSS;
#   4. the HivisionIDPhotos-style Python pipeline (bench/hivision_style.py) on the same files and
#      models, and the ratios.
# Everything lands in bench/out/; the summary is bench/out/summary.md.
#
#   bench/engine.sh                 # all of it (~10 min on 2 cores)
#   QUICK=1 bench/engine.sh         # no criterion, fewer repetitions
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$PWD/bench/out"
REPS=${REPS:-30}
PY_REPS=${PY_REPS:-15}
[ -n "${QUICK:-}" ] && REPS=10 && PY_REPS=5
mkdir -p "$OUT"

if [ ! -x "$OUT/venv/bin/python" ]; then
    python3 -m venv "$OUT/venv"
fi
"$OUT/venv/bin/pip" install --quiet -r bench/requirements.txt
[ -f models/selfie_segmentation.onnx ] || scripts/fetch-models
"$OUT/venv/bin/python" bench/make-inputs.py "$OUT"

header() {
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared with other builds)"
}
header >"$OUT/summary.md"

if [ -z "${QUICK:-}" ]; then
    cargo bench -p engine --bench make 2>&1 | tee "$OUT/criterion.txt" | grep -E '^[a-z_0-9]+/|time:|thrpt:' || true
fi

cargo bench -p engine --bench throughput -- --reps "$REPS" --json "$OUT/engine.json" \
    12mp 12mp-prog 12mp-rot 1mp 1mp-prog | tee "$OUT/throughput.md"

"$OUT/venv/bin/python" bench/hivision_style.py --reps "$PY_REPS" --json "$OUT/python.json" \
    "$OUT/12mp.jpg" "$OUT/12mp-prog.jpg" "$OUT/1mp.jpg" "$OUT/1mp-prog.jpg" | tee "$OUT/python.md"

"$OUT/venv/bin/python" - "$OUT" <<'EOF' | tee -a "$OUT/summary.md"
import json, sys
out = sys.argv[1]
eng = json.load(open(f"{out}/engine.json"))
py = json.load(open(f"{out}/python.json"))
peak = max(v["peak_rss_mb"] for v in eng.values())
print(f"- peak RSS of the engine process, worst phase (VmHWM): {peak:.0f} MB")
print()
print("| input | make p50 ms (1 thread) | round trip p50 ms | make / round trip | photos/s, 2 workers | Hivision-style p50 ms | Hivision-style / make | Hivision-style photos/s, 2 processes |")
print("|---|---|---|---|---|---|---|---|")
for name in ["12mp", "12mp-prog", "12mp-rot", "1mp", "1mp-prog"]:
    one, two = eng.get(f"{name}/1"), eng.get(f"{name}/2")
    if not one:
        continue
    p = py.get(name)
    pcells = (f"{p['p50_ms']:.0f} | {p['p50_ms'] / one['p50_ms']:.2f}x | {p['photos_per_s_2']:.1f}"
              if p else "– | – | –")
    print(f"| {name} | {one['p50_ms']:.0f} | {one['round_trip_ms']:.0f} | "
          f"{one['p50_ms'] / one['round_trip_ms']:.2f} | {two['photos_per_s']:.1f} | {pcells} |")
EOF
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/summary.md"
echo
cat "$OUT/summary.md"
