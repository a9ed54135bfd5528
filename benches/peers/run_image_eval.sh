#!/usr/bin/env bash
# End to end, side by side on the same files: `seal eval image` (decode, every signal, match) against
# `pdqhash` with its 8 dihedral hashes (Pillow decode) and Pillow's draft decode alone, all on one core
# (taskset -c 0), then `seal eval image` on 1 and 2 cores. Prints each figure and the ratios.
# Then the same on the bench JPEGs (0.3, 2 and 12 MP photos that copy nothing registered: the crawler's
# common case), each size as the queries of a corpus whose truth calls them all distractors.
# This VM's speed swings by up to 2x between runs, so one run's ratio means little: each corpus is run
# ROUNDS times (default 3), pdqhash and seal back to back in each round, and the report gives each
# round's figures and the median of the per-round ratios. Each photo size's six files are repeated
# (hard links, REPEAT times, default 30) so that a run lasts long enough to time.
#   benches/peers/run_image_eval.sh [corpus dir with originals/ queries/ truth.json] (default fixtures/images)
set -euo pipefail
cd "$(dirname "$0")/../.."
CORPUS="${1:-fixtures/images}"
ROUNDS="${ROUNDS:-3}"
REPEAT="${REPEAT:-30}"
VENV=target/peers-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pdqhash imagehash Pillow numpy scikit-image
fi
cargo build --release --bin seal -q
SEAL="${CARGO_TARGET_DIR:-target}/release/seal"
compare() { # label originals queries truth
  local out round
  out=$(mktemp -d)
  for round in $(seq "$ROUNDS"); do
    taskset -c 0 "$VENV/bin/python" benches/peers/image_peers.py --flat "$3" > "$out/$round.peers.json"
    RAYON_NUM_THREADS=1 taskset -c 0 "$SEAL" eval image --originals "$2" --queries "$3" --truth "$4" --json \
      > "$out/$round.one.json"
    RAYON_NUM_THREADS=2 taskset -c 0,1 "$SEAL" eval image --originals "$2" --queries "$3" --truth "$4" --json \
      > "$out/$round.two.json"
  done
  "$VENV/bin/python" -c '
import json, statistics, sys
label, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
rounds = []
for k in range(1, count + 1):
    peers, one, two = (json.load(open(f"{out}/{k}.{part}.json")) for part in ("peers", "one", "two"))
    ours = one["images_per_s"]
    rounds.append({
        "seal_images_per_s_1_core": round(ours, 1),
        "seal_images_per_s_2_cores": round(two["images_per_s"], 1),
        "seal_decode_images_per_s": round(one["decode_images_per_s"], 1),
        "pdqhash_dihedral_images_per_s": round(peers["pdqhash_dihedral_images_per_s"], 1),
        "pillow_draft_decode_images_per_s": round(peers["pillow_draft_decode_images_per_s"], 1),
        "ratio_to_pdqhash_dihedral": round(ours / peers["pdqhash_dihedral_images_per_s"], 2),
        "ratio_to_pillow_draft_decode": round(ours / peers["pillow_draft_decode_images_per_s"], 2),
        "precision": one["precision"], "recall": one["recall"], "files": peers["files"],
    })
median = lambda key: round(statistics.median(r[key] for r in rounds), 2)
print(json.dumps({
    "corpus": label,
    "files": rounds[0]["files"],
    "rounds": len(rounds),
    "median_ratio_to_pdqhash_dihedral": median("ratio_to_pdqhash_dihedral"),
    "median_ratio_to_pillow_draft_decode": median("ratio_to_pillow_draft_decode"),
    "median_seal_images_per_s_1_core": median("seal_images_per_s_1_core"),
    "median_seal_images_per_s_2_cores": median("seal_images_per_s_2_cores"),
    "precision": min(r["precision"] for r in rounds), "recall": min(r["recall"] for r in rounds),
    "each_round": rounds,
}))
' "$1" "$out" "$ROUNDS"
  rm -rf "$out"
}
compare "$CORPUS" "$CORPUS/originals" "$CORPUS/queries" "$CORPUS/truth.json"
"$VENV/bin/python" benches/peers/image_make_bench_jpegs.py
for size in 0.3mp 2mp 12mp; do
  [ -d "target/bench-images/$size" ] || continue
  dir=target/bench-images/$size-x$REPEAT
  rm -rf "$dir" && mkdir -p "$dir"
  for copy in $(seq "$REPEAT"); do
    for file in target/bench-images/"$size"/*; do
      ln -f "$file" "$dir/${copy}_$(basename "$file")"
    done
  done
  "$VENV/bin/python" -c 'import json, os, sys; print(json.dumps({f: {"original": None, "transform": "distractor"} for f in os.listdir(sys.argv[1])}))' "$dir" > "target/bench-images/$size.truth.json"
  compare "bench JPEGs $size" "$CORPUS/originals" "$dir" "target/bench-images/$size.truth.json"
done
