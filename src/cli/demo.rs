//! `seal demo`: loads the demo world (three rights holders with channels, works, paid and free offers)
//! into a data directory, with licences bought over the past days, so that `seal settle`,
//! `seal ledger balance`, `seal letter` and `seal verify` have something to work on.

use super::settle::parse_now;
use anyhow::{Context, Result};
use clap::Args;
use seal_api::store::{demo, Repository, SqliteStore};
use seal_licensing::time::MS_PER_DAY;
use std::path::PathBuf;

/// Arguments of `seal demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Data directory (holds seal.db).
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
    let mut store = SqliteStore::open_in(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let world = demo::seed(&mut store, start)?;
    let step = (args.days.max(0) * MS_PER_DAY) / i64::try_from(args.purchases.max(1)).unwrap_or(i64::MAX);
    for n in 0..args.purchases {
        let at = start.saturating_add_ms(step * i64::try_from(n).unwrap_or(0));
        store.purchase(&demo::purchase(&world, n), at).with_context(|| format!("demo purchase {n}"))?;
    }
    if args.works > 0 {
        let bar = indicatif::ProgressBar::new(args.works);
        let mut n = 0;
        while n < args.works {
            let batch: Vec<_> = (n..(n + 10_000).min(args.works)).map(|i| demo::bulk_work(i, start)).collect();
            n += batch.len() as u64;
            store.register_works(&batch).context("registering bulk works")?;
            bar.set_position(n);
        }
        bar.finish_and_clear();
        println!("registered {} extra works (ids bulk-0 .. bulk-{})", args.works, args.works - 1);
    }
    println!(
        "demo data in {}: {} paid offers, 1 free offer, {} licences bought between {start} and {now}",
        args.data.display(),
        world.paid.len(),
        args.purchases
    );
    println!("next: seal settle --data {0} && seal ledger balance --data {0}", args.data.display());
    Ok(())
}
