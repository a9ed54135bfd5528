//! Transparency-log benchmark on the real store: `SqliteStore` with migration 12's `log_leaves` and
//! `log_nodes` in a file on disk, as the platform runs it.
//!
//! - **Appends/s.** Leaves of ~200 bytes (the size of a registration leaf) appended in transactions of
//!   1,000 (what the notary's batches do), measured over the first 100,000 leaves and again over the
//!   last 100,000 before `SEAL_BENCH_LOG_LEAVES` (default 1,000,000): appends stay as fast when the log
//!   is large because every append writes at the right edge of two B-trees.
//! - **Proofs/s at that size.** Inclusion proofs for random leaves and consistency proofs from random
//!   older sizes against the full tree, and the root, each read from SQLite (O(log² n) rows).
//! - Bytes per leaf on disk.
//!
//! Every proof generated is checked against the root (so the timing cannot be of a wrong answer).
//! Run: `cargo bench --bench log`. The figures are printed; divan is not used because one run builds
//! a million-leaf log once and measures phases of it.

mod support;

use seal_api::store::{Proofs, SqliteStore};
use seal_licensing::merkle;
use seal_licensing::Timestamp;
use std::time::Instant;
use support::{env_or, Rng};

fn leaf(i: u64) -> Vec<u8> {
    format!(
        r#"{{"author":"作者 {i}","content_sha256":"{:064x}","iscc":"ISCC:KACYPXW445FTYNJ3CYSXHAFJMA2HUWULUNRFE3BLHRSCXYH2M5AEGQY","items":["{:064x}"],"owner":"rh-{}","registered_at":"2026-12-01T09:00:00.000Z","title":"标题 {i}","type":"registration","work":"wk-{i:012}"}}"#,
        i * 7919,
        i * 7919,
        i % 97
    )
    .into_bytes()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: u64 = env_or("SEAL_BENCH_LOG_LEAVES", 1_000_000);
    let dir = tempfile::tempdir()?;
    let mut store = SqliteStore::open(&dir.path().join("seal.db"))?;
    let now = Timestamp::from_unix_ms(1_780_000_000_000);
    let batch = 1_000;
    let window = 100_000.min(total / 2).max(batch);
    let mut first_rate = 0.0;
    let mut last_rate = 0.0;
    let mut window_start = Instant::now();
    let started = Instant::now();
    let mut size = 0;
    while size < total {
        store.atomically(|s| -> Result<(), seal_api::store::StoreError> {
            for i in size..(size + batch).min(total) {
                s.log_append("registration", &format!("wk-{i:012}"), &leaf(i), now)?;
            }
            Ok(())
        })?;
        size = (size + batch).min(total);
        if size == window {
            first_rate = window as f64 / window_start.elapsed().as_secs_f64();
        }
        if size == total - window {
            window_start = Instant::now();
        }
        if size == total {
            last_rate = window as f64 / window_start.elapsed().as_secs_f64();
        }
        if size % 100_000 == 0 {
            eprintln!("  {size} leaves, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    let all_rate = total as f64 / started.elapsed().as_secs_f64();
    let root = store.log_root(total)?;
    let mut rng = Rng::new(0x109);
    let n = 2_000;
    let t = Instant::now();
    for _ in 0..n {
        let i = rng.below(total);
        let proof = store.log_inclusion(i, total)?;
        merkle::verify_inclusion(i, total, &merkle::leaf_hash(&leaf(i)), &proof, &root)?;
    }
    let inclusion_rate = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..n {
        let old = 1 + rng.below(total - 1);
        let old_root = store.log_root(old)?;
        let proof = store.log_consistency(old, total)?;
        merkle::verify_consistency(old, total, &proof, &old_root, &root)?;
    }
    let consistency_rate = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..n {
        store.log_root(1 + rng.below(total))?;
    }
    let root_rate = n as f64 / t.elapsed().as_secs_f64();
    drop(store);
    let bytes: u64 = std::fs::read_dir(dir.path())?.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
    println!("transparency log on SQLite, {total} leaves of ~{} bytes", leaf(total / 2).len());
    println!("  appends/s: {all_rate:.0} overall; first {window}: {first_rate:.0}; last {window}: {last_rate:.0}");
    println!("  at {total} leaves: inclusion proof+verify {inclusion_rate:.0}/s, consistency proof (with old root)+verify {consistency_rate:.0}/s, root {root_rate:.0}/s");
    println!("  disk: {:.1} MB, {:.0} bytes/leaf", bytes as f64 / 1e6, bytes as f64 / total as f64);
    Ok(())
}
