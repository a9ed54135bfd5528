//! `seal offers export`: every offer as W3C ODRL 2.2 JSON-LD (an array of `Offer` policies).

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use seal_api::store::{Repository, SqliteStore};
use seal_licensing::offer::OfferTarget;
use std::path::PathBuf;

/// `seal offers` subcommands.
#[derive(Subcommand, Debug)]
pub enum OffersCommand {
    /// Print every offer as ODRL JSON-LD.
    Export(ExportArgs),
}

/// Arguments of `seal offers export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Data directory (holds seal.db).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
}

/// Runs a `seal offers` subcommand.
pub fn run(cmd: &OffersCommand) -> Result<()> {
    let OffersCommand::Export(args) = cmd;
    let store = SqliteStore::open_in(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let snapshot = store.snapshot()?;
    let policies: Vec<serde_json::Value> = snapshot
        .offers
        .values()
        .map(|o| {
            // A per-work offer names its work's author, title and source in the attribution duty.
            let work = match &o.target {
                OfferTarget::Work(w) => snapshot.works.get(w),
                OfferTarget::Channel(_) => None,
            };
            o.to_odrl(work)
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&policies)?);
    Ok(())
}
