//! libFuzzer target: arbitrary bytes through image decoding, fingerprinting, matching and snapshots.
//!
//! Why: the crawler hands bytes from the open web to `decode_luma`, and a stored index is read back
//! with `ImageMatcher::from_bytes`, or read in place from a mapping with `ImageMatcher::from_shared`.
//! All must answer hostile input (decompression bombs, truncated
//! files, CMYK and progressive JPEGs, animated GIFs, 16-bit PNGs, garbage) with a typed error or a
//! result, never a panic, an abort, runaway memory or a hang. libfuzzer-sys's panic hook aborts on
//! every panic, even one that `decode_luma` catches around a third-party decoder, so such panics are
//! reported here rather than hidden.

#![no_main]

use libfuzzer_sys::fuzz_target;
use seal_engine::image::{decode_luma, fingerprint_original, fingerprint_query, ImageConfig, ImageMatcher};
use std::sync::Arc;

fuzz_target!(|bytes: &[u8]| {
    let config = ImageConfig::default();

    // The raw bytes as a matcher snapshot: must be rejected (or read) without panicking.
    let _ = ImageMatcher::from_bytes(bytes, config.clone());
    let _ = ImageMatcher::from_shared(Arc::new(bytes.to_vec()), config.clone());

    // A second, small target side so the DCT-scaled JPEG paths (1/2..1/8) and other box factors run.
    // It is taken from the last byte, not the first: the first byte of every real image is its fixed
    // magic number, while the last one varies and trailing bytes rarely spoil a file.
    let small_side = 64 + u32::from(bytes.last().copied().unwrap_or(0)) * 448 / 255;
    if let Ok(decoded) = decode_luma(bytes, &config.limits, small_side) {
        let _ = fingerprint_query(&decoded, &config);
    }

    let Ok(decoded) = decode_luma(bytes, &config.limits, config.decode_min_side) else { return };
    let query = fingerprint_query(&decoded, &config);
    let mut matcher = ImageMatcher::new(config.clone());
    if let Ok(original) = fingerprint_original(&decoded, &config) {
        matcher.register(7, &original);
    }
    let hits = matcher.query(&query);

    // The snapshot round trip must be exact (the engine documents these as invariants).
    let snapshot = matcher.to_bytes();
    let copy = match ImageMatcher::from_bytes(&snapshot, config.clone()) {
        Ok(copy) => copy,
        Err(e) => panic!("snapshot of a live matcher did not read back: {e}"),
    };
    assert_eq!((copy.len(), copy.region_count()), (matcher.len(), matcher.region_count()));
    assert_eq!(copy.to_bytes(), snapshot, "equal states give equal bytes");
    assert_eq!(copy.query(&query), hits, "a read-back matcher answers as the original");
    let shared = match ImageMatcher::from_shared(Arc::new(snapshot.clone()), config.clone()) {
        Ok(shared) => shared,
        Err(e) => panic!("snapshot of a live matcher did not map back: {e}"),
    };
    assert_eq!(shared.to_bytes(), snapshot, "read in place, the same state");
    assert_eq!(shared.query(&query), hits, "a matcher read in place answers as the original");
});
