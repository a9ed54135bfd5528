//! `seal letter LICENCE`: issues the signed authorization letter of a stored licence (JWS, and with
//! `--pdf` its readable PDF).

use anyhow::Result;
use clap::Args;
use seal_licensing::ids::LicenceId;
use std::path::PathBuf;

/// Arguments of `seal letter`.
#[derive(Args, Debug)]
pub struct LetterArgs {
    /// The licence id.
    pub licence: String,
    /// Data directory (holds seal.db and the key).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Write the letter here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the readable PDF form here.
    #[arg(long)]
    pub pdf: Option<PathBuf>,
    /// Issue time (RFC 3339 UTC or Unix milliseconds); default: now.
    #[arg(long)]
    pub now: Option<String>,
}

/// Runs `seal letter`.
pub fn run(args: &LetterArgs) -> Result<()> {
    let now = super::settle::parse_now(args.now.as_deref())?;
    let super::proof::ProofData { mut store, content } = super::proof::ProofData::open(&args.data)?;
    let key = seal_api::keys::load_or_create(&args.data)?;
    let notary = super::proof::open_notary(&args.data, &mut store, &content, now)?;
    let licence = LicenceId::new(args.licence.as_str())?;
    let letter = seal_api::letters::issue_logged_letter(&mut store, &key, &notary, &licence, now)?;
    if let Some(pdf) = &args.pdf {
        // Render from the verified payload, so the PDF shows exactly what was signed.
        let payload = seal_licensing::letter::verify_letter(letter.as_bytes(), &key.public())?;
        let font = seal_api::pdf::find_font(&args.data)?;
        std::fs::write(pdf, seal_api::pdf::letter_pdf(&payload, &font)?)?;
    }
    match &args.out {
        Some(path) => std::fs::write(path, letter)?,
        None => print!("{letter}"),
    }
    Ok(())
}
