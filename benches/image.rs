//! Image engine benchmarks (divan), one thread:
//!
//! - decode alone (DCT-scaled, as fingerprinting does), decode + PDQ (whole image and 8 dihedral
//!   hashes), and the full query fingerprint (adds 28 turned-back PDQs and the region windows), on
//!   0.3 MP, 2 MP and 12 MP JPEGs. The JPEGs are made by `benches/peers/run_image.sh` into
//!   `target/bench-images/` from the fixture sources (real photos); without them these benches skip.
//! - the Hamming index: radius-31 queries at 1M and 10M random hashes, multi-index hashing against a
//!   brute-force scan of the same index, and index bytes per entry. Queries are a registered hash with
//!   8 bits flipped (a hit exists) or a fresh random hash (the common case for a crawler: no hit).
//!   `DIVAN_MAX_HASHES=1000000` skips the 10M index on a small machine.
//!
//! Run: `taskset -c 0 cargo bench --bench image`.

use seal_engine::image::{decode_luma, fingerprint_query, Dihedral, HammingIndex, ImageConfig, PdqHash};
use std::path::PathBuf;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

const SIZES: [&str; 3] = ["0.3mp", "2mp", "12mp"];

fn bench_images(size: &str) -> &'static [Vec<u8>] {
    static CACHE: OnceLock<Vec<(String, Vec<Vec<u8>>)>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-images");
        SIZES
            .iter()
            .map(|size| {
                let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(size))
                    .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                    .unwrap_or_default();
                files.sort();
                let bytes = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
                (size.to_string(), bytes)
            })
            .collect()
    });
    all.iter().find(|(s, _)| s == size).map(|(_, b)| b.as_slice()).unwrap_or(&[])
}

/// Decoding alone, at the DCT scale fingerprinting uses: the floor the hash is measured against.
#[divan::bench(args = SIZES)]
fn decode_scaled(bencher: divan::Bencher, size: &str) {
    decode_scaled_at(bencher, size, ImageConfig::default().decode_min_side);
}

/// Decodes to `min_side`, image after image.
fn decode_scaled_at(bencher: divan::Bencher, size: &str, min_side: u32) {
    let images = bench_images(size);
    let config = ImageConfig { decode_min_side: min_side, ..ImageConfig::default() };
    let mut i = 0;
    bencher.bench_local(|| {
        if images.is_empty() {
            return 0;
        }
        i = (i + 1) % images.len();
        decode_luma(&images[i], &config.limits, config.decode_min_side).map(|d| d.luma.width).unwrap_or(0)
    });
}

/// Decode + PDQ with its 8 dihedral hashes: what `pdqhash` and `imagehash` are compared against.
#[divan::bench(args = SIZES)]
fn decode_pdq_dihedral(bencher: divan::Bencher, size: &str) {
    decode_pdq_dihedral_at(bencher, size, ImageConfig::default().decode_min_side);
}

/// Decodes to `min_side` and hashes with PDQ and its eight dihedral variants, image after image.
fn decode_pdq_dihedral_at(bencher: divan::Bencher, size: &str, min_side: u32) {
    let images = bench_images(size);
    let config = ImageConfig { decode_min_side: min_side, ..ImageConfig::default() };
    let mut i = 0;
    bencher.bench_local(|| {
        if images.is_empty() {
            return PdqHash::default();
        }
        i = (i + 1) % images.len();
        let Ok(decoded) = decode_luma(&images[i], &config.limits, config.decode_min_side) else {
            return PdqHash::default();
        };
        let dct = seal_engine::image::dct16(&decoded.luma);
        let mut h = dct.hash();
        for t in Dihedral::ALL {
            h.0[0] ^= dct.dihedral(t).0[0];
        }
        h
    });
}

/// Decode + PDQ with dihedral at `decode_min_side` 256 (1/4 scale for 2 MP): the speed setting, which
/// keeps 99% of fixture hashes within 4 bits of the reference (512, the default, keeps all within 2).
#[divan::bench(args = SIZES)]
fn decode_pdq_dihedral_256(bencher: divan::Bencher, size: &str) {
    decode_pdq_dihedral_at(bencher, size, 256);
}

