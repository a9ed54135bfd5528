#!/usr/bin/env bash
# Load test of the seal's hot path, GET /api/v1/seal/{id}: 100k registered works, random ids, wrk on
# the same 2-core machine (so wrk competes with the server for CPU; a real CDN-fronted deployment
# does better). Prints wrk's report with latency percentiles.
#
#   bash benches/load/seal_wrk.sh [WORKS] [DURATION] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
works="${1:-100000}"; duration="${2:-20s}"; conns="${3:-64}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/copyright-seal/target}"
cargo build --release --locked -q
seal="$CARGO_TARGET_DIR/release/seal"
data="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
"$seal" demo --data "$data" --purchases 300 --works "$works" >/dev/null
port=18555
RUST_LOG=warn "$seal" serve --data "$data" --bind "127.0.0.1:$port" --workers 2 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
lua="$data/random.lua"
cat > "$lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/v1/seal/bulk-" .. math.random(0, $works - 1))
end
LUA
curl -fs "127.0.0.1:$port/api/v1/seal/bulk-0" >/dev/null
echo "wrk -t2 -c$conns -d$duration --latency -s random.lua http://127.0.0.1:$port  ($works works)"
wrk -t2 -c"$conns" -d"$duration" --latency -s "$lua" "http://127.0.0.1:$port"
echo "server RSS: $(ps -o rss= -p "$pid") KiB"
