//! Licensing storage benchmarks (divan) on SQLite with durable commits (WAL, `synchronous=FULL`) in
//! a real file under the target directory:
//!
//! - `purchase_each_commit`: one purchase (licence, capture, two or three holds, idempotency record) per
//!   durable transaction.
//! - `purchase_group_commit`: purchases in batches of 100 per durable transaction, each purchase still
//!   all-or-nothing on its own (a savepoint). Throughput target: ≥ 5,000 purchases/s.
//! - `settle_100k_held`: one settlement pass over 100,000 held licences past their publicity period
//!   (postings, invoices, payouts).
//!
//! Run: `cargo bench -p seal-api --bench licensing` (set `SEAL_BENCH_HELD=20000` for a quicker run).

use seal_api::store::{demo, Repository, SettleOptions, SqliteStore};
use seal_licensing::time::MS_PER_DAY;
use seal_licensing::Timestamp;
use std::sync::atomic::{AtomicU64, Ordering};

fn main() {
    divan::main();
}

fn t0() -> Timestamp {
    Timestamp::from_unix_ms(1_795_000_000_000)
}

fn fresh() -> (tempfile::TempDir, SqliteStore, demo::DemoWorld) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let mut store = SqliteStore::open_in(dir.path()).expect("open");
    let world = demo::seed(&mut store, t0()).expect("seed");
    (dir, store, world)
}

static NEXT: AtomicU64 = AtomicU64::new(0);

#[divan::bench(sample_count = 5, sample_size = 200)]
fn purchase_each_commit(bencher: divan::Bencher) {
    let (_dir, mut store, world) = fresh();
    bencher.counter(divan::counter::ItemsCount::new(1_usize)).bench_local(|| {
        let cmd = demo::purchase(&world, NEXT.fetch_add(1, Ordering::Relaxed));
        store.purchase(&cmd, t0()).expect("purchase");
    });
}

#[divan::bench(sample_count = 10, sample_size = 10)]
fn purchase_group_commit(bencher: divan::Bencher) {
    let (_dir, mut store, world) = fresh();
    bencher
        .counter(divan::counter::ItemsCount::new(100_usize))
        .with_inputs(|| {
            (0..100).map(|_| demo::purchase(&world, NEXT.fetch_add(1, Ordering::Relaxed))).collect::<Vec<_>>()
        })
        .bench_local_refs(|cmds| {
            let results = store.purchase_batch(cmds, t0()).expect("commit");
            assert!(results.iter().all(Result::is_ok));
        });
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn settle_100k_held(bencher: divan::Bencher) {
    let held: u64 = std::env::var("SEAL_BENCH_HELD").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    bencher
        .counter(divan::counter::ItemsCount::new(held))
        .with_inputs(|| {
            let (dir, mut store, world) = fresh();
            for chunk in (0..held).collect::<Vec<_>>().chunks(1000) {
                let cmds: Vec<_> = chunk.iter().map(|n| demo::purchase(&world, *n)).collect();
                store.purchase_batch(&cmds, t0()).expect("commit");
            }
            (dir, store)
        })
        .bench_local_values(|(dir, mut store)| {
            let report = store
                .settle(t0().saturating_add_ms(31 * MS_PER_DAY), SettleOptions { batch: 1000, payouts: true })
                .expect("settle");
            assert_eq!(report.invoices.len() as u64, held);
            (dir, store)
        });
}
