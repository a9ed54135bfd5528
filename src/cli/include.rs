//! `seal include`: automatic inclusion, once. Reads the sitemap, feed and home page of every verified
//! website or blog channel and registers each page that embeds the channel's seal code as a work of
//! its holder (the server does the same on its monitoring schedule).

use super::settle::system_now;
use anyhow::{Context, Result};
use clap::Args;
use seal_api::services::import::DataDir;
use seal_api::services::inclusion::{fetch_planned, keep_usable_images, plan};
use seal_api::services::registration::register_batch;
use seal_crawler::fetch::{FetchPolicy, Fetcher};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `seal include`.
#[derive(Args, Debug)]
pub struct IncludeArgs {
    /// Data directory.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Allow channels on loopback and private addresses, on any port (tests and intranets).
    #[arg(long)]
    pub allow_private: bool,
    /// Least milliseconds between two requests to one host.
    #[arg(long, default_value_t = 250)]
    pub delay_ms: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `seal include`.
pub fn run(args: &IncludeArgs) -> Result<()> {
    let mut data = DataDir::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let planned = plan(&data.store)?;
    let mut policy = FetchPolicy::default();
    if args.allow_private {
        policy.allow_private = true;
        policy.allowed_ports = (1..=u16::MAX).collect();
    }
    let fetcher = Fetcher::new(policy).context("setting up the fetcher")?;
    let (mut works, mut report) = fetch_planned(&fetcher, &planned, Duration::from_millis(args.delay_ms));
    for work in &mut works {
        keep_usable_images(&data.monitor, work);
    }
    let now = system_now();
    let results = register_batch(&mut data.store, &data.content, &mut data.monitor, works, now)
        .context("registering the sealed pages")?;
    let mut registered = Vec::new();
    for result in results {
        match result {
            Ok(r) if r.new => registered.push(r.work.to_string()),
            Ok(_) => {}
            Err(e) => report.failed.push(("registration".into(), e.to_string())),
        }
    }
    report.registered = registered.len();
    data.monitor.checkpoint().context("writing index snapshots")?;
    seal_api::services::retro::drain_retro(&mut data.store, &data.content, &data.pages, now)
        .context("retroactive matching")?;
    if args.json {
        let failed: Vec<_> =
            report.failed.iter().map(|(what, why)| serde_json::json!({"what": what, "error": why})).collect();
        println!(
            "{}",
            serde_json::json!({
                "channels": report.channels, "sealed_pages": report.sealed_pages,
                "registered": registered, "failed": failed,
            })
        );
    } else {
        println!(
            "{} channels read, {} sealed pages, {} new works, {} failures",
            report.channels,
            report.sealed_pages,
            report.registered,
            report.failed.len()
        );
        for (what, why) in &report.failed {
            println!("  {what}: {why}");
        }
    }
    Ok(())
}
