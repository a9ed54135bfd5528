//! `seal capture [--allow-private] URL --out FILE.wacz` (a fixed contract): captures one page and
//! what it loads as signed, time-stamped evidence, through the same code as a case's captures
//! (`seal_api::services::evidence`): the WACZ signed with the platform's evidence key, the built-in
//! TSA's token over its manifest written beside it as `FILE.wacz.tsr`, and an `evidence` leaf in the
//! transparency log of the data directory. Prints one JSON object.

use super::proof::{open_notary, ProofData};
use anyhow::{Context, Result};
use clap::Args;
use seal_api::services::evidence;
use seal_crawler::fetch::{FetchPolicy, Fetcher};
use std::path::PathBuf;

/// Arguments of `seal capture`.
#[derive(Args, Debug)]
pub struct CaptureArgs {
    /// Data directory (its keys sign, its TSA stamps, its log records the capture).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Allow the page's own loopback or private address (tests and intranets); nothing else private.
    #[arg(long)]
    pub allow_private: bool,
    /// The page to capture.
    pub url: String,
    /// The WACZ file to write; the time-stamp token goes beside it as FILE.wacz.tsr.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `seal capture`.
pub fn run(args: &CaptureArgs) -> Result<()> {
    let url = evidence::parse_url(&args.url)?;
    let mut policy = FetchPolicy::default();
    if args.allow_private {
        super::crawl::allow_private_seeds(&mut policy, std::slice::from_ref(&url));
    }
    let fetcher = Fetcher::new(policy).context("setting up the fetcher")?;
    let now = super::settle::system_now;
    let mut data = ProofData::open(&args.data)?;
    let notary = open_notary(&args.data, &mut data.store, &data.content, now())?;
    let signer = seal_api::keys::load_or_create_evidence(&args.data).context("the evidence key")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let taken = runtime
        .block_on(evidence::take(&fetcher, &signer, &notary, &url, now))
        .with_context(|| format!("capturing {url}"))?;
    let row = evidence::file(&mut data.store, &data.content, &taken, None, None, None, now())?;
    notary.checkpoint(&mut data.store, now()).context("signing the log's checkpoint")?;
    let tsr_path = PathBuf::from(format!("{}.tsr", args.out.display()));
    std::fs::write(&args.out, &taken.wacz.bytes).with_context(|| format!("writing {}", args.out.display()))?;
    std::fs::write(&tsr_path, &taken.tsr).with_context(|| format!("writing {}", tsr_path.display()))?;
    let out = serde_json::json!({
        "url": url.as_str(),
        "out": args.out.display().to_string(),
        "timestamp": tsr_path.display().to_string(),
        "capture": row.id,
        "wacz_sha256": row.wacz_sha256,
        "datapackage_sha256": row.datapackage_sha256,
        "log_index": row.leaf,
        "status": taken.summary["status"],
        "resources": taken.summary["resources"],
        "failures": taken.summary["failures"],
        "bytes": row.bytes,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
