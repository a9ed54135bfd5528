#!/usr/bin/env bash
# Peer benchmark for text matching: ours (`seal eval text`) against Python datasketch MinHash LSH
# and LSH Ensemble on the same labelled corpus, each pinned to one core (taskset -c 0).
#
# Usage: benches/peers/run_text.sh [CORPUS_DIR] [extra text_datasketch.py flags, e.g. --verify]
#   CORPUS_DIR holds originals/, queries/ and truth.json (default: fixtures/text).
#
# Creates a venv at ${CARGO_TARGET_DIR:-target}/peers-venv on first use and installs the pinned
# versions from text_requirements.txt, builds `seal` in release mode, writes our JSON report to a
# temporary file and prints datasketch's figures with a side-by-side table and ratios against ours.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

corpus="${1:-fixtures/text}"
shift || true
target="${CARGO_TARGET_DIR:-target}"
venv="$target/peers-venv"

for part in originals queries truth.json; do
    if [[ ! -e "$corpus/$part" ]]; then
        echo "run_text.sh: $corpus/$part is missing (expected originals/, queries/, truth.json)" >&2
        exit 2
    fi
done

# One core each, and no helper threads in numpy/scipy.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
pin=()
if command -v taskset >/dev/null 2>&1; then
    pin=(taskset -c 0)
else
    echo "run_text.sh: taskset not found, running unpinned" >&2
fi

if [[ ! -x "$venv/bin/python" ]]; then
    python="$(command -v python3.11 || command -v python3)"
    echo "creating $venv with $("$python" --version)" >&2
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/text_requirements.txt"

cargo build --release --bin seal

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== ours: seal eval text on $corpus" >&2
${pin[@]+"${pin[@]}"} "$target/release/seal" eval text \
    --originals "$corpus/originals" --queries "$corpus/queries" --truth "$corpus/truth.json" \
    --json >"$tmp/ours.json"

echo "== datasketch on $corpus" >&2
${pin[@]+"${pin[@]}"} "$venv/bin/python" "$here/text_datasketch.py" \
    --originals "$corpus/originals" --queries "$corpus/queries" --truth "$corpus/truth.json" \
    --ours "$tmp/ours.json" "$@"
