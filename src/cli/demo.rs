//! `seal demo`: loads the demo world (three rights holders with channels, works, paid and free offers)
//! into a data directory, with licences bought over the past days, so that `seal settle`,
//! `seal ledger balance`, `seal letter` and `seal verify` have something to work on. The works'
//! content is stored and fingerprinted, so `seal match` finds them too.

use super::settle::parse_now;
use anyhow::{Context, Result};
use clap::Args;
use seal_api::services::demo as demo_content;
use seal_api::services::import::DataDir;
use seal_api::services::registration::register_batch_with_ids;
use seal_api::store::{demo, Repository};
use seal_licensing::time::MS_PER_DAY;
use std::path::PathBuf;

/// Bulk works per registration batch: one content flush, one transaction and one log fsync each, as
/// `seal works import` does.
const BATCH: u64 = 1000;

/// Arguments of `seal demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Data directory (holds seal.db, content/ and index/).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Licences to buy, spread over the `--days` before `--now`.
    #[arg(long, default_value_t = 30)]
    pub purchases: u64,
    /// Days over which the purchases are spread, so that some publicity periods have ended.
    #[arg(long, default_value_t = 10)]
    pub days: i64,
    /// The current time (RFC 3339 UTC or Unix milliseconds); default: now.
    #[arg(long)]
    pub now: Option<String>,
    /// Extra works to register on the demo channels (for load tests of the seal, e.g. 100000).
    #[arg(long, default_value_t = 0)]
    pub works: u64,
}

/// Runs `seal demo`. Re-running it adds nothing twice: purchases have fixed ids.
pub fn run(args: &DemoArgs) -> Result<()> {
    let now = parse_now(args.now.as_deref())?;
    let start = now.saturating_add_ms(-args.days.max(0) * MS_PER_DAY);
    let mut data = DataDir::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let loaded = demo_content::load(&mut data.store, &data.content, &mut data.monitor, start)
        .context("loading the demo world")?;
    if !loaded.stale.is_empty() {
        eprintln!("note: demo works from an older version keep no content: {:?}", loaded.stale);
    }
    let world = loaded.world;
    let step = (args.days.max(0) * MS_PER_DAY) / i64::try_from(args.purchases.max(1)).unwrap_or(i64::MAX);
    for n in 0..args.purchases {
        let at = start.saturating_add_ms(step * i64::try_from(n).unwrap_or(0));
        data.store.purchase(&demo::purchase(&world, n), at).with_context(|| format!("demo purchase {n}"))?;
    }
    if args.works > 0 {
        // Snapshots once at the end rather than every 20,000 works (see `Monitor::defer_checkpoints`).
        data.monitor.defer_checkpoints();
        let bar = indicatif::ProgressBar::new(args.works);
        let (mut n, mut new, mut failed) = (0, 0u64, Vec::new());
        while n < args.works {
            let to = (n + BATCH).min(args.works);
            let batch = demo_content::bulk_works(n, to);
            let ids: Vec<_> = batch.iter().map(|(id, _)| id.clone()).collect();
            let results = register_batch_with_ids(&mut data.store, &data.content, &mut data.monitor, batch, start)
                .context("registering bulk works")?;
            for (id, result) in ids.into_iter().zip(results) {
                match result {
                    Ok(r) => new += u64::from(r.new),
                    Err(e) => failed.push(format!("{id}: {e}")),
                }
            }
            n = to;
            bar.set_position(n);
        }
        data.monitor.checkpoint().context("writing index snapshots")?;
        bar.finish_and_clear();
        println!(
            "bulk works bulk-0 .. bulk-{}: {new} registered now, {} already there, {} failed",
            args.works - 1,
            args.works - new - failed.len() as u64,
            failed.len()
        );
        for f in failed.iter().take(20) {
            println!("  failed {f}");
        }
    }
    let m = demo_content::monitoring(&mut data.store, &data.monitor, &data.pages, now)
        .context("loading the demo monitoring history")?;
    data.pages.checkpoint().context("saving the page index")?;
    println!("demo monitoring: {} pages through the pipeline, {} hits", m.pages, m.hits);
    println!(
        "demo data in {}: {} paid offers, 1 free offer, {} licences bought between {start} and {now}",
        args.data.display(),
        world.paid.len(),
        args.purchases
    );
    println!("next: seal settle --data {0} && seal ledger balance --data {0}", args.data.display());
    Ok(())
}
