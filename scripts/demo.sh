#!/usr/bin/env bash
# The main job: installs dependencies, builds Citadel, and runs the whole
# confidential-inference flow on loopback with the bundled X-ray-style model:
#   start server (SIMULATION platform) -> attest against a policy -> upload
#   model -> infer -> list -> delete -> stop.
# Every step prints what it does. The simulation platform protects NOTHING;
# see README.md, "What the simulation platform does not protect".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [[ -z "${CITADEL_SKIP_BUILD:-}" ]]; then
  scripts/install-deps.sh
  scripts/build.sh --target citadel
fi
citadel="$root/${CITADEL_BUILD_DIR:-build}/src/cli/citadel"
[[ -x "$citadel" ]] || { echo "citadel binary not found at $citadel" >&2; exit 1; }

work=$(mktemp -d -t citadel-demo.XXXXXX)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "0. SIMULATION platform: no TEE hardware here, so nothing below is protected by hardware"

step "1. Start the server on loopback (keys are generated inside the platform)"
"$citadel" serve --listen 127.0.0.1:0 --state-dir "$work/state" --port-file "$work/port" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  [[ -s "$work/port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "server failed to start" >&2; exit 1; }
  sleep 0.1
done
[[ -s "$work/port" ]] || { cat "$work/server.log"; echo "server did not start in 10 s" >&2; exit 1; }
url="https://127.0.0.1:$(cat "$work/port")"
echo "server: $url (pid $server_pid)"

step "2. Compute the expected measurement and write the client policy"
measurement=$("$citadel" measure)
cat >"$work/policy.json" <<JSON
{
  "version": 1,
  "allow_simulation": true,
  "measurements": ["$measurement"]
}
JSON
cat "$work/policy.json"

step "3. A client whose policy forbids simulation refuses the server before sending anything"
cat >"$work/strict.json" <<JSON
{ "version": 1, "allow_simulation": false, "measurements": ["$measurement"] }
JSON
if "$citadel" attest --server "$url" --policy "$work/strict.json"; then
  echo "UNEXPECTED: strict policy accepted simulation evidence" >&2
  exit 1
fi

step "4. Attest the server against the policy"
"$citadel" attest --server "$url" --policy "$work/policy.json"

step "5. Upload the bundled model (models/xray_cnn.onnx) over the attested channel"
"$citadel" upload --server "$url" --policy "$work/policy.json" --name xray "$root/models/xray_cnn.onnx"

step "6. Infer on a synthetic X-ray-like image (models/xray_sample.npy), with a signed receipt"
"$citadel" infer --server "$url" --policy "$work/policy.json" --model xray \
  --input image="$root/models/xray_sample.npy" --output-dir "$work/out" --receipt "$work/receipt.json"
echo "classes, in order: normal, opacity, effusion, nodule (made-up labels, random weights)"

step "6b. Anyone can check the receipt offline later (model, input and output digests, evidence)"
"$citadel" receipt verify "$work/receipt.json" --policy "$work/policy.json" \
  --input image="$root/models/xray_sample.npy" --output probabilities="$work/out/probabilities.npy"

step "7. List, delete, and check that inference is refused afterwards"
"$citadel" models --server "$url" --policy "$work/policy.json"
"$citadel" delete --server "$url" --policy "$work/policy.json" --name xray
if "$citadel" infer --server "$url" --policy "$work/policy.json" --model xray \
     --input image="$root/models/xray_sample.npy" --output-dir "$work/out2" 2>"$work/refused.txt"; then
  echo "UNEXPECTED: inference on a deleted model succeeded" >&2
  exit 1
fi
cat "$work/refused.txt"

step "7b. The audit log: hash-chained, with a checkpoint signed inside the TEE; events, never payloads"
"$citadel" audit fetch --server "$url" --policy "$work/policy.json" --out "$work/audit.json"
"$citadel" audit verify "$work/audit.json" --policy "$work/policy.json"

step "8. Stop the server (its log holds events, never payloads)"
kill "$server_pid"
wait "$server_pid" || true
server_pid=""
sed -e 's/^/  | /' "$work/server.log"
echo
echo "Demo complete: attestation accepted (SIMULATION) and an inference result returned."
