//! `seal keys export`: prints the platform's public key as a JWK, creating the key on first use.

use anyhow::Result;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `seal keys` subcommands.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Print the platform's public key (JWK) for offline verification of letters.
    Export(ExportArgs),
}

/// Arguments of `seal keys export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Data directory (holds keys/platform.ed25519).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Write the JWK to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs a `seal keys` subcommand.
pub fn run(cmd: &KeysCommand) -> Result<()> {
    let KeysCommand::Export(args) = cmd;
    let key = seal_api::keys::load_or_create(&args.data)?;
    let jwk = format!("{}\n", serde_json::to_string_pretty(&key.public().to_jwk())?);
    match &args.out {
        Some(path) => std::fs::write(path, jwk)?,
        None => print!("{jwk}"),
    }
    Ok(())
}
