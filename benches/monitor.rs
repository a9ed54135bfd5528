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

use seal_api::domain::ContentKind;
use seal_api::services::import::{ensure_owner, DataDir};
use seal_api::services::registration::{register_batch, NewItem, NewWork};
use seal_licensing::ids::PartyId;
use seal_licensing::Timestamp;
use std::path::PathBuf;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

fn works() -> u64 {
    std::env::var("SEAL_BENCH_WORKS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

fn vocabulary() -> &'static Vec<String> {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..5000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let len = 3 + (state % 8) as usize;
                (0..len).map(|i| char::from(b'a' + ((state >> (i * 5)) % 26) as u8)).collect()
            })
            .collect()
    })
}

fn text(n: u64) -> Vec<u8> {
    let words = vocabulary();
    let mut state = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = String::with_capacity(1200);
    for _ in 0..150 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push_str(&words[(state % words.len() as u64) as usize]);
        out.push(' ');
    }
    out.into_bytes()
}

fn import(dir: &std::path::Path, n: u64) {
    let mut data = DataDir::open(dir).expect("open");
    let (holder, _) = ensure_owner(&mut data.store, "rh-bench", None).expect("owner");
    let owner: PartyId = holder.id.clone();
    let now = Timestamp::from_unix_ms(1_795_000_000_000);
    // As `seal works import` does: snapshots once at the end, not every 20,000 records.
    data.monitor.defer_checkpoints();
    let mut next = 0;
    while next < n {
        let batch: Vec<NewWork> = (next..(next + 1000).min(n))
            .map(|i| NewWork {
                owner: owner.clone(),
                channel: None,
                title: format!("Work {i}"),
                author: holder.name.clone(),
                source_url: None,
                items: vec![NewItem { kind: ContentKind::Text, bytes: text(i), file: None }],
            })
            .collect();
        next += batch.len() as u64;
        let results = register_batch(&mut data.store, &data.content, &mut data.monitor, batch, now).expect("batch");
        assert!(results.iter().all(|r| r.as_ref().is_ok_and(|r| r.new)));
    }
    data.monitor.checkpoint().expect("checkpoint");
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
