#!/usr/bin/env bash
# End to end, side by side on the same files: `seal eval image` (decode, every signal, match) against
# `pdqhash` with its 8 dihedral hashes (Pillow decode) and Pillow's draft decode alone, all on one core
# (taskset -c 0), then `seal eval image` on 1 and 2 cores. Prints each figure and the ratios.
# Then the same on the bench JPEGs (0.3, 2 and 12 MP photos that copy nothing registered: the crawler's
# common case), each size as the queries of a corpus whose truth calls them all distractors.
#   benches/peers/run_image_eval.sh [corpus dir with originals/ queries/ truth.json] (default fixtures/images)
set -euo pipefail
cd "$(dirname "$0")/../.."
CORPUS="${1:-fixtures/images}"
VENV=target/peers-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pdqhash imagehash Pillow numpy scikit-image
fi
cargo build --release --bin seal -q
SEAL="${CARGO_TARGET_DIR:-target}/release/seal"
compare() { # label originals queries truth
  local peers one two
  peers=$(taskset -c 0 "$VENV/bin/python" benches/peers/image_peers.py --flat "$3")
  one=$(RAYON_NUM_THREADS=1 taskset -c 0 "$SEAL" eval image --originals "$2" --queries "$3" --truth "$4" --json)
  two=$(RAYON_NUM_THREADS=2 taskset -c 0,1 "$SEAL" eval image --originals "$2" --queries "$3" --truth "$4" --json)
  "$VENV/bin/python" - "$1" "$peers" "$one" "$two" <<'PY'
import json, sys
label = sys.argv[1]
peers, one, two = (json.loads(a) for a in sys.argv[2:5])
ours = one["images_per_s"]
print(json.dumps({
    "corpus": label,
    "files": peers["files"],
    "seal_images_per_s_1_core": round(ours, 1),
    "seal_images_per_s_2_cores": round(two["images_per_s"], 1),
    "seal_decode_images_per_s": round(one["decode_images_per_s"], 1),
    "pdqhash_dihedral_images_per_s": round(peers["pdqhash_dihedral_images_per_s"], 1),
    "pillow_draft_decode_images_per_s": round(peers["pillow_draft_decode_images_per_s"], 1),
    "ratio_to_pdqhash_dihedral": round(ours / peers["pdqhash_dihedral_images_per_s"], 2),
    "ratio_to_pillow_draft_decode": round(ours / peers["pillow_draft_decode_images_per_s"], 2),
    "precision": one["precision"], "recall": one["recall"],
}))
PY
}
compare "$CORPUS" "$CORPUS/originals" "$CORPUS/queries" "$CORPUS/truth.json"
"$VENV/bin/python" benches/peers/image_make_bench_jpegs.py
for size in 0.3mp 2mp 12mp; do
  dir=target/bench-images/$size
  [ -d "$dir" ] || continue
  "$VENV/bin/python" -c 'import json, os, sys; print(json.dumps({f: {"original": None, "transform": "distractor"} for f in os.listdir(sys.argv[1])}))' "$dir" > "target/bench-images/$size.truth.json"
  compare "bench JPEGs $size" "$CORPUS/originals" "$dir" "target/bench-images/$size.truth.json"
done
