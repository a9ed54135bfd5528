//! `seal keys export`: prints the platform's public key as a JWK, creating the key on first use; with
//! `--dir DIR` writes every public key a verifier needs: `platform.jwk` (certificates, letters),
//! `log.vkey` (the transparency log's C2SP verifier key), `tsa.pem` (the built-in TSA's chain) and
//! `evidence.pem` (the P-384 key that signs evidence WACZ files).

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `seal keys` subcommands.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Print the platform's public key (JWK), or write all public keys to a folder (`--dir`).
    Export(ExportArgs),
}

/// Arguments of `seal keys export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Data directory (holds keys/platform.ed25519 and keys/tsa.json).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Write the JWK to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write platform.jwk, log.vkey, tsa.pem and evidence.pem into this folder.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Runs a `seal keys` subcommand.
pub fn run(cmd: &KeysCommand) -> Result<()> {
    let KeysCommand::Export(args) = cmd;
    let key = seal_api::keys::load_or_create(&args.data)?;
    let jwk = format!("{}\n", serde_json::to_string_pretty(&key.public().to_jwk())?);
    if let Some(dir) = &args.dir {
        let now = super::settle::parse_now(None)?;
        let mut data = super::proof::ProofData::open(&args.data)?;
        let notary = super::proof::open_notary(&args.data, &mut data.store, &data.content, now)?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("platform.jwk"), &jwk)?;
        std::fs::write(dir.join("log.vkey"), format!("{}\n", notary.log_verifier_key()))?;
        std::fs::write(dir.join("tsa.pem"), notary.tsa().chain_pem())?;
        let evidence = seal_api::keys::load_or_create_evidence(&args.data)?;
        std::fs::write(dir.join("evidence.pem"), seal_api::services::evidence::public_pem(&evidence)?)?;
        println!("wrote platform.jwk, log.vkey, tsa.pem and evidence.pem to {}", dir.display());
        return Ok(());
    }
    match &args.out {
        Some(path) => std::fs::write(path, jwk)?,
        None => print!("{jwk}"),
    }
    Ok(())
}
