#!/usr/bin/env bash
# Peer benchmark for crawling: ours (`cargo bench --bench crawl`: fetch, extract, fingerprint, match,
# classify, store) and Scrapy (fetch only, a do-nothing callback, benches/scrapy_spider.py) on the same
# generated site served by the bench on 127.0.0.1, at the same concurrency; prints both rates and the
# ratio.
#
# Usage: benches/peers/run_crawl.sh   (SEAL_BENCH_PAGES=100000 for the 100k-page memory figure)
#
# Creates a venv at ${CARGO_TARGET_DIR:-target}/peers-crawl-venv on first use with the pinned Scrapy
# from crawl_requirements.txt.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

target="${CARGO_TARGET_DIR:-target}"
venv="$target/peers-crawl-venv"
if [[ ! -x "$venv/bin/scrapy" ]]; then
    python="$(command -v python3)"
    echo "creating $venv with $("$python" --version)" >&2
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/crawl_requirements.txt"

SEAL_BENCH_SCRAPY="$(cd "$venv/bin" && pwd)/scrapy" cargo bench --bench crawl