/// Decode at 256 alone, the floor for the speed setting.
#[divan::bench(args = SIZES)]
fn decode_scaled_256(bencher: divan::Bencher, size: &str) {
    decode_scaled_at(bencher, size, 256);
}

/// Decode + the full query fingerprint (dihedral PDQ, 28 turned-back PDQs, region windows).
#[divan::bench(args = SIZES)]
fn decode_query_fingerprint(bencher: divan::Bencher, size: &str) {
    let images = bench_images(size);
    let config = ImageConfig::default();
    let mut i = 0;
    bencher.bench_local(|| {
        if images.is_empty() {
            return 0;
        }
        i = (i + 1) % images.len();
        let Ok(decoded) = decode_luma(&images[i], &config.limits, config.decode_min_side) else { return 0 };
        fingerprint_query(&decoded, &config).windows.len()
    });
}

fn splitmix(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const INDEX_SIZES: [usize; 2] = [1_000_000, 10_000_000];

fn index(n: usize) -> Option<&'static (HammingIndex, Vec<PdqHash>)> {
    let max: usize = std::env::var("DIVAN_MAX_HASHES").ok().and_then(|v| v.parse().ok()).unwrap_or(usize::MAX);
    if n > max {
        return None;
    }
    static SMALL: OnceLock<(HammingIndex, Vec<PdqHash>)> = OnceLock::new();
    static LARGE: OnceLock<(HammingIndex, Vec<PdqHash>)> = OnceLock::new();
    let cell = if n <= 1_000_000 { &SMALL } else { &LARGE };
    Some(cell.get_or_init(|| {
        let mut seed = n as u64;
        let mut index = HammingIndex::new();
        let mut samples = Vec::new();
        for i in 0..n {
            let h = PdqHash(std::array::from_fn(|_| splitmix(&mut seed)));
            if i % (n / 1000) == 0 {
                samples.push(h);
            }
            index.add(h, i as u32);
        }
        index.rebuild();
        eprintln!("index of {n}: {:.1} bytes per entry", index.heap_bytes() as f64 / n as f64);
        (index, samples)
    }))
}

fn near(h: &PdqHash, seed: &mut u64) -> PdqHash {
    let mut out = *h;
    for _ in 0..8 {
        let k = (splitmix(seed) % 256) as usize;
        out.0[k / 64] ^= 1 << (k % 64);
    }
    out
}

/// A radius-31 query whose answer holds one registered hash, by multi-index hashing.
#[divan::bench(args = INDEX_SIZES, sample_count = 200)]
fn index_query_hit(bencher: divan::Bencher, n: usize) {
    let Some((index, samples)) = index(n) else { return };
    let mut seed = 1;
    bencher.bench_local(|| {
        let q = near(&samples[(splitmix(&mut seed) % samples.len() as u64) as usize], &mut seed);
        index.query(&q, 31).len()
    });
}

/// A radius-31 query that finds nothing (a crawled image that copies no registered work).
#[divan::bench(args = INDEX_SIZES, sample_count = 200)]
fn index_query_miss(bencher: divan::Bencher, n: usize) {
    let Some((index, _)) = index(n) else { return };
    let mut seed = 2;
    bencher.bench_local(|| {
        let q = PdqHash(std::array::from_fn(|_| splitmix(&mut seed)));
        index.query(&q, 31).len()
    });
}

/// The same queries by scanning every hash.
#[divan::bench(args = INDEX_SIZES, sample_count = 20)]
fn index_brute_force(bencher: divan::Bencher, n: usize) {
    let Some((index, samples)) = index(n) else { return };
    let mut seed = 3;
    bencher.bench_local(|| {
        let q = near(&samples[(splitmix(&mut seed) % samples.len() as u64) as usize], &mut seed);
        index.brute_force(&q, 31).len()
    });
}
