#!/usr/bin/env bash
# Image peers and benchmarks, one core each (taskset -c 0):
#   1. a venv under target/ with pdqhash, imagehash, Pillow, numpy (and scikit-image for fixture sources);
#   2. the bench JPEGs (0.3, 2, 12 MP) in target/bench-images/;
#   3. the Python peers' images/s on them;
#   4. our divan benches (decode, decode+PDQ, full fingerprint, index vs brute force);
#   5. --reference: regenerate fixtures/images/pdq_reference.json with pdqhash.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=target/peers-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pdqhash imagehash Pillow numpy scikit-image
fi
PY="$VENV/bin/python"
if [ "${1:-}" = "--reference" ]; then
  "$PY" benches/peers/image_pdq_reference.py fixtures/images
  exit 0
fi
"$PY" benches/peers/image_make_bench_jpegs.py
echo "== peers (one core)"
taskset -c 0 "$PY" benches/peers/image_peers.py target/bench-images | tee target/image-peers.json
echo "== ours (one core)"
taskset -c 0 cargo bench --bench image
