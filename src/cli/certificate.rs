//! `seal certificate --data DIR WORK --out OUTDIR` (a fixed contract): writes a work's registration
//! certificate as `certificate.pdf` and `certificate.json`, its RFC 3161 response `timestamp.tsr` and
//! the TSA's chain `tsa.pem`, so that `openssl ts -verify -data WORKFILE -in timestamp.tsr -CAfile
//! tsa.pem` succeeds. `WORK` is a work id or the file name a work was imported from.

use super::proof::{open_notary, ProofData};
use anyhow::{Context, Result};
use clap::Args;
use seal_api::store::prelude::*;
use std::path::PathBuf;

/// Arguments of `seal certificate`.
#[derive(Args, Debug)]
pub struct CertificateArgs {
    /// Data directory.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// The work: its id, or the name of the file it was imported from.
    pub work: String,
    /// The folder to write certificate.pdf, certificate.json, timestamp.tsr and tsa.pem into.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `seal certificate`.
pub fn run(args: &CertificateArgs) -> Result<()> {
    let now = super::settle::parse_now(None)?;
    let mut data = ProofData::open(&args.data)?;
    let notary = open_notary(&args.data, &mut data.store, &data.content, now)?;
    notary.run(&mut data.store, &data.content, None, now).context("notarising pending registrations")?;
    let work = seal_api::services::licences::find_work(&data.store, &args.work)?;
    let doc = notary.certificate(&mut data.store, &data.content, &work, now).context("making the certificate")?;
    let registration = data.store.registration(work.as_str())?.context("the registration record vanished")?;
    let font = seal_api::pdf::find_font(&args.data).context("a font for certificate.pdf")?;
    let pdf = seal_api::pdf::certificate_pdf(&doc["certificate"], &font).context("rendering certificate.pdf")?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = args.out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    write("certificate.json", format!("{}\n", serde_json::to_string_pretty(&doc)?).as_bytes())?;
    write("certificate.pdf", &pdf)?;
    write("timestamp.tsr", &registration.tsr)?;
    write("tsa.pem", notary.tsa().chain_pem().as_bytes())?;
    let cert = &doc["certificate"];
    println!("certificate of {} “{}”", work, cert["work"]["title"].as_str().unwrap_or(""));
    println!("  ISCC       {}", cert["iscc"]["iscc"].as_str().unwrap_or("—"));
    println!("  timestamp  {}", cert["timestamp"]["time"].as_str().unwrap_or("—"));
    println!("  log entry  {} of {}", cert["log"]["index"], cert["log"]["tree_size"]);
    println!("written to {}: certificate.pdf certificate.json timestamp.tsr tsa.pem", args.out.display());
    Ok(())
}
