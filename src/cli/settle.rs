//! `seal settle`: one settlement pass over the data directory: every licence whose publicity period
//! has ended is posted to its rights holder and the platform and invoiced, then payables are batched
//! into payouts. Safe to re-run and to interrupt: each batch is one transaction.

use anyhow::{Context, Result};
use clap::Args;
use seal_api::store::{SettleOptions, SqliteStore};
use seal_licensing::Timestamp;
use std::path::PathBuf;

/// Arguments of `seal settle`.
#[derive(Args, Debug)]
pub struct SettleArgs {
    /// Data directory (holds seal.db).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Settle as of this time (RFC 3339 UTC or Unix milliseconds); default: now.
    #[arg(long)]
    pub now: Option<String>,
    /// Licences per transaction.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Settle and invoice only; make no payouts.
    #[arg(long)]
    pub no_payouts: bool,
}

/// The current time from the system clock (the binary is the one place that reads it).
pub fn system_now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_unix_ms(ms)
}

/// Parses `--now`, defaulting to the system clock.
pub fn parse_now(now: Option<&str>) -> Result<Timestamp> {
    match now {
        Some(text) => Ok(Timestamp::parse(text)?),
        None => Ok(system_now()),
    }
}

/// Runs `seal settle`.
pub fn run(args: &SettleArgs) -> Result<()> {
    let now = parse_now(args.now.as_deref())?;
    let mut store = SqliteStore::open_in(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    // Recorded like a run from the admin console, so rights holders are notified of it too.
    let (_, report) =
        store.settle_recorded("cli", now, SettleOptions { batch: args.batch, payouts: !args.no_payouts })?;
    println!("settlement pass as of {now}");
    println!(
        "{:<24} {:<4} {:>9} {:>16} {:>14} {:>16} {:>8} {:>16}",
        "rights holder", "cur", "licences", "gross", "fees", "net", "payouts", "paid out"
    );
    for ((holder, cur), t) in &report.by_holder {
        let f = |m: i64| cur.format_minor(m);
        println!(
            "{:<24} {:<4} {:>9} {:>16} {:>14} {:>16} {:>8} {:>16}",
            holder.as_str(),
            cur.code(),
            t.licences,
            f(t.gross_minor),
            f(t.fees_minor),
            f(t.net_minor),
            t.payouts,
            f(t.paid_out_minor)
        );
    }
    let first = report.invoices.first().map(ToString::to_string).unwrap_or_else(|| "-".into());
    let last = report.invoices.last().map(ToString::to_string).unwrap_or_else(|| "-".into());
    println!(
        "{} licences settled, invoices {first} .. {last}; {} payouts",
        report.invoices.len(),
        report.payouts.len()
    );
    Ok(())
}
