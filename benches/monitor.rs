//! Registration and start-up benchmarks (divan) of the monitor on real files (SQLite with durable
//! commits, the content store, the index log and snapshots) under the target directory:
//!
//! - `import_text_works`: registration of generated text works through the one registration service in
//!   batches of 1,000 (one content flush, one SQLite transaction, one log fsync per batch) with snapshots
//!   deferred to the closing one, as `seal works import` does. Target: ≥ 5,000 works/s on one core.
//! - `open_data_dir`: opening a data directory with that many registered works: snapshots loaded, log
//!   replayed, engine ids compared with the store. Target: 1M text works under 5 s.
//!
//! Works are ~150 words drawn from a fixed 5,000-word synthetic vocabulary (deterministic), the size of a
//! short news article. Run: `cargo bench --bench monitor` (`SEAL_BENCH_WORKS=20000` for a quicker run;
//! the default is 100,000).

mod support;

use seal_api::services::import::DataDir;
use std::path::PathBuf;

fn main() {
    divan::main();
}

fn works() -> u64 {
    support::env_or("SEAL_BENCH_WORKS", 100_000)
}

fn import(dir: &std::path::Path, n: u64) {
    support::register_works(dir, n);
}

fn bench_dir(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("monitor-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn import_text_works(bencher: divan::Bencher) {
    let n = works();
    let dir = bench_dir("import");
    bencher.counter(divan::counter::ItemsCount::new(n)).bench_local(|| import(&dir, n));
    let _ = std::fs::remove_dir_all(&dir);
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn open_data_dir(bencher: divan::Bencher) {
    let n = works();
    let dir = bench_dir("open");
    import(&dir, n);
    bencher.counter(divan::counter::ItemsCount::new(n)).bench_local(|| {
        let data = DataDir::open(&dir).expect("open");
        assert_eq!(data.monitor.len().0 as u64, n);
        assert_eq!(data.report.added, 0);
    });
    let _ = std::fs::remove_dir_all(&dir);
}
