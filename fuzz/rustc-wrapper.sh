#!/usr/bin/env bash
# RUSTC_WRAPPER for `cargo fuzz`: compiles seal-engine without comparison tracing, everything else as is.
#
# Why: cargo fuzz instruments every crate with `-sanitizer-coverage-trace-compares`, which lets
# libFuzzer solve magic numbers, markers and length checks in the decoders (png, gif, image-webp,
# jpeg-decoder). In seal-engine's own hashing loops (integral-image window sums, PDQ) it only traces
# loop counters and made each decoded input about 6x slower (about 650 ms instead of 110 ms under
# ASan; 4 exec/s overall instead of about 100), fingerprinting spending its time in
# __sanitizer_cov_trace_cmp*. The engine keeps edge coverage
# and ASan; only the comparison hooks are dropped, and only for that one crate.
#
# Use: RUSTC_WRAPPER="$PWD/fuzz/rustc-wrapper.sh" (see fuzz/README.md). Cargo calls it as
# `rustc-wrapper.sh /path/to/rustc ARGS...`.
set -euo pipefail
rustc="$1"
shift
crate=""
prev=""
for arg in "$@"; do
    if [ "$prev" = "--crate-name" ]; then crate="$arg"; fi
    prev="$arg"
done
if [ "$crate" = "seal_engine" ]; then
    args=()
    for arg in "$@"; do
        if [ "$arg" != "-Cllvm-args=-sanitizer-coverage-trace-compares" ]; then args+=("$arg"); fi
    done
    exec "$rustc" "${args[@]}"
fi
exec "$rustc" "$@"
