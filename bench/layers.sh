#!/usr/bin/env bash
# Where the time goes, layer by layer: Citadel vs ONNX Runtime on one model.
#
# Runs `citadel bench --profile` and `ort_bench.js --profile` (ORT's own
# profiler) on the same model, threads and batch, then prints the median ms
# per node summed by module: the first DEPTH components of the node's name
# ("/layer2/layer2.0" for DEPTH=3, "/features/features.4" likewise). Both
# runtimes name nodes after the exporter's module path (ORT's fused nodes
# take their output's name, which carries the same path), so the groups line
# up even where the two fuse differently (Citadel's ConvDw is ORT's Conv +
# activation + Conv + activation). Nodes without a module path (Gemm,
# GlobalAveragePool, ORT's layout Reorders) group by op type.
#
# The profilers add their own overhead, so compare the per-group columns,
# not the run medians printed above them (bench/run.sh measures those).
#
# Usage: bench/layers.sh MODEL [THREADS] [BATCH]    (MODEL as in bench/models/)
# Env:   CITADEL=build/src/cli/citadel  ITERS=50  WARMUP=3  DEPTH=3
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CITADEL=${CITADEL:-$ROOT/build/src/cli/citadel}
MODEL=${1:?usage: bench/layers.sh MODEL [THREADS] [BATCH]}
THREADS=${2:-1}
BATCH=${3:-1}
ITERS=${ITERS:-50}
WARMUP=${WARMUP:-3}
DEPTH=${DEPTH:-3}
F="$ROOT/bench/models/$MODEL.onnx"
[[ -f "$F" ]] || { echo "missing $F (run bench/export_models.py)" >&2; exit 2; }
[[ -x "$CITADEL" ]] || { echo "no citadel binary at $CITADEL (build it or set CITADEL)" >&2; exit 2; }

C=$(mktemp)
O=$(mktemp)
trap 'rm -f "$C" "$O"' EXIT
"$CITADEL" bench "$F" --threads "$THREADS" --dim batch="$BATCH" --warmup "$WARMUP" --iters "$ITERS" \
  --profile --json > "$C" 2>/dev/null
node "$ROOT/bench/ort/ort_bench.js" "$F" --threads "$THREADS" --dim batch="$BATCH" --warmup "$WARMUP" \
  --iters "$ITERS" --profile > "$O" 2>/dev/null

python3 - "$C" "$O" "$DEPTH" "$MODEL" "$THREADS" "$BATCH" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
o = json.load(open(sys.argv[2]))
depth, model, threads, batch = int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]

def group(node):
    if node["op"] in ("ReorderInput", "ReorderOutput"):
        return "(layout reorders)"
    parts = node["name"].split("/")
    if node["name"].startswith("/") and len(parts) > depth:
        return "/".join(parts[:depth])
    return node["op"]

def sums(nodes):
    out = {}
    for n in nodes:
        k = group(n)
        out[k] = out.get(k, 0.0) + n["ms"]
    return out

cs, os_ = sums(c["profile"]["nodes"]), sums(o["profile"]["nodes"])
keys = list(cs) + [k for k in os_ if k not in cs]
print(f"{model}, {threads} thread(s), batch {batch}: median ms per node, summed by module")
print(f"{'module':<44} {'Citadel':>9} {'ORT':>9} {'C - ORT':>9}")
for k in keys:
    a, b = cs.get(k, 0.0), os_.get(k, 0.0)
    print(f"{k[-44:]:<44} {a:9.3f} {b:9.3f} {a - b:+9.3f}")
ct, ot = c["profile"]["nodes_ms"], o["profile"]["nodes_ms"]
print(f"{'all nodes':<44} {ct:9.3f} {ot:9.3f} {ct - ot:+9.3f}   (ratio {ct / ot:.2f})")
PY
