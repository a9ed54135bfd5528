//! `seal invoice LICENCE`: prints a settled licence's invoice as JSON, or writes it as PDF.

use anyhow::{Context, Result};
use clap::Args;
use seal_api::store::{Repository, SqliteStore};
use seal_licensing::ids::LicenceId;
use std::path::PathBuf;

/// Arguments of `seal invoice`.
#[derive(Args, Debug)]
pub struct InvoiceArgs {
    /// The licence id.
    pub licence: String,
    /// Data directory (holds seal.db).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Write the PDF form here instead of printing JSON.
    #[arg(long)]
    pub pdf: Option<PathBuf>,
}

/// Runs `seal invoice`.
pub fn run(args: &InvoiceArgs) -> Result<()> {
    let store = SqliteStore::open_in(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let id = LicenceId::new(args.licence.as_str())?;
    let invoice = store.invoice_for(&id)?.with_context(|| format!("licence {id} has no invoice (not settled yet?)"))?;
    let json = invoice.to_json();
    match &args.pdf {
        Some(path) => {
            let font = seal_api::pdf::find_font(&args.data)?;
            std::fs::write(path, seal_api::pdf::invoice_pdf(&json, &font)?)?;
        }
        None => println!("{}", serde_json::to_string_pretty(&json)?),
    }
    Ok(())
}
