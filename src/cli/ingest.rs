//! `seal ingest`: reads WARC files (Common Crawl's format, gzip per record or plain) and runs every
//! HTML and image record through the monitoring pipeline. The flags and the JSON keys are a fixed
//! contract; the hit list has the shape of `seal crawl`'s.

use super::crawl::{bytes, json_hits, live_bar, with_ticker};
use super::settle::system_now;
use anyhow::{Context, Result};
use clap::Args;
use seal_api::services::import::DataDir;
use seal_api::services::ingest::{ingest, IngestOptions, IngestProgress};
use seal_api::services::pipeline::{Progress, Targets};
use seal_api::services::retro::drain_retro;
use seal_api::services::subscribers::drain_recolour;
use seal_crawler::fetch::{FetchPolicy, Fetcher};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Arguments of `seal ingest`.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Data directory.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Matching threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    /// Also fetch the images ingested pages embed (through the guarded fetcher, politely) and match them.
    #[arg(long)]
    pub fetch_images: bool,
    /// With --fetch-images: allow loopback and private addresses on any port (tests and intranets).
    #[arg(long)]
    pub allow_private: bool,
    /// WARC files (`.warc` or `.warc.gz`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `seal ingest`.
pub fn run(args: &IngestArgs) -> Result<()> {
    for file in &args.files {
        if !file.is_file() {
            anyhow::bail!("{} is not a readable file", file.display());
        }
    }
    let mut data = DataDir::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    drain_recolour(&mut data.store, system_now()).context("applying pending events")?;
    drain_retro(&mut data.store, &data.content, &data.pages, system_now()).context("retroactive matching")?;
    let fetch_images = if args.fetch_images {
        let mut policy = FetchPolicy::default();
        if args.allow_private {
            policy.allow_private = true;
            policy.allowed_ports = (1..=u16::MAX).collect();
        }
        Some(Fetcher::new(policy).context("setting up the fetcher")?)
    } else {
        None
    };
    let options = IngestOptions { workers: args.workers, fetch_images };
    let progress = Progress::default();
    let counters = IngestProgress::default();
    let total: u64 = args.files.iter().filter_map(|f| f.metadata().ok()).map(|m| m.len()).sum();
    let bar = live_bar();
    let started = Instant::now();
    let outcome = with_ticker(
        &bar,
        || {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let pages = progress.pages.load(Ordering::Relaxed);
            let read = counters.bytes.load(Ordering::Relaxed);
            format!(
                "{} of {} ({:.0}%) · records {} · pages {pages} ({:.0}/s) · hits {} · skipped {}",
                bytes(read),
                bytes(total),
                100.0 * read as f64 / total.max(1) as f64,
                counters.records.load(Ordering::Relaxed),
                pages as f64 / secs,
                progress.hits.load(Ordering::Relaxed),
                counters.skipped.load(Ordering::Relaxed),
            )
        },
        || {
            let targets = Targets { monitor: &data.monitor, pages: Some(&data.pages) };
            ingest(targets, &mut data.store, &args.files, &options, system_now, &progress, &counters)
        },
    )?;
    bar.finish_and_clear();
    data.pages.checkpoint().context("writing the page index")?;
    drain_recolour(&mut data.store, system_now()).context("applying pending events")?;
    for (file, error) in &outcome.unreadable_files {
        eprintln!("warning: {}: {error}", file.display());
    }
    let secs = outcome.elapsed.as_secs_f64().max(0.001);
    let pages_per_s = outcome.pages as f64 / secs;
    if args.json {
        let out = serde_json::json!({
            "records_read": outcome.records_read,
            "records_skipped": outcome.records_skipped,
            "pages_per_s": (pages_per_s * 10.0).round() / 10.0,
            "errors": outcome.unreadable_files.len(),
            "hits": json_hits(&outcome.hits),
        });
        println!("{out}");
        return Ok(());
    }
    let black = outcome.hits.iter().filter(|h| h.colour == "black").count();
    println!(
        "{} records read, {} skipped; {} pages ({:.0}/s), {} images; {} hits ({} white, {} black)",
        outcome.records_read,
        outcome.records_skipped,
        outcome.pages,
        pages_per_s,
        outcome.images,
        outcome.hits.len(),
        outcome.hits.len() - black,
        black
    );
    Ok(())
}
